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
//! The bodies are `smelt_api::monitors`' types; the OpenAPI description is
//! `openapi.json` beside this file. Errors are `{"error_code", "message"}`
//! with Smelt's status rule: a malformed or invalid spec 400, an unknown
//! monitor 404, a taken name 409, a failure of the store its own code.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use smelt_api::Empty;
use smelt_api::monitors::{
    MonitorEntry, MonitorList, MonitorReports, MonitorResponse, MonitorSpec, MonitorStatus,
    MonitorWindows,
};
use smelt_tracking::api::{SmeltJson, SmeltResult};

use super::{MonitorState, Monitors};

pub use smelt_api::monitors::MONITORS_PATH;
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

async fn create(
    State(monitors): State<Arc<Monitors>>,
    SmeltJson(spec): SmeltJson<MonitorSpec>,
) -> SmeltResult<Json<MonitorResponse>> {
    let monitor = monitors.create(spec).await?;
    Ok(Json(MonitorResponse { monitor }))
}

async fn list(State(monitors): State<Arc<Monitors>>) -> SmeltResult<Json<MonitorList>> {
    let specs = monitors.list().await?;
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let state = monitors.state(&spec.name).await.unwrap_or_default();
        out.push(MonitorEntry {
            monitor: spec,
            status: status(&state),
        });
    }
    Ok(Json(MonitorList { monitors: out }))
}

async fn show(
    State(monitors): State<Arc<Monitors>>,
    Path(name): Path<String>,
) -> SmeltResult<Json<MonitorEntry>> {
    let monitor = monitors.get(&name).await?;
    let state = monitors.state(&name).await?;
    Ok(Json(MonitorEntry {
        monitor,
        status: status(&state),
    }))
}

async fn run(
    State(monitors): State<Arc<Monitors>>,
    Path(name): Path<String>,
) -> SmeltResult<Json<MonitorWindows>> {
    let windows = monitors.run(&name).await?;
    Ok(Json(MonitorWindows { windows }))
}

async fn reports(
    State(monitors): State<Arc<Monitors>>,
    Path(name): Path<String>,
) -> SmeltResult<Json<MonitorReports>> {
    monitors.get(&name).await?;
    let state = monitors.state(&name).await?;
    Ok(Json(MonitorReports {
        run_id: state.run_id,
        windows: state.history,
    }))
}

async fn delete(
    State(monitors): State<Arc<Monitors>>,
    Path(name): Path<String>,
) -> SmeltResult<Json<Empty>> {
    monitors.delete(&name).await?;
    Ok(Json(Empty {}))
}

