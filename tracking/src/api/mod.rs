//! MLflow's REST API as an axum router.
//!
//! Routes are registered under `/api/2.0/mlflow` and its `/ajax-api` twin, as
//! MLflow's server does; handlers are thin: parse with [`extract::Mlflow`],
//! call the [`TrackingStore`], wrap the answer. Errors become MLflow's JSON
//! bodies in [`error`], which also renders the errors of Smelt's own routes
//! ([`SmeltError`], bodies read by [`SmeltJson`]): one writer, two status
//! tables. Unknown routes answer a bare 404, which the client reads as
//! ENDPOINT_NOT_FOUND.

mod artifacts;
mod error;
mod experiments;
mod extract;
mod logged_models;
mod meta;
mod registry;
mod runs;
mod smelt;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use serde::Serialize;
use serde_json::{Map, Value};

pub use error::{ApiError, ApiResult, SmeltError, SmeltResult};
pub use smelt::{SmeltJson, parse_json_body};

use crate::artifacts::ArtifactStore;
use crate::entities::Page;
use crate::store::TrackingStore;
use crate::store::identity::IdentityStore;

/// The largest JSON request accepted. MLflow's own limit on `log-batch` is
/// 1 MB; dataset inputs with schemas and profiles can be larger.
pub const MAX_JSON_BODY_BYTES: usize = 16 * 1024 * 1024;

/// What every handler shares.
pub struct AppState {
    /// Experiments, runs, models, registry.
    pub store: Arc<dyn TrackingStore>,
    /// Where proxied artifacts live.
    pub artifacts: Arc<dyn ArtifactStore>,
    /// Whether the artifact proxy routes are served.
    pub serve_artifacts: bool,
    /// Users, grants and tokens, when the store keeps them (a SQL store
    /// does); `smelt server --auth` needs it.
    pub identity: Option<Arc<dyn IdentityStore>>,
}

impl AppState {
    /// Builds the shared state.
    pub fn new(
        store: Arc<dyn TrackingStore>,
        artifacts: Arc<dyn ArtifactStore>,
        serve_artifacts: bool,
    ) -> AppState {
        AppState {
            store,
            artifacts,
            serve_artifacts,
            identity: None,
        }
    }

    /// The same state with an identity store.
    pub fn with_identity(mut self, identity: Arc<dyn IdentityStore>) -> AppState {
        self.identity = Some(identity);
        self
    }
}

/// A page answered as `{field: items, next_page_token}`, written straight to
/// JSON text (no intermediate `Value` tree: pages can hold 25,000 metrics).
pub(crate) fn page_response<T: Serialize>(
    field: &'static str,
    page: Page<T>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    struct Body<'a, T> {
        field: &'static str,
        page: &'a Page<T>,
    }
    impl<T: Serialize> Serialize for Body<'_, T> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = serializer.serialize_map(None)?;
            if !self.page.items.is_empty() {
                map.serialize_entry(self.field, &self.page.items)?;
            }
            if let Some(token) = &self.page.next_page_token {
                map.serialize_entry("next_page_token", token)?;
            }
            map.end()
        }
    }
    axum::Json(Body { field, page: &page }).into_response()
}

/// `{field: items, next_page_token}`, leaving out what is empty, as MLflow does.
pub(crate) fn page_json<T: Serialize>(field: &str, page: Page<T>) -> Value {
    let mut map = Map::new();
    if !page.items.is_empty() {
        map.insert(
            field.to_string(),
            serde_json::to_value(page.items).unwrap_or(Value::Null),
        );
    }
    if let Some(token) = page.next_page_token {
        map.insert("next_page_token".to_string(), Value::String(token));
    }
    Value::Object(map)
}

/// Says `Connection: close` on a 413. Such an answer goes out before the
/// body has been read, and hyper closes the connection once it is sent; a
/// keep-alive client that is not told so pools the connection and sends its
/// next request into a closing socket (reqwest's `IncompleteMessage`).
pub async fn close_connection_after_payload_too_large(
    mut response: axum::response::Response,
) -> axum::response::Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// Refuses a JSON request whose declared length is over the limit before its
/// body is read (413 with MLflow's error body): waiting for 17 MiB only to
/// throw them away would hold a connection and memory for nothing.
async fn refuse_oversized_bodies(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(size) = declared.filter(|size| *size > MAX_JSON_BODY_BYTES) {
        return ApiError(crate::error::Error::new(
            crate::error::ErrorCode::RequestLimitExceeded,
            format!("The request body has {size} bytes; this server accepts at most {MAX_JSON_BODY_BYTES}."),
        ))
        .into_response();
    }
    next.run(request).await
}

