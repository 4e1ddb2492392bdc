//! Alert delivery: a log line always, and a webhook POST with retries and
//! doubling back-off when the monitor names one. Before each attempt the
//! webhook's host is resolved and checked against the server's
//! [`WebhookPolicy`], and the request goes to the address that passed,
//! without following redirects (a redirect could point anywhere).

use std::time::Duration;

use smelt_api::monitors::DriftAlert;

use super::egress::WebhookPolicy;

/// First pause before a retry; each later one doubles.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// POSTs the alert to `url` as JSON, retrying `retries` times on errors and non-2xx
/// answers. Returns the number of attempts made and whether one succeeded.
pub async fn post_with_retries(
    policy: &WebhookPolicy,
    url: &str,
    body: &DriftAlert,
    retries: u32,
) -> (u32, bool) {
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=retries + 1 {
        match post_once(policy, url, body).await {
            Ok(status) if status.is_success() => return (attempt, true),
            Ok(status) => {
                tracing::warn!(%url, %status, attempt, "alert webhook refused the alert");
            }
            Err(error) => tracing::warn!(%url, %error, attempt, "alert webhook unreachable"),
        }
        if attempt <= retries {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
    (retries + 1, false)
}

/// One POST to the vetted address of `url`.
async fn post_once(
    policy: &WebhookPolicy,
    url: &str,
    body: &DriftAlert,
) -> Result<reqwest::StatusCode, String> {
    let vetted = policy.vet(url).await?;
    let mut client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10));
    if let Some(name) = &vetted.host_name {
        // Pins the connection to the checked address: the client does not
        // resolve the name again (TLS still verifies the name).
        client = client.resolve(name, vetted.addr);
    }
    let client = client
        .build()
        .map_err(|e| format!("cannot build the webhook client: {e}"))?;
    client
        .post(vetted.url)
        .json(body)
        .send()
        .await
        .map(|response| response.status())
        .map_err(|e| e.to_string())
}
