//! The training job's view of tracking: a blocking facade over any
//! [`TrackingStore`] (the local SQL store, a Smelt server, an MLflow server)
//! plus the run's artifact store. Training runs on a plain thread; each call
//! here blocks on the async store through the runtime handle it was given.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use smelt_tracking::TrackingStore;
use smelt_tracking::artifacts::ArtifactStore;
use smelt_tracking::entities::{Metric, Param, Run, RunStatus, Tag};
use smelt_tracking::store::{CreateRun, UpdateRun};

use crate::error::{TrainError, TrainResult};

/// Opens the artifact store at a run's artifact URI (the caller knows where
/// `mlflow-artifacts:` locations live).
pub type OpenArtifacts =
    Arc<dyn Fn(&str) -> smelt_tracking::Result<Arc<dyn ArtifactStore>> + Send + Sync>;

/// Where runs go.
#[derive(Clone)]
pub struct Tracking {
    pub store: Arc<dyn TrackingStore>,
    pub tracking_uri: String,
    pub open_artifacts: OpenArtifacts,
    pub runtime: tokio::runtime::Handle,
}

impl Tracking {
    pub(crate) fn block<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The experiment's id, creating it when missing.
    pub fn experiment_id(&self, name: &str) -> TrainResult<String> {
        self.block(async {
            if let Some(experiment) = self.store.get_experiment_by_name(name).await? {
                return Ok(experiment.experiment_id);
            }
            match self.store.create_experiment(name, None, &[]).await {
                Ok(id) => Ok(id),
                // Another job created it in between.
                Err(e) if e.code == smelt_tracking::ErrorCode::ResourceAlreadyExists => Ok(self
                    .store
                    .get_experiment_by_name(name)
                    .await?
                    .map(|e| e.experiment_id)
                    .unwrap_or_default()),
                Err(e) => Err(e.into()),
            }
        })
    }
}

/// One run being written.
/// The tag naming the `smelt worker` that runs (or last ran) a run.
pub const WORKER_TAG: &str = "smelt.worker";

pub struct RunTracker {
    tracking: Tracking,
    pub run_id: String,
    pub experiment_id: String,
    artifacts: Arc<dyn ArtifactStore>,
    /// The worker this attempt tagged the run with ([`WORKER_TAG`]), if any.
    worker: std::sync::Mutex<Option<String>>,
}

impl RunTracker {
    pub fn start(
        tracking: &Tracking,
        experiment_id: &str,
        run_name: Option<String>,
        tags: Vec<Tag>,
    ) -> TrainResult<Self> {
        let worker = worker_of(&tags);
        let run = tracking.block(tracking.store.create_run(&CreateRun {
            experiment_id: experiment_id.to_string(),
            user_id: std::env::var("USER").ok(),
            run_name,
            start_time: Some(now_ms()),
            tags,
        }))?;
        let tracker = Self::attach(tracking, run)?;
        *tracker.lock_worker() = worker;
        Ok(tracker)
    }

    /// Reopens an existing run (for `--resume`), marking it RUNNING again.
    pub fn resume(tracking: &Tracking, run_id: &str) -> TrainResult<(Self, Run)> {
        let run = tracking.block(tracking.store.get_run(run_id))?;
        if run.info.status == RunStatus::Finished {
            return Err(TrainError::Spec(format!(
                "run {run_id} already FINISHED; --resume continues runs that were killed, failed or are still marked RUNNING"
            )));
        }
        tracking.block(tracking.store.update_run(&UpdateRun {
            run_id: run_id.to_string(),
            status: Some(RunStatus::Running),
            end_time: None,
            run_name: None,
        }))?;
        Ok((Self::attach(tracking, run.clone())?, run))
    }

    fn attach(tracking: &Tracking, run: Run) -> TrainResult<Self> {
        let artifacts = (tracking.open_artifacts)(&run.info.artifact_uri)?;
        Ok(RunTracker {
            tracking: tracking.clone(),
            run_id: run.info.run_id,
            experiment_id: run.info.experiment_id,
            artifacts,
            worker: std::sync::Mutex::new(None),
        })
    }

