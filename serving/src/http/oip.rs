//! Open Inference Protocol v2 (KServe v2) routes. The model name is the
//! endpoint's name; versions are the model versions its variants serve.
//! Errors are `{"error": "..."}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use smelt_data::Frame;
use smelt_models::Predictions;

use super::infer::{Protocol, infer, json_response};
use super::mlflow::empty_frame;
use super::read_limited;
use crate::endpoint::Endpoint;
use crate::error::{Result, ServeError};
use crate::loaded::LoadedModel;
use crate::protocol::oip::{InferRequest, infer_response, model_metadata, parse_infer};
use crate::serving::Serving;

pub(crate) struct Oip;

impl Protocol for Oip {
    type Request = InferRequest;

    fn parse(model: &LoadedModel, _: Option<&str>, body: &[u8]) -> Result<InferRequest> {
        parse_infer(body, &model.schema, &model.task)
    }

    fn take_frame(request: &mut InferRequest) -> Frame {
        std::mem::replace(&mut request.frame, empty_frame())
    }

    fn render(
        model: &LoadedModel,
        request: &InferRequest,
        predictions: &Predictions,
        inference_id: &str,
    ) -> Value {
        let id = request.id.as_deref().unwrap_or(inference_id);
        infer_response(
            &model.resolved.name,
            Some(&model.version),
            Some(id),
            predictions,
            &request.outputs,
        )
    }

    fn error(error: &ServeError) -> Response {
        error_response(error)
    }
}

pub(crate) fn error_response(error: &ServeError) -> Response {
    let mut response = json_response(error.status(), &json!({ "error": error.to_string() }));
    if error.status() == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("1"),
        );
    }
    response
}

pub(crate) async fn server_metadata() -> Response {
    json_response(
        StatusCode::OK,
        &json!({ "name": "smelt", "version": smelt_models::SMELT_VERSION, "extensions": [] }),
    )
}

pub(crate) async fn live() -> Response {
    json_response(StatusCode::OK, &json!({ "live": true }))
}

pub(crate) async fn ready(State(serving): State<Arc<Serving>>) -> Response {
    let ready = serving.list().iter().all(|e| e.is_ready());
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(status, &json!({ "ready": ready }))
}

pub(crate) async fn model(
    State(serving): State<Arc<Serving>>,
    Path(name): Path<String>,
) -> Response {
    metadata(&serving, &name, None).unwrap_or_else(|e| error_response(&e))
}

pub(crate) async fn model_version(
    State(serving): State<Arc<Serving>>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    metadata(&serving, &name, Some(&version)).unwrap_or_else(|e| error_response(&e))
}

pub(crate) async fn model_ready(
    State(serving): State<Arc<Serving>>,
    Path(name): Path<String>,
) -> Response {
    readiness(&serving, &name, None).unwrap_or_else(|e| error_response(&e))
}

pub(crate) async fn model_version_ready(
    State(serving): State<Arc<Serving>>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    readiness(&serving, &name, Some(&version)).unwrap_or_else(|e| error_response(&e))
}

pub(crate) async fn model_infer(
    State(serving): State<Arc<Serving>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    infer_on(&serving, &name, None, &headers, body).await
}

pub(crate) async fn model_version_infer(
    State(serving): State<Arc<Serving>>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    infer_on(&serving, &name, Some(&version), &headers, body).await
}

async fn infer_on(
    serving: &Arc<Serving>,
    name: &str,
    version: Option<&str>,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Response {
    let endpoint = match serving.get(name) {
        Ok(endpoint) => endpoint,
        Err(error) => {
            serving.metrics.request_failed(name, 404);
            return error_response(&error);
        }
    };
    let body: Bytes = match read_limited(body, headers, serving.config.max_body_bytes).await {
        Ok(body) => body,
        Err(error) => {
            serving
                .metrics
                .request_failed(name, error.status().as_u16());
            return error_response(&error);
        }
    };
    let mut headers = headers.clone();
    if let Some(version) = version {
        // A version in the path pins the variant serving that version.
        match variant_serving(&endpoint, version) {
            Ok(variant) => {
                if let Ok(value) = axum::http::HeaderValue::from_str(&variant) {
                    headers.insert(super::infer::TARGET_VARIANT_HEADER, value);
                }
            }
            Err(error) => return error_response(&error),
        }
    }
    infer::<Oip>(serving, endpoint, &headers, body).await
}

fn variant_serving(endpoint: &Endpoint, version: &str) -> Result<String> {
    endpoint
        .variants
        .iter()
        .find(|v| {
            v.current
                .load()
                .as_ref()
                .is_some_and(|m| &*m.version == version)
        })
        .map(|v| v.name.to_string())
        .ok_or_else(|| {
            ServeError::NotFound(format!(
                "model '{}' has no version '{version}' serving (serving: {})",
                endpoint.name,
                versions(endpoint).join(", ")
            ))
        })
}

fn versions(endpoint: &Endpoint) -> Vec<String> {
    let mut versions: Vec<String> = endpoint
        .variants
        .iter()
        .filter_map(|v| v.current.load_full().map(|m| m.version.to_string()))
        .collect();
    versions.sort();
    versions.dedup();
    versions
}

fn metadata(serving: &Serving, name: &str, version: Option<&str>) -> Result<Response> {
    let endpoint = serving.get(name)?;
    let variant = match version {
        Some(version) => {
            let variant = variant_serving(&endpoint, version)?;
            endpoint.choose(Some(&variant))?
        }
        None => &endpoint.variants[0],
    };
    let model = variant.loaded()?;
    Ok(json_response(
        StatusCode::OK,
        &model_metadata(
            &endpoint.name,
            &versions(&endpoint),
            &model.schema,
            &model.task,
        ),
    ))
}

fn readiness(serving: &Serving, name: &str, version: Option<&str>) -> Result<Response> {
    let endpoint = serving.get(name)?;
    let ready = match version {
        Some(version) => variant_serving(&endpoint, version).is_ok(),
        None => endpoint.is_ready(),
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok(json_response(
        status,
        &json!({ "name": name, "ready": ready }),
    ))
}
