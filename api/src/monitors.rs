//! The monitors API (`/api/2.0/smelt/monitors`): drift monitors on an
//! endpoint's captured traffic, and the names of what they log.
//!
//! | method and path | body | answer |
//! |---|---|---|
//! | `POST /api/2.0/smelt/monitors` | [`MonitorSpec`] | [`MonitorResponse`] |
//! | `GET /api/2.0/smelt/monitors` | | [`MonitorList`], each with its status |
//! | `GET /api/2.0/smelt/monitors/{name}` | | [`MonitorEntry`] |
//! | `POST /api/2.0/smelt/monitors/{name}/run` | | [`MonitorWindows`] closed by this pass |
//! | `GET /api/2.0/smelt/monitors/{name}/reports` | | [`MonitorReports`] |
//! | `DELETE /api/2.0/smelt/monitors/{name}` | | [`crate::Empty`] |
//!
//! A drifted window is also POSTed to the monitor's webhook as a
//! [`DriftAlert`]. [`MonitorSpec`] is what the server keeps in its tracking
//! store (definition kind `monitor`), so it only gains fields with defaults;
//! checking one needs the drift tests and lives in the monitor crate
//! (`smelt_monitor::service::MonitorSpecExt`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where the monitors API lives.
pub const MONITORS_PATH: &str = "/api/2.0/smelt/monitors";

/// The path of one monitor.
pub fn monitor_path(name: &str) -> String {
    format!("{MONITORS_PATH}/{name}")
}

/// The path that runs a monitor's pass now.
pub fn monitor_run_path(name: &str) -> String {
    format!("{MONITORS_PATH}/{name}/run")
}

/// The path of a monitor's window history.
pub fn monitor_reports_path(name: &str) -> String {
    format!("{MONITORS_PATH}/{name}/reports")
}

/// Evidently's default share of drifted columns for dataset drift.
pub const DEFAULT_DRIFT_SHARE: f64 = 0.5;
/// How often a monitor reads new traffic unless told, in seconds.
pub const DEFAULT_EVERY_SECONDS: u64 = 60;
/// Retries after a failed webhook POST unless told.
pub const DEFAULT_WEBHOOK_RETRIES: u32 = 3;

/// A monitor as its owner defines it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorSpec {
    /// Its name (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// The endpoint whose captured traffic it reads.
    pub endpoint: String,
    /// What the traffic is compared with: a model reference
    /// (`models:/NAME@ALIAS`, `models:/NAME/VERSION`, `runs:/ID/model`)
    /// whose `profile.json` is used, or a path to a profile.
    pub reference: String,
    /// How traffic is cut into windows.
    pub window: WindowSize,
    /// The share of drifted columns at which a window counts as drifted.
    #[serde(default = "default_drift_share")]
    pub drift_share: f64,
    /// How often new traffic is read, in seconds.
    #[serde(default = "default_every")]
    pub every_seconds: u64,
    /// Where alerts go besides the log.
    #[serde(default)]
    pub alerts: AlertSpec,
    /// Tests chosen per column (`column → test name`), overriding the
    /// default rule.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tests: BTreeMap<String, String>,
}

/// How a monitor cuts traffic into windows: `{"rows": N}` or `{"minutes": N}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowSize {
    /// A window closes once at least this many rows arrived in it (requests
    /// are never split across windows).
    Rows(usize),
    /// Windows are aligned clock intervals of this many minutes; one closes
    /// when a later record arrives or the clock passes its end.
    Minutes(u64),
}

/// Alert delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSpec {
    /// A URL that receives a JSON POST ([`DriftAlert`]) per drifted window.
    #[serde(default)]
    pub webhook: Option<String>,
    /// Retries after a failed POST (with doubling back-off from 0.5 s).
    #[serde(default = "default_retries")]
    pub retries: u32,
}

