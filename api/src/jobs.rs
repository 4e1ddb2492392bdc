//! The jobs API (`/api/2.0/smelt/jobs`): training and autopilot jobs queued
//! on a server's executor.
//!
//! | method and path | body | answer |
//! |---|---|---|
//! | `POST /api/2.0/smelt/jobs` | [`SubmitJob`] | [`JobResponse`] |
//! | `GET /api/2.0/smelt/jobs` | | [`JobList`], newest first |
//! | `GET /api/2.0/smelt/jobs/{id}` | | [`JobResponse`] |
//! | `GET /api/2.0/smelt/jobs/{id}/logs` | | the log, as `text/plain` |
//! | `POST /api/2.0/smelt/jobs/{id}/cancel` | | [`JobResponse`] |

use serde::{Deserialize, Serialize};

/// Where the jobs API lives.
pub const JOBS_PATH: &str = "/api/2.0/smelt/jobs";

/// The path of one job.
pub fn job_path(job_id: &str) -> String {
    format!("{JOBS_PATH}/{job_id}")
}

/// The path of a job's log.
pub fn job_logs_path(job_id: &str) -> String {
    format!("{JOBS_PATH}/{job_id}/logs")
}

/// The path that cancels a job.
pub fn job_cancel_path(job_id: &str) -> String {
    format!("{JOBS_PATH}/{job_id}/cancel")
}

/// A job's lifecycle: `QUEUED` → `RUNNING` → one of the final three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker runs it (again, after a restart: it resumes in its run).
    Running,
    /// Finished; its model is registered when the spec asked for it.
    Succeeded,
    /// Stopped by an error ([`JobRecord::error`]).
    Failed,
    /// Cancelled before or while it ran (its run ends KILLED).
    Cancelled,
}

impl JobStatus {
    /// Whether the job has ended (it will not change again).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }

    /// The name on the wire (`SUCCEEDED` …), also the UI's CSS class suffix.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "QUEUED",
            JobStatus::Running => "RUNNING",
            JobStatus::Succeeded => "SUCCEEDED",
            JobStatus::Failed => "FAILED",
            JobStatus::Cancelled => "CANCELLED",
        }
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the executor knows about a job (also its record on the server's
/// disk, so fields added later need a default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The job's id (a UUID without dashes).
    pub job_id: String,
    /// Where it is in its lifecycle.
    pub status: JobStatus,
    /// The run, once the job has created it.
    #[serde(default)]
    pub run_id: Option<String>,
    /// When it was queued, in milliseconds since the epoch.
    pub submitted_at: i64,
    /// When it last started.
    #[serde(default)]
    pub started_at: Option<i64>,
    /// When it ended.
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
    /// The experiment, for listings.
    #[serde(default)]
    pub experiment: Option<String>,
    /// The model kind (or `autopilot`), for listings.
    #[serde(default)]
    pub model: Option<String>,
}

/// `POST /api/2.0/smelt/jobs`: a job spec, as the TOML text `smelt train`
/// or `smelt autopilot` reads (data paths as the server sees them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitJob {
    /// The TOML job spec.
    pub spec: String,
}

/// One job: the answer to submit, get and cancel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResponse {
    /// The job as it is now.
    pub job: JobRecord,
}

/// Every job, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobList {
    /// The jobs.
    pub jobs: Vec<JobRecord>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> JobRecord {
        JobRecord {
            job_id: "0123abcd".into(),
            status: JobStatus::Succeeded,
            run_id: Some("r1".into()),
            submitted_at: 1_700_000_000_000,
            started_at: Some(1_700_000_000_500),
            finished_at: None,
            error: None,
            attempts: 1,
            model_version: Some("models:/wine/2".into()),
            experiment: Some("Default".into()),
            model: Some("mlp".into()),
        }
    }

    #[test]
    fn a_job_record_has_its_wire_shape() {
        let wire = json!({
            "job": {
                "job_id": "0123abcd", "status": "SUCCEEDED", "run_id": "r1",
                "submitted_at": 1_700_000_000_000i64, "started_at": 1_700_000_000_500i64,
                "finished_at": null, "error": null, "attempts": 1,
                "model_version": "models:/wine/2", "experiment": "Default", "model": "mlp"
            }
        });
        let response = JobResponse { job: record() };
        assert_eq!(serde_json::to_value(&response).unwrap(), wire);
        assert_eq!(
            serde_json::from_value::<JobResponse>(wire).unwrap(),
            response
        );
    }

    #[test]
    fn records_written_by_older_servers_still_read() {
        let old: JobRecord =
            serde_json::from_value(json!({"job_id": "a", "status": "QUEUED", "submitted_at": 5}))
                .unwrap();
        assert_eq!(old.status, JobStatus::Queued);
        assert_eq!(old.attempts, 0);
        assert_eq!(old.run_id, None);
    }

    #[test]
    fn statuses_are_screaming_names_and_three_are_final() {
        for (status, name, is_final) in [
            (JobStatus::Queued, "QUEUED", false),
            (JobStatus::Running, "RUNNING", false),
            (JobStatus::Succeeded, "SUCCEEDED", true),
            (JobStatus::Failed, "FAILED", true),
            (JobStatus::Cancelled, "CANCELLED", true),
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), json!(name));
            assert_eq!(status.as_str(), name);
            assert_eq!(status.to_string(), name);
            assert_eq!(status.is_final(), is_final);
        }
        assert!(serde_json::from_value::<JobStatus>(json!("succeeded")).is_err());
    }

    #[test]
    fn submit_and_list_bodies() {
        let submit: SubmitJob = serde_json::from_value(json!({"spec": "[data]\n"})).unwrap();
        assert_eq!(submit.spec, "[data]\n");
        assert_eq!(
            serde_json::to_value(&submit).unwrap(),
            json!({"spec": "[data]\n"})
        );
        assert!(serde_json::from_value::<SubmitJob>(json!({})).is_err());
        let list = JobList {
            jobs: vec![record()],
        };
        let round: JobList = serde_json::from_str(&serde_json::to_string(&list).unwrap()).unwrap();
        assert_eq!(round, list);
        assert_eq!(
            serde_json::to_value(JobList { jobs: vec![] }).unwrap(),
            json!({"jobs": []})
        );
    }

    #[test]
    fn paths() {
        assert_eq!(job_path("j"), "/api/2.0/smelt/jobs/j");
        assert_eq!(job_logs_path("j"), "/api/2.0/smelt/jobs/j/logs");
        assert_eq!(job_cancel_path("j"), "/api/2.0/smelt/jobs/j/cancel");
    }
}
