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
//! The bodies are `smelt_api::endpoints`' types; the OpenAPI description is
//! `openapi.json` beside this file ([`OPENAPI`]). Errors are
//! `{"error_code", "message"}` with Smelt's status rule: a malformed or
//! invalid body 400, an unknown endpoint or model 404, a taken name 409.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use smelt_api::Empty;
use smelt_api::endpoints::{
    EndpointList, EndpointResponse, EndpointSpec, EndpointView, ServingVersion, VariantView,
    invocations_path, oip_infer_path,
};
use smelt_tracking::api::{SmeltJson, SmeltResult};

use crate::endpoint::{Endpoint, Variant};
use crate::error::ServeError;
use crate::serving::Serving;

pub use smelt_api::endpoints::ENDPOINTS_PATH;
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

async fn list(State(serving): State<Arc<Serving>>) -> Json<EndpointList> {
    let endpoints = serving.list().iter().map(|e| view(e)).collect();
    Json(EndpointList { endpoints })
}

async fn show(
    State(serving): State<Arc<Serving>>,
    Path(name): Path<String>,
) -> SmeltResult<Json<EndpointResponse>> {
    let endpoint = serving.get(&name)?;
    Ok(Json(EndpointResponse {
        endpoint: view(&endpoint),
    }))
}

async fn create(
    State(serving): State<Arc<Serving>>,
    SmeltJson(spec): SmeltJson<EndpointSpec>,
) -> SmeltResult<Json<EndpointResponse>> {
    let endpoint = serving.create(spec, true).await?;
    Ok(Json(EndpointResponse {
        endpoint: view(&endpoint),
    }))
}

async fn update(
    State(serving): State<Arc<Serving>>,
    Path(name): Path<String>,
    SmeltJson(mut spec): SmeltJson<EndpointSpec>,
) -> SmeltResult<Json<EndpointResponse>> {
    // The body may leave the name out; if it gives one, it must be the path's.
    if !spec.name.is_empty() && spec.name != name {
        return Err(ServeError::InvalidInput(format!(
            "the body names endpoint '{}' but the path names '{name}'",
            spec.name
        ))
        .into());
    }
    spec.name = name;
    let endpoint = serving.update(spec).await?;
    Ok(Json(EndpointResponse {
        endpoint: view(&endpoint),
    }))
}

async fn delete(
    State(serving): State<Arc<Serving>>,
    Path(name): Path<String>,
) -> SmeltResult<Json<Empty>> {
    serving.delete(&name).await?;
    Ok(Json(Empty {}))
}

