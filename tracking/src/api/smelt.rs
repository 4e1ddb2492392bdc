//! The request extractor of Smelt's own routes (jobs, endpoints, monitors),
//! the counterpart of [`super::extract::Mlflow`] for MLflow's.
//!
//! [`SmeltJson<T>`] reads the body straight into one of `smelt-api`'s
//! request types and turns every failure into Smelt's error body with a
//! precise code: unreadable or malformed JSON and a body that is not an
//! object are `BAD_REQUEST`, a well-formed object with a missing, unknown or
//! mistyped field is `INVALID_PARAMETER_VALUE` (both 400), a body over the
//! limit `REQUEST_LIMIT_EXCEEDED` (413). Never axum's plain-text rejections.
//!
//! The content type is not checked: Smelt's routes read only JSON, and
//! `curl -d '{…}'` (which says `application/x-www-form-urlencoded`) is how
//! people try them.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::error::SmeltError;
use crate::error::{Error, ErrorCode};

/// A JSON request body of one of Smelt's own routes.
#[derive(Debug, Clone)]
pub struct SmeltJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for SmeltJson<T> {
    type Rejection = SmeltError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(request, state).await?;
        Ok(SmeltJson(parse_json_body(&bytes)?))
    }
}

/// The whole request body, or the error both extractors answer: 413
/// `REQUEST_LIMIT_EXCEEDED` over the body limit, else 400 `BAD_REQUEST`.
pub(super) async fn body_bytes<S: Send + Sync>(
    request: Request,
    state: &S,
) -> Result<Bytes, Error> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::new(
                    ErrorCode::RequestLimitExceeded,
                    "The request body is larger than the server accepts.",
                )
            } else {
                Error::new(
                    ErrorCode::BadRequest,
                    format!("Could not read the request body: {rejection}"),
                )
            }
        })
}

/// Parses a JSON object body into `T`, with the codes described in the
/// module documentation.
pub fn parse_json_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::new(
            ErrorCode::BadRequest,
            "The request body is empty; it must be a JSON object.",
        ));
    }
    // Only an object: serde would also read a struct from a JSON array.
    if !bytes.trim_ascii_start().starts_with(b"{") {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Err(error) => Error::new(
                    ErrorCode::BadRequest,
                    format!("Malformed JSON in the request body: {error}"),
                ),
                Ok(_) => Error::new(
                    ErrorCode::BadRequest,
                    "The request body must be a JSON object.",
                ),
            },
        );
    }
    serde_json::from_slice::<T>(bytes).map_err(|error| {
        if error.is_syntax() || error.is_eof() {
            Error::new(
                ErrorCode::BadRequest,
                format!("Malformed JSON in the request body: {error}"),
            )
        } else {
            Error::invalid(format!("Invalid request body: {error}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        spec: String,
    }

    fn code(bytes: &[u8]) -> ErrorCode {
        parse_json_body::<Body>(bytes).unwrap_err().code
    }

    #[test]
    fn each_kind_of_bad_body_gets_its_code() {
        assert_eq!(code(b""), ErrorCode::BadRequest);
        assert_eq!(code(b"{\"spec\": "), ErrorCode::BadRequest);
        assert_eq!(code(b"not json"), ErrorCode::BadRequest);
        assert_eq!(code(b"[1, 2]"), ErrorCode::BadRequest);
        // serde reads a struct from an array too; the body must be an object.
        assert_eq!(code(b"[\"x\"]"), ErrorCode::BadRequest);
        assert_eq!(code(b"\"x\""), ErrorCode::BadRequest);
        assert_eq!(code(b"{}"), ErrorCode::InvalidParameterValue);
        assert_eq!(code(b"{\"spec\": 3}"), ErrorCode::InvalidParameterValue);
        assert_eq!(
            code(b"{\"spec\": \"x\", \"extra\": 1}"),
            ErrorCode::InvalidParameterValue
        );
        let missing = parse_json_body::<Body>(b"{}").unwrap_err();
        assert!(
            missing.message.contains("missing field `spec`"),
            "{missing:?}"
        );
        assert_eq!(
            parse_json_body::<Body>(b" {\"spec\": \"x\"} ")
                .unwrap()
                .spec,
            "x"
        );
    }

    #[tokio::test]
    async fn the_extractor_answers_smelts_error_body() {
        let request = axum::http::Request::builder()
            .method("POST")
            .uri("/")
            .body(axum::body::Body::from("{oops"))
            .unwrap();
        let rejection = SmeltJson::<Body>::from_request(request, &())
            .await
            .unwrap_err();
        let response = rejection.into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: smelt_api::ErrorBody = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body.error_code, ErrorCode::BadRequest);
        assert!(
            body.message.starts_with("Malformed JSON"),
            "{}",
            body.message
        );
    }
}