impl Default for AlertSpec {
    // Written out: a derived default would give 0 retries when `alerts` is
    // absent, unlike an `alerts` object without `retries`.
    fn default() -> Self {
        AlertSpec {
            webhook: None,
            retries: DEFAULT_WEBHOOK_RETRIES,
        }
    }
}

fn default_drift_share() -> f64 {
    DEFAULT_DRIFT_SHARE
}

fn default_every() -> u64 {
    DEFAULT_EVERY_SECONDS
}

fn default_retries() -> u32 {
    DEFAULT_WEBHOOK_RETRIES
}

/// One evaluated window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowSummary {
    /// 1-based window number (the metric step).
    pub window: u64,
    /// Time of its first request.
    pub start: String,
    /// Time of its last request.
    pub end: String,
    /// Rows that arrived in the window.
    pub rows: usize,
    /// Rows tested: all of them, or a uniform sample when the window was
    /// larger than the monitor holds.
    #[serde(default)]
    pub rows_tested: usize,
    /// `model/version` that answered.
    pub versions: Vec<String>,
    /// The window drifted as a whole.
    pub dataset_drifted: bool,
    /// Share of drifted columns.
    pub drifted_share: f64,
    /// The drifted columns, most severe first.
    pub drifted_columns: Vec<String>,
    /// Columns that could not be tested.
    pub skipped_columns: usize,
    /// Artifact path of the HTML report in the monitor's run (the JSON
    /// report has the same stem).
    pub report: String,
    /// What happened to the alert, when the window drifted.
    pub alert: Option<String>,
}

impl WindowSummary {
    /// The artifact path of the window's JSON report.
    pub fn json_report(&self) -> String {
        format!("{}.json", self.report_stem())
    }

    /// The artifact path of the reports without extension.
    pub fn report_stem(&self) -> &str {
        self.report.strip_suffix(".html").unwrap_or(&self.report)
    }
}

/// Where a monitor stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorStatus {
    /// Windows evaluated so far.
    pub windows: u64,
    /// The MLflow run holding its history (after its first window).
    pub run_id: Option<String>,
    /// Rows in the window still open.
    pub pending_rows: usize,
    /// Capture lines that could not be read.
    pub malformed_lines: u64,
    /// The latest window.
    pub last_window: Option<WindowSummary>,
}

/// A monitor and its status: the answer to get, and an item of the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorEntry {
    /// Its spec.
    pub monitor: MonitorSpec,
    /// Where it stands.
    pub status: MonitorStatus,
}

/// The answer to create: the spec as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorResponse {
    /// The monitor.
    pub monitor: MonitorSpec,
}

/// Every monitor, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorList {
    /// The monitors with their status.
    pub monitors: Vec<MonitorEntry>,
}

/// The windows a pass closed (`POST …/run`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorWindows {
    /// The windows, oldest first; empty when too little traffic came.
    pub windows: Vec<WindowSummary>,
}

/// A monitor's window history (`GET …/reports`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorReports {
    /// The run whose artifacts hold the reports.
    pub run_id: Option<String>,
    /// The latest windows, oldest first.
    pub windows: Vec<WindowSummary>,
}

/// What a monitor POSTs to its webhook when a window drifted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftAlert {
    /// The monitor.
    pub monitor: String,
    /// The endpoint it watches.
    pub endpoint: String,
    /// The run holding its history.
    pub run_id: String,
    /// The drifted window.
    pub window: WindowSummary,
}

/// The metrics a monitor logs to its run (`monitor-NAME` in the experiment
/// `smelt-monitors`), one value per window, the window number as the step.
/// Readers (the UI, the notebook) find them by these names.
pub mod metrics {
    /// 1 when the window drifted as a whole, else 0.
    pub const DATASET_DRIFT: &str = "dataset_drift";
    /// The share of tested columns that drifted.
    pub const DRIFTED_SHARE: &str = "drifted_share";
    /// Rows that arrived in the window.
    pub const ROWS: &str = "rows";
    /// Rows tested (a sample of a large window).
    pub const ROWS_TESTED: &str = "rows_tested";
    /// Prefix of a column's severity (statistic over threshold, or threshold
    /// over p-value; above 1 is drift).
    pub const SEVERITY_PREFIX: &str = "severity.";
    /// Prefix of a column's verdict (1 drifted, 0 not).
    pub const DRIFTED_PREFIX: &str = "drifted.";