/// The MLflow tracking and registry routes, relative to `/api/2.0/mlflow`.
fn mlflow_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/experiments/create", post(experiments::create))
        .route("/experiments/get", get(experiments::get))
        .route("/experiments/get-by-name", get(experiments::get_by_name))
        .route(
            "/experiments/search",
            post(experiments::search).get(experiments::search),
        )
        .route("/experiments/update", post(experiments::update))
        .route("/experiments/delete", post(experiments::delete))
        .route("/experiments/restore", post(experiments::restore))
        .route(
            "/experiments/set-experiment-tag",
            post(experiments::set_tag),
        )
        .route(
            "/experiments/delete-experiment-tag",
            post(experiments::delete_tag),
        )
        .route("/runs/create", post(runs::create))
        .route("/runs/get", get(runs::get))
        .route("/runs/update", post(runs::update))
        .route("/runs/delete", post(runs::delete))
        .route("/runs/restore", post(runs::restore))
        .route("/runs/search", post(runs::search).get(runs::search))
        .route("/runs/log-metric", post(runs::log_metric))
        .route("/runs/log-parameter", post(runs::log_param))
        .route("/runs/set-tag", post(runs::set_tag))
        .route("/runs/delete-tag", post(runs::delete_tag))
        .route("/runs/log-batch", post(runs::log_batch))
        .route("/runs/log-inputs", post(runs::log_inputs))
        .route("/runs/outputs", post(runs::log_outputs))
        .route("/metrics/get-history", get(runs::get_history))
        .route("/logged-models", post(logged_models::create))
        .route("/logged-models/search", post(logged_models::search))
        .route(
            "/logged-models/{model_id}",
            get(logged_models::get)
                .patch(logged_models::finalize)
                .delete(logged_models::delete),
        )
        .route(
            "/logged-models/{model_id}/tags",
            axum::routing::patch(logged_models::set_tags),
        )
        .route(
            "/logged-models/{model_id}/tags/{key}",
            axum::routing::delete(logged_models::delete_tag),
        )
        .route("/registered-models/create", post(registry::create_model))
        .route("/registered-models/get", get(registry::get_model))
        .route("/registered-models/rename", post(registry::rename_model))
        .route(
            "/registered-models/update",
            axum::routing::patch(registry::update_model),
        )
        .route(
            "/registered-models/delete",
            axum::routing::delete(registry::delete_model),
        )
        .route("/registered-models/search", get(registry::search_models))
        .route(
            "/registered-models/get-latest-versions",
            post(registry::latest_versions).get(registry::latest_versions),
        )
        .route("/registered-models/set-tag", post(registry::set_model_tag))
        .route(
            "/registered-models/delete-tag",
            axum::routing::delete(registry::delete_model_tag),
        )
        .route(
            "/registered-models/alias",
            post(registry::set_alias)
                .delete(registry::delete_alias)
                .get(registry::get_by_alias),
        )
        .route("/model-versions/create", post(registry::create_version))
        .route("/model-versions/get", get(registry::get_version))
        .route(
            "/model-versions/update",
            axum::routing::patch(registry::update_version),
        )
        .route(
            "/model-versions/delete",
            axum::routing::delete(registry::delete_version),
        )
        .route("/model-versions/search", get(registry::search_versions))
        .route(
            "/model-versions/transition-stage",
            post(registry::transition_stage),
        )
        .route(
            "/model-versions/get-download-uri",
            get(registry::download_uri),
        )
        .route("/model-versions/set-tag", post(registry::set_version_tag))
        .route(
            "/model-versions/delete-tag",
            axum::routing::delete(registry::delete_version_tag),
        )
        .layer(axum::middleware::from_fn(refuse_oversized_bodies))
}

/// Whether a request to MLflow's REST API can change what a model reference
/// resolves to (an alias, a version, a stage, a model's name): every write
/// under `registered-models/` and `model-versions/`, with or without the
/// `ajax-api` prefix. Servers that host endpoints re-resolve after such a
/// request succeeds instead of at their next poll.
pub fn changes_registry(method: &axum::http::Method, path: &str) -> bool {
    use axum::http::Method;
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let Some(route) = ["/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"]
        .iter()
        .find_map(|prefix| path.strip_prefix(prefix))
    else {
        return false;
    };
    let writes_tags = route.ends_with("/set-tag") || route.ends_with("/delete-tag");
    (route.starts_with("registered-models/") || route.starts_with("model-versions/"))
        && !writes_tags
        && !route.ends_with("/search")
        && !route.ends_with("/get-latest-versions")
}

/// The whole HTTP API of the tracking server.
pub fn router(state: Arc<AppState>) -> Router {
    let artifact_routes = Router::new()
        .route("/artifacts", get(artifacts::list))
        .route(
            "/artifacts/{*path}",
            put(artifacts::upload)
                .get(artifacts::download)
                .delete(artifacts::delete),
        )
        // Artifact bodies stream to storage, so they have no size limit here.
        .layer(DefaultBodyLimit::disable());
    Router::new()
        .nest("/api/2.0/mlflow", mlflow_routes())
        .nest("/ajax-api/2.0/mlflow", mlflow_routes())
        .nest("/api/2.0/mlflow-artifacts", artifact_routes.clone())
        .nest("/ajax-api/2.0/mlflow-artifacts", artifact_routes)
        .route("/api/3.0/mlflow/server-info", get(meta::server_info))
        .route("/health", get(meta::health))
        .route("/ready", get(meta::ready))
        .route("/version", get(meta::version))
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY_BYTES))
        .layer(axum::middleware::map_response(
            close_connection_after_payload_too_large,
        ))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::changes_registry;

    #[test]
    fn registry_writes_are_told_apart_from_reads_and_tags() {
        for (method, path) in [
            (Method::POST, "/api/2.0/mlflow/registered-models/alias"),
            (Method::DELETE, "/api/2.0/mlflow/registered-models/alias"),
            (Method::POST, "/api/2.0/mlflow/model-versions/create"),
            (
                Method::POST,
                "/ajax-api/2.0/mlflow/model-versions/transition-stage",
            ),
            (Method::DELETE, "/api/2.0/mlflow/model-versions/delete"),
            (Method::POST, "/api/2.0/mlflow/registered-models/rename"),
        ] {
            assert!(changes_registry(&method, path), "{method} {path}");
        }
        for (method, path) in [
            (Method::GET, "/api/2.0/mlflow/registered-models/alias"),
            (
                Method::POST,
                "/api/2.0/mlflow/registered-models/get-latest-versions",
            ),
            (Method::POST, "/api/2.0/mlflow/model-versions/set-tag"),
            (Method::POST, "/api/2.0/mlflow/runs/create"),
            (Method::POST, "/api/2.0/smelt/endpoints"),
        ] {
            assert!(!changes_registry(&method, path), "{method} {path}");
        }
    }
}
