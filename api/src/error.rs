//! Error codes and the error body every Smelt route answers with.
//!
//! [`ErrorCode`] is MLflow's list of codes (`databricks.proto`) plus two
//! codes of Smelt's own serving routes; [`ErrorBody`] is the JSON a failed
//! request gets, `{"error_code": "...", "message": "..."}`, on MLflow's routes
//! and on Smelt's own alike.
//!
//! Two tables turn a code into an HTTP status, and nothing else decides a
//! status:
//!
//! - [`ErrorCode::http_status`]: MLflow's table, used by MLflow's REST API
//!   (`/api/2.0/mlflow/…`, `/ajax-api/…`, the artifact proxy), because
//!   MLflow's clients read statuses as MLflow's server sends them (an
//!   existing experiment is a 400 there).
//! - [`ErrorCode::smelt_status`]: the rule of Smelt's own routes (jobs,
//!   endpoints, monitors, inference, the web UI), which follows HTTP's
//!   meaning of each status: the client's mistake is 400, a missing thing
//!   404, a clash with what exists (a taken name, a state that forbids the
//!   change) 409, a body over the limit 413, a content type the route does
//!   not read 415, a dependency down or a queue full 503, no answer in time
//!   504, and only a failure inside the server 500.

use serde::{Deserialize, Serialize};

/// MLflow's error codes (`databricks.proto`) as they appear on the wire,
/// plus [`ErrorCode::UnsupportedMediaType`], Smelt's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ErrorCode {
    /// A request field has a wrong value or type.
    InvalidParameterValue,
    /// The request is malformed (not JSON, not an object).
    BadRequest,
    /// The entity being created exists already.
    ResourceAlreadyExists,
    /// The entity named by the request does not exist.
    ResourceDoesNotExist,
    /// The route does not exist.
    EndpointNotFound,
    /// The request would change state it may not change now.
    InvalidState,
    /// A request body over the size limit.
    RequestLimitExceeded,
    /// A body in a content type the route does not read (Smelt's serving
    /// routes; not one of MLflow's codes).
    UnsupportedMediaType,
    /// No answer within the time the server gives a request.
    DeadlineExceeded,
    /// A failure inside the server (database or storage).
    InternalError,
    /// A dependency is down, or a queue is full: try again later.
    TemporarilyUnavailable,
    /// No credentials, or credentials the server does not accept
    /// (`smelt server --auth`).
    Unauthenticated,
    /// The caller is known but may not do this.
    PermissionDenied,
    /// Too many attempts (failed logins): wait, then try again.
    ResourceExhausted,
    /// Any code this build does not know, kept so a client never fails to
    /// parse an error.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The HTTP status MLflow's server uses for this code
    /// (`ERROR_CODE_TO_HTTP_STATUS`); MLflow's routes answer with it.
    /// The two codes MLflow's routes never produce (415, 504) keep their
    /// HTTP meaning.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidParameterValue
            | ErrorCode::BadRequest
            | ErrorCode::ResourceAlreadyExists => 400,
            ErrorCode::ResourceDoesNotExist | ErrorCode::EndpointNotFound => 404,
            ErrorCode::RequestLimitExceeded => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::PermissionDenied => 403,
            ErrorCode::ResourceExhausted => 429,
            ErrorCode::TemporarilyUnavailable => 503,
            ErrorCode::DeadlineExceeded => 504,
            ErrorCode::InvalidState | ErrorCode::InternalError | ErrorCode::Unknown => 500,
        }
    }

    /// The HTTP status of this code on Smelt's own routes (jobs, endpoints,
    /// monitors, inference, the web UI): see the module documentation. It
    /// differs from MLflow's table in two places, both where MLflow blames
    /// the wrong side: an existing resource and a forbidden state change are
    /// conflicts (409), not a bad request (400) or a server failure (500).
    pub fn smelt_status(self) -> u16 {
        match self {
            ErrorCode::InvalidParameterValue | ErrorCode::BadRequest => 400,
            ErrorCode::ResourceDoesNotExist | ErrorCode::EndpointNotFound => 404,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::PermissionDenied => 403,
            ErrorCode::ResourceExhausted => 429,
            ErrorCode::ResourceAlreadyExists | ErrorCode::InvalidState => 409,
            ErrorCode::RequestLimitExceeded => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::TemporarilyUnavailable => 503,
            ErrorCode::DeadlineExceeded => 504,
            ErrorCode::InternalError | ErrorCode::Unknown => 500,
        }
    }

    /// The name on the wire, as in `error_code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidParameterValue => "INVALID_PARAMETER_VALUE",
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::ResourceAlreadyExists => "RESOURCE_ALREADY_EXISTS",
            ErrorCode::ResourceDoesNotExist => "RESOURCE_DOES_NOT_EXIST",
            ErrorCode::EndpointNotFound => "ENDPOINT_NOT_FOUND",
            ErrorCode::InvalidState => "INVALID_STATE",
            ErrorCode::RequestLimitExceeded => "REQUEST_LIMIT_EXCEEDED",
            ErrorCode::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ErrorCode::DeadlineExceeded => "DEADLINE_EXCEEDED",
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::TemporarilyUnavailable => "TEMPORARILY_UNAVAILABLE",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::ResourceExhausted => "RESOURCE_EXHAUSTED",
            ErrorCode::Unknown => "UNKNOWN",
        }
    }

    /// Whether the failure is the server's (a 5xx on either table): worth
    /// logging on the server, and worth retrying for a client.
    pub fn is_server_error(self) -> bool {
        self.smelt_status() >= 500
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a failed request gets: `{"error_code": "...", "message": "..."}`.
/// Extra fields MLflow may add (`details`) are ignored when reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What kind of failure; decides the status.
    pub error_code: ErrorCode,
    /// What went wrong, for a person.
    #[serde(default)]
    pub message: String,
}

