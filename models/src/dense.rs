//! A dense MLP forward pass in plain Rust, for the small batches serving
//! sends one request at a time.
//!
//! Burn spends a few hundred nanoseconds per tensor operation on dispatch
//! and allocation; a one-row pass through a 64-64 MLP is about 6,000
//! multiply-adds, so that overhead was most of its 2.9 µs. This copy of the
//! weights runs the same arithmetic in straight loops (the inner loop over
//! a weight row vectorises). Larger batches stay on Burn, whose matrix
//! multiply wins as soon as there is real work.

use crate::nets::Activation;

/// One linear layer: `weight` is `[inputs, outputs]` row-major (Burn's
/// layout), `bias` has `outputs` entries.
#[derive(Debug, Clone)]
pub struct DenseLayer {
    pub inputs: usize,
    pub outputs: usize,
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// Hidden layers with one activation, then a linear output layer.
#[derive(Debug, Clone)]
pub struct DenseMlp {
    pub hidden: Vec<DenseLayer>,
    pub output: DenseLayer,
    pub activation: Activation,
}

impl DenseMlp {
    /// Rows × inputs (row-major) in, rows × outputs out.
    pub fn forward(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let mut current = x.to_vec();
        for layer in &self.hidden {
            current = layer.apply(&current, rows);
            for value in &mut current {
                *value = activate(self.activation, *value);
            }
        }
        self.output.apply(&current, rows)
    }
}

impl DenseLayer {
    fn apply(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(rows * self.outputs);
        for row in x.chunks_exact(self.inputs).take(rows) {
            let start = out.len();
            out.extend_from_slice(&self.bias);
            let acc = &mut out[start..];
            for (&xi, weights) in row.iter().zip(self.weight.chunks_exact(self.outputs)) {
                for (a, &w) in acc.iter_mut().zip(weights) {
                    *a += xi * w;
                }
            }
        }
        out
    }
}

/// The activations Burn applies, element by element (also the trainer's
/// hand-written MLP pass). GELU has no closed form without `erf`, so nets
/// using it stay on Burn (see `Mlp::dense`).
pub fn activate(activation: Activation, x: f32) -> f32 {
    match activation {
        Activation::Relu => x.max(0.0),
        Activation::Tanh => x.tanh(),
        Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Activation::LeakyRelu => {
            if x >= 0.0 {
                x
            } else {
                0.01 * x
            }
        }
        Activation::Gelu => x,
    }
}

/// Softmax over each row of `rows × width` logits, in place.
pub fn softmax_rows(values: &mut [f32], width: usize) {
    for row in values.chunks_exact_mut(width) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut total = 0.0;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            total += *v;
        }
        for v in row.iter_mut() {
            *v /= total;
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::prelude::*;

    use crate::nets::{Activation, Architecture, MlpSpec, NetSpec};

    #[test]
    fn dense_forward_matches_burn_for_every_supported_activation() {
        let device = Device::flex();
        for activation in [
            Activation::Relu,
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::LeakyRelu,
        ] {
            let architecture = Architecture {
                spec: NetSpec::Mlp(MlpSpec {
                    hidden: vec![16, 8],
                    activation,
                    dropout: 0.0,
                }),
                inputs: 5,
                outputs: 3,
            };
            let net = architecture.build(&device).unwrap();
            let dense = net.dense().expect("an MLP has a dense form");
            let rows = 4;
            let x: Vec<f32> = (0..rows * 5)
                .map(|i| ((i * 37 % 11) as f32 - 5.0) / 3.0)
                .collect();
            let burn = net
                .forward(Tensor::<2>::from_data(
                    TensorData::new(x.clone(), [rows, 5]),
                    &device,
                ))
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            let ours = dense.forward(&x, rows);
            assert_eq!(ours.len(), burn.len());
            for (a, b) in ours.iter().zip(&burn) {
                assert!(
                    (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                    "{activation:?}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn gelu_nets_stay_on_burn() {
        let architecture = Architecture {
            spec: NetSpec::Mlp(MlpSpec {
                hidden: vec![4],
                activation: Activation::Gelu,
                dropout: 0.0,
            }),
            inputs: 2,
            outputs: 1,
        };
        let net = architecture.build(&Device::flex()).unwrap();
        assert!(net.dense().is_none());
    }

    #[test]
    fn softmax_rows_sum_to_one() {
        let mut values = vec![1.0, 2.0, 3.0, 1000.0, 1000.0, 1000.0];
        super::softmax_rows(&mut values, 3);
        assert!((values[..3].iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((values[3] - 1.0 / 3.0).abs() < 1e-6);
    }
}
