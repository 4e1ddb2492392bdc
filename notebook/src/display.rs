//! What a notebook cell shows: each type renders itself as HTML (tables,
//! inline SVG charts) for Jupyter and as aligned text for the evcxr REPL,
//! and prints both in evcxr's rich-output envelope (each front end shows the
//! kind it can).

use std::fmt::Write;

use serde_json::Value;
use smelt_api::monitors::WindowSummary;
use smelt_charts::{LineChart, escape, format_value};

/// Anything a cell can show: HTML for notebooks, text for terminals.
pub trait Html {
    fn to_html(&self) -> String;
    fn to_text(&self) -> String;
}

/// Adds evcxr's display hook. It must be an inherent method: evcxr calls
/// `(value).evcxr_display()` on a cell's last expression, and a trait
/// method would need the trait in scope in every notebook.
macro_rules! displayed {
    ($($kind:ty),*) => {$(
        impl $kind {
            /// Prints the HTML and the text in evcxr's envelope (Jupyter
            /// shows the HTML, the REPL the text).
            pub fn evcxr_display(&self) {
                println!(
                    "EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT\nEVCXR_BEGIN_CONTENT text/plain\n{}\nEVCXR_END_CONTENT",
                    self.to_html(),
                    self.to_text()
                );
            }
        }
    )*};
}

displayed!(Table, RunView, Chart, LeaderboardView, DriftView);

/// Rows and columns of text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// The cells of one column, top to bottom.
    pub fn column(&self, name: &str) -> Vec<&str> {
        let Some(index) = self.columns.iter().position(|c| c == name) else {
            return Vec::new();
        };
        self.rows
            .iter()
            .map(|row| row.get(index).map_or("", String::as_str))
            .collect()
    }
}

impl Html for Table {
    fn to_html(&self) -> String {
        let mut html = String::new();
        if !self.title.is_empty() {
            let _ = write!(html, "<h4>{}</h4>", escape(&self.title));
        }
        html.push_str("<table class=\"smelt\"><thead><tr>");
        for column in &self.columns {
            let _ = write!(html, "<th>{}</th>", escape(column));
        }
        html.push_str("</tr></thead><tbody>");
        for row in &self.rows {
            html.push_str("<tr>");
            for cell in row {
                let _ = write!(html, "<td>{}</td>", escape(cell));
            }
            html.push_str("</tr>");
        }
        html.push_str("</tbody></table>");
        html
    }

    /// The title, then columns padded to their widest cell.
    fn to_text(&self) -> String {
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for row in &self.rows {
            for (index, cell) in row.iter().enumerate() {
                if let Some(width) = widths.get_mut(index) {
                    *width = (*width).max(cell.chars().count());
                }
            }
        }
        let line = |cells: &[String]| {
            cells
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        };
        let mut text = String::new();
        if !self.title.is_empty() {
            text.push_str(&self.title);
            text.push('\n');
        }
        text.push_str(&line(&self.columns));
        for row in &self.rows {
            text.push('\n');
            text.push_str(&line(row));
        }
        text
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// One run as MLflow's `runs/get` answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    pub run: Value,
}

impl RunView {
    pub fn run_id(&self) -> &str {
        self.run["info"]["run_id"].as_str().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.run["info"]["run_name"].as_str().unwrap_or_default()
    }

    pub fn status(&self) -> &str {
        self.run["info"]["status"].as_str().unwrap_or_default()
    }

    /// The latest value of a metric.
    pub fn metric(&self, key: &str) -> Option<f64> {
        find(&self.run["data"]["metrics"], key).and_then(number)
    }

    pub fn param(&self, key: &str) -> Option<&str> {
        find(&self.run["data"]["params"], key).and_then(Value::as_str)
    }

    pub fn tag(&self, key: &str) -> Option<&str> {
        find(&self.run["data"]["tags"], key).and_then(Value::as_str)
    }

