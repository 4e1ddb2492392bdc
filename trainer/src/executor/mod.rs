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
/// The wire types of jobs live in `smelt-api` (the CLI, the UI and the
/// notebook read the same ones); re-exported where they always were.
pub use smelt_api::jobs::{JobRecord, JobStatus};

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use smelt_tracking::entities::Tag;

use crate::error::TrainResult;
use crate::job::RunCallback;
use crate::progress::ProgressMode;
use crate::tracker::Tracking;
use smelt_tracking::artifacts::DataRoots;

/// Runs jobs.
pub trait Executor: Send + Sync {
    /// Queues a job (TOML spec text; relative data paths resolve against the
    /// executor's working directory). Bad specs, and specs naming data the
    /// executor may not read, are refused here.
    fn submit(&self, spec_toml: &str) -> TrainResult<JobRecord>;
    fn list(&self) -> TrainResult<Vec<JobRecord>>;
    fn get(&self, job_id: &str) -> TrainResult<JobRecord>;
    /// The job's log so far.
    fn logs(&self, job_id: &str) -> TrainResult<String>;
    /// Cancels a queued job, or stops a running one (its run ends KILLED).
    fn cancel(&self, job_id: &str) -> TrainResult<JobRecord>;
}

/// A kind of job besides training, told apart by its spec's top-level table
/// (`[autopilot]` …). Crates above the trainer implement it (the autopilot
/// does), so the executor runs their jobs without depending on them.
pub trait JobRunner: Send + Sync {
    /// The top-level TOML table that marks this kind of spec.
    fn table(&self) -> &'static str;
    /// Checks a submitted spec without running it; returns the experiment and
    /// a label for listings.
    fn check(&self, spec_toml: &str) -> TrainResult<(String, String)>;
    /// Every data file or URI the spec reads, as written (relative paths
    /// resolve against the executor's base folder). The executor checks them
    /// against its [`DataRoots`] before it queues the job.
    fn data_locations(&self, spec_toml: &str) -> TrainResult<Vec<String>>;
    /// Runs the job to its end.
    fn run(
        &self,
        spec_toml: &str,
        tracking: &Tracking,
        context: RunContext,
    ) -> TrainResult<RunResult>;
}

/// How the executor runs a job of another kind.
pub struct RunContext {
    /// Relative data paths resolve here.
    pub base_dir: PathBuf,
    /// Where the job may read data; the runner passes it to the reader.
    pub data_roots: DataRoots,
    /// The run an interrupted earlier attempt had started.
    pub previous_run: Option<String>,
    pub progress: ProgressMode,
    pub cancel: Arc<AtomicBool>,
    pub tags: Vec<Tag>,
    /// Told the run id as soon as the run exists.
    pub on_run: RunCallback,
}

/// What a finished job of another kind reports.
pub struct RunResult {
    pub run_id: String,
    /// `models:/NAME/VERSION` when it registered a model.
    pub model_version: Option<String>,
}

/// The runner whose table `spec_toml` has at its top level, if any.
pub(crate) fn runner_for(
    runners: &[Arc<dyn JobRunner>],
    spec_toml: &str,
) -> Option<Arc<dyn JobRunner>> {
    let table: toml::Table = spec_toml.parse().ok()?;
    runners
        .iter()
        .find(|r| table.contains_key(r.table()))
        .cloned()
}
