//! Talking to a running `smelt server` over its Smelt API (jobs, endpoints,
//! monitors, tokens, the audit log), in `smelt-api`'s types, logged in as
//! MLflow's client logs in.

use clap::Args;
use serde::Serialize;
use serde::de::DeserializeOwned;
use smelt_api::ErrorBody;
use smelt_tracking::store::rest::{Credentials, client as tracking_client};

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

/// The HTTP client for a smelt server: the login from MLFLOW_TRACKING_USERNAME
/// and MLFLOW_TRACKING_PASSWORD (else MLFLOW_TRACKING_TOKEN) and the TLS trust
/// from MLFLOW_TRACKING_SERVER_CERT_PATH / MLFLOW_TRACKING_INSECURE_TLS, read
/// by the same code as the tracking store's client, so `smelt` commands and
/// `--tracking-uri http://…` log in alike.
pub fn client() -> anyhow::Result<reqwest::Client> {
    tracking_client::configure(reqwest::Client::builder())
        .map_err(|e| {
            hinted(
                e.message,
                "MLflow's client reads the same variables; fix or unset them",
            )
        })?
        .build()
        .map_err(|e| failure(format!("cannot build the HTTP client: {e}")))
}

/// The error for a refused call: a 401 says which variables to set, a 403
/// is "permission denied: <the server's words>", a 404 carries
/// `not_found_hint`, anything else the server's message.
pub fn refused(
    status: reqwest::StatusCode,
    message: String,
    not_found_hint: &str,
) -> anyhow::Error {
    if let Some(refusal) = Credentials::from_env().refusal(status.as_u16(), &message) {
        return match (status, Credentials::from_env()) {
            (reqwest::StatusCode::UNAUTHORIZED, Credentials::Token(_)) => hinted(
                refusal.message,
                "log in with MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD and make a new one with `smelt tokens create`",
            ),
            _ => failure(refusal.message),
        };
    }
    if status == reqwest::StatusCode::NOT_FOUND {
        hinted(message, not_found_hint)
    } else {
        failure(message)
    }
}

/// The server's message in an error answer (`{"error_code", "message"}`),
/// else the status.
pub fn error_message(status: reqwest::StatusCode, bytes: &[u8]) -> String {
    serde_json::from_slice::<ErrorBody>(bytes)
        .map(|body| body.message)
        .ok()
        .filter(|message| !message.is_empty())
        .unwrap_or_else(|| format!("HTTP {status}"))
}

/// No request body, for [`call`].
pub const NO_BODY: Option<&()> = None;

/// One call to a server's Smelt API: `body` (one of `smelt-api`'s request
/// types) sent as JSON, the answer read as `R` (one of its response types).
/// A refusal becomes an error with the server's message (from its
/// `{"error_code", "message"}` body), as [`refused`] words it.
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
        return Err(refused(
            status,
            error_message(status, &bytes),
            not_found_hint,
        ));
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
