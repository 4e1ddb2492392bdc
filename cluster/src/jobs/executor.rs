//! The server's side: `smelt server --queue nats://…` puts jobs on the
//! queue instead of running them on its own threads.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use smelt_api::jobs::{JobRecord, JobStatus};
use smelt_trainer::dataset::check_locations;
use smelt_trainer::executor::{Executor, JobRunner, Submission, check_submission};
use smelt_trainer::tracker::now_ms;
use smelt_trainer::{DataRoots, Tracking, TrainError, TrainResult};

use super::{JobBook, JobEntry, labels_key};
use crate::queue::Queue;

/// Jobs queued on NATS for `smelt worker` processes; every server replica
/// on the same NATS sees the same jobs.
pub struct NatsExecutor {
    book: JobBook,
    runners: Vec<Arc<dyn JobRunner>>,
    /// Relative data paths in specs resolve here (checked at submit).
    base_dir: PathBuf,
    /// Where submitted jobs may read data (checked at submit; each worker
    /// checks again against its own roots).
    data_roots: DataRoots,
    /// The server's tracking, to check `runs:/` data at submit.
    tracking: Tracking,
}

impl NatsExecutor {
    pub fn new(
        queue: Queue,
        tracking: Tracking,
        runners: Vec<Arc<dyn JobRunner>>,
        base_dir: PathBuf,
        data_roots: DataRoots,
    ) -> Self {
        NatsExecutor {
            book: JobBook::new(queue),
            runners,
            base_dir,
            data_roots,
            tracking,
        }
    }

    /// Runs a NATS call from the executor's synchronous methods, which the
    /// jobs API calls on blocking threads and the UI on async workers.
    fn block<F: Future>(&self, future: F) -> F::Output {
        let runtime = &self.tracking.runtime;
        tokio::task::block_in_place(|| runtime.block_on(future))
    }

    fn log(&self, job_id: &str, line: &str) {
        let stamped = format!(
            "[{}] {line}",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        );
        if let Err(e) = self.block(self.book.append_log(job_id, &stamped)) {
            tracing::warn!(%job_id, error = %e, "cannot write to the job log");
        }
    }
}

impl Executor for NatsExecutor {
    fn submit(&self, spec_toml: &str) -> TrainResult<JobRecord> {
        let Submission { summary, locations } = check_submission(&self.runners, spec_toml)?;
        check_locations(
            &locations,
            &self.base_dir,
            Some(&self.tracking),
            &self.data_roots,
        )?;
        let job_id = uuid::Uuid::new_v4().simple().to_string();
        let entry = JobEntry {
            record: summary.queued_record(&job_id),
            spec: spec_toml.to_string(),
            labels: summary.labels.clone(),
            cancel_requested: false,
            worker: None,
        };
        self.block(self.book.create(&entry))?;
        self.log(
            &job_id,
            &format!(
                "queued for a worker with labels: {}\n",
                labels_key(&entry.labels)
            ),
        );
        if let Err(error) = self.block(self.book.enqueue(&job_id, &entry.labels)) {
            // Never leave a QUEUED record that no message will start.
            let reason = error.to_string();
            let _ = self.block(self.book.update(&job_id, |e| {
                e.record.status = JobStatus::Failed;
                e.record.finished_at = Some(now_ms());
                e.record.error = Some(format!("could not be queued: {reason}"));
                true
            }));
            return Err(error.into());
        }
        Ok(entry.record)
    }

    fn list(&self) -> TrainResult<Vec<JobRecord>> {
        let mut records = self.block(self.book.records())?;
        records.sort_by_key(|r| std::cmp::Reverse(r.submitted_at));
        Ok(records)
    }

    fn get(&self, job_id: &str) -> TrainResult<JobRecord> {
        self.block(self.book.get(job_id))?
            .map(|(entry, _)| entry.record)
            .ok_or_else(|| TrainError::NotFound(format!("no job '{job_id}'")))
    }

    fn logs(&self, job_id: &str) -> TrainResult<String> {
        self.get(job_id)?;
        Ok(self.block(self.book.log(job_id))?)
    }

    fn cancel(&self, job_id: &str) -> TrainResult<JobRecord> {
        let mut was = None;
        let entry = self
            .block(self.book.update(job_id, |entry| {
                was = Some(entry.record.status);
                match entry.record.status {
                    // The worker that pulls it sees CANCELLED and skips it.
                    JobStatus::Queued => {
                        entry.record.status = JobStatus::Cancelled;
                        entry.record.finished_at = Some(now_ms());
                        true
                    }
                    // The worker's heartbeat sees the flag and stops the job.
                    JobStatus::Running => {
                        entry.cancel_requested = true;
                        true
                    }
                    _ => false,
                }
            }))?
            .ok_or_else(|| TrainError::NotFound(format!("no job '{job_id}'")))?;
        match was {
            Some(JobStatus::Queued) => self.log(job_id, "cancelled before it started\n"),
            Some(JobStatus::Running) => self.log(
                job_id,
                "cancel requested: the worker stops it at the next batch\n",
            ),
            _ => {}
        }
        Ok(entry.record)
    }
}