    /// The keys of its metrics, sorted.
    pub fn metric_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = entries(&self.run["data"]["metrics"])
            .filter_map(|m| m["key"].as_str().map(str::to_string))
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

impl RunView {
    /// Latest metrics, then params.
    fn tables(&self) -> (Table, Table) {
        let metrics = Table {
            title: "Metrics".into(),
            columns: vec!["metric".into(), "latest".into(), "step".into()],
            rows: entries(&self.run["data"]["metrics"])
                .map(|m| {
                    vec![
                        m["key"].as_str().unwrap_or_default().to_string(),
                        number(&m["value"]).map(format_value).unwrap_or_default(),
                        m["step"].to_string().trim_matches('"').to_string(),
                    ]
                })
                .collect(),
        };
        let params = Table {
            title: "Parameters".into(),
            columns: vec!["param".into(), "value".into()],
            rows: entries(&self.run["data"]["params"])
                .map(|p| {
                    vec![
                        p["key"].as_str().unwrap_or_default().to_string(),
                        p["value"].as_str().unwrap_or_default().to_string(),
                    ]
                })
                .collect(),
        };
        (metrics, params)
    }
}

impl Html for RunView {
    fn to_html(&self) -> String {
        let (metrics, params) = self.tables();
        format!(
            "<h4>Run {} <small>({}, {})</small></h4>{}{}",
            escape(self.name()),
            escape(self.run_id()),
            escape(self.status()),
            metrics.to_html(),
            params.to_html()
        )
    }

    fn to_text(&self) -> String {
        let (metrics, params) = self.tables();
        format!(
            "Run {} ({}, {})\n\n{}\n\n{}",
            self.name(),
            self.run_id(),
            self.status(),
            metrics.to_text(),
            params.to_text()
        )
    }
}

/// A line chart, shown as inline SVG.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub chart: LineChart,
}

impl Chart {
    /// Points drawn over all series (non-finite values are not drawn).
    pub fn points(&self) -> usize {
        self.chart
            .series
            .iter()
            .flat_map(|s| &s.points)
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .count()
    }
}

impl Html for Chart {
    fn to_html(&self) -> String {
        self.chart.to_svg()
    }

    /// What the picture holds: each series' points, range and last value.
    fn to_text(&self) -> String {
        let mut text = format!("Chart: {}", self.chart.title);
        for series in &self.chart.series {
            let values: Vec<(f64, f64)> = series
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            let _ = write!(text, "\n  {}: {} points", series.name, values.len());
            if let Some(last) = values.iter().max_by(|a, b| a.0.total_cmp(&b.0)) {
                let low = values.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
                let high = values.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
                let _ = write!(
                    text,
                    ", from {} to {}, last {} at {}",
                    format_value(low),
                    format_value(high),
                    format_value(last.1),
                    format_value(last.0)
                );
            }
        }
        text
    }
}

/// The autopilot's leaderboard (`leaderboard/leaderboard.json` of its run).
#[derive(Debug, Clone, PartialEq)]
pub struct LeaderboardView {
    pub leaderboard: Value,
}

impl LeaderboardView {
    /// The ranked entries as a table: rank, model, learner, score.
    pub fn table(&self) -> Table {
        let metric = self.leaderboard["metric"].as_str().unwrap_or("score");
        Table {
            title: format!(
                "Leaderboard ({metric}, {})",
                self.leaderboard["validation"].as_str().unwrap_or_default()
            ),
            columns: vec![
                "rank".into(),
                "model".into(),
                "learner".into(),
                metric.into(),
                "fit seconds".into(),
            ],
            rows: entries(&self.leaderboard["entries"])
                .map(|e| {
                    vec![
                        e["rank"].to_string(),
                        e["model"].as_str().unwrap_or_default().to_string(),
                        e["learner"].as_str().unwrap_or_default().to_string(),
                        number(&e["score"]).map(format_value).unwrap_or_default(),
                        number(&e["fit_seconds"])
                            .map(|s| format!("{s:.2}"))
                            .unwrap_or_default(),
                    ]
                })
                .collect(),
        }
    }

    /// The best entry's model and score.
    pub fn best(&self) -> Option<(&str, f64)> {
        let first = entries(&self.leaderboard["entries"]).next()?;
        Some((first["model"].as_str()?, number(&first["score"])?))
    }
}

impl Html for LeaderboardView {
    fn to_html(&self) -> String {
        self.table().to_html()
    }

    fn to_text(&self) -> String {
        self.table().to_text()
    }
}

/// A live monitor: its windows, severity per feature over them, and the
/// latest report (reference against current histograms).
#[derive(Debug, Clone, PartialEq)]
pub struct DriftView {
    pub monitor: String,
    pub windows: Vec<WindowSummary>,
    pub severity: Chart,
    /// The latest window's HTML report, when there is one.
    pub report_html: Option<String>,
}

impl DriftView {
    /// Whether the latest window drifted.
    pub fn drifted(&self) -> Option<bool> {
        self.windows.last().map(|w| w.dataset_drifted)
    }

