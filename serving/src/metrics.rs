//! Prometheus metrics for serving, rendered on `/metrics`.
//!
//! Names follow Prometheus conventions (`_total` counters, `_seconds`
//! histograms) under `smelt_serving_`. Each variant caches its own metric
//! handles ([`VariantMetrics`]) so the request path touches atomics only,
//! never the label maps.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VariantLabels {
    endpoint: String,
    variant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    endpoint: String,
    variant: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    endpoint: String,
    variant: String,
    model: String,
    version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CaptureLabels {
    endpoint: String,
    outcome: &'static str,
}

type Histograms = Family<VariantLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 10 µs .. ~42 s: tiny models answer in microseconds, timeouts are seconds.
    Histogram::new(exponential_buckets(1e-5, 2.0, 23))
}

fn batch_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 14))
}

/// Every serving metric, registered once per process (or per test server).
/// More exposition text for `/metrics` (other components' registries),
/// without a trailing `# EOF`.
pub type MetricsSource = Box<dyn Fn() -> String + Send + Sync>;

pub struct ServingMetrics {
    registry: Mutex<Registry>,
    sources: Mutex<Vec<MetricsSource>>,
    requests: Family<StatusLabels, Counter>,
    errors: Family<StatusLabels, Counter>,
    request_seconds: Histograms,
    queue_seconds: Histograms,
    inference_seconds: Histograms,
    batch_rows: Family<VariantLabels, Histogram, fn() -> Histogram>,
    queue_rows: Family<VariantLabels, Gauge>,
    loaded: Family<VersionLabels, Gauge>,
    capture: Family<CaptureLabels, Counter>,
    /// Plain running totals per (endpoint, variant), for the web UI's live
    /// charts: reading a histogram's sum back out of the registry would mean
    /// parsing its exposition text.
    totals: Mutex<BTreeMap<(String, String), Arc<VariantTotals>>>,
}

/// Requests, errors and summed latency of one variant since the process
/// started.
#[derive(Debug, Default)]
pub struct VariantTotals {
    requests: AtomicU64,
    errors: AtomicU64,
    latency_micros: AtomicU64,
}

/// One variant's totals at one moment ([`ServingMetrics::traffic`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficTotals {
    pub endpoint: String,
    pub variant: String,
    pub requests: u64,
    pub errors: u64,
    /// Summed answer time of all `requests`.
    pub latency_seconds: f64,
}

impl Default for ServingMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ServingMetrics {
    pub fn new() -> ServingMetrics {
        let metrics = ServingMetrics {
            registry: Mutex::new(Registry::default()),
            sources: Mutex::new(Vec::new()),
            requests: Family::default(),
            errors: Family::default(),
            request_seconds: Family::new_with_constructor(latency_histogram),
            queue_seconds: Family::new_with_constructor(latency_histogram),
            inference_seconds: Family::new_with_constructor(latency_histogram),
            batch_rows: Family::new_with_constructor(batch_histogram),
            queue_rows: Family::default(),
            loaded: Family::default(),
            capture: Family::default(),
            totals: Mutex::new(BTreeMap::new()),
        };
        {
            let mut registry = metrics.registry.lock().unwrap_or_else(|p| p.into_inner());
            let r = &mut *registry;
            r.register(
                "smelt_serving_requests",
                "Inference requests answered, by endpoint, variant and HTTP status",
                metrics.requests.clone(),
            );
            r.register(
                "smelt_serving_errors",
                "Inference requests answered with an error status (4xx, 5xx)",
                metrics.errors.clone(),
            );
            r.register(
                "smelt_serving_request_seconds",
                "Time from a request's arrival to its answer",
                metrics.request_seconds.clone(),
            );
            r.register(
                "smelt_serving_queue_seconds",
                "Time a request waited in its variant's batching queue",
                metrics.queue_seconds.clone(),
            );
            r.register(
                "smelt_serving_inference_seconds",
                "Time of one model call (one batch)",
                metrics.inference_seconds.clone(),
            );
            r.register(
                "smelt_serving_batch_rows",
                "Rows per model call",
                metrics.batch_rows.clone(),
            );
            r.register(
                "smelt_serving_queue_rows",
                "Rows waiting in a variant's batching queue",
                metrics.queue_rows.clone(),
            );
            r.register(
                "smelt_serving_loaded_model_versions",
                "Model versions loaded and serving (1 per loaded version)",
                metrics.loaded.clone(),
            );
            r.register(
                "smelt_serving_capture_records",
                "Data-capture records written or dropped (buffer full, write error)",
                metrics.capture.clone(),
            );
        }
        metrics
    }

    /// The handles one variant uses on its request path.
    pub fn variant(self: &Arc<Self>, endpoint: &str, variant: &str) -> VariantMetrics {
        let labels = VariantLabels {
            endpoint: endpoint.to_string(),
            variant: variant.to_string(),
        };
        VariantMetrics {
            ok: self
                .requests
                .get_or_create(&StatusLabels {
                    endpoint: endpoint.to_string(),
                    variant: variant.to_string(),
                    status: 200,
                })
                .clone(),
            request_seconds: self.request_seconds.get_or_create(&labels).clone(),
            queue_seconds: self.queue_seconds.get_or_create(&labels).clone(),
            inference_seconds: self.inference_seconds.get_or_create(&labels).clone(),
            batch_rows: self.batch_rows.get_or_create(&labels).clone(),
            queue_rows: self.queue_rows.get_or_create(&labels).clone(),
            totals: self
                .totals
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry((endpoint.to_string(), variant.to_string()))
                .or_default()
                .clone(),
            labels,
            all: self.clone(),
        }
    }

