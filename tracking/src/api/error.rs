//! How tracking errors become HTTP answers: one place decides the status and
//! the MLflow-style body `{"error_code", "message"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::{Error, ErrorCode};

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if self.0.code == ErrorCode::InternalError {
            tracing::error!(message = %self.0.message, "request failed inside the server");
        }
        let body =
            serde_json::json!({ "error_code": self.0.code.as_str(), "message": self.0.message });
        (
            status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

/// The result type of handlers.
pub type ApiResult<T> = std::result::Result<T, ApiError>;
