//! serving-echo: the HTTP + JSON ceiling for `scripts/bench_serving.py`.
//!
//! `POST /invocations` parses an MLflow `dataframe_split` body and answers
//! `{"predictions":[0,...]}` with one 0 per row; `GET /ping` answers 200.
//! Usage: `serving-echo [PORT]` (else env `PORT`, else 8080), bound to 127.0.0.1.

use axum::{http::StatusCode, routing::{get, post}, Json, Router};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct DataframeSplit {
    #[allow(dead_code)]
    columns: Vec<String>,
    data: Vec<Vec<f64>>,
}

#[derive(Deserialize)]
struct Request {
    dataframe_split: DataframeSplit,
}

#[derive(Serialize)]
struct Response {
    predictions: Vec<u8>,
}

async fn invocations(Json(req): Json<Request>) -> Json<Response> {
    Json(Response { predictions: vec![0; req.dataframe_split.data.len()] })
}

async fn ping() -> StatusCode {
    StatusCode::OK
}

fn port() -> u16 {
    let arg = std::env::args().nth(1).or_else(|| std::env::var("PORT").ok());
    arg.map(|p| p.parse().expect("port must be a number")).unwrap_or(8080)
}

#[tokio::main]
async fn main() {
    let app = Router::new()
        .route("/ping", get(ping))
        .route("/invocations", post(invocations));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port())).await.expect("bind");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
            tokio::select! { _ = term.recv() => {}, _ = tokio::signal::ctrl_c() => {} }
        })
        .await
        .expect("serve");
}
