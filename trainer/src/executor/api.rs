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
//! Errors are MLflow-style `{"error_code", "message"}`: a bad spec is 400
//! `INVALID_PARAMETER_VALUE`, an unknown job 404 `RESOURCE_DOES_NOT_EXIST`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::Executor;
use crate::error::TrainError;

pub const JOBS_PATH: &str = "/api/2.0/smelt/jobs";
pub const OPENAPI_PATH: &str = "/api/2.0/smelt/openapi.json";
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

#[derive(Deserialize)]
struct Submit {
    spec: String,
}

/// Executor calls touch files; keep them off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, TrainError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| {
            ApiError(TrainError::Training(format!(
                "the request handler crashed: {e}"
            )))
        })?
        .map_err(ApiError)
}

async fn submit(
    State(executor): State<Arc<dyn Executor>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let request: Submit = serde_json::from_slice(&body).map_err(|e| {
        ApiError(TrainError::Spec(format!(
            "the body must be JSON {{\"spec\": \"<TOML job spec>\"}}: {e}"
        )))
    })?;
    let job = blocking(move || executor.submit(&request.spec)).await?;
    Ok(Json(json!({ "job": job })).into_response())
}

async fn list(State(executor): State<Arc<dyn Executor>>) -> Result<Response, ApiError> {
    let jobs = blocking(move || executor.list()).await?;
    Ok(Json(json!({ "jobs": jobs })).into_response())
}

async fn show(
    State(executor): State<Arc<dyn Executor>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let job = blocking(move || executor.get(&id)).await?;
    Ok(Json(json!({ "job": job })).into_response())
}

async fn logs(
    State(executor): State<Arc<dyn Executor>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
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
) -> Result<Response, ApiError> {
    let job = blocking(move || executor.cancel(&id)).await?;
    Ok(Json(json!({ "job": job })).into_response())
}

struct ApiError(TrainError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self.0 {
            TrainError::Spec(_)
            | TrainError::Data(_)
            | TrainError::Model(_)
            | TrainError::Device(_) => (StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE"),
            TrainError::NotFound(_) => (StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
        };
        (
            status,
            Json(json!({ "error_code": code, "message": self.0.to_string() })),
        )
            .into_response()
    }
}
