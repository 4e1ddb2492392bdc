//! MLflow REST request bodies and query strings, through the real router
//! (the `Mlflow` extractor, the handlers' own checks and a SQLite store).
//! The first byte picks the endpoint; the rest is the JSON body of a POST or
//! the query string of a GET. Bad input must answer a 4xx with MLflow's JSON
//! error body: a panic or a 5xx is a finding.
#![no_main]

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use libfuzzer_sys::fuzz_target;
use smelt_tracking::api::{AppState, router};
use smelt_tracking::artifacts::open_artifact_store;
use smelt_tracking::open_store;
use tower::ServiceExt;

/// Which verb an endpoint takes: POST reads a JSON body, GET a query string.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Verb {
    Get,
    Post,
}
use Verb::{Get, Post};

const ENDPOINTS: &[(Verb, &str)] = &[
    (Post, "experiments/create"),
    (Get, "experiments/get"),
    (Get, "experiments/get-by-name"),
    (Post, "experiments/search"),
    (Post, "experiments/update"),
    (Post, "experiments/delete"),
    (Post, "experiments/set-experiment-tag"),
    (Post, "runs/create"),
    (Get, "runs/get"),
    (Post, "runs/update"),
    (Post, "runs/search"),
    (Get, "runs/search"),
    (Post, "runs/log-metric"),
    (Post, "runs/log-parameter"),
    (Post, "runs/set-tag"),
    (Post, "runs/log-batch"),
    (Post, "runs/log-inputs"),
    (Post, "runs/outputs"),
    (Get, "metrics/get-history"),
    (Post, "logged-models"),
    (Post, "logged-models/search"),
    (Post, "registered-models/create"),
    (Get, "registered-models/get"),
    (Post, "registered-models/rename"),
    (Get, "registered-models/search"),
    (Post, "registered-models/get-latest-versions"),
    (Post, "registered-models/alias"),
    (Post, "model-versions/create"),
    (Get, "model-versions/search"),
    (Post, "model-versions/transition-stage"),
];

struct Server {
    runtime: tokio::runtime::Runtime,
    app: Router,
    // Kept for the life of the process: the store's files live here.
    _dir: tempfile::TempDir,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let dir = tempfile::tempdir().expect("a temp folder");
        let uri = format!("sqlite:///{}", dir.path().join("smelt.db").display());
        let root = dir.path().join("artifacts").display().to_string();
        let app = runtime.block_on(async {
            let store = open_store(&uri, &root).await.expect("a SQLite store");
            let artifacts = open_artifact_store(&root).expect("an artifact store");
            router(Arc::new(AppState::new(store, artifacts, true)))
        });
        Server {
            runtime,
            app,
            _dir: dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let &(verb, path) = &ENDPOINTS[usize::from(selector) % ENDPOINTS.len()];
    let server = server();
    let request = if verb == Get {
        let query = String::from_utf8_lossy(rest);
        // Only what a URI can carry: the client percent-encodes the rest.
        let query: String = query
            .chars()
            .filter(|c| c.is_ascii_graphic() && *c != '#')
            .collect();
        match Request::get(format!("/api/2.0/mlflow/{path}?{query}")).body(Body::empty()) {
            Ok(request) => request,
            Err(_) => return,
        }
    } else {
        Request::post(format!("/api/2.0/mlflow/{path}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(rest.to_vec()))
            .expect("a POST request")
    };
    let (status, body) = server.runtime.block_on(async {
        let response = server
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        (status, body)
    });
    assert!(
        !status.is_server_error(),
        "{verb:?} {path} answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    if status.is_client_error() {
        let error: serde_json::Value =
            serde_json::from_slice(&body).expect("an error body is JSON");
        assert!(error["error_code"].is_string(), "{error}");
    }
});