    /// `severity.<column>`, the column written as a metric key.
    pub fn severity(column: &str) -> String {
        format!("{SEVERITY_PREFIX}{}", metric_key(column))
    }

    /// `drifted.<column>`, the column written as a metric key.
    pub fn drifted(column: &str) -> String {
        format!("{DRIFTED_PREFIX}{}", metric_key(column))
    }

    /// The column part of a `severity.<column>` key (as written in keys);
    /// `None` for any other metric.
    pub fn severity_column(key: &str) -> Option<&str> {
        key.strip_prefix(SEVERITY_PREFIX)
    }

    /// A column name as MLflow accepts it in a metric key: letters, digits,
    /// `_ - . /` and spaces stay, anything else becomes `_`.
    pub fn metric_key(column: &str) -> String {
        column
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ' ') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn window() -> WindowSummary {
        WindowSummary {
            window: 2,
            start: "2026-01-01T00:00:00.000Z".into(),
            end: "2026-01-01T00:01:00.000Z".into(),
            rows: 40,
            rows_tested: 40,
            versions: vec!["wine/1".into()],
            dataset_drifted: true,
            drifted_share: 0.5,
            drifted_columns: vec!["alcohol".into()],
            skipped_columns: 0,
            report: "reports/window-00002.html".into(),
            alert: Some("logged".into()),
        }
    }

    fn window_json() -> serde_json::Value {
        json!({
            "window": 2, "start": "2026-01-01T00:00:00.000Z", "end": "2026-01-01T00:01:00.000Z",
            "rows": 40, "rows_tested": 40, "versions": ["wine/1"], "dataset_drifted": true,
            "drifted_share": 0.5, "drifted_columns": ["alcohol"], "skipped_columns": 0,
            "report": "reports/window-00002.html", "alert": "logged"
        })
    }

    #[test]
    fn a_spec_takes_defaults_and_writes_them() {
        let spec: MonitorSpec = serde_json::from_value(json!({
            "name": "m", "endpoint": "e", "reference": "models:/x/1", "window": {"rows": 10}
        }))
        .unwrap();
        assert_eq!(spec.window, WindowSize::Rows(10));
        assert_eq!(spec.drift_share, DEFAULT_DRIFT_SHARE);
        assert_eq!(spec.every_seconds, 60);
        assert_eq!(spec.alerts, AlertSpec::default());
        assert_eq!(spec.alerts.retries, 3);
        assert_eq!(
            serde_json::to_value(&spec).unwrap(),
            json!({
                "name": "m", "endpoint": "e", "reference": "models:/x/1", "window": {"rows": 10},
                "drift_share": 0.5, "every_seconds": 60,
                "alerts": {"webhook": null, "retries": 3}
            })
        );
        // An `alerts` object without `retries` gets the same default.
        let spec: MonitorSpec = serde_json::from_value(json!({
            "name": "m", "endpoint": "e", "reference": "r", "window": {"minutes": 5},
            "alerts": {"webhook": "https://hooks.example/x"}, "tests": {"age": "psi"}
        }))
        .unwrap();
        assert_eq!(spec.window, WindowSize::Minutes(5));
        assert_eq!(spec.alerts.retries, 3);
        assert_eq!(spec.tests["age"], "psi");
    }

