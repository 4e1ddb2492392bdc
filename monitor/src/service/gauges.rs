//! Prometheus gauges of the monitors, rendered into the server's `/metrics`.

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MonitorLabels {
    monitor: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FeatureLabels {
    monitor: String,
    feature: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AlertLabels {
    monitor: String,
    outcome: &'static str,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// The monitors' metric families.
pub struct Gauges {
    registry: Mutex<Registry>,
    drifted_share: Family<MonitorLabels, FloatGauge>,
    dataset_drift: Family<MonitorLabels, Gauge>,
    windows: Family<MonitorLabels, Counter>,
    severity: Family<FeatureLabels, FloatGauge>,
    drifted: Family<FeatureLabels, Gauge>,
    alerts: Family<AlertLabels, Counter>,
}

impl Default for Gauges {
    fn default() -> Self {
        let gauges = Gauges {
            registry: Mutex::new(Registry::default()),
            drifted_share: Family::default(),
            dataset_drift: Family::default(),
            windows: Family::default(),
            severity: Family::default(),
            drifted: Family::default(),
            alerts: Family::default(),
        };
        {
            let mut r = gauges.registry.lock().unwrap_or_else(|p| p.into_inner());
            r.register(
                "smelt_monitor_drifted_share",
                "Share of drifted columns in the monitor's last window",
                gauges.drifted_share.clone(),
            );
            r.register(
                "smelt_monitor_dataset_drift",
                "1 when the last window drifted as a whole",
                gauges.dataset_drift.clone(),
            );
            r.register(
                "smelt_monitor_windows",
                "Windows the monitor has evaluated",
                gauges.windows.clone(),
            );
            r.register(
                "smelt_monitor_feature_severity",
                "Per feature in the last window: how far past its threshold (above 1 is drift)",
                gauges.severity.clone(),
            );
            r.register(
                "smelt_monitor_feature_drifted",
                "Per feature in the last window: 1 when it drifted",
                gauges.drifted.clone(),
            );
            r.register(
                "smelt_monitor_alerts",
                "Drift alerts by delivery outcome (logged, sent, failed)",
                gauges.alerts.clone(),
            );
        }
        gauges
    }
}

impl Gauges {
    /// Records one window's outcome.
    pub(crate) fn window(&self, monitor: &str, report: &crate::DriftReport) {
        let labels = MonitorLabels {
            monitor: monitor.to_string(),
        };
        self.drifted_share
            .get_or_create(&labels)
            .set(report.drifted_share);
        self.dataset_drift
            .get_or_create(&labels)
            .set(i64::from(report.dataset_drifted));
        self.windows.get_or_create(&labels).inc();
        for column in &report.columns {
            let labels = FeatureLabels {
                monitor: monitor.to_string(),
                feature: column.column.clone(),
            };
            self.severity
                .get_or_create(&labels)
                .set(column.severity.clamp(0.0, 1e12));
            self.drifted
                .get_or_create(&labels)
                .set(i64::from(column.drifted));
        }
    }

    /// Counts an alert by outcome.
    pub(crate) fn alert(&self, monitor: &str, outcome: &'static str) {
        self.alerts
            .get_or_create(&AlertLabels {
                monitor: monitor.to_string(),
                outcome,
            })
            .inc();
    }

    /// The exposition text, without the final `# EOF` (the server appends
    /// it once after every source).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
            tracing::error!("cannot render monitor metrics: {e}");
        }
        out.strip_suffix("# EOF\n")
            .map(str::to_string)
            .unwrap_or(out)
    }
}
