//! The monitors API, mounted by `smelt server`:
//!
//! | method and path | does |
//! |---|---|
//! | `POST /api/2.0/smelt/monitors` (a spec) | create (the reference must load) → `{"monitor": …}` |
//! | `GET /api/2.0/smelt/monitors` | `{"monitors": [...]}` with each one's latest window |
//! | `GET /api/2.0/smelt/monitors/{name}` | `{"monitor", "status"}` |
//! | `POST /api/2.0/smelt/monitors/{name}/run` | read new traffic now → `{"windows": [...]}` closed by it |
//! | `GET /api/2.0/smelt/monitors/{name}/reports` | `{"run_id", "windows": [...]}`: the window history |
//! | `DELETE /api/2.0/smelt/monitors/{name}` | delete (its run stays) |
//!
//! Errors are MLflow-style `{"error_code", "message"}`; the OpenAPI
//! description is `openapi.json` beside this file.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{MonitorError, MonitorSpec, MonitorState, Monitors};

/// Where the API lives.
pub const MONITORS_PATH: &str = "/api/2.0/smelt/monitors";
/// OpenAPI 3.1 paths of this API (merged into the server's document).
pub const OPENAPI: &str = include_str!("openapi.json");

/// The routes over a server's monitors.
pub fn router(monitors: Arc<Monitors>) -> Router {
    Router::new()
        .route(MONITORS_PATH, get(list).post(create))
        .route(
            &format!("{MONITORS_PATH}/{{name}}"),
            get(show).delete(delete),
        )
        .route(&format!("{MONITORS_PATH}/{{name}}/run"), post(run))
        .route(&format!("{MONITORS_PATH}/{{name}}/reports"), get(reports))
        .with_state(monitors)
}

async fn create(State(monitors): State<Arc<Monitors>>, body: Bytes) -> Response {
    let spec: MonitorSpec = match serde_json::from_slice(&body) {
        Ok(spec) => spec,
        Err(e) => {
            return failure(&MonitorError::Invalid(format!(
                "the body is not a monitor spec: {e}"
            )));
        }
    };
    match monitors.create(spec).await {
        Ok(spec) => answer(json!({ "monitor": spec })),
        Err(error) => failure(&error),
    }
}

async fn list(State(monitors): State<Arc<Monitors>>) -> Response {
    let specs = match monitors.list().await {
        Ok(specs) => specs,
        Err(error) => return failure(&error),
    };
    let mut out = Vec::new();
    for spec in specs {
        let state = monitors.state(&spec.name).await.unwrap_or_default();
        out.push(json!({ "monitor": spec, "status": status(&state) }));
    }
    answer(json!({ "monitors": out }))
}

async fn show(State(monitors): State<Arc<Monitors>>, Path(name): Path<String>) -> Response {
    let result = async {
        let spec = monitors.get(&name).await?;
        let state = monitors.state(&name).await?;
        Ok::<_, MonitorError>(json!({ "monitor": spec, "status": status(&state) }))
    }
    .await;
    result.map_or_else(|e| failure(&e), answer)
}

async fn run(State(monitors): State<Arc<Monitors>>, Path(name): Path<String>) -> Response {
    match monitors.run(&name).await {
        Ok(windows) => answer(json!({ "windows": windows })),
        Err(error) => failure(&error),
    }
}

async fn reports(State(monitors): State<Arc<Monitors>>, Path(name): Path<String>) -> Response {
    let result = async {
        monitors.get(&name).await?;
        monitors.state(&name).await
    }
    .await;
    match result {
        Ok(state) => answer(json!({ "run_id": state.run_id, "windows": state.history })),
        Err(error) => failure(&error),
    }
}

async fn delete(State(monitors): State<Arc<Monitors>>, Path(name): Path<String>) -> Response {
    match monitors.delete(&name).await {
        Ok(()) => answer(json!({})),
        Err(error) => failure(&error),
    }
}

fn status(state: &MonitorState) -> Value {
    json!({
        "windows": state.windows,
        "run_id": state.run_id,
        "pending_rows": state.pending_seen.max(state.pending.iter().map(|r| r.input.data.len()).sum::<usize>()),
        "malformed_lines": state.cursor.malformed_lines,
        "last_window": state.history.last(),
    })
}

fn answer(body: Value) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn failure(error: &MonitorError) -> Response {
    let (status, code) = match error {
        MonitorError::Invalid(_) => (StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE"),
        MonitorError::NotFound(_) => (StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST"),
        MonitorError::Exists(_) => (StatusCode::CONFLICT, "RESOURCE_ALREADY_EXISTS"),
        MonitorError::Failed(_) => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
    };
    (
        status,
        axum::Json(json!({ "error_code": code, "message": error.to_string() })),
    )
        .into_response()
}
