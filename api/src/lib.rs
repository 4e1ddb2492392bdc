//! The contract of Smelt's own HTTP APIs, written once.
//!
//! Every request and response body of the routes under `/api/2.0/smelt/`
//! ([`jobs`], [`endpoints`], [`monitors`], [`identity`]: tokens and audit), what server replicas tell each other ([`changes`]), the error body all of Smelt's
//! routes answer with and its codes ([`error`]), and the names of the
//! metrics the monitor logs ([`monitors::metrics`]). The servers (trainer,
//! serving, monitor, mounted by `smelt server`), the CLI, the web UI and the
//! notebook client all use these types, so a field renamed here is renamed
//! on both sides of the wire, and the tests in this crate pin what the wire
//! looks like.
//!
//! Only serde: no runtime, HTTP client or server, database. Behaviour that
//! needs those (validating a model reference, starting a job) stays in the
//! crate that owns it, as free functions or extension traits over these
//! types.
//!
//! MLflow's REST bodies are not here: the tracking crate owns them, since
//! their shape is MLflow's, not ours.

pub mod changes;
pub mod endpoints;
pub mod error;
pub mod identity;
pub mod jobs;
pub mod monitors;

pub use error::{ErrorBody, ErrorCode};

/// The prefix of every route of Smelt's own API.
pub const SMELT_API_PREFIX: &str = "/api/2.0/smelt";

/// Where `smelt server` serves the OpenAPI 3.1 description of Smelt's own
/// API (jobs, endpoints and monitors, merged).
pub const OPENAPI_PATH: &str = "/api/2.0/smelt/openapi.json";

/// The body of an answer that carries nothing (a delete): `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Empty {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_answer_is_an_empty_object_and_reads_any_object() {
        assert_eq!(serde_json::to_string(&Empty {}).unwrap(), "{}");
        let read: Empty = serde_json::from_str(r#"{"ignored": 1}"#).unwrap();
        assert_eq!(read, Empty {});
    }

    #[test]
    fn every_route_lives_under_the_prefix() {
        for path in [
            jobs::JOBS_PATH,
            endpoints::ENDPOINTS_PATH,
            monitors::MONITORS_PATH,
            OPENAPI_PATH,
        ] {
            assert!(path.starts_with(SMELT_API_PREFIX), "{path}");
        }
    }
}
