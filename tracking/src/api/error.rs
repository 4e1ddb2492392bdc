//! How errors become HTTP answers, for MLflow's routes and Smelt's own: one
//! function writes the body `{"error_code", "message"}`, and the status
//! comes from the code through one of the two tables in `smelt-api`
//! ([`ErrorCode::http_status`] for MLflow's routes, through [`ApiError`];
//! [`ErrorCode::smelt_status`] for Smelt's, through [`SmeltError`]).
//! Nothing else in the workspace decides a status from an error.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use smelt_api::ErrorBody;

use crate::error::{Error, ErrorCode};

/// An error on its way to an MLflow client: MLflow's status table.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.code.http_status();
        error_response(status, self.0)
    }
}

/// The result type of MLflow's handlers.
pub type ApiResult<T> = std::result::Result<T, ApiError>;

/// An error on its way to a client of Smelt's own routes (jobs, endpoints,
/// monitors, inference): Smelt's status rule ([`ErrorCode::smelt_status`]).
///
/// Every crate's error converts into a tracking [`Error`] keeping its code
/// (a tracking failure inside the jobs API stays what it was, not a 500), and
/// into this (`impl From<TheirError> for SmeltError`, through that `Error`).
#[derive(Debug, Clone)]
pub struct SmeltError(pub Error);

impl SmeltError {
    /// An error from a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> SmeltError {
        SmeltError(Error::new(code, message))
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        status_code(self.0.code.smelt_status())
    }
}

impl From<Error> for SmeltError {
    fn from(error: Error) -> Self {
        SmeltError(error)
    }
}

impl IntoResponse for SmeltError {
    fn into_response(self) -> Response {
        let status = self.0.code.smelt_status();
        error_response(status, self.0)
    }
}

/// The result type of Smelt's own handlers.
pub type SmeltResult<T> = std::result::Result<T, SmeltError>;

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The one writer of error answers: `status` with the JSON body, a
/// `Retry-After` on 503 (a full queue or a dependency that is down: the
/// client may come back in a second), and a log line for failures inside
/// the server.
fn error_response(status: u16, error: Error) -> Response {
    if error.code == ErrorCode::InternalError {
        tracing::error!(message = %error.message, "request failed inside the server");
    }
    let status = status_code(status);
    let body = serde_json::to_vec(&ErrorBody::from(error)).unwrap_or_default();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if status == StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn mlflow_and_smelt_routes_differ_only_by_table() {
        let exists = Error::already_exists("experiment 'x' exists");
        let mlflow = ApiError(exists.clone()).into_response();
        assert_eq!(mlflow.status(), StatusCode::BAD_REQUEST);
        let smelt = SmeltError(exists).into_response();
        assert_eq!(smelt.status(), StatusCode::CONFLICT);
        assert_eq!(smelt.headers()["content-type"], "application/json");
        assert_eq!(
            body(smelt).await,
            serde_json::json!({"error_code": "RESOURCE_ALREADY_EXISTS", "message": "experiment 'x' exists"})
        );
        assert_eq!(body(mlflow).await["error_code"], "RESOURCE_ALREADY_EXISTS");
    }

    #[test]
    fn unavailable_says_when_to_retry() {
        let busy = SmeltError::new(ErrorCode::TemporarilyUnavailable, "the queue is full");
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        let response = busy.into_response();
        assert_eq!(response.headers()["retry-after"], "1");
        let bad = SmeltError(Error::invalid("no")).into_response();
        assert!(bad.headers().get("retry-after").is_none());
    }
}
