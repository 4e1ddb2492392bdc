//! The jobs API, mounted by `smelt server` beside MLflow's:
//!
//! | method and path | does |
//! |---|---|
//! | `POST /api/2.0/smelt/jobs` `{"spec": "<TOML>"}` | queue a training or `[autopilot]` job → `{"job": …}` |
//! | `GET /api/2.0/smelt/jobs` | `{"jobs": [...]}`, newest first |
//! | `GET /api/2.0/smelt/jobs/{id}` | `{"job": …}` |
//! | `GET /api/2.0/smelt/jobs/{id}/logs` | the log, as text |
//! | `POST /api/2.0/smelt/jobs/{id}/cancel` | cancel → `{"job": …}` |
//! | `GET /api/2.0/smelt/openapi.json` | OpenAPI 3.1 (`openapi.json` beside this file, merged by `smelt server`) |
//!
//! The bodies are `smelt_api::jobs`' types. Errors are `{"error_code",
//! "message"}` with Smelt's status rule (`ErrorCode::smelt_status`): a bad
//! spec or body is 400, an unknown job 404, a failure of the tracking store
//! keeps its own code (a store that is down is 503, not 500).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use smelt_api::jobs::{JobList, JobResponse, SubmitJob};
use smelt_tracking::api::{SmeltError, SmeltJson, SmeltResult};

use super::Executor;
use crate::error::TrainError;

pub use smelt_api::OPENAPI_PATH;
pub use smelt_api::jobs::JOBS_PATH;

/// This API as OpenAPI 3.1; `smelt server` serves it (merged with the
/// endpoints API) at [`OPENAPI_PATH`].
pub const OPENAPI: &str = include_str!("openapi.json");

/// The routes, over any executor.
pub fn router(executor: Arc<dyn Executor>) -> Router {
    Router::new()
        .route(JOBS_PATH, post(submit).get(list))
        .route(&format!("{JOBS_PATH}/{{id}}"), get(show))
        .route(&format!("{JOBS_PATH}/{{id}}/logs"), get(logs))
        .route(&format!("{JOBS_PATH}/{{id}}/cancel"), post(cancel))
        .with_state(executor)
}

/// Executor calls touch files; keep them off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, TrainError> + Send + 'static,
) -> SmeltResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| TrainError::Training(format!("the request handler crashed: {e}")))?
        .map_err(SmeltError::from)
}

async fn submit(
    State(executor): State<Arc<dyn Executor>>,
    SmeltJson(request): SmeltJson<SubmitJob>,
) -> SmeltResult<Json<JobResponse>> {
    let job = blocking(move || executor.submit(&request.spec)).await?;
    Ok(Json(JobResponse { job }))
}

async fn list(State(executor): State<Arc<dyn Executor>>) -> SmeltResult<Json<JobList>> {
    let jobs = blocking(move || executor.list()).await?;
    Ok(Json(JobList { jobs }))
}

async fn show(
    State(executor): State<Arc<dyn Executor>>,
    Path(id): Path<String>,
) -> SmeltResult<Json<JobResponse>> {
    let job = blocking(move || executor.get(&id)).await?;
    Ok(Json(JobResponse { job }))
}