    #[test]
    fn a_spec_refuses_unknown_fields_and_windows() {
        let base = json!({"name": "m", "endpoint": "e", "reference": "r", "window": {"rows": 1}});
        let mut typo = base.clone();
        typo["every"] = json!(5);
        assert!(serde_json::from_value::<MonitorSpec>(typo).is_err());
        let mut bad_window = base;
        bad_window["window"] = json!({"hours": 1});
        assert!(serde_json::from_value::<MonitorSpec>(bad_window).is_err());
    }

    #[test]
    fn a_window_summary_has_its_wire_shape() {
        assert_eq!(serde_json::to_value(window()).unwrap(), window_json());
        assert_eq!(
            serde_json::from_value::<WindowSummary>(window_json()).unwrap(),
            window()
        );
        assert_eq!(window().json_report(), "reports/window-00002.json");
        assert_eq!(window().report_stem(), "reports/window-00002");
    }

    #[test]
    fn status_list_run_and_reports_bodies() {
        let spec: MonitorSpec = serde_json::from_value(
            json!({"name": "m", "endpoint": "e", "reference": "r", "window": {"rows": 1}}),
        )
        .unwrap();
        let status_json = json!({
            "windows": 2, "run_id": "abc", "pending_rows": 3, "malformed_lines": 0,
            "last_window": window_json()
        });
        let list_json = json!({"monitors": [{
            "monitor": serde_json::to_value(&spec).unwrap(),
            "status": status_json
        }]});
        let list: MonitorList = serde_json::from_value(list_json.clone()).unwrap();
        assert_eq!(list.monitors[0].status.last_window, Some(window()));
        assert_eq!(list.monitors[0].status.run_id.as_deref(), Some("abc"));
        assert_eq!(serde_json::to_value(&list).unwrap(), list_json);

        let fresh: MonitorStatus = serde_json::from_value(json!({
            "windows": 0, "run_id": null, "pending_rows": 0, "malformed_lines": 0,
            "last_window": null
        }))
        .unwrap();
        assert_eq!(fresh.last_window, None);

        let reports_json = json!({"run_id": "abc", "windows": [window_json()]});
        let reports: MonitorReports = serde_json::from_value(reports_json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&reports).unwrap(), reports_json);
        let run: MonitorWindows = serde_json::from_value(json!({"windows": []})).unwrap();
        assert!(run.windows.is_empty());
        let created: MonitorResponse =
            serde_json::from_value(json!({"monitor": serde_json::to_value(&spec).unwrap()}))
                .unwrap();
        assert_eq!(created.monitor, spec);
    }

    #[test]
    fn the_webhook_body() {
        let alert = DriftAlert {
            monitor: "m".into(),
            endpoint: "e".into(),
            run_id: "abc".into(),
            window: window(),
        };
        assert_eq!(
            serde_json::to_value(&alert).unwrap(),
            json!({"monitor": "m", "endpoint": "e", "run_id": "abc", "window": window_json()})
        );
    }

    #[test]
    fn metric_names() {
        assert_eq!(metrics::DATASET_DRIFT, "dataset_drift");
        assert_eq!(metrics::DRIFTED_SHARE, "drifted_share");
        assert_eq!(metrics::severity("alcohol"), "severity.alcohol");
        assert_eq!(metrics::drifted("od280/od315"), "drifted.od280/od315");
        assert_eq!(metrics::severity("price (€)"), "severity.price ___");
        assert_eq!(
            metrics::severity_column("severity.alcohol"),
            Some("alcohol")
        );
        assert_eq!(metrics::severity_column("drifted.alcohol"), None);
        assert_eq!(metrics::severity_column(metrics::DRIFTED_SHARE), None);
    }

    #[test]
    fn paths() {
        assert_eq!(monitor_path("m"), "/api/2.0/smelt/monitors/m");
        assert_eq!(monitor_run_path("m"), "/api/2.0/smelt/monitors/m/run");
        assert_eq!(
            monitor_reports_path("m"),
            "/api/2.0/smelt/monitors/m/reports"
        );
    }
}