/// What the API shows of an endpoint: its spec and what serves now.
pub fn view(endpoint: &Endpoint) -> EndpointView {
    let total: u64 = endpoint
        .variants
        .iter()
        .map(|v| u64::from(v.spec.weight))
        .sum();
    let variant = |v: &Variant, share: Option<f64>| {
        let current = v.current.load_full();
        VariantView {
            name: v.name.to_string(),
            model: v.spec.model.clone(),
            weight: v.spec.weight,
            traffic_share: share,
            serving: current.as_ref().map(|m| ServingVersion {
                model: m.name.to_string(),
                version: m.version.to_string(),
                uri: m.resolved.uri.clone(),
            }),
            ready: current.is_some(),
        }
    };
    EndpointView {
        name: endpoint.name.to_string(),
        ready: endpoint.is_ready(),
        variants: endpoint
            .variants
            .iter()
            .map(|v| variant(v, Some(f64::from(v.spec.weight) / total.max(1) as f64)))
            .collect(),
        shadow: endpoint.shadow.as_ref().map(|v| variant(v, None)),
        batching: endpoint.spec.batching.clone(),
        capture: endpoint.spec.capture.clone(),
        invocations_path: invocations_path(&endpoint.name),
        oip_path: oip_infer_path(&endpoint.name),
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path as FsPath, PathBuf};

    use async_trait::async_trait;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use smelt_api::ErrorBody;
    use smelt_api::endpoints::endpoint_path;
    use smelt_tracking::{DefinitionStore, ErrorCode};
    use tower::ServiceExt;

    use crate::metrics::ServingMetrics;
    use crate::serving::{ENDPOINT_KIND, ServingConfig};
    use crate::source::{ModelSource, ModelUri, ResolvedModel};

    use super::*;

    /// A registry that knows no model: every reference is unknown.
    struct NoModels;

    #[async_trait]
    impl ModelSource for NoModels {
        async fn resolve(
            &self,
            _reference: &ModelUri,
            text: &str,
        ) -> crate::error::Result<ResolvedModel> {
            Err(ServeError::NotFound(format!("no model '{text}'")))
        }

        async fn download(
            &self,
            model: &ResolvedModel,
            _dir: &FsPath,
        ) -> crate::error::Result<PathBuf> {
            Err(ServeError::Internal(format!(
                "{} cannot be downloaded",
                model.uri
            )))
        }
    }

    /// A server's routes over a SQLite store holding the endpoint `iris`,
    /// restored at start (its model is unknown, so it stays unloaded).
    async fn server() -> (tempfile::TempDir, axum::Router) {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite:///{}", dir.path().join("smelt.db").display());
        let artifacts = dir.path().join("artifacts").display().to_string();
        let store = smelt_tracking::open_store(&db, &artifacts).await.unwrap();
        let definitions: Arc<dyn DefinitionStore> = store;
        definitions
            .create_definition(
                ENDPOINT_KIND,
                "iris",
                r#"{"name": "iris", "variants": [{"model": "models:/iris@champion"}]}"#,
            )
            .await
            .unwrap();
        let serving = Serving::new(
            Arc::new(NoModels),
            Some(definitions),
            Arc::new(ServingMetrics::new()),
            None,
            ServingConfig::default(),
        );
        assert_eq!(serving.restore().await.unwrap(), 1);
        (dir, crate::http::server_router(serving))
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

    #[tokio::test]
    async fn reads_answer_typed_views() {
        let (_dir, router) = server().await;
        let (status, bytes) = call(&router, "GET", ENDPOINTS_PATH, "").await;
        assert_eq!(status, StatusCode::OK);
        let list: EndpointList = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(list.endpoints.len(), 1);
        let iris = &list.endpoints[0];
        assert_eq!(iris.name, "iris");
        assert!(!iris.ready);
        assert_eq!(iris.variants[0].name, "champion");
        assert_eq!(iris.variants[0].traffic_share, Some(1.0));
        assert_eq!(iris.variants[0].serving, None);
        assert_eq!(iris.invocations_path, "/endpoints/iris/invocations");
        let (status, bytes) = call(&router, "GET", &endpoint_path("iris"), "").await;
        assert_eq!(status, StatusCode::OK);
        let shown: EndpointResponse = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(&shown.endpoint, iris);
        let (status, bytes) = call(&router, "DELETE", &endpoint_path("iris"), "").await;
        assert_eq!((status, bytes.as_slice()), (StatusCode::OK, &b"{}"[..]));
    }

    #[tokio::test]
    async fn every_route_answers_errors_by_smelts_rule() {
        let (_dir, router) = server().await;
        let iris = endpoint_path("iris");
        let nope = endpoint_path("nope");
        let valid = r#"{"name": "iris", "variants": [{"model": "models:/iris@champion"}]}"#;
        let cases: [(&str, &str, &str, (StatusCode, ErrorCode)); 16] = [
            // Malformed JSON, not an object, missing and unknown fields.
            (
                "POST",
                ENDPOINTS_PATH,
                r#"{"name": "#,
                (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            ),
            (
                "POST",
                ENDPOINTS_PATH,
                "[1]",
                (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            ),
            (
                "POST",
                ENDPOINTS_PATH,
                "",
                (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            ),
            (
                "POST",
                ENDPOINTS_PATH,
                r#"{"name": "x"}"#,
                (StatusCode::BAD_REQUEST, ErrorCode::InvalidParameterValue),
            ),
            (
                "POST",
                ENDPOINTS_PATH,
                r#"{"name": "x", "variants": [], "colour": 1}"#,
                (StatusCode::BAD_REQUEST, ErrorCode::InvalidParameterValue),
            ),
            // Well-formed, but invalid: no variant, no name, a bad name, a bad reference.
            (
                "POST",
                ENDPOINTS_PATH,
                r#"{"name": "x", "variants": []}"#,
                (StatusCode::BAD_REQUEST, ErrorCode::InvalidParameterValue),
            ),
            (
                "POST",
                ENDPOINTS_PATH,
                r#"{"variants": [{"model": "models:/iris@a"}]}"#,
                (StatusCode::BAD_REQUEST, ErrorCode::InvalidParameterValue),
            ),
            (
                "POST",
                ENDPOINTS_PATH,
                r#"{"name": "a b", "variants": [{"model": "models:/iris@a"}]}"#,
                (StatusCode::BAD_REQUEST, ErrorCode::InvalidParameterValue),
            ),
            // A taken name, an unknown model.
            (
                "POST",
                ENDPOINTS_PATH,
                valid,
                (StatusCode::CONFLICT, ErrorCode::ResourceAlreadyExists),
            ),
            (
                "POST",
                ENDPOINTS_PATH,
                r#"{"name": "new", "variants": [{"model": "models:/nope@a"}]}"#,
                (StatusCode::NOT_FOUND, ErrorCode::ResourceDoesNotExist),
            ),
            // Update: malformed, naming another endpoint, unknown endpoint.
            (
                "PUT",
                iris.as_str(),
                "{",
                (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            ),
            (
                "PUT",
                iris.as_str(),
                r#"{"name": "other", "variants": [{"model": "models:/iris@a"}]}"#,
                (StatusCode::BAD_REQUEST, ErrorCode::InvalidParameterValue),
            ),
            (
                "PUT",
                nope.as_str(),
                r#"{"variants": [{"model": "models:/iris@a"}]}"#,
                (StatusCode::NOT_FOUND, ErrorCode::ResourceDoesNotExist),
            ),
            // Unknown names.
            (
                "GET",
                nope.as_str(),
                "",
                (StatusCode::NOT_FOUND, ErrorCode::ResourceDoesNotExist),
            ),
            (
                "DELETE",
                nope.as_str(),
                "",
                (StatusCode::NOT_FOUND, ErrorCode::ResourceDoesNotExist),
            ),
            // The model of an update is unknown.
            (
                "PUT",
                iris.as_str(),
                r#"{"variants": [{"model": "models:/nope@a"}]}"#,
                (StatusCode::NOT_FOUND, ErrorCode::ResourceDoesNotExist),
            ),
        ];
        for (method, path, body, expected) in cases {
            let (status, bytes) = call(&router, method, path, body).await;
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
