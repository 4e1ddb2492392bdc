//! Talking to a running `smelt server` over its Smelt API (jobs, endpoints,
//! monitors), in `smelt-api`'s types.

use clap::Args;
use serde::Serialize;
use serde::de::DeserializeOwned;
use smelt_api::ErrorBody;

use crate::config::{GlobalArgs, env_var, is_remote};
use crate::error::{failure, hinted};

#[derive(Debug, Clone, Args)]
pub struct ServerArg {
    /// The smelt server, e.g. http://127.0.0.1:5000 [default: SMELT_SERVER, else an
    /// http(s) --tracking-uri]
    #[arg(long, env = "SMELT_SERVER", value_name = "URL")]
    server: Option<String>,
}

impl ServerArg {
    /// The server named by --server or SMELT_SERVER only (not a tracking URI).
    pub fn explicit(&self) -> Option<String> {
        self.server
            .as_deref()
            .map(|url| url.trim_end_matches('/').to_string())
    }

    pub fn url(&self, global: &GlobalArgs) -> anyhow::Result<String> {
        let tracking = global
            .tracking_uri
            .clone()
            .or_else(|| env_var("MLFLOW_TRACKING_URI"));
        self.server
            .clone()
            .or(tracking.filter(|uri| is_remote(uri)))
            .map(|url| url.trim_end_matches('/').to_string())
            .ok_or_else(|| {
                hinted(
                    "no server to send the request to",
                    "give --server http://HOST:PORT (a running `smelt server`)",
                )
            })
    }
}

/// No request body, for [`call`].
pub const NO_BODY: Option<&()> = None;

/// One call to a server's Smelt API: `body` (one of `smelt-api`'s request
/// types) sent as JSON, the answer read as `R` (one of its response types).
/// A refusal becomes an error with the server's message (from its
/// `{"error_code", "message"}` body), hinted on a 404.
pub async fn call<R: DeserializeOwned>(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<&impl Serialize>,
    not_found_hint: &str,
) -> anyhow::Result<R> {
    let mut request = client.request(method, url);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.map_err(|e| unreachable(url, e))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| unreachable(url, e))?;
    if !status.is_success() {
        let message = serde_json::from_slice::<ErrorBody>(&bytes)
            .map(|body| body.message)
            .ok()
            .filter(|message| !message.is_empty())
            .unwrap_or_else(|| format!("HTTP {status}"));
        return Err(if status == reqwest::StatusCode::NOT_FOUND {
            hinted(message, not_found_hint)
        } else {
            failure(message)
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        failure(format!(
            "{url} answered what this smelt cannot read ({e}); is the server the same version?"
        ))
    })
}

pub fn unreachable(url: &str, error: reqwest::Error) -> anyhow::Error {
    hinted(
        format!("cannot reach {url}: {error}"),
        "is `smelt server` running there?",
    )
}
