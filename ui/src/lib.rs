//! Smelt's web UI: pages rendered on the server from the tracking store, the
//! job executor, the serving endpoints and the monitors of one `smelt
//! server`, with charts drawn as SVG by `smelt-charts` (the code notebooks
//! use).
//!
//! No JavaScript: sorting, filtering and paging are links and GET forms
//! answered by the store (so 10,000 runs cost one page of them), changes
//! (moving an alias) are POST forms answered with a redirect, and live pages
//! reload themselves.
//!
//! Under `smelt server --auth` the identity gate stands in front of every
//! page (login, permissions, CSRF); pages add what only they can: lists keep
//! what the viewer may read, forms carry the session's CSRF token, the
//! navigation names the user, and admins get the audit log ([`viewer`]).
//!
//! Start reading at [`router`]; one file per area under `pages/`.

mod layout;
mod pages;
pub mod traffic;
pub mod viewer;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use smelt_monitor::service::Monitors;
use smelt_serving::Serving;
use smelt_tracking::store::TrackingStore;
use smelt_trainer::OpenArtifacts;
use smelt_trainer::executor::Executor;

use crate::traffic::TrafficHistory;

/// What the pages read. Jobs, endpoints and monitors are optional so the UI
/// can sit on a tracking-only server; their pages then say so.
#[derive(Clone)]
pub struct UiState {
    pub store: Arc<dyn TrackingStore>,
    pub open_artifacts: OpenArtifacts,
    pub jobs: Option<Arc<dyn Executor>>,
    pub serving: Option<Arc<Serving>>,
    pub monitors: Option<Arc<Monitors>>,
    pub traffic: Arc<TrafficHistory>,
    /// Users and permissions, when the server runs with `--auth` (the gate
    /// in front of the router checks each page; lists filter with it).
    pub identity: Option<Arc<smelt_identity::Identity>>,
}

/// The UI's routes: `/` (experiments) and everything under `/ui/`.
pub fn router(state: UiState) -> Router {
    Router::new()
        .route("/", get(pages::experiments::list))
        .route("/ui", get(pages::experiments::list))
        .route("/ui/", get(pages::experiments::list))
        .route("/ui/experiments/{id}", get(pages::runs::table))
        .route("/ui/runs/{id}", get(pages::run::detail))
        .route("/ui/runs/{id}/artifacts", get(pages::artifacts::browse))
        .route("/ui/runs/{id}/raw", get(pages::artifacts::raw))
        .route("/ui/compare", get(pages::compare::compare))
        .route("/ui/models", get(pages::models::list))
        .route("/ui/models/{name}", get(pages::models::detail))
        .route("/ui/models/{name}/alias", post(pages::models::set_alias))
        .route(
            "/ui/models/{name}/alias/delete",
            post(pages::models::delete_alias),
        )
        .route("/ui/jobs", get(pages::jobs::list))
        .route("/ui/jobs/{id}", get(pages::jobs::detail))
        .route("/ui/endpoints", get(pages::endpoints::list))
        .route("/ui/endpoints/{name}", get(pages::endpoints::detail))
        .route("/ui/monitors", get(pages::monitors::list))
        .route("/ui/monitors/{name}", get(pages::monitors::detail))
        .route("/ui/audit", get(pages::audit::list))
        .with_state(Arc::new(state))
}
