//! Health, readiness, version and capability endpoints.
//!
//! `/health` is a liveness probe: it answers while the process serves HTTP,
//! whatever its stores do (restarting a server whose database is down helps
//! nobody). `/ready` is the readiness probe a load balancer asks before
//! sending traffic: 503 while the tracking store or the artifact store cannot
//! be reached.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::{ApiResult, AppState};
use crate::error::{Error, ErrorCode};

/// How long `/ready` waits for each store: a probe must answer promptly even
/// when a store hangs instead of refusing.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

/// The MLflow API level Smelt speaks; the client only reads it for tracing.
pub(super) const MLFLOW_COMPATIBLE_VERSION: &str = "3.17.2";

pub(super) async fn health() -> &'static str {
    "OK"
}

/// 200 "OK" when the tracking store answers a round trip and the artifact
/// store lists its root; otherwise 503 `TEMPORARILY_UNAVAILABLE` naming which
/// store is down (details go to the log, not to the caller: they may name
/// hosts and paths).
pub(super) async fn ready(State(state): State<Arc<AppState>>) -> ApiResult<&'static str> {
    let store = tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await;
    if let Some(reason) = failure(store) {
        tracing::warn!(%reason, "not ready: the tracking store does not answer");
        return Err(unavailable("the tracking store cannot be reached").into());
    }
    let artifacts = tokio::time::timeout(READY_TIMEOUT, state.artifacts.list("")).await;
    if let Some(reason) = failure(artifacts) {
        tracing::warn!(%reason, "not ready: the artifact store does not answer");
        return Err(unavailable("the artifact store cannot be reached").into());
    }
    Ok("OK")
}

/// Why a probe failed, or `None` when the store answered. "Not found" is an
/// answer: an empty artifact root is reachable.
fn failure<T>(
    outcome: Result<crate::error::Result<T>, tokio::time::error::Elapsed>,
) -> Option<String> {
    match outcome {
        Ok(Ok(_)) => None,
        Ok(Err(error)) if error.is_not_found() => None,
        Ok(Err(error)) => Some(error.message),
        Err(_) => Some(format!("no answer within {} s", READY_TIMEOUT.as_secs())),
    }
}

fn unavailable(message: &str) -> Error {
    Error::new(ErrorCode::TemporarilyUnavailable, message)
}

pub(super) async fn version() -> &'static str {
    MLFLOW_COMPATIBLE_VERSION
}

pub(super) async fn server_info() -> Json<Value> {
    Json(json!({
        "store_type": "SqlStore",
        "workspaces_enabled": false,
        "trace_archival_enabled": false,
        "multipart_uploads_enabled": false,
        "multipart_downloads_enabled": false,
        "presigned_upload_run_id_supported": false,
        "presigned_upload_model_id_supported": false,
        "features_enabled": {},
        "smelt_version": env!("CARGO_PKG_VERSION"),
    }))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;
    use crate::artifacts::{ArtifactStore, open_artifact_store};
    use crate::store::TrackingStore;
    use crate::store::rest::RestStore;
    use crate::store::sql::SqlStore;

    /// Nothing listens on port 1 of the loopback address.
    const CLOSED: &str = "http://127.0.0.1:1";

    async fn ready_answer(
        store: Arc<dyn TrackingStore>,
        artifacts: Arc<dyn ArtifactStore>,
    ) -> (StatusCode, String) {
        let app = super::super::router(Arc::new(AppState::new(store, artifacts, true)));
        let request = Request::get("/ready").body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    async fn sqlite(dir: &std::path::Path) -> Arc<dyn TrackingStore> {
        let uri = format!("sqlite:///{}", dir.join("smelt.db").display());
        let root = dir.join("artifacts").display().to_string();
        Arc::new(SqlStore::open(&uri, &root).await.unwrap())
    }

    #[tokio::test]
    async fn ready_when_both_stores_answer() {
        let dir = tempfile::tempdir().unwrap();
        let artifacts =
            open_artifact_store(&dir.path().join("artifacts").display().to_string()).unwrap();
        let (status, body) = ready_answer(sqlite(dir.path()).await, artifacts).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "OK"));
    }

    #[tokio::test]
    async fn not_ready_while_the_tracking_store_is_down() {
        let dir = tempfile::tempdir().unwrap();
        let artifacts = open_artifact_store(&dir.path().display().to_string()).unwrap();
        let store = Arc::new(RestStore::new(CLOSED).unwrap());
        let (status, body) = ready_answer(store, artifacts).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error_code"], "TEMPORARILY_UNAVAILABLE");
        assert_eq!(body["message"], "the tracking store cannot be reached");
    }

    #[tokio::test]
    async fn not_ready_while_the_artifact_store_is_down() {
        let dir = tempfile::tempdir().unwrap();
        let artifacts =
            open_artifact_store(&format!("{CLOSED}/api/2.0/mlflow-artifacts/artifacts")).unwrap();
        let (status, body) = ready_answer(sqlite(dir.path()).await, artifacts).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["message"], "the artifact store cannot be reached");
    }
}
