//! Alert delivery: a log line always, and a webhook POST with retries and
//! doubling back-off when the monitor names one.

use std::time::Duration;

use smelt_api::monitors::DriftAlert;

/// First pause before a retry; each later one doubles.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// POSTs the alert to `url` as JSON, retrying `retries` times on errors and non-2xx
/// answers. Returns the number of attempts made and whether one succeeded.
pub async fn post_with_retries(
    client: &reqwest::Client,
    url: &str,
    body: &DriftAlert,
    retries: u32,
) -> (u32, bool) {
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=retries + 1 {
        let result = client
            .post(url)
            .timeout(Duration::from_secs(10))
            .json(body)
            .send()
            .await;
        match result {
            Ok(response) if response.status().is_success() => return (attempt, true),
            Ok(response) => {
                tracing::warn!(%url, status = %response.status(), attempt, "alert webhook refused the alert");
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