impl ErrorBody {
    /// A body from a code and a message.
    pub fn new(error_code: ErrorCode, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error_code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ErrorCode; 15] = [
        ErrorCode::InvalidParameterValue,
        ErrorCode::BadRequest,
        ErrorCode::ResourceAlreadyExists,
        ErrorCode::ResourceDoesNotExist,
        ErrorCode::EndpointNotFound,
        ErrorCode::InvalidState,
        ErrorCode::RequestLimitExceeded,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::DeadlineExceeded,
        ErrorCode::InternalError,
        ErrorCode::TemporarilyUnavailable,
        ErrorCode::Unauthenticated,
        ErrorCode::PermissionDenied,
        ErrorCode::ResourceExhausted,
        ErrorCode::Unknown,
    ];

    #[test]
    fn codes_are_written_as_their_names_and_unknown_ones_still_parse() {
        for code in ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
        }
        let unknown: ErrorCode = serde_json::from_str("\"NOT_A_CODE_WE_KNOW\"").unwrap();
        assert_eq!(unknown, ErrorCode::Unknown);
    }

    #[test]
    fn the_body_is_mlflows_and_ignores_extra_fields() {
        let body = ErrorBody::new(ErrorCode::ResourceDoesNotExist, "no job 'x'");
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no job 'x'"})
        );
        let read: ErrorBody = serde_json::from_str(
            r#"{"error_code": "INVALID_PARAMETER_VALUE", "message": "m", "details": []}"#,
        )
        .unwrap();
        assert_eq!(read, ErrorBody::new(ErrorCode::InvalidParameterValue, "m"));
        let bare: ErrorBody = serde_json::from_str(r#"{"error_code": "BAD_REQUEST"}"#).unwrap();
        assert_eq!(bare.message, "");
    }

    #[test]
    fn mlflow_routes_keep_mlflows_table() {
        assert_eq!(ErrorCode::ResourceAlreadyExists.http_status(), 400);
        assert_eq!(ErrorCode::InvalidState.http_status(), 500);
        assert_eq!(ErrorCode::InvalidParameterValue.http_status(), 400);
        assert_eq!(ErrorCode::ResourceDoesNotExist.http_status(), 404);
        assert_eq!(ErrorCode::TemporarilyUnavailable.http_status(), 503);
    }

    #[test]
    fn smelts_routes_follow_one_rule() {
        let expected = [
            (ErrorCode::InvalidParameterValue, 400),
            (ErrorCode::BadRequest, 400),
            (ErrorCode::ResourceAlreadyExists, 409),
            (ErrorCode::ResourceDoesNotExist, 404),
            (ErrorCode::EndpointNotFound, 404),
            (ErrorCode::InvalidState, 409),
            (ErrorCode::RequestLimitExceeded, 413),
            (ErrorCode::UnsupportedMediaType, 415),
            (ErrorCode::DeadlineExceeded, 504),
            (ErrorCode::InternalError, 500),
            (ErrorCode::TemporarilyUnavailable, 503),
            (ErrorCode::Unknown, 500),
        ];
        for (code, status) in expected {
            assert_eq!(code.smelt_status(), status, "{code}");
            // The tables differ only where MLflow's blames the wrong side.
            if !matches!(
                code,
                ErrorCode::ResourceAlreadyExists | ErrorCode::InvalidState
            ) {
                assert_eq!(code.http_status(), status, "{code}");
            }
        }
        assert!(ErrorCode::InternalError.is_server_error());
        assert!(!ErrorCode::ResourceAlreadyExists.is_server_error());
    }
}
