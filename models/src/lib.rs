//! What a Smelt model *is* at inference time: the fitted [`Preprocessor`],
//! a [`Runtime`] (a Burn network, a linfa model or gradient-boosted trees),
//! label decoding, all behind the [`Predictor`] trait; weighted ensembles of
//! such models ([`ensemble`]); and the model folder ([`flavor`]) with its
//! MLflow `MLmodel` file in the `smelt` flavor.
//!
//! Start at [`predictor`], then [`flavor`] for the files on disk.

#[cfg(feature = "candle")]
pub mod candle_runtime;
pub mod dense;
pub mod ensemble;
mod error;
pub mod flavor;
pub mod gbdt;
pub mod linfa_models;
pub mod nets;
pub mod predictor;
pub mod preprocessing;
pub mod runtime;
pub mod task;

pub use error::{ModelError, Result};
pub use flavor::{
    ModelBundle, ModelDescriptor, ModelFiles, RuntimeSpec, Weights, load_model, save_model,
};
pub use predictor::{Predictor, TabularModel};
pub use preprocessing::{Features, Preprocessor};
pub use runtime::{BurnRuntime, LinfaRuntime, RawOutput, Runtime, TargetScale};
pub use task::{EncodedTarget, Predictions, Task};

/// Smelt's version, recorded in every model folder.
pub const SMELT_VERSION: &str = env!("CARGO_PKG_VERSION");
