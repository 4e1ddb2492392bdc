//! Where jobs run. The [`Executor`] seam takes job specs and runs them
//! somewhere: [`LocalExecutor`] runs them on worker threads inside the
//! server process, with its queue kept as files under the data directory so
//! that queued and running jobs survive a restart (running ones resume from
//! their last checkpoint, in the same run). Separate `smelt worker`
//! processes pulling from a shared queue are another implementation of the
//! same trait.
//!
//! [`api`] puts an executor behind HTTP (`/api/2.0/smelt/jobs…`).

pub mod api;
mod local;

pub use local::LocalExecutor;

use serde::{Deserialize, Serialize};

use crate::error::TrainResult;

/// A job's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

/// What the executor knows about a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub job_id: String,
    pub status: JobStatus,
    /// The run, once the job has created it.
    #[serde(default)]
    pub run_id: Option<String>,
    pub submitted_at: i64,
    #[serde(default)]
    pub started_at: Option<i64>,
    #[serde(default)]
    pub finished_at: Option<i64>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<String>,
    /// How many times it has been started (restarts resume).
    #[serde(default)]
    pub attempts: u32,
    /// `models:/NAME/VERSION` when the job registered its model.
    #[serde(default)]
    pub model_version: Option<String>,
    /// The experiment and model kind, for listings.
    #[serde(default)]
    pub experiment: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
}

/// Runs jobs.
pub trait Executor: Send + Sync {
    /// Queues a job (TOML spec text; relative data paths resolve against the
    /// executor's working directory). Bad specs are refused here.
    fn submit(&self, spec_toml: &str) -> TrainResult<JobRecord>;
    fn list(&self) -> TrainResult<Vec<JobRecord>>;
    fn get(&self, job_id: &str) -> TrainResult<JobRecord>;
    /// The job's log so far.
    fn logs(&self, job_id: &str) -> TrainResult<String>;
    /// Cancels a queued job, or stops a running one (its run ends KILLED).
    fn cancel(&self, job_id: &str) -> TrainResult<JobRecord>;
}
