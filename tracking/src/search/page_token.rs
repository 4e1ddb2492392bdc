//! Opaque page tokens: base64 of `{"offset": N}`, as MLflow's server writes them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Error, Result};

/// The token for the page starting at `offset`.
pub fn encode_offset(offset: u64) -> String {
    STANDARD.encode(format!("{{\"offset\": {offset}}}"))
}

/// The offset a token points at; an absent or empty token is the first page.
pub fn decode_offset(token: Option<&str>) -> Result<u64> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    let invalid = || {
        Error::invalid(format!(
            "Invalid page token '{token}'. It must come from a previous search's next_page_token."
        ))
    };
    let bytes = STANDARD.decode(token).map_err(|_| invalid())?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    value
        .get("offset")
        .and_then(|v| v.as_u64())
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_matches_mlflow_spelling() {
        assert_eq!(encode_offset(1), "eyJvZmZzZXQiOiAxfQ==");
        assert_eq!(decode_offset(Some(&encode_offset(1234))).unwrap(), 1234);
        assert_eq!(decode_offset(None).unwrap(), 0);
        assert_eq!(decode_offset(Some("")).unwrap(), 0);
        assert!(decode_offset(Some("not-base64!")).is_err());
        assert!(decode_offset(Some(&STANDARD.encode("{\"x\":1}"))).is_err());
    }
}