    fn lock_worker(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.worker.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether another worker has since resumed this run (its
    /// [`WORKER_TAG`] names someone else): this attempt was stopped after
    /// losing the job queue, and the run is no longer its to close.
    pub fn taken_over(&self) -> bool {
        let Some(ours) = self.lock_worker().clone() else {
            return false;
        };
        match self.tracking.block(self.store().get_run(&self.run_id)) {
            Ok(run) => run
                .data
                .tags
                .iter()
                .any(|t| t.key == WORKER_TAG && t.value != ours),
            Err(_) => false,
        }
    }

    pub fn tracking(&self) -> &Tracking {
        &self.tracking
    }

    pub fn store(&self) -> &dyn TrackingStore {
        self.tracking.store.as_ref()
    }

    pub fn log_params(&self, params: &[(String, String)]) -> TrainResult<()> {
        // MLflow's log-batch takes at most 100 params per call.
        for chunk in params.chunks(100) {
            let params: Vec<Param> = chunk
                .iter()
                .map(|(k, v)| Param::new(k, truncate(v)))
                .collect();
            self.tracking
                .block(self.store().log_batch(&self.run_id, &[], &params, &[]))?;
        }
        Ok(())
    }

    pub fn set_tags(&self, tags: &[Tag]) -> TrainResult<()> {
        if let Some(worker) = worker_of(tags) {
            *self.lock_worker() = Some(worker);
        }
        for chunk in tags.chunks(100) {
            self.tracking
                .block(self.store().log_batch(&self.run_id, &[], &[], chunk))?;
        }
        Ok(())
    }

    /// Logs `(key, value)` pairs at `step`; non-finite values are skipped
    /// (they would say nothing and break some clients' charts).
    pub fn log_metrics<'a>(
        &self,
        metrics: impl IntoIterator<Item = (&'a str, f64)>,
        step: i64,
    ) -> TrainResult<()> {
        let timestamp = now_ms();
        let metrics: Vec<Metric> = metrics
            .into_iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(key, value)| Metric {
                timestamp,
                ..Metric::new(key, value, step)
            })
            .collect();
        for chunk in metrics.chunks(1000) {
            self.tracking
                .block(self.store().log_batch(&self.run_id, chunk, &[], &[]))?;
        }
        Ok(())
    }

    /// Uploads every file under `local` to `artifact_path/…`.
    pub fn upload_dir(&self, local: &Path, artifact_path: &str) -> TrainResult<()> {
        upload_tree(
            &self.tracking,
            self.artifacts.as_ref(),
            local,
            artifact_path,
        )
    }

    pub fn upload_bytes(&self, artifact_path: &str, bytes: Vec<u8>) -> TrainResult<()> {
        self.tracking
            .block(self.artifacts.put_bytes(artifact_path, Bytes::from(bytes)))?;
        Ok(())
    }

    /// Downloads the artifact folder `artifact_path` into `local`; returns
    /// false when the run has no such folder.
    pub fn download_dir(&self, artifact_path: &str, local: &Path) -> TrainResult<bool> {
        self.tracking.block(async {
            let entries = self.artifacts.list(artifact_path).await?;
            if entries.is_empty() {
                return Ok(false);
            }
            std::fs::create_dir_all(local)
                .map_err(|e| TrainError::io(format!("cannot create {}", local.display()), e))?;
            for entry in entries {
                let name = entry
                    .path
                    .rsplit('/')
                    .next()
                    .unwrap_or(&entry.path)
                    .to_string();
                if entry.is_dir || name.is_empty() || name == ".." || name.contains('\\') {
                    continue;
                }
                let object = self
                    .artifacts
                    .get(&format!("{artifact_path}/{name}"))
                    .await?;
                let bytes = object.into_bytes().await?;
                std::fs::write(local.join(&name), &bytes)
                    .map_err(|e| TrainError::io(format!("cannot write {name}"), e))?;
            }
            Ok(true)
        })
    }

    /// Closes the run with `status`.
    pub fn end(&self, status: RunStatus) -> TrainResult<()> {
        self.tracking.block(self.store().update_run(&UpdateRun {
            run_id: self.run_id.clone(),
            status: Some(status),
            end_time: Some(now_ms()),
            run_name: None,
        }))?;
        Ok(())
    }
}

/// Uploads every file under `local` into `store` at `prefix/…`.
pub fn upload_tree(
    tracking: &Tracking,
    store: &dyn ArtifactStore,
    local: &Path,
    prefix: &str,
) -> TrainResult<()> {
    let mut pending = vec![(local.to_path_buf(), prefix.trim_matches('/').to_string())];
    while let Some((dir, remote)) = pending.pop() {
        let list_error = |e| TrainError::io(format!("cannot list {}", dir.display()), e);
        for entry in std::fs::read_dir(&dir).map_err(list_error)? {
            let entry = entry.map_err(list_error)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let target = if remote.is_empty() {
                name
            } else {
                format!("{remote}/{name}")
            };
            if path.is_dir() {
                pending.push((path, target));
            } else {
                let bytes = std::fs::read(&path)
                    .map_err(|e| TrainError::io(format!("cannot read {}", path.display()), e))?;
                tracking.block(store.put_bytes(&target, Bytes::from(bytes)))?;
            }
        }
    }
    Ok(())
}

/// MLflow caps param values at 6000 characters.
fn truncate(value: &str) -> String {
    if value.len() <= 6000 {
        return value.to_string();
    }
    let mut end = 6000;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    value[..end].to_string()
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Runs `work` for `run` and closes the run by how it ended: FINISHED;
/// KILLED when cancelled; FAILED with the error in `smelt.error` and the run's
/// note (`"{what} failed: …"`). A panic inside a library becomes an error
/// that closes the run too (and does not take a server's job worker down).
pub fn run_closing<T>(
    run: &RunTracker,
    what: &str,
    work: impl FnOnce() -> TrainResult<T>,
) -> TrainResult<T> {
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown panic");
            Err(TrainError::Training(format!("internal error: {message}")))
        });
    match &result {
        Ok(_) => run.end(RunStatus::Finished)?,
        // A worker cut off from the queue stops its attempt (or fails with
        // the link); if another worker resumed the run meanwhile, closing it
        // would end that worker's attempt.
        Err(_) if run.taken_over() => {
            tracing::warn!(run_id = %run.run_id, "another worker resumed this run; leaving it open");
        }
        Err(TrainError::Cancelled) => {
            let _ = run.set_tags(&[Tag::new("smelt.error", "cancelled")]);
            run.end(RunStatus::Killed)?;
        }
        Err(error) => {
            // Record why before closing; if tracking itself is what failed,
            // these may fail too, and the original error is what matters.
            let message = error.to_string();
            let _ = run.set_tags(&[
                Tag::new("smelt.error", message.clone()),
                Tag::new("mlflow.note.content", format!("{what} failed: {message}")),
            ]);
            let _ = run.end(RunStatus::Failed);
        }
    }
    result
}

/// The worker a set of tags names, if any.
fn worker_of(tags: &[Tag]) -> Option<String> {
    tags.iter()
        .find(|t| t.key == WORKER_TAG)
        .map(|t| t.value.clone())
}
