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
use crate::job::{JobOptions, RunCallback, run_job};
use crate::progress::ProgressMode;
use crate::spec::JobSpec;
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
    /// Stops taking new jobs (the server is shutting down); jobs already
    /// running continue where they run.
    fn stop(&self) {}
}

/// A kind of job besides training, told apart by its spec's top-level table
/// (`[autopilot]` …). Crates above the trainer implement it (the autopilot
/// does), so the executor runs their jobs without depending on them.
pub trait JobRunner: Send + Sync {
    /// The top-level TOML table that marks this kind of spec.
    fn table(&self) -> &'static str;
    /// Checks a submitted spec without running it: its experiment, a label
    /// for listings and the worker labels it needs.
    fn check(&self, spec_toml: &str) -> TrainResult<JobSummary>;
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

/// What an executor learns from a spec when it is submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSummary {
    /// The experiment its run goes to.
    pub experiment: String,
    /// The model kind (or `autopilot`), for listings.
    pub model: String,
    /// Labels a `smelt worker` must carry to run it (`smelt worker --labels`),
    /// sorted and without repeats.
    pub labels: Vec<String>,
}

impl JobSummary {
    /// The record of a job just queued under `job_id`, as every executor
    /// writes it.
    pub fn queued_record(&self, job_id: &str) -> JobRecord {
        JobRecord {
            job_id: job_id.to_string(),
            status: JobStatus::Queued,
            run_id: None,
            submitted_at: crate::tracker::now_ms(),
            started_at: None,
            finished_at: None,
            error: None,
            attempts: 0,
            model_version: None,
            experiment: Some(self.experiment.clone()),
            model: Some(self.model.clone()),
        }
    }
}

/// A checked submission: what [`check_submission`] found in a spec.
pub struct Submission {
    pub summary: JobSummary,
    /// The data files and URIs it reads, as written.
    pub locations: Vec<String>,
}

/// Checks a submitted spec of any kind (training, or a runner's table):
/// parse, validate, and find its data. Both executors call it before they
/// queue anything, so a bad spec is refused the same way wherever jobs run.
pub fn check_submission(
    runners: &[Arc<dyn JobRunner>],
    spec_toml: &str,
) -> TrainResult<Submission> {
    match runner_for(runners, spec_toml) {
        Some(runner) => Ok(Submission {
            summary: runner.check(spec_toml)?,
            locations: runner.data_locations(spec_toml)?,
        }),
        None => {
            let spec = JobSpec::from_toml(spec_toml, "the submitted job spec")?;
            Ok(Submission {
                summary: JobSummary {
                    experiment: spec
                        .tracking
                        .experiment
                        .clone()
                        .unwrap_or_else(|| "Default".into()),
                    model: spec.model.name().to_string(),
                    labels: spec.training.required_labels(),
                },
                locations: spec.data.locations(),
            })
        }
    }
}

/// Runs one attempt of a job of any kind to its end, in `context`'s run
/// when an earlier attempt had started one (training resumes from its last
/// checkpoint). The in-process executor and `smelt worker` both run jobs
/// through here, so a job does the same wherever it runs.
pub fn run_spec(
    runners: &[Arc<dyn JobRunner>],
    spec_toml: &str,
    tracking: &Tracking,
    context: RunContext,
) -> TrainResult<RunResult> {
    if let Some(runner) = runner_for(runners, spec_toml) {
        return runner.run(spec_toml, tracking, context);
    }
    let spec = JobSpec::from_toml(spec_toml, "the job spec")?;
    let options = JobOptions {
        base_dir: context.base_dir,
        resume: context.previous_run,
        progress: context.progress,
        cancel: context.cancel,
        tags: context.tags,
        on_run: Some(context.on_run),
        data_roots: context.data_roots,
    };
    let outcome = run_job(&spec, tracking, &options)?;
    let model_version = outcome
        .registered_model
        .as_ref()
        .zip(outcome.registered_version.as_ref())
        .map(|(n, v)| format!("models:/{n}/{v}"));
    Ok(RunResult {
        run_id: outcome.run_id,
        model_version,
    })
}

/// Labels as `smelt worker --labels` and specs write them: lower-case
/// letters, digits, `-` and `_` (they become parts of queue subjects).
pub fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty()
        || label.len() > 32
        || !label
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(format!(
            "the worker label '{label}' is not valid: use 1 to 32 lower-case letters, digits, '-' or '_'"
        ));
    }
    Ok(())
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
