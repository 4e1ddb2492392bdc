//! The artifact proxy (`/api/2.0/mlflow-artifacts/artifacts/...`): uploads,
//! downloads, listings and deletes, streamed to and from the artifact store.
//!
//! Paths are checked by [`crate::artifacts::validate_relative_path`] before any
//! storage call, so `..`, absolute paths and encoded traversal never reach the
//! store; the local store is also rooted, as a second fence.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiResult};
use crate::artifacts::{ByteStream, validate_relative_path};
use crate::error::{Error, ErrorCode};

fn require_proxy(state: &AppState) -> Result<(), Error> {
    if state.serve_artifacts {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::EndpointNotFound,
            "This server does not serve artifacts: start it with --serve-artifacts.",
        ))
    }
}

pub(super) async fn upload(
    State(state): State<Arc<AppState>>,
    Path(path): Path<String>,
    request: Request,
) -> ApiResult<Json<Value>> {
    require_proxy(&state)?;
    let path = validate_relative_path(&path)?;
    if path.is_empty() {
        return Err(Error::invalid("An artifact upload needs a file path.").into());
    }
    let body: ByteStream = Box::pin(
        request
            .into_body()
            .into_data_stream()
            .map_err(std::io::Error::other),
    );
    state.artifacts.put(&path, body).await?;
    Ok(Json(json!({})))
}

pub(super) async fn download(
    State(state): State<Arc<AppState>>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    require_proxy(&state)?;
    let path = validate_relative_path(&path)?;
    let object = state.artifacts.get(&path).await?;
    let file_name = path
        .rsplit('/')
        .next()
        .unwrap_or("artifact")
        .replace('"', "");
    let mut response = Body::from_stream(object.stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&file_name)),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(object.size));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

pub(super) async fn delete(
    State(state): State<Arc<AppState>>,
    Path(path): Path<String>,
) -> ApiResult<Json<Value>> {
    require_proxy(&state)?;
    let path = validate_relative_path(&path)?;
    if path.is_empty() {
        return Err(Error::invalid("Refusing to delete the artifact root.").into());
    }
    state.artifacts.delete(&path).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    path: Option<String>,
}

pub(super) async fn list(
    State(state): State<Arc<AppState>>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    require_proxy(&state)?;
    let path = validate_relative_path(query.path.as_deref().unwrap_or(""))?;
    let files = state.artifacts.list(&path).await?;
    Ok(Json(if files.is_empty() {
        json!({})
    } else {
        json!({ "files": files })
    }))
}

/// A content type from the file extension, enough for browsers and clients.
fn content_type(file_name: &str) -> &'static str {
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "json" => "application/json",
        "txt" | "log" | "py" | "md" => "text/plain",
        "yaml" | "yml" => "application/x-yaml",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        _ => "application/octet-stream",
    }
}