    /// Every variant's running totals, by endpoint then variant.
    pub fn traffic(&self) -> Vec<TrafficTotals> {
        let totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        totals
            .iter()
            .map(|((endpoint, variant), t)| TrafficTotals {
                endpoint: endpoint.clone(),
                variant: variant.clone(),
                requests: t.requests.load(Ordering::Relaxed),
                errors: t.errors.load(Ordering::Relaxed),
                latency_seconds: t.latency_micros.load(Ordering::Relaxed) as f64 / 1e6,
            })
            .collect()
    }

    /// Marks a model version loaded (`true`) or unloaded.
    pub fn set_loaded(&self, endpoint: &str, variant: &str, model: &str, version: &str, on: bool) {
        let labels = VersionLabels {
            endpoint: endpoint.to_string(),
            variant: variant.to_string(),
            model: model.to_string(),
            version: version.to_string(),
        };
        if on {
            self.loaded.get_or_create(&labels).set(1);
        } else {
            self.loaded.remove(&labels);
        }
    }

    pub fn capture_written(&self, endpoint: &str) {
        self.capture_outcome(endpoint, "written");
    }

    pub fn capture_dropped(&self, endpoint: &str) {
        self.capture_outcome(endpoint, "dropped");
    }

    fn capture_outcome(&self, endpoint: &str, outcome: &'static str) {
        self.capture
            .get_or_create(&CaptureLabels {
                endpoint: endpoint.to_string(),
                outcome,
            })
            .inc();
    }

    /// Counts an error answered before a variant was chosen (unknown
    /// endpoint, malformed body): variant `-`.
    pub fn request_failed(&self, endpoint: &str, status: u16) {
        let labels = StatusLabels {
            endpoint: endpoint.to_string(),
            variant: "-".to_string(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.errors.get_or_create(&labels).inc();
    }

    /// Adds another component's metrics to [`render`](Self::render).
    pub fn add_source(&self, source: MetricsSource) {
        self.sources
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(source);
    }

    /// The exposition text: serving's metrics, then every added source,
    /// then one `# EOF`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
            tracing::error!("cannot render metrics: {e}");
        }
        let sources = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        if !sources.is_empty() {
            let mut out = out.strip_suffix("# EOF\n").unwrap_or(&out).to_string();
            for source in sources.iter() {
                out.push_str(&source());
            }
            out.push_str("# EOF\n");
            return out;
        }
        out
    }
}

/// One variant's metric handles.
#[derive(Clone)]
pub struct VariantMetrics {
    labels: VariantLabels,
    ok: Counter,
    request_seconds: Histogram,
    queue_seconds: Histogram,
    inference_seconds: Histogram,
    batch_rows: Histogram,
    queue_rows: Gauge,
    totals: Arc<VariantTotals>,
    all: Arc<ServingMetrics>,
}

impl VariantMetrics {
    /// Records an answered request.
    pub fn answered(&self, status: u16, total: Duration, queued: Option<Duration>) {
        self.totals.requests.fetch_add(1, Ordering::Relaxed);
        self.totals.latency_micros.fetch_add(
            u64::try_from(total.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        if status >= 400 {
            self.totals.errors.fetch_add(1, Ordering::Relaxed);
        }
        if status == 200 {
            self.ok.inc();
        } else {
            let labels = StatusLabels {
                endpoint: self.labels.endpoint.clone(),
                variant: self.labels.variant.clone(),
                status,
            };
            self.all.requests.get_or_create(&labels).inc();
            if status >= 400 {
                self.all.errors.get_or_create(&labels).inc();
            }
        }
        self.request_seconds.observe(total.as_secs_f64());
        if let Some(queued) = queued {
            self.queue_seconds.observe(queued.as_secs_f64());
        }
    }

    /// Records one model call (called from the batcher's workers).
    pub fn batch(&self, rows: usize, inference: Duration, queue_rows: usize) {
        self.batch_rows.observe(rows as f64);
        self.inference_seconds.observe(inference.as_secs_f64());
        self.queue_rows
            .set(i64::try_from(queue_rows).unwrap_or(i64::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_metrics_carry_endpoint_variant_and_status() {
        let metrics = Arc::new(ServingMetrics::new());
        let variant = metrics.variant("iris", "champion");
        variant.answered(
            200,
            Duration::from_millis(2),
            Some(Duration::from_micros(50)),
        );
        variant.answered(400, Duration::from_millis(1), None);
        variant.batch(8, Duration::from_micros(30), 0);
        metrics.set_loaded("iris", "champion", "iris", "3", true);
        metrics.capture_dropped("iris");
        let text = metrics.render();
        for needle in [
            r#"smelt_serving_requests_total{endpoint="iris",variant="champion",status="200"} 1"#,
            r#"smelt_serving_errors_total{endpoint="iris",variant="champion",status="400"} 1"#,
            r#"smelt_serving_request_seconds_count{endpoint="iris",variant="champion"} 2"#,
            r#"smelt_serving_batch_rows_sum{endpoint="iris",variant="champion"} 8.0"#,
            r#"smelt_serving_loaded_model_versions{endpoint="iris",variant="champion",model="iris",version="3"} 1"#,
            r#"smelt_serving_capture_records_total{endpoint="iris",outcome="dropped"} 1"#,
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        metrics.set_loaded("iris", "champion", "iris", "3", false);
        assert!(!metrics.render().contains(r#"version="3""#));
    }
}
