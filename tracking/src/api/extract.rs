//! The request extractor every MLflow handler uses.
//!
//! MLflow's client sends GET fields as a query string (repeated keys for
//! lists) and other verbs as a JSON body with `Content-Type: application/json`.
//! [`Mlflow`] reads whichever applies into one request struct, and turns every
//! failure (bad JSON, wrong types, wrong content type) into MLflow's 400 body,
//! never axum's plain-text rejections.

use axum::extract::{FromRequest, Request};
use axum::http::{Method, header};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::ApiError;
use crate::error::{Error, ErrorCode};

/// A request's fields, from the query string (GET) or the JSON body.
pub struct Mlflow<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Mlflow<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = if request.method() == Method::GET {
            query_to_json(request.uri().query().unwrap_or(""))
        } else {
            let content_type = request
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_ascii_lowercase();
            let bytes = super::smelt::body_bytes(request, state).await?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                Value::Object(Map::new())
            } else {
                if !content_type.starts_with("application/json") {
                    return Err(
                        Error::invalid("Content-Type must be one of ['application/json']").into(),
                    );
                }
                // Straight into the request struct (no `Value` tree on the way:
                // a 1,000-metric batch is parsed once). Only a body that is not
                // an object needs a second look, to say so.
                return match serde_json::from_slice::<T>(&bytes) {
                    Ok(parsed) => Ok(Mlflow(parsed)),
                    Err(error) if error.is_syntax() || error.is_eof() => Err(Error::new(
                        ErrorCode::BadRequest,
                        format!("Malformed JSON in the request body: {error}"),
                    )
                    .into()),
                    Err(_) if !bytes.trim_ascii_start().starts_with(b"{") => Err(Error::new(
                        ErrorCode::BadRequest,
                        "The request body must be a JSON object.",
                    )
                    .into()),
                    Err(error) => Err(Error::invalid(format!("Invalid request: {error}")).into()),
                };
            }
        };
        if !value.is_object() {
            return Err(Error::new(
                ErrorCode::BadRequest,
                "The request body must be a JSON object.",
            )
            .into());
        }
        let parsed = serde_json::from_value(value)
            .map_err(|e| Error::invalid(format!("Invalid request: {e}")))?;
        Ok(Mlflow(parsed))
    }
}

/// Turns `a=1&b=x&b=y` into `{"a": "1", "b": ["x", "y"]}`.
pub(crate) fn query_to_json(query: &str) -> Value {
    let mut map = Map::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let value = Value::String(value.into_owned());
        match map.get_mut(key.as_ref()) {
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                map.insert(key.into_owned(), value);
            }
        }
    }
    Value::Object(map)
}

/// Serde helper: a list that may arrive as one value (a lone query key).
pub(crate) fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .into_iter()
            .map(|item| serde_json::from_value(item).map_err(serde::de::Error::custom))
            .collect(),
        single => serde_json::from_value(single)
            .map(|item| vec![item])
            .map_err(serde::de::Error::custom),
    }
}

use serde::Deserialize;

/// Serde helper: a boolean sent as JSON `true` or as the query string `"true"`.
pub(crate) fn flexible_bool<'de, D>(deserializer: D) -> Result<bool, D::Error>
where
    D: serde::Deserializer<'de>,
{
    match Value::deserialize(deserializer)? {
        Value::Bool(b) => Ok(b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" | "" => Ok(false),
            _ => Err(serde::de::Error::custom(format!("'{s}' is not a boolean"))),
        },
        Value::Null => Ok(false),
        other => Err(serde::de::Error::custom(format!(
            "{other} is not a boolean"
        ))),
    }
}

/// Fails with MLflow's wording when a required field is absent or empty.
pub(crate) fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, Error> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::missing_field(field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_query_keys_become_lists() {
        let value = query_to_json("run_id=a&stages=x&stages=y&name=a%20b");
        assert_eq!(value["run_id"], "a");
        assert_eq!(value["stages"], serde_json::json!(["x", "y"]));
        assert_eq!(value["name"], "a b");
    }
}
