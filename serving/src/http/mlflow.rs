//! MLflow's scoring routes: `/invocations`, `/ping`, `/health`, `/version`.
//! Errors are MLflow's `{"error_code", "message"}`.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use smelt_data::Frame;
use smelt_models::Predictions;

use super::infer::{Protocol, json_response};
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

pub(crate) fn error_response(error: &ServeError) -> Response {
    let mut response = json_response(
        error.status(),
        &json!({ "error_code": error.error_code(), "message": error.to_string() }),
    );
    if error.status() == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("1"),
        );
    }
    response
}

pub(crate) fn empty_frame() -> Frame {
    Frame::new(Vec::new()).unwrap_or_else(|_| unreachable!("an empty frame is always valid"))
}
