//! Health, version and capability endpoints.

use axum::Json;
use serde_json::{Value, json};

/// The MLflow API level Smelt speaks; the client only reads it for tracing.
pub(super) const MLFLOW_COMPATIBLE_VERSION: &str = "3.17.2";

pub(super) async fn health() -> &'static str {
    "OK"
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
