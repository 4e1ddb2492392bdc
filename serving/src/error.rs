//! What can go wrong while serving. Each case has one error code
//! ([`ServeError::code`]); the status comes from the code by Smelt's rule
//! (`ErrorCode::smelt_status`), the one table of Smelt's own routes. The
//! protocols render the body: MLflow's `{"error_code","message"}` (through
//! tracking's `SmeltError`, as the management API does) or the Open
//! Inference Protocol's `{"error"}`.

use axum::http::StatusCode;
use smelt_tracking::ErrorCode;
use smelt_tracking::api::SmeltError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ServeError {
    /// 400 `BAD_REQUEST`: the body is malformed or has the wrong structure.
    #[error("{0}")]
    BadRequest(String),
    /// 400 `INVALID_PARAMETER_VALUE`: well-formed, but does not fit the
    /// model's signature (missing or extra column, wrong type, shape), or
    /// an endpoint spec with a bad value.
    #[error("{0}")]
    InvalidInput(String),
    /// 415 `UNSUPPORTED_MEDIA_TYPE`: a content type the protocol does not read.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 413 `REQUEST_LIMIT_EXCEEDED`: the body is over the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 404 `RESOURCE_DOES_NOT_EXIST`: unknown endpoint, model or version.
    #[error("{0}")]
    NotFound(String),
    /// 409 `RESOURCE_ALREADY_EXISTS`.
    #[error("{0}")]
    AlreadyExists(String),
    /// 409 `INVALID_STATE`: the change clashes with what the store holds.
    #[error("{0}")]
    InvalidState(String),
    /// 503 `TEMPORARILY_UNAVAILABLE` with `Retry-After`: the queue is full,
    /// or the model is not ready.
    #[error("{0}")]
    Unavailable(String),
    /// 504 `DEADLINE_EXCEEDED`: no answer within the request timeout.
    #[error("{0}")]
    Timeout(String),
    /// 500 `INTERNAL_ERROR`: a bug or a broken model.
    #[error("{0}")]
    Internal(String),
}

impl ServeError {
    /// The error code of this case.
    pub fn code(&self) -> ErrorCode {
        match self {
            ServeError::BadRequest(_) => ErrorCode::BadRequest,
            ServeError::InvalidInput(_) => ErrorCode::InvalidParameterValue,
            ServeError::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            ServeError::PayloadTooLarge(_) => ErrorCode::RequestLimitExceeded,
            ServeError::NotFound(_) => ErrorCode::ResourceDoesNotExist,
            ServeError::AlreadyExists(_) => ErrorCode::ResourceAlreadyExists,
            ServeError::InvalidState(_) => ErrorCode::InvalidState,
            ServeError::Unavailable(_) => ErrorCode::TemporarilyUnavailable,
            ServeError::Timeout(_) => ErrorCode::DeadlineExceeded,
            ServeError::Internal(_) => ErrorCode::InternalError,
        }
    }

    /// The HTTP status: the code's, by Smelt's rule.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code().smelt_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// `error_code` as written on the wire.
    pub fn error_code(&self) -> &'static str {
        self.code().as_str()
    }
}

impl From<smelt_tracking::Error> for ServeError {
    /// Keeps the code: a tracking failure answers what it is (a taken name
    /// 409, a store that is down 503), not a blanket 500.
    fn from(error: smelt_tracking::Error) -> Self {
        let message = error.message;
        match error.code {
            ErrorCode::BadRequest => ServeError::BadRequest(message),
            ErrorCode::InvalidParameterValue => ServeError::InvalidInput(message),
            ErrorCode::UnsupportedMediaType => ServeError::UnsupportedMediaType(message),
            ErrorCode::RequestLimitExceeded => ServeError::PayloadTooLarge(message),
            ErrorCode::ResourceDoesNotExist | ErrorCode::EndpointNotFound => {
                ServeError::NotFound(message)
            }
            ErrorCode::ResourceAlreadyExists => ServeError::AlreadyExists(message),
            ErrorCode::InvalidState => ServeError::InvalidState(message),
            ErrorCode::TemporarilyUnavailable => ServeError::Unavailable(message),
            ErrorCode::DeadlineExceeded => ServeError::Timeout(message),
            _ => ServeError::Internal(format!("the tracking store failed: {message}")),
        }
    }
}

impl From<ServeError> for smelt_tracking::Error {
    fn from(error: ServeError) -> Self {
        smelt_tracking::Error::new(error.code(), error.to_string())
    }
}

impl From<ServeError> for SmeltError {
    fn from(error: ServeError) -> Self {
        SmeltError(error.into())
    }
}

pub type Result<T, E = ServeError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_come_from_the_codes() {
        let cases = [
            (ServeError::BadRequest(String::new()), 400),
            (ServeError::InvalidInput(String::new()), 400),
            (ServeError::UnsupportedMediaType(String::new()), 415),
            (ServeError::PayloadTooLarge(String::new()), 413),
            (ServeError::NotFound(String::new()), 404),
            (ServeError::AlreadyExists(String::new()), 409),
            (ServeError::InvalidState(String::new()), 409),
            (ServeError::Unavailable(String::new()), 503),
            (ServeError::Timeout(String::new()), 504),
            (ServeError::Internal(String::new()), 500),
        ];
        for (error, status) in cases {
            assert_eq!(error.status().as_u16(), status, "{error:?}");
            // Through tracking's error and back, the case is the same.
            let back = ServeError::from(smelt_tracking::Error::from(error.clone()));
            assert_eq!(back.code(), error.code());
        }
    }

    #[test]
    fn tracking_failures_keep_their_code() {
        let exists = ServeError::from(smelt_tracking::Error::already_exists("taken"));
        assert_eq!(exists.status(), StatusCode::CONFLICT);
        let down = ServeError::from(smelt_tracking::Error::new(
            ErrorCode::TemporarilyUnavailable,
            "db down",
        ));
        assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
        let broken = ServeError::from(smelt_tracking::Error::internal("disk"));
        assert_eq!(broken.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
