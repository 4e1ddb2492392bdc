//! Jobs over JetStream.
//!
//! A job's life: the server checks the spec as the local executor does,
//! writes a [`JobEntry`] to the records bucket (QUEUED) and publishes the
//! job id to `smelt.jobs.queue.<labels>`. A worker whose labels include the
//! job's pulls it, marks it RUNNING, runs it through the trainer's
//! `run_spec` (the code the local executor runs) while a heartbeat task
//! sends in-progress acknowledgements, streams the log and watches for a
//! cancel, then records the outcome and acknowledges (which deletes the
//! message: the stream is a work queue).
//!
//! A worker that dies stops heartbeating; after the acknowledgement wait
//! JetStream redelivers the job to another worker, which resumes the run
//! the record names from its last checkpoint. After `max_attempts`
//! deliveries the job is failed with the reason. A worker cut off from
//! NATS for most of the acknowledgement wait stops its job (the run ends
//! KILLED, and the next attempt continues it), so two workers never train
//! one run at once.
//!
//! Labels route jobs: a job needing `{gpu}` goes to `smelt.jobs.queue.gpu`,
//! one needing nothing to `smelt.jobs.queue.any`. A worker pulls, through one
//! durable consumer per subject shared by all workers, from every subject
//! whose labels it has (each subset of its own), most specific first.

mod book;
mod executor;
mod worker;

pub use book::JobBook;
pub use executor::NatsExecutor;
pub use worker::{Worker, WorkerOptions};

use serde::{Deserialize, Serialize};
use smelt_api::jobs::JobRecord;

use crate::error::{ClusterError, ClusterResult};
use crate::queue::JOBS_SUBJECT;

/// More labels than this on one worker would mean too many consumers
/// (one per subset).
pub const MAX_WORKER_LABELS: usize = 6;

/// What the records bucket holds per job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEntry {
    /// What the jobs API answers.
    pub record: JobRecord,
    /// The spec as submitted (data as URIs or paths the workers can read).
    pub spec: String,
    /// Labels a worker needs to run it.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Set by a cancel while the job runs; the worker stops it.
    #[serde(default)]
    pub cancel_requested: bool,
    /// The worker running (or that last ran) it.
    #[serde(default)]
    pub worker: Option<String>,
}

/// The subject part that names a set of labels: `any`, or the sorted
/// labels joined by `+`.
pub fn labels_key(labels: &[String]) -> String {
    let mut labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    labels.sort_unstable();
    labels.dedup();
    if labels.is_empty() {
        "any".to_string()
    } else {
        labels.join("+")
    }
}

/// The subject a job needing `labels` is queued on.
pub(crate) fn queue_subject(labels: &[String]) -> String {
    format!("{JOBS_SUBJECT}.{}", labels_key(labels))
}

/// Every label set a worker with `labels` can serve, most specific first.
pub(crate) fn servable(labels: &[String]) -> ClusterResult<Vec<Vec<String>>> {
    let mut labels: Vec<String> = labels.to_vec();
    labels.sort();
    labels.dedup();
    for label in &labels {
        smelt_trainer::executor::check_label(label).map_err(ClusterError::Invalid)?;
    }
    if labels.len() > MAX_WORKER_LABELS {
        return Err(ClusterError::Invalid(format!(
            "a worker takes at most {MAX_WORKER_LABELS} labels, got {}",
            labels.len()
        )));
    }
    let mut sets: Vec<Vec<String>> = (0..1u32 << labels.len())
        .map(|mask| {
            labels
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, l)| l.clone())
                .collect()
        })
        .collect();
    sets.sort_by_key(|set: &Vec<String>| std::cmp::Reverse(set.len()));
    Ok(sets)
}

/// Job ids are ours (hex); anything else never names a key.
pub(crate) fn check_job_id(job_id: &str) -> bool {
    !job_id.is_empty() && job_id.len() <= 64 && job_id.chars().all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn label_sets_name_subjects_and_workers_serve_every_subset() {
        assert_eq!(labels_key(&[]), "any");
        assert_eq!(
            labels_key(&strings(&["highmem", "gpu", "gpu"])),
            "gpu+highmem"
        );
        assert_eq!(queue_subject(&strings(&["gpu"])), "smelt.jobs.queue.gpu");
        let sets = servable(&strings(&["highmem", "gpu"])).unwrap();
        let keys: Vec<String> = sets.iter().map(|s| labels_key(s)).collect();
        assert_eq!(keys[0], "gpu+highmem", "most specific first");
        assert_eq!(keys.last().unwrap(), "any");
        assert_eq!(keys.len(), 4);
        assert!(keys.contains(&"gpu".to_string()) && keys.contains(&"highmem".to_string()));
        assert_eq!(servable(&[]).unwrap(), vec![Vec::<String>::new()]);
        let error = servable(&strings(&["GPU"])).unwrap_err().to_string();
        assert!(error.contains("'GPU'"), "{error}");
        let many: Vec<String> = (0..7).map(|i| format!("l{i}")).collect();
        assert!(servable(&many).is_err());
    }

    #[test]
    fn only_hex_ids_name_jobs() {
        assert!(check_job_id("0123abcd"));
        assert!(!check_job_id(""));
        assert!(!check_job_id("../x"));
        assert!(!check_job_id("a.b"));
        assert!(!check_job_id("a*"));
    }
}
