//! The one error type of the tracking crate, carrying MLflow's error codes.
//!
//! Every failure a client can cause maps to an [`ErrorCode`] whose HTTP status
//! is fixed in one place ([`ErrorCode::http_status`]), so the REST API, the CLI
//! and the REST client all agree on what went wrong.

use serde::{Deserialize, Serialize};

/// MLflow's error codes (`databricks.proto`), as they appear on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ErrorCode {
    /// A request field has a wrong value or type.
    InvalidParameterValue,
    /// The request is malformed.
    BadRequest,
    /// The entity being created exists already.
    ResourceAlreadyExists,
    /// The entity named by the request does not exist.
    ResourceDoesNotExist,
    /// The route does not exist.
    EndpointNotFound,
    /// The request would change state it may not change.
    InvalidState,
    /// A request body over the size limit.
    RequestLimitExceeded,
    /// A failure inside the server (database or storage).
    InternalError,
    /// A dependency is down.
    TemporarilyUnavailable,
    /// Any code this build does not know, kept so a client never fails to parse an error.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The HTTP status MLflow's server uses for this code (`ERROR_CODE_TO_HTTP_STATUS`).
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidParameterValue
            | ErrorCode::BadRequest
            | ErrorCode::ResourceAlreadyExists => 400,
            ErrorCode::ResourceDoesNotExist | ErrorCode::EndpointNotFound => 404,
            ErrorCode::RequestLimitExceeded => 413,
            ErrorCode::TemporarilyUnavailable => 503,
            ErrorCode::InvalidState | ErrorCode::InternalError | ErrorCode::Unknown => 500,
        }
    }

    /// The name MLflow puts in `error_code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidParameterValue => "INVALID_PARAMETER_VALUE",
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::ResourceAlreadyExists => "RESOURCE_ALREADY_EXISTS",
            ErrorCode::ResourceDoesNotExist => "RESOURCE_DOES_NOT_EXIST",
            ErrorCode::EndpointNotFound => "ENDPOINT_NOT_FOUND",
            ErrorCode::InvalidState => "INVALID_STATE",
            ErrorCode::RequestLimitExceeded => "REQUEST_LIMIT_EXCEEDED",
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::TemporarilyUnavailable => "TEMPORARILY_UNAVAILABLE",
            ErrorCode::Unknown => "UNKNOWN",
        }
    }
}

/// A tracking failure: an MLflow error code and a message meant for a person.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// What kind of failure this is; decides the HTTP status.
    pub code: ErrorCode,
    /// What went wrong and, where possible, what to do about it.
    pub message: String,
}

/// The tracking crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Builds an error from a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }

    /// A request field with a bad value (HTTP 400).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameterValue, message)
    }

    /// A missing entity (HTTP 404).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceDoesNotExist, message)
    }

    /// An entity that exists already (HTTP 400, as MLflow answers).
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceAlreadyExists, message)
    }

    /// A failure inside the server (HTTP 500).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }

    /// The error for a missing required request field, worded as MLflow words it.
    pub fn missing_field(field: &str) -> Self {
        Self::invalid(format!(
            "Missing value for required parameter '{field}'. See the API docs for more information about request parameters."
        ))
    }

    /// Whether this error means "no such entity".
    pub fn is_not_found(&self) -> bool {
        self.code == ErrorCode::ResourceDoesNotExist
    }
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db_error) = &error
            && db_error.is_unique_violation()
        {
            return Error::already_exists(db_error.message().to_string());
        }
        tracing::error!(%error, "database error");
        Error::internal(format!("database error: {error}"))
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        Error::internal(format!("schema migration failed: {error}"))
    }
}

impl From<object_store::Error> for Error {
    fn from(error: object_store::Error) -> Self {
        match error {
            object_store::Error::NotFound { path, .. } => {
                Error::not_found(format!("Artifact not found: {path}"))
            }
            other => Error::internal(format!("artifact storage error: {other}")),
        }
    }
}
