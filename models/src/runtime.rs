//! Runtimes turn an encoded feature matrix into raw outputs. Burn networks
//! run on the pure-Rust `flex` CPU backend at inference; linfa models run
//! their own `predict`. The [`crate::TabularModel`] wraps a runtime with its
//! preprocessing and label decoding.

use burn::prelude::*;
use burn::tensor::activation::softmax;

use crate::error::{ModelError, Result};
use crate::flavor::Weights;
use crate::linfa_models::{LinfaModel, Output as LinfaOutput};
use crate::nets::{Architecture, Net};
use crate::preprocessing::Features;
use crate::task::Task;

/// Raw model outputs for a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum RawOutput {
    /// Rows × classes, row-major; each row sums to one.
    Probabilities {
        classes: usize,
        values: Vec<f64>,
    },
    Values(Vec<f64>),
}

/// One way to evaluate a fitted model.
pub trait Runtime: Send + Sync {
    fn forward(&self, features: &Features) -> Result<RawOutput>;
    /// The fitted state, for saving into a model folder; `None` for
    /// runtimes that only load models.
    fn weights(&self) -> Option<Weights<'_>>;
}

/// Standardisation of a regression target: networks learn the scaled
/// target, and predictions are scaled back with these.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TargetScale {
    pub mean: f64,
    pub std: f64,
}

/// A Burn network on an inference device.
pub struct BurnRuntime {
    net: Net,
    /// The same MLP as plain loops, for batches of at most [`DENSE_MAX_ROWS`].
    dense: Option<crate::dense::DenseMlp>,
    device: Device,
    classification: bool,
    target_scale: Option<TargetScale>,
}

impl BurnRuntime {
    /// Wraps a trained network, moving it off any autodiff device.
    pub fn new(net: Net, device: Device, task: &Task, target_scale: Option<TargetScale>) -> Self {
        let net = net.valid();
        BurnRuntime {
            dense: net.dense(),
            net,
            device,
            classification: task.is_classification(),
            target_scale,
        }
    }

    /// Rebuilds the architecture and loads safetensors weights into it.
    pub fn load(
        architecture: &Architecture,
        weights: &std::path::Path,
        device: Device,
        task: &Task,
        target_scale: Option<TargetScale>,
    ) -> Result<Self> {
        use burn::store::{ModuleSnapshot, SafetensorsStore};
        let mut net = architecture.build(&device)?;
        let mut store = SafetensorsStore::from_file(weights)
            .validate(true)
            .allow_partial(false);
        let applied = net.load_from(&mut store).map_err(|e| {
            ModelError::Artifact(format!(
                "cannot load weights from {}: {e}",
                weights.display()
            ))
        })?;
        if !applied.missing.is_empty() {
            return Err(ModelError::Artifact(format!(
                "{} lacks tensors the architecture needs: {:?}",
                weights.display(),
                applied.missing
            )));
        }
        Ok(Self::new(net, device, task, target_scale))
    }
}

/// Above this many rows Burn's matrix multiply beats plain loops.
pub const DENSE_MAX_ROWS: usize = 8;

impl BurnRuntime {
    fn forward_burn(&self, features: &Features) -> Result<(usize, Vec<f64>)> {
        let x = Tensor::<2>::from_data(
            TensorData::new(features.to_f32(), [features.rows, features.cols]),
            &self.device,
        );
        let out = self.net.forward(x);
        let [_, width] = out.dims();
        let out = if self.classification {
            softmax(out, 1)
        } else {
            out
        };
        let data = out.into_data();
        let values = data
            .as_slice::<f32>()
            .map_err(|e| ModelError::Artifact(format!("unexpected output tensor: {e:?}")))?
            .iter()
            .map(|&x| f64::from(x))
            .collect();
        Ok((width, values))
    }
}

impl Runtime for BurnRuntime {
    fn forward(&self, features: &Features) -> Result<RawOutput> {
        if features.rows == 0 {
            return Ok(if self.classification {
                RawOutput::Probabilities {
                    classes: 0,
                    values: Vec::new(),
                }
            } else {
                RawOutput::Values(Vec::new())
            });
        }
        let (width, mut values) = match &self.dense {
            Some(dense) if features.rows <= DENSE_MAX_ROWS => {
                let mut out = dense.forward(&features.to_f32(), features.rows);
                let width = dense.output.outputs;
                if self.classification {
                    crate::dense::softmax_rows(&mut out, width);
                }
                (width, out.into_iter().map(f64::from).collect())
            }
            _ => self.forward_burn(features)?,
        };
        if let Some(scale) = self.target_scale {
            for v in &mut values {
                *v = *v * scale.std + scale.mean;
            }
        }
        Ok(if self.classification {
            RawOutput::Probabilities {
                classes: width,
                values,
            }
        } else {
            RawOutput::Values(values)
        })
    }

    fn weights(&self) -> Option<Weights<'_>> {
        Some(Weights::Burn(&self.net))
    }
}

/// A fitted linfa model.
pub struct LinfaRuntime {
    pub model: LinfaModel,
}

impl Runtime for LinfaRuntime {
    fn forward(&self, features: &Features) -> Result<RawOutput> {
        let x = ndarray::ArrayView2::from_shape((features.rows, features.cols), &features.values)
            .map_err(|e| ModelError::Input(format!("bad feature matrix: {e}")))?;
        Ok(match self.model.predict(x)? {
            LinfaOutput::Probabilities(p) => RawOutput::Probabilities {
                classes: p.ncols(),
                values: p.iter().copied().collect(),
            },
            LinfaOutput::Values(v) => RawOutput::Values(v),
        })
    }

    fn weights(&self) -> Option<Weights<'_>> {
        Some(Weights::Linfa(&self.model))
    }
}
