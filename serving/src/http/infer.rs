//! The inference path every protocol shares: pick the variant, parse the
//! body against that variant's signature, queue it, render the answer with
//! headers naming the variant and version, record metrics, capture a sample
//! and feed the shadow.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use smelt_data::Frame;
use smelt_models::Predictions;

use crate::capture::Captured;
use crate::endpoint::{Endpoint, Variant};
use crate::error::{Result, ServeError};
use crate::loaded::LoadedModel;
use crate::serving::Serving;

/// Response header: the variant that answered.
pub const VARIANT_HEADER: &str = "smelt-variant";
/// Response header: `NAME/VERSION` of the model version that answered.
pub const MODEL_VERSION_HEADER: &str = "smelt-model-version";
/// Response header: the id of this inference (also in capture records).
pub const INFERENCE_ID_HEADER: &str = "smelt-inference-id";
/// Request header: send the request to this variant (SageMaker's TargetVariant).
pub const TARGET_VARIANT_HEADER: &str = "smelt-target-variant";

/// How one wire protocol reads requests and writes answers.
pub(crate) trait Protocol: 'static {
    type Request: Send + 'static;
    fn parse(model: &LoadedModel, content_type: Option<&str>, body: &[u8])
    -> Result<Self::Request>;
    /// Takes the rows out of a parsed request.
    fn take_frame(request: &mut Self::Request) -> Frame;
    fn render(
        model: &LoadedModel,
        request: &Self::Request,
        predictions: &Predictions,
        inference_id: &str,
    ) -> Value;
    fn error(error: &ServeError) -> Response;
}

/// Serves one request on `endpoint`.
pub(crate) async fn infer<P: Protocol>(
    serving: &Arc<Serving>,
    endpoint: Arc<Endpoint>,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let target = header_str(headers, TARGET_VARIANT_HEADER);
    let variant = match endpoint.choose(target) {
        Ok(variant) => variant,
        Err(error) => {
            serving
                .metrics
                .request_failed(&endpoint.name, error.status().as_u16());
            return P::error(&error);
        }
    };
    let content_type = header_str(headers, header::CONTENT_TYPE.as_str());
    match answer::<P>(serving, &endpoint, variant, content_type, &body, started).await {
        Ok((response, model, frame, predictions)) => {
            let latency = started.elapsed();
            if let Some(capture) = serving.capture()
                && let Some(frame) = frame
            {
                capture.submit(Captured {
                    inference_id: inference_id(&response),
                    time: chrono::Utc::now(),
                    endpoint: endpoint.name.clone(),
                    variant: variant.name.clone(),
                    model: model.name.clone(),
                    model_version: model.version.clone(),
                    shadow: false,
                    input: frame,
                    predictions,
                    latency,
                });
            }
            if endpoint.shadow.is_some() {
                shadow::<P>(serving.clone(), endpoint.clone(), content_type, body);
            }
            response
        }
        Err(error) => {
            variant
                .metrics
                .answered(error.status().as_u16(), started.elapsed(), None);
            let mut response = P::error(&error);
            name_variant(&mut response, variant, None);
            response
        }
    }
}

type Answered = (Response, Arc<LoadedModel>, Option<Frame>, Predictions);

async fn answer<P: Protocol>(
    serving: &Serving,
    endpoint: &Endpoint,
    variant: &Variant,
    content_type: Option<&str>,
    body: &[u8],
    started: Instant,
) -> Result<Answered> {
    let model = variant.loaded()?;
    let mut request = P::parse(&model, content_type, body)?;
    let frame = P::take_frame(&mut request);
    let captured = (serving.capture().is_some() && endpoint.sample()).then(|| frame.clone());
    let answer = model.batcher.predict(frame).await?;
    let id = new_inference_id();
    let json = P::render(&model, &request, &answer.predictions, &id);
    let mut response = json_response(StatusCode::OK, &json);
    name_variant(&mut response, variant, Some(&model));
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(INFERENCE_ID_HEADER, value);
    }
    variant
        .metrics
        .answered(200, started.elapsed(), Some(answer.queued));
    Ok((response, model, captured, answer.predictions))
}

/// Runs the shadow variant on a copy of the request, off the caller's path.
fn shadow<P: Protocol>(
    serving: Arc<Serving>,
    endpoint: Arc<Endpoint>,
    content_type: Option<&str>,
    body: Bytes,
) {
    let content_type = content_type.map(str::to_string);
    tokio::spawn(async move {
        let Some(variant) = &endpoint.shadow else {
            return;
        };
        let started = Instant::now();
        let result = async {
            let model = variant.loaded()?;
            let mut request = P::parse(&model, content_type.as_deref(), &body)?;
            let frame = P::take_frame(&mut request);
            let input = serving.capture().is_some().then(|| frame.clone());
            let answer = model.batcher.predict(frame).await?;
            Ok::<_, ServeError>((model, input, answer))
        }
        .await;
        let latency = started.elapsed();
        match result {
            Ok((model, input, answer)) => {
                variant.metrics.answered(200, latency, Some(answer.queued));
                tracing::debug!(endpoint = %endpoint.name, variant = %variant.name,
                    version = %model.label, rows = answer.predictions.len(), "shadow answered");
                if let (Some(capture), Some(input)) = (serving.capture(), input) {
                    capture.submit(Captured {
                        inference_id: new_inference_id(),
                        time: chrono::Utc::now(),
                        endpoint: endpoint.name.clone(),
                        variant: variant.name.clone(),
                        model: model.name.clone(),
                        model_version: model.version.clone(),
                        shadow: true,
                        input,
                        predictions: answer.predictions,
                        latency,
                    });
                }
            }
            Err(error) => {
                variant
                    .metrics
                    .answered(error.status().as_u16(), latency, None);
                tracing::info!(endpoint = %endpoint.name, variant = %variant.name, %error,
                    "the shadow variant failed a request the primary answered");
            }
        }
    });
}

fn name_variant(response: &mut Response, variant: &Variant, model: Option<&LoadedModel>) {
    let headers = response.headers_mut();
    headers.insert(VARIANT_HEADER, variant.name_header.clone());
    if let Some(model) = model {
        headers.insert(MODEL_VERSION_HEADER, model.label_header.clone());
    }
}

fn inference_id(response: &Response) -> String {
    response
        .headers()
        .get(INFERENCE_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

pub(crate) fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A random UUID from the thread-local generator (no syscall per request).
fn new_inference_id() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}
