//! What can go wrong while serving, and the HTTP status each case answers
//! with. The protocols render the body: MLflow's `{"error_code","message"}`
//! or the Open Inference Protocol's `{"error"}`.

use axum::http::StatusCode;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ServeError {
    /// 400 `BAD_REQUEST`: the body is malformed or has the wrong structure.
    #[error("{0}")]
    BadRequest(String),
    /// 400 `INVALID_PARAMETER_VALUE`: well-formed, but does not fit the
    /// model's signature (missing or extra column, wrong type, shape).
    #[error("{0}")]
    InvalidInput(String),
    /// 415: a content type the protocol does not read.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 413: the body is over the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 404 `RESOURCE_DOES_NOT_EXIST`: unknown endpoint, model or version.
    #[error("{0}")]
    NotFound(String),
    /// 409 `RESOURCE_ALREADY_EXISTS`.
    #[error("{0}")]
    AlreadyExists(String),
    /// 503 with `Retry-After`: the queue is full, or the model is not ready.
    #[error("{0}")]
    Unavailable(String),
    /// 504: no answer within the request timeout.
    #[error("{0}")]
    Timeout(String),
    /// 500: a bug or a broken model.
    #[error("{0}")]
    Internal(String),
}

impl ServeError {
    pub fn status(&self) -> StatusCode {
        match self {
            ServeError::BadRequest(_) | ServeError::InvalidInput(_) => StatusCode::BAD_REQUEST,
            ServeError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ServeError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ServeError::NotFound(_) => StatusCode::NOT_FOUND,
            ServeError::AlreadyExists(_) => StatusCode::CONFLICT,
            ServeError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServeError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ServeError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// MLflow's `error_code` for this error.
    pub fn error_code(&self) -> &'static str {
        match self {
            ServeError::BadRequest(_) | ServeError::UnsupportedMediaType(_) => "BAD_REQUEST",
            ServeError::InvalidInput(_) | ServeError::PayloadTooLarge(_) => {
                "INVALID_PARAMETER_VALUE"
            }
            ServeError::NotFound(_) => "RESOURCE_DOES_NOT_EXIST",
            ServeError::AlreadyExists(_) => "RESOURCE_ALREADY_EXISTS",
            ServeError::Unavailable(_) => "TEMPORARILY_UNAVAILABLE",
            ServeError::Timeout(_) => "DEADLINE_EXCEEDED",
            ServeError::Internal(_) => "INTERNAL_ERROR",
        }
    }
}

pub type Result<T, E = ServeError> = std::result::Result<T, E>;