async fn logs(
    State(executor): State<Arc<dyn Executor>>,
    Path(id): Path<String>,
) -> SmeltResult<Response> {
    let text = blocking(move || executor.logs(&id)).await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

async fn cancel(
    State(executor): State<Arc<dyn Executor>>,
    Path(id): Path<String>,
) -> SmeltResult<Json<JobResponse>> {
    let job = blocking(move || executor.cancel(&id)).await?;
    Ok(Json(JobResponse { job }))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use smelt_api::ErrorBody;
    use smelt_api::jobs::{JobRecord, JobStatus};
    use smelt_tracking::ErrorCode;
    use tower::ServiceExt;

    use super::*;
    use crate::error::TrainResult;

    /// An executor in memory: specs saying `bad` are refused as a spec
    /// error, `exists` and `down` fail in the tracking store.
    #[derive(Default)]
    struct Fake {
        jobs: Mutex<Vec<JobRecord>>,
    }

    impl Fake {
        fn find(&self, job_id: &str) -> TrainResult<JobRecord> {
            self.jobs
                .lock()
                .unwrap()
                .iter()
                .find(|j| j.job_id == job_id)
                .cloned()
                .ok_or_else(|| TrainError::NotFound(format!("no job '{job_id}'")))
        }
    }

    impl Executor for Fake {
        fn submit(&self, spec_toml: &str) -> TrainResult<JobRecord> {
            match spec_toml {
                "bad" => return Err(TrainError::Spec("unknown key 'bad'".into())),
                "exists" => {
                    return Err(smelt_tracking::Error::already_exists("run 'r' exists").into());
                }
                "down" => {
                    return Err(smelt_tracking::Error::new(
                        ErrorCode::TemporarilyUnavailable,
                        "the database is down",
                    )
                    .into());
                }
                _ => {}
            }
            let mut jobs = self.jobs.lock().unwrap();
            let record = JobRecord {
                job_id: format!("job{}", jobs.len()),
                status: JobStatus::Queued,
                run_id: None,
                submitted_at: 1,
                started_at: None,
                finished_at: None,
                error: None,
                attempts: 0,
                model_version: None,
                experiment: Some("Default".into()),
                model: Some("mlp".into()),
            };
            jobs.push(record.clone());
            Ok(record)
        }
        fn list(&self) -> TrainResult<Vec<JobRecord>> {
            Ok(self.jobs.lock().unwrap().clone())
        }
        fn get(&self, job_id: &str) -> TrainResult<JobRecord> {
            self.find(job_id)
        }
        fn logs(&self, job_id: &str) -> TrainResult<String> {
            self.find(job_id).map(|_| "log\n".into())
        }
        fn cancel(&self, job_id: &str) -> TrainResult<JobRecord> {
            let mut record = self.find(job_id)?;
            record.status = JobStatus::Cancelled;
            Ok(record)
        }
    }

    async fn call(router: &Router, method: &str, path: &str, body: &str) -> (StatusCode, Vec<u8>) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, bytes.to_vec())
    }

    async fn error(
        router: &Router,
        method: &str,
        path: &str,
        body: &str,
    ) -> (StatusCode, ErrorCode) {
        let (status, bytes) = call(router, method, path, body).await;
        let body: ErrorBody = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{method} {path}: not an error body ({e})"));
        (status, body.error_code)
    }

    #[tokio::test]
    async fn every_route_answers_typed_bodies() {
        let router = router(Arc::new(Fake::default()));
        let (status, bytes) = call(&router, "POST", JOBS_PATH, r#"{"spec": "[data]"}"#).await;
        assert_eq!(status, StatusCode::OK);
        let submitted: JobResponse = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(submitted.job.status, JobStatus::Queued);
        let id = submitted.job.job_id;
        let (status, bytes) = call(&router, "GET", JOBS_PATH, "").await;
        assert_eq!(status, StatusCode::OK);
        let listed: JobList = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(listed.jobs.len(), 1);
        let (status, bytes) = call(&router, "GET", &smelt_api::jobs::job_path(&id), "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            serde_json::from_slice::<JobResponse>(&bytes)
                .unwrap()
                .job
                .job_id,
            id
        );
        let (status, bytes) = call(&router, "GET", &smelt_api::jobs::job_logs_path(&id), "").await;
        assert_eq!((status, bytes.as_slice()), (StatusCode::OK, &b"log\n"[..]));
        let (status, bytes) =
            call(&router, "POST", &smelt_api::jobs::job_cancel_path(&id), "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            serde_json::from_slice::<JobResponse>(&bytes)
                .unwrap()
                .job
                .status,
            JobStatus::Cancelled
        );
    }

    #[tokio::test]
    async fn every_route_answers_errors_by_smelts_rule() {
        let router = router(Arc::new(Fake::default()));
        let cases = [
            // Malformed JSON, a body that is not an object, an invalid body.
            (
                "POST",
                JOBS_PATH.to_string(),
                "{\"spec\": ",
                (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            ),
            (
                "POST",
                JOBS_PATH.to_string(),
                "",
                (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            ),
            (
                "POST",
                JOBS_PATH.to_string(),
                "[\"x\"]",
                (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            ),
            (
                "POST",
                JOBS_PATH.to_string(),
                "{}",
                (StatusCode::BAD_REQUEST, ErrorCode::InvalidParameterValue),
            ),
            (
                "POST",
                JOBS_PATH.to_string(),
                "{\"spec\": 1}",
                (StatusCode::BAD_REQUEST, ErrorCode::InvalidParameterValue),
            ),
            // A spec the executor refuses.
            (
                "POST",
                JOBS_PATH.to_string(),
                "{\"spec\": \"bad\"}",
                (StatusCode::BAD_REQUEST, ErrorCode::InvalidParameterValue),
            ),
            // Tracking failures keep their code: already exists, unavailable.
            (
                "POST",
                JOBS_PATH.to_string(),
                "{\"spec\": \"exists\"}",
                (StatusCode::CONFLICT, ErrorCode::ResourceAlreadyExists),
            ),
            (
                "POST",
                JOBS_PATH.to_string(),
                "{\"spec\": \"down\"}",
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::TemporarilyUnavailable,
                ),
            ),
            // Unknown jobs.
            (
                "GET",
                smelt_api::jobs::job_path("nope"),
                "",
                (StatusCode::NOT_FOUND, ErrorCode::ResourceDoesNotExist),
            ),
            (
                "GET",
                smelt_api::jobs::job_logs_path("nope"),
                "",
                (StatusCode::NOT_FOUND, ErrorCode::ResourceDoesNotExist),
            ),
            (
                "POST",
                smelt_api::jobs::job_cancel_path("nope"),
                "",
                (StatusCode::NOT_FOUND, ErrorCode::ResourceDoesNotExist),
            ),
        ];
        for (method, path, body, expected) in cases {
            assert_eq!(
                error(&router, method, &path, body).await,
                expected,
                "{method} {path} {body}"
            );
        }
    }
}
