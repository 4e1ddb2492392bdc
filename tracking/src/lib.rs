//! Smelt's tracking: MLflow-compatible experiments, runs, logged models, model
//! registry and artifacts.
//!
//! Brief overview:
//! - [`entities`] are MLflow's objects as they look on the wire;
//! - [`store::TrackingStore`] is the seam every other crate talks to, with a SQL
//!   implementation ([`store::sql::SqlStore`]) and an HTTP client
//!   ([`store::rest::RestStore`]) chosen by [`store::open_store`];
//! - [`artifacts::ArtifactStore`] stores run and model files (local, S3, or a
//!   server's artifact proxy);
//! - [`search`] parses MLflow's filter and order_by grammar;
//! - [`api`] is the MLflow REST API as an axum router, and [`server`] runs it.
#![deny(missing_docs)]

pub mod api;
pub mod artifacts;
pub mod entities;
pub mod error;
pub mod search;
pub mod server;
pub mod store;
pub mod wire;

pub use error::{Error, ErrorCode, Result};
pub use store::identity::IdentityStore;
pub use store::{DefinitionStore, TrackingStore, open_store};
