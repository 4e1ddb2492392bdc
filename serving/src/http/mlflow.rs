//! MLflow's scoring routes: `/invocations`, `/ping`, `/health`, `/version`.
//! Errors are MLflow's `{"error_code", "message"}`.

use axum::response::{IntoResponse, Response};
use serde_json::Value;
use smelt_data::Frame;
use smelt_models::Predictions;
use smelt_tracking::api::SmeltError;

use super::infer::Protocol;
use crate::error::{Result, ServeError};
use crate::loaded::LoadedModel;
use crate::protocol::mlflow::{Invocation, parse_invocation, predictions_json};

pub(crate) struct Mlflow;

impl Protocol for Mlflow {
    type Request = Invocation;

    fn parse(model: &LoadedModel, content_type: Option<&str>, body: &[u8]) -> Result<Invocation> {
        let invocation = parse_invocation(content_type, body, &model.schema)?;
        if invocation.params.probabilities && !model.task.is_classification() {
            return Err(ServeError::InvalidInput(format!(
                "predict_method 'predict_proba' needs a classifier; {} is a regressor",
                model.label
            )));
        }
        Ok(invocation)
    }

    fn take_frame(request: &mut Invocation) -> Frame {
        std::mem::replace(&mut request.frame, empty_frame())
    }

    fn render(_: &LoadedModel, request: &Invocation, predictions: &Predictions, _: &str) -> Value {
        predictions_json(predictions, &request.params)
    }

    fn error(error: &ServeError) -> Response {
        error_response(error)
    }
}

/// MLflow's error body with the status of the error's code, through the
/// one writer of error answers (tracking's `SmeltError`; a 503 says when to
/// retry).
pub(crate) fn error_response(error: &ServeError) -> Response {
    SmeltError::from(error.clone()).into_response()
}

pub(crate) fn empty_frame() -> Frame {
    Frame::new(Vec::new()).unwrap_or_else(|_| unreachable!("an empty frame is always valid"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use serde_json::json;

    #[test]
    fn errors_are_mlflow_json_and_overload_says_when_to_retry() {
        let busy = error_response(&ServeError::Unavailable("the queue is full".into()));
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.headers()["retry-after"], "1");
        assert_eq!(busy.headers()["content-type"], "application/json");
        let bad = error_response(&ServeError::InvalidInput("column 'x' is missing".into()));
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert!(bad.headers().get("retry-after").is_none());
    }

    #[tokio::test]
    async fn error_bodies_name_the_code_and_the_problem() {
        let response = error_response(&ServeError::Timeout("no prediction within 5 ms".into()));
        assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            json!({"error_code": "DEADLINE_EXCEEDED", "message": "no prediction within 5 ms"})
        );
    }
}
