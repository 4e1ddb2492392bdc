//! Runtimes turn an encoded feature matrix into raw outputs. Burn networks
//! run on the pure-Rust `flex` CPU backend at inference; linfa models run
//! their own `predict`. The [`crate::TabularModel`] wraps a runtime with its
//! preprocessing and label decoding.
//!
//! Each family owns its files in a model folder: its fitted state saves
//! itself ([`ModelFiles`], handed out by [`Runtime::weights`]) and its
//! runtime's `load` reads it back, so neither this seam nor the folder
//! format enumerates families.

use burn::prelude::*;
use burn::tensor::activation::softmax;

use crate::error::{ModelError, Result};
use crate::flavor::{ModelFiles, read_json, write_json};
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
    /// The fitted state, which saves itself into a model folder; `None`
    /// for runtimes that only load models.
    fn weights(&self) -> Option<&dyn ModelFiles>;
}

/// A network's weights in a model folder.
pub const WEIGHTS: &str = "weights.safetensors";
/// A fitted linfa model in a model folder.
pub const LINFA_MODEL: &str = "linfa_model.json";

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

    fn weights(&self) -> Option<&dyn ModelFiles> {
        Some(&self.net)
    }
}

/// Writes a network's weights as safetensors (Burn's layout: `Linear`
/// weights are `[in, out]`; tensor names are the module paths, such as
/// `Mlp.hidden.0.weight`); [`BurnRuntime::load`] reads them back.
pub fn save_weights(net: &Net, path: &std::path::Path) -> Result<()> {
    use burn::store::{ModuleSnapshot, SafetensorsStore};
    let mut store = SafetensorsStore::from_file(path)
        .metadata("framework", "burn-0.22.1")
        .metadata("layout", "burn: Linear weights are [in, out]");
    net.save_into(&mut store)
        .map_err(|e| ModelError::Artifact(format!("cannot write {}: {e}", path.display())))
}

impl ModelFiles for Net {
    fn save(&self, dir: &std::path::Path) -> Result<&'static str> {
        save_weights(self, &dir.join(WEIGHTS))?;
        Ok(WEIGHTS)
    }
}

impl ModelFiles for LinfaModel {
    fn save(&self, dir: &std::path::Path) -> Result<&'static str> {
        write_json(dir, LINFA_MODEL, self)
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

    fn weights(&self) -> Option<&dyn ModelFiles> {
        Some(&self.model)
    }
}

impl LinfaRuntime {
    /// The linfa model saved in the model folder `dir`.
    pub fn load(dir: &std::path::Path) -> Result<LinfaRuntime> {
        Ok(LinfaRuntime {
            model: read_json(&dir.join(LINFA_MODEL))?,
        })
    }
}
