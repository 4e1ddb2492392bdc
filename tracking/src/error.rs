//! The one error type of the tracking crate, carrying MLflow's error codes.
//!
//! Every failure a client can cause maps to an [`ErrorCode`] (defined in
//! `smelt-api`, re-exported here so `smelt_tracking::ErrorCode` keeps
//! working). The code alone decides the HTTP status, in one place: MLflow's
//! table ([`ErrorCode::http_status`]) on MLflow's routes, Smelt's rule
//! ([`ErrorCode::smelt_status`]) on Smelt's own. The other crates' errors
//! convert into this [`Error`] keeping their code, so the REST API, Smelt's
//! APIs, the CLI and the REST client all agree on what went wrong.

use smelt_api::ErrorBody;
pub use smelt_api::ErrorCode;

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

    /// An entity that exists already (HTTP 400 on MLflow's routes, as MLflow
    /// answers; 409 on Smelt's own).
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

impl From<Error> for ErrorBody {
    fn from(error: Error) -> ErrorBody {
        ErrorBody::new(error.code, error.message)
    }
}

impl From<ErrorBody> for Error {
    fn from(body: ErrorBody) -> Error {
        Error::new(body.error_code, body.message)
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
