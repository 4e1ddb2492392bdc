//! Talking to a running `smelt server` over its Smelt API (jobs, endpoints).

use clap::Args;
use serde_json::Value;

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

pub async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
    not_found_hint: &str,
) -> anyhow::Result<Value> {
    let mut request = client.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.map_err(|e| unreachable(url, e))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        let message = body["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("HTTP {status}"));
        return Err(if status == reqwest::StatusCode::NOT_FOUND {
            hinted(message, not_found_hint)
        } else {
            failure(message)
        });
    }
    Ok(body)
}

pub fn unreachable(url: &str, error: reqwest::Error) -> anyhow::Error {
    hinted(
        format!("cannot reach {url}: {error}"),
        "is `smelt server` running there?",
    )
}
