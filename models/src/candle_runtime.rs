//! An MLP on candle-core, from the same `weights.safetensors` the Burn
//! runtime reads (Burn stores `Linear` weights as `[in, out]`, so this is
//! `x · W + b` with no transpose). Built with the `candle` feature; used to
//! measure which CPU runtime serves small models faster (burn-flex won on
//! this machine, so it stays the default: see README.md, "Speed").

use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::error::{ModelError, Result};
use crate::flavor::ModelFiles;
use crate::nets::{Activation, Architecture, NetSpec};
use crate::preprocessing::Features;
use crate::runtime::{RawOutput, Runtime, TargetScale};
use crate::task::Task;

pub struct CandleRuntime {
    layers: Vec<(Tensor, Tensor)>,
    activation: Activation,
    classification: bool,
    target_scale: Option<TargetScale>,
}

fn candle_error(e: candle_core::Error) -> ModelError {
    ModelError::Artifact(format!("candle: {e}"))
}

impl CandleRuntime {
    pub fn load(
        architecture: &Architecture,
        weights: &Path,
        task: &Task,
        target_scale: Option<TargetScale>,
    ) -> Result<Self> {
        let NetSpec::Mlp(spec) = &architecture.spec else {
            return Err(ModelError::Unsupported(
                "the candle runtime runs MLPs; CNNs run on the Burn runtime".into(),
            ));
        };
        let tensors =
            candle_core::safetensors::load(weights, &Device::Cpu).map_err(candle_error)?;
        let take = |name: String| {
            tensors.get(&name).cloned().ok_or_else(|| {
                ModelError::Artifact(format!("{} has no tensor {name}", weights.display()))
            })
        };
        let mut layers = Vec::new();
        for i in 0..spec.hidden.len() {
            layers.push((
                take(format!("Mlp.hidden.{i}.weight"))?,
                take(format!("Mlp.hidden.{i}.bias"))?,
            ));
        }
        layers.push((
            take("Mlp.output.weight".into())?,
            take("Mlp.output.bias".into())?,
        ));
        Ok(CandleRuntime {
            layers,
            activation: spec.activation,
            classification: task.is_classification(),
            target_scale,
        })
    }

    fn activate(&self, x: Tensor) -> candle_core::Result<Tensor> {
        match self.activation {
            Activation::Relu => x.relu(),
            Activation::Gelu => x.gelu_erf(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => (x.neg()?.exp()? + 1.0)?.recip(),
            Activation::LeakyRelu => x.maximum(&(&x * 0.01)?),
        }
    }

    fn run(&self, features: &Features) -> candle_core::Result<Vec<f32>> {
        let mut x = Tensor::from_vec(
            features.to_f32(),
            (features.rows, features.cols),
            &Device::Cpu,
        )?;
        let last = self.layers.len() - 1;
        for (i, (w, b)) in self.layers.iter().enumerate() {
            x = x.matmul(w)?.broadcast_add(b)?;
            if i < last {
                x = self.activate(x)?;
            }
        }
        if self.classification {
            let max = x.max_keepdim(1)?;
            let e = x.broadcast_sub(&max)?.exp()?;
            x = e.broadcast_div(&e.sum_keepdim(1)?)?;
        }
        x.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()
    }
}

impl Runtime for CandleRuntime {
    fn forward(&self, features: &Features) -> Result<RawOutput> {
        let width = self.layers.last().map_or(0, |(w, _)| w.dims()[1]);
        let mut values: Vec<f64> = self
            .run(features)
            .map_err(candle_error)?
            .into_iter()
            .map(f64::from)
            .collect();
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

    fn weights(&self) -> Option<&dyn ModelFiles> {
        None
    }
}