/// Where a monitor stands, from its saved state.
pub fn status(state: &MonitorState) -> MonitorStatus {
    let held: usize = state.pending.iter().map(|r| r.input.data.len()).sum();
    MonitorStatus {
        windows: state.windows,
        run_id: state.run_id.clone(),
        pending_rows: state.pending_seen.max(held),
        malformed_lines: state.cursor.malformed_lines,
        last_window: state.history.last().cloned(),
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use smelt_api::ErrorBody;
    use smelt_api::monitors::{monitor_path, monitor_reports_path, monitor_run_path};
    use smelt_data::{Column, Frame};
    use smelt_gpu_kernels::{Compute, Preference};
    use smelt_tracking::ErrorCode;
    use tower::ServiceExt;

    use super::*;
    use crate::profile::{Profile, ProfileOptions};
    use crate::service::MonitorIo;

    /// References: `good` has a profile with a row sample; anything else is
    /// unknown.
    struct Io;

    #[async_trait]
    impl MonitorIo for Io {
        async fn reference_profile(&self, reference: &str) -> Result<Profile, String> {
            match reference {
                "good" => {
                    let frame =
                        Frame::new(vec![Column::numeric("x", (0..50).map(f64::from).collect())])
                            .map_err(|e| e.to_string())?;
                    Ok(Profile::from_frame(&frame, &ProfileOptions::default()))
                }
                other => Err(format!("no model '{other}'")),
            }
        }

        async fn save_artifact(&self, _: &str, _: &str, _: Vec<u8>) -> Result<(), String> {
            Ok(())
        }
    }

    /// The routes over a SQLite store holding the monitor `m`.
    async fn server() -> (tempfile::TempDir, Router) {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite:///{}", dir.path().join("smelt.db").display());
        let artifacts = dir.path().join("artifacts").display().to_string();
        let store = smelt_tracking::open_store(&db, &artifacts).await.unwrap();
        let monitors = Monitors::new(
            store,
            Arc::new(Io),
            Arc::new(crate::service::CaptureFiles::new(
                dir.path().join("capture"),
            )),
            Compute::select(Preference::Cpu).unwrap(),
            crate::service::WebhookPolicy::public_only(),
        );
        let router = router(monitors);
        let (status, bytes) = call(&router, "POST", MONITORS_PATH, &spec("m", "good")).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        (dir, router)
    }

    fn spec(name: &str, reference: &str) -> String {
        format!(
            r#"{{"name": "{name}", "endpoint": "e", "reference": "{reference}", "window": {{"rows": 10}}}}"#
        )
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

    #[test]
    fn store_failures_keep_their_code() {
        use smelt_tracking::api::SmeltError;
        let down = crate::service::store_error(smelt_tracking::Error::new(
            ErrorCode::TemporarilyUnavailable,
            "the database is down",
        ));
        assert_eq!(down.code(), ErrorCode::TemporarilyUnavailable);
        assert_eq!(down.to_string(), "the database is down");
        assert_eq!(
            SmeltError::from(down).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let taken = crate::service::store_error(smelt_tracking::Error::already_exists("taken"));
        assert_eq!(SmeltError::from(taken).status(), StatusCode::CONFLICT);
        let broken = crate::service::MonitorError::Failed("disk".into());
        assert_eq!(
            SmeltError::from(broken).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[tokio::test]
    async fn every_route_answers_typed_bodies() {
        let (_dir, router) = server().await;
        let (status, bytes) = call(&router, "GET", MONITORS_PATH, "").await;
        assert_eq!(status, StatusCode::OK);
        let list: MonitorList = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(list.monitors.len(), 1);
        assert_eq!(list.monitors[0].monitor.reference, "good");
        assert_eq!(list.monitors[0].status.windows, 0);
        let (status, bytes) = call(&router, "GET", &monitor_path("m"), "").await;
        assert_eq!(status, StatusCode::OK);
        let shown: MonitorEntry = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(shown, list.monitors[0]);
        // No capture yet: the pass closes no window.
        let (status, bytes) = call(&router, "POST", &monitor_run_path("m"), "").await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        let run: MonitorWindows = serde_json::from_slice(&bytes).unwrap();
        assert!(run.windows.is_empty());
        let (status, bytes) = call(&router, "GET", &monitor_reports_path("m"), "").await;
        assert_eq!(status, StatusCode::OK);
        let reports: MonitorReports = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(reports.run_id, None);
        let (status, bytes) = call(&router, "DELETE", &monitor_path("m"), "").await;
        assert_eq!((status, bytes.as_slice()), (StatusCode::OK, &b"{}"[..]));
    }

    #[tokio::test]
    async fn every_route_answers_errors_by_smelts_rule() {
        let (_dir, router) = server().await;
        let taken = spec("m", "good");
        let unknown_reference = spec("n", "nowhere");
        let bad_name = spec("a b", "good");
        let cases = [
            // Malformed JSON, not an object, missing and unknown fields.
            (
                "POST",
                MONITORS_PATH.to_string(),
                r#"{"name": "#.to_string(),
                (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            ),
            (
                "POST",
                MONITORS_PATH.to_string(),
                "[]".into(),
                (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            ),
            (
                "POST",
                MONITORS_PATH.to_string(),
                r#"{"name": "n"}"#.into(),
                (StatusCode::BAD_REQUEST, ErrorCode::InvalidParameterValue),
            ),
            (
                "POST",
                MONITORS_PATH.to_string(),
                taken.replace("\"window\"", "\"every\": 1, \"window\""),
                (StatusCode::BAD_REQUEST, ErrorCode::InvalidParameterValue),
            ),
            // Well-formed, but invalid: a bad name, a reference that does not load.
            (
                "POST",
                MONITORS_PATH.to_string(),
                bad_name,
                (StatusCode::BAD_REQUEST, ErrorCode::InvalidParameterValue),
            ),
            (
                "POST",
                MONITORS_PATH.to_string(),
                unknown_reference,
                (StatusCode::BAD_REQUEST, ErrorCode::InvalidParameterValue),
            ),
            // A taken name.
            (
                "POST",
                MONITORS_PATH.to_string(),
                taken,
                (StatusCode::CONFLICT, ErrorCode::ResourceAlreadyExists),
            ),
            // Unknown monitors, on every route that names one.
            (
                "GET",
                monitor_path("nope"),
                String::new(),
                (StatusCode::NOT_FOUND, ErrorCode::ResourceDoesNotExist),
            ),
            (
                "POST",
                monitor_run_path("nope"),
                String::new(),
                (StatusCode::NOT_FOUND, ErrorCode::ResourceDoesNotExist),
            ),
            (
                "GET",
                monitor_reports_path("nope"),
                String::new(),
                (StatusCode::NOT_FOUND, ErrorCode::ResourceDoesNotExist),
            ),
            (
                "DELETE",
                monitor_path("nope"),
                String::new(),
                (StatusCode::NOT_FOUND, ErrorCode::ResourceDoesNotExist),
            ),
        ];
        for (method, path, body, expected) in cases {
            let (status, bytes) = call(&router, method, &path, &body).await;
            let error: ErrorBody = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{method} {path} {body}: not an error body ({e})"));
            assert_eq!(
                (status, error.error_code),
                expected,
                "{method} {path} {body}: {}",
                error.message
            );
        }
    }
}