    pub fn windows_table(&self) -> Table {
        Table {
            title: format!("Monitor {}", self.monitor),
            columns: vec![
                "window".into(),
                "rows".into(),
                "verdict".into(),
                "drifted columns".into(),
            ],
            rows: self
                .windows
                .iter()
                .map(|w| {
                    vec![
                        w.window.to_string(),
                        w.rows.to_string(),
                        if w.dataset_drifted {
                            "drift".into()
                        } else {
                            "no drift".into()
                        },
                        w.drifted_columns.join(", "),
                    ]
                })
                .collect(),
        }
    }
}

impl Html for DriftView {
    fn to_html(&self) -> String {
        let mut html = self.windows_table().to_html();
        html.push_str(&self.severity.to_html());
        if let Some(report) = &self.report_html {
            // The report is a whole page; a notebook takes its body.
            let body = report
                .split_once("<body>")
                .and_then(|(_, rest)| rest.rsplit_once("</body>"))
                .map_or(report.as_str(), |(body, _)| body);
            html.push_str(body);
        }
        html
    }

    fn to_text(&self) -> String {
        format!(
            "{}\n\n{}",
            self.windows_table().to_text(),
            self.severity.to_text()
        )
    }
}

fn entries(list: &Value) -> impl Iterator<Item = &Value> {
    list.as_array().into_iter().flatten()
}

/// The entry of a `[{key, value}]` list with this key.
fn find<'a>(list: &'a Value, key: &str) -> Option<&'a Value> {
    entries(list)
        .find(|entry| entry["key"] == key)
        .map(|entry| &entry["value"])
}

/// A number as MLflow's JSON writes it (NaN and infinities as strings).
pub(crate) fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            other => other.parse().ok(),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_run_shows_its_metrics_and_params_escaped() {
        let view = RunView {
            run: json!({
                "info": { "run_id": "r1", "run_name": "<b>wine</b>", "status": "FINISHED" },
                "data": {
                    "metrics": [{ "key": "val_accuracy", "value": 0.95, "step": 9 },
                                { "key": "loss", "value": "NaN", "step": 9 }],
                    "params": [{ "key": "epochs", "value": "10" }]
                }
            }),
        };
        assert_eq!(view.metric("val_accuracy"), Some(0.95));
        assert!(view.metric("loss").unwrap().is_nan());
        assert_eq!(view.param("epochs"), Some("10"));
        assert_eq!(view.metric_keys(), ["loss", "val_accuracy"]);
        let html = view.to_html();
        assert!(html.contains("&lt;b&gt;wine&lt;/b&gt;"));
        assert!(html.contains("<td>val_accuracy</td><td>0.95</td><td>9</td>"));
        let text = view.to_text();
        assert!(text.starts_with("Run <b>wine</b> (r1, FINISHED)"), "{text}");
        assert!(text.contains("val_accuracy  0.95    9"), "{text}");
    }

    #[test]
    fn tables_and_drift_views_render() {
        let table = Table {
            title: "t".into(),
            columns: vec!["a".into(), "b".into()],
            rows: vec![vec!["1".into(), "2".into()]],
        };
        assert_eq!(table.column("b"), ["2"]);
        assert_eq!(table.to_string(), "t\na  b\n1  2");
        let drift = DriftView {
            monitor: "m".into(),
            windows: vec![WindowSummary {
                window: 1,
                start: "2026-01-01T00:00:00Z".into(),
                end: "2026-01-01T00:01:00Z".into(),
                rows: 40,
                rows_tested: 40,
                versions: vec!["wine/1".into()],
                dataset_drifted: true,
                drifted_share: 0.5,
                drifted_columns: vec!["alcohol".into()],
                skipped_columns: 0,
                report: "reports/window-00001.html".into(),
                alert: None,
            }],
            severity: Chart {
                chart: LineChart::new("s"),
            },
            report_html: Some("<html><body><p>report</p></body></html>".into()),
        };
        assert_eq!(drift.drifted(), Some(true));
        let html = drift.to_html();
        assert!(html.contains("<td>drift</td><td>alcohol</td>"));
        assert!(html.ends_with("<p>report</p>"));
        let chart = Chart {
            chart: LineChart::new("loss").series(smelt_charts::Series::new(
                "val_loss",
                vec![(0.0, 0.9), (1.0, 0.4), (2.0, f64::NAN)],
            )),
        };
        assert_eq!(
            chart.to_text(),
            "Chart: loss\n  val_loss: 2 points, from 0.4 to 0.9, last 0.4 at 1"
        );
    }
}
