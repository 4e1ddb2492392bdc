//! Live traffic for the endpoint pages: serving's running totals sampled
//! once a second into a short ring per variant, turned into requests per
//! second and mean latency per interval.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smelt_serving::metrics::{ServingMetrics, TrafficTotals};

/// Samples kept per variant: five minutes at one a second.
const KEPT: usize = 300;

/// One variant's totals at one sampling moment.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    requests: u64,
    latency_seconds: f64,
}

/// Requests per second and mean latency of one variant over time; x is
/// seconds relative to now (negative: in the past).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VariantTraffic {
    pub variant: String,
    pub requests_per_second: Vec<(f64, f64)>,
    pub mean_latency_ms: Vec<(f64, f64)>,
}

/// The rings, by (endpoint, variant).
#[derive(Default)]
pub struct TrafficHistory {
    rings: Mutex<BTreeMap<(String, String), VecDeque<Sample>>>,
}

impl TrafficHistory {
    /// Samples `metrics` every second for as long as the runtime lives.
    pub fn start(metrics: Arc<ServingMetrics>) -> Arc<TrafficHistory> {
        let history = Arc::new(TrafficHistory::default());
        let sampler = Arc::downgrade(&history);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                let Some(history) = sampler.upgrade() else {
                    return;
                };
                history.record(Instant::now(), metrics.traffic());
            }
        });
        history
    }

    /// Adds one sample of every variant's totals.
    pub fn record(&self, at: Instant, totals: Vec<TrafficTotals>) {
        let mut rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        for total in totals {
            let ring = rings.entry((total.endpoint, total.variant)).or_default();
            if ring.len() == KEPT {
                ring.pop_front();
            }
            ring.push_back(Sample {
                at,
                requests: total.requests,
                latency_seconds: total.latency_seconds,
            });
        }
    }

    /// Rates of every variant of `endpoint` between successive samples.
    pub fn endpoint(&self, endpoint: &str, now: Instant) -> Vec<VariantTraffic> {
        let rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        rings
            .iter()
            .filter(|((e, _), _)| e == endpoint)
            .map(|((_, variant), ring)| {
                let mut traffic = VariantTraffic {
                    variant: variant.clone(),
                    ..VariantTraffic::default()
                };
                for (before, after) in ring.iter().zip(ring.iter().skip(1)) {
                    let seconds = after.at.duration_since(before.at).as_secs_f64();
                    if seconds <= 0.0 {
                        continue;
                    }
                    // A restarted counter (a re-created endpoint) reads as no traffic.
                    let requests = after.requests.saturating_sub(before.requests);
                    let x = -now.saturating_duration_since(after.at).as_secs_f64();
                    traffic
                        .requests_per_second
                        .push((x, requests as f64 / seconds));
                    if requests > 0 {
                        let latency = (after.latency_seconds - before.latency_seconds).max(0.0);
                        traffic
                            .mean_latency_ms
                            .push((x, latency / requests as f64 * 1000.0));
                    }
                }
                traffic
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(requests: u64, latency_seconds: f64) -> Vec<TrafficTotals> {
        vec![TrafficTotals {
            endpoint: "iris".into(),
            variant: "v1".into(),
            requests,
            errors: 0,
            latency_seconds,
        }]
    }

    #[test]
    fn rates_come_from_differences_between_samples() {
        let history = TrafficHistory::default();
        let start = Instant::now();
        history.record(start, totals(0, 0.0));
        history.record(start + Duration::from_secs(1), totals(50, 0.1));
        history.record(start + Duration::from_secs(3), totals(50, 0.1));
        let traffic = history.endpoint("iris", start + Duration::from_secs(3));
        assert_eq!(traffic.len(), 1);
        let rates: Vec<f64> = traffic[0].requests_per_second.iter().map(|p| p.1).collect();
        assert_eq!(rates, vec![50.0, 0.0]);
        assert_eq!(
            traffic[0].mean_latency_ms.len(),
            1,
            "no latency without requests"
        );
        assert!((traffic[0].mean_latency_ms[0].1 - 2.0).abs() < 1e-9);
        assert_eq!(traffic[0].requests_per_second[1].0, 0.0);
        assert!(history.endpoint("other", start).is_empty());
    }
}
