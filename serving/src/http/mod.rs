//! HTTP routes. Two routers share the handlers:
//!
//! - [`standalone_router`] for `smelt serve` (one endpoint, as `mlflow models
//!   serve`): `/invocations`, `/ping`, `/health`, `/version`, `/v2/…`, `/metrics`.
//! - [`server_router`] for `smelt server` (many endpoints):
//!   `/endpoints/{name}/invocations`, `/endpoints/{name}/ping`, `/v2/…` (the
//!   model name is the endpoint name), `/metrics`, and the management API
//!   under `/api/2.0/smelt/endpoints` (see [`manage`]).

mod infer;
pub mod manage;
mod mlflow;
mod oip;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use infer::{INFERENCE_ID_HEADER, MODEL_VERSION_HEADER, TARGET_VARIANT_HEADER, VARIANT_HEADER};

use crate::error::ServeError;
use crate::serving::Serving;
use smelt_tracking::api::close_connection_after_payload_too_large;

/// Routes of `smelt serve`: the single endpoint at MLflow's paths.
pub fn standalone_router(serving: Arc<Serving>) -> Router {
    Router::new()
        .route("/invocations", post(invocations_single))
        .route("/ping", get(ping_single))
        .route("/health", get(ping_single))
        .route("/version", get(version))
        .merge(shared_routes())
        .layer(axum::middleware::map_response(
            close_connection_after_payload_too_large,
        ))
        .with_state(serving)
}

/// Routes `smelt server` mounts: every endpoint, and the management API.
pub fn server_router(serving: Arc<Serving>) -> Router {
    Router::new()
        .route("/endpoints/{name}/invocations", post(invocations_named))
        .route("/endpoints/{name}/ping", get(ping_named))
        .merge(manage::routes())
        .merge(shared_routes())
        .layer(axum::middleware::map_response(
            close_connection_after_payload_too_large,
        ))
        .with_state(serving)
}

fn shared_routes() -> Router<Arc<Serving>> {
    Router::new()
        .route("/v2", get(oip::server_metadata))
        .route("/v2/health/live", get(oip::live))
        .route("/v2/health/ready", get(oip::ready))
        .route("/v2/models/{name}", get(oip::model))
        .route("/v2/models/{name}/ready", get(oip::model_ready))
        .route("/v2/models/{name}/infer", post(oip::model_infer))
        .route(
            "/v2/models/{name}/versions/{version}",
            get(oip::model_version),
        )
        .route(
            "/v2/models/{name}/versions/{version}/ready",
            get(oip::model_version_ready),
        )
        .route(
            "/v2/models/{name}/versions/{version}/infer",
            post(oip::model_version_infer),
        )
        .route("/metrics", get(metrics))
}

async fn invocations_single(
    State(serving): State<Arc<Serving>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match serving.single() {
        Ok(endpoint) => invocations(&serving, endpoint, &headers, body).await,
        Err(error) => mlflow::error_response(&error),
    }
}

async fn invocations_named(
    State(serving): State<Arc<Serving>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match serving.get(&name) {
        Ok(endpoint) => invocations(&serving, endpoint, &headers, body).await,
        Err(error) => {
            serving.metrics.request_failed(&name, 404);
            mlflow::error_response(&error)
        }
    }
}

async fn invocations(
    serving: &Arc<Serving>,
    endpoint: Arc<crate::endpoint::Endpoint>,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    match read_limited(body, headers, serving.config.max_body_bytes).await {
        Ok(body) => infer::infer::<mlflow::Mlflow>(serving, endpoint, headers, body).await,
        Err(error) => {
            serving
                .metrics
                .request_failed(&endpoint.name, error.status().as_u16());
            mlflow::error_response(&error)
        }
    }
}

/// MLflow's health check: 200 with `"\n"` once the model is loaded.
async fn ping_single(State(serving): State<Arc<Serving>>) -> Response {
    ping(serving.single().map(|e| e.is_ready()))
}

async fn ping_named(State(serving): State<Arc<Serving>>, Path(name): Path<String>) -> Response {
    ping(serving.get(&name).map(|e| e.is_ready()))
}

fn ping(ready: Result<bool, ServeError>) -> Response {
    match ready {
        Ok(true) => {
            let mut response = (StatusCode::OK, "\n").into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Ok(false) => mlflow::error_response(&ServeError::Unavailable(
            "the model is still loading".into(),
        )),
        Err(error) => mlflow::error_response(&error),
    }
}

async fn version() -> Response {
    let mut response = (StatusCode::OK, smelt_models::SMELT_VERSION).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn metrics(State(serving): State<Arc<Serving>>) -> Response {
    let mut response = (StatusCode::OK, serving.metrics.render()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// Reads a body of at most `limit` bytes: a declared length over the limit
/// is refused before reading anything; a streamed body is cut off at it.
pub(crate) async fn read_limited(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, ServeError> {
    let too_large = || {
        ServeError::PayloadTooLarge(format!(
            "the request body is over the limit of {limit} bytes"
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        let is_limit = std::error::Error::source(&error)
            .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
        if is_limit {
            too_large()
        } else {
            ServeError::BadRequest(format!("cannot read the request body: {error}"))
        }
    })
}
