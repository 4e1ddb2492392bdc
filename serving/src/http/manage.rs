//! The endpoint management API, mounted by `smelt server`:
//!
//! | method and path | does |
//! |---|---|
//! | `POST /api/2.0/smelt/endpoints` (an endpoint spec) | create, loading every variant → `{"endpoint": …}` |
//! | `GET /api/2.0/smelt/endpoints` | `{"endpoints": [...]}` by name |
//! | `GET /api/2.0/smelt/endpoints/{name}` | `{"endpoint": …}` with the versions serving now |
//! | `PUT /api/2.0/smelt/endpoints/{name}` (a spec) | replace; the old variants answer until the new ones are loaded |
//! | `DELETE /api/2.0/smelt/endpoints/{name}` | delete → `{}` |
//!
//! The OpenAPI description is `openapi.json` beside this file ([`OPENAPI`]).
//! Errors are MLflow-style `{"error_code", "message"}`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::infer::json_response;
use super::mlflow::error_response;
use crate::endpoint::{Endpoint, EndpointSpec, Variant};
use crate::error::ServeError;
use crate::serving::Serving;

pub const ENDPOINTS_PATH: &str = "/api/2.0/smelt/endpoints";
/// OpenAPI 3.1 paths of this API (merged into the server's document).
pub const OPENAPI: &str = include_str!("openapi.json");

pub(crate) fn routes() -> Router<Arc<Serving>> {
    Router::new()
        .route(ENDPOINTS_PATH, get(list).post(create))
        .route(
            &format!("{ENDPOINTS_PATH}/{{name}}"),
            get(show).put(update).delete(delete),
        )
}

async fn list(State(serving): State<Arc<Serving>>) -> Response {
    let endpoints: Vec<Value> = serving.list().iter().map(|e| view(e)).collect();
    json_response(StatusCode::OK, &json!({ "endpoints": endpoints }))
}

async fn show(State(serving): State<Arc<Serving>>, Path(name): Path<String>) -> Response {
    match serving.get(&name) {
        Ok(endpoint) => json_response(StatusCode::OK, &json!({ "endpoint": view(&endpoint) })),
        Err(error) => error_response(&error),
    }
}

async fn create(State(serving): State<Arc<Serving>>, body: Bytes) -> Response {
    let result = async {
        let spec = parse_spec(&body)?;
        serving.create(spec, true).await
    }
    .await;
    match result {
        Ok(endpoint) => json_response(StatusCode::OK, &json!({ "endpoint": view(&endpoint) })),
        Err(error) => error_response(&error),
    }
}

async fn update(
    State(serving): State<Arc<Serving>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let result = async {
        let mut spec = parse_spec_for(&body, &name)?;
        spec.name = name.clone();
        serving.update(spec).await
    }
    .await;
    match result {
        Ok(endpoint) => json_response(StatusCode::OK, &json!({ "endpoint": view(&endpoint) })),
        Err(error) => error_response(&error),
    }
}

async fn delete(State(serving): State<Arc<Serving>>, Path(name): Path<String>) -> Response {
    match serving.delete(&name).await {
        Ok(()) => json_response(StatusCode::OK, &json!({})),
        Err(error) => error_response(&error),
    }
}

fn parse_spec(body: &[u8]) -> Result<EndpointSpec, ServeError> {
    serde_json::from_slice(body)
        .map_err(|e| ServeError::BadRequest(format!("the body is not an endpoint spec: {e}")))
}

/// An update's body may omit the name; if it has one, it must be the path's.
fn parse_spec_for(body: &[u8], name: &str) -> Result<EndpointSpec, ServeError> {
    let mut value: Value = serde_json::from_slice(body)
        .map_err(|e| ServeError::BadRequest(format!("the body is not JSON: {e}")))?;
    if let Some(object) = value.as_object_mut() {
        match object.get("name").and_then(Value::as_str) {
            Some(given) if given != name => {
                return Err(ServeError::InvalidInput(format!(
                    "the body names endpoint '{given}' but the path names '{name}'"
                )));
            }
            _ => {
                object.insert("name".into(), name.into());
            }
        }
    }
    serde_json::from_value(value)
        .map_err(|e| ServeError::BadRequest(format!("the body is not an endpoint spec: {e}")))
}

/// What the API shows of an endpoint: its spec and what serves now.
pub fn view(endpoint: &Endpoint) -> Value {
    let total: u64 = endpoint
        .variants
        .iter()
        .map(|v| u64::from(v.spec.weight))
        .sum();
    let variant = |v: &Variant, share: Option<f64>| {
        let current = v.current.load_full();
        json!({
            "name": &*v.name,
            "model": v.spec.model,
            "weight": v.spec.weight,
            "traffic_share": share,
            "serving": current.as_ref().map(|m| json!({
                "model": &*m.name,
                "version": &*m.version,
                "uri": m.resolved.uri,
            })),
            "ready": current.is_some(),
        })
    };
    json!({
        "name": &*endpoint.name,
        "ready": endpoint.is_ready(),
        "variants": endpoint.variants.iter().map(|v| {
            variant(v, Some(f64::from(v.spec.weight) / total.max(1) as f64))
        }).collect::<Vec<_>>(),
        "shadow": endpoint.shadow.as_ref().map(|v| variant(v, None)),
        "batching": endpoint.spec.batching,
        "capture": endpoint.spec.capture,
        "invocations_path": format!("/endpoints/{}/invocations", endpoint.name),
        "oip_path": format!("/v2/models/{}/infer", endpoint.name),
    })
}
