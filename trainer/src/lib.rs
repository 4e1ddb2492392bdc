//! Smelt's trainer: job specs ([`spec`]) over the registry of model
//! families ([`families`]), data preparation ([`dataset`]),
//! the Burn training loop ([`net_training`]) and linfa fits, metrics,
//! checkpoints and resume ([`observer`]), and [`job::run_job`], which takes
//! one job from spec to a tracked run and a registered model.
//!
//! Start reading at [`job`].

pub mod dataset;
pub mod device;
mod error;
pub mod executor;
pub mod families;
pub mod job;
pub mod metrics;
mod mlp_backprop;
pub mod net_training;
pub mod observer;
pub mod plots;
pub mod progress;
pub mod publish;
pub mod spec;
pub mod tracker;

pub use error::{TrainError, TrainResult};
pub use job::{JobOptions, JobOutcome, run_job};
pub use progress::ProgressMode;
pub use smelt_tracking::artifacts::DataRoots;
pub use spec::JobSpec;
pub use tracker::{OpenArtifacts, RunTracker, Tracking};
