//! `/ui/monitors`: the drift monitors of this server; `/ui/monitors/{name}`:
//! drift severity per feature over windows (above 1 is drift), the windows
//! evaluated, and the latest report with reference-against-current
//! histograms.

use axum::extract::{Path, State};
use maud::{PreEscaped, html};
use smelt_api::monitors::metrics;
use smelt_identity::resolve::Target;
use smelt_monitor::service::Monitors;

use super::run::metric_history;
use super::{Page, PageError, PageResult, Shared};
use crate::UiState;
use crate::layout::{page, query, segment};
use crate::viewer::Viewer;
use smelt_charts::{LineChart, Series, format_value};

/// Feature lines drawn at most on the severity chart (the most severe).
const MAX_FEATURES: usize = 10;
/// Severity is threshold / p-value, so a clear shift reads 1e12; drawn on a
/// linear scale that would flatten every other line, so the chart stops at
/// 10 (the windows table and the report have the exact values).
const SEVERITY_CAP: f64 = 10.0;

fn monitors(ui: &UiState) -> Result<&Monitors, PageError> {
    ui.monitors
        .as_deref()
        .ok_or_else(|| PageError::not_found("this server runs no monitors"))
}

pub async fn list(State(ui): Shared, viewer: Viewer) -> PageResult {
    let monitors = monitors(&ui)?;
    let specs = viewer
        .readable(monitors.list().await?, |spec| {
            Some(Target::Monitor(spec.name.clone()))
        })
        .await;
    let mut rows = Vec::with_capacity(specs.len());
    for spec in specs {
        let state = monitors.state(&spec.name).await?;
        rows.push((spec, state));
    }
    let content = html! {
        h1 { "Monitors" }
        @if rows.is_empty() {
            p.muted { "No monitors: smelt monitor create NAME --endpoint ENDPOINT --server URL." }
        } @else {
            table #monitors {
                thead { tr { th { "Monitor" } th { "Endpoint" } th { "Reference" } th { "Windows" } th { "Latest window" } } }
                tbody {
                    @for (spec, state) in &rows {
                        tr {
                            td { a href={ "/ui/monitors/" (segment(&spec.name)) } { (spec.name) } }
                            td { a href={ "/ui/endpoints/" (segment(&spec.endpoint)) } { (spec.endpoint) } }
                            td { (spec.reference) }
                            td.num { (state.windows) }
                            td {
                                @if let Some(last) = state.history.last() {
                                    @if last.dataset_drifted { span.status-FAILED { "drift" } } @else { span.status-FINISHED { "no drift" } }
                                    " (" (format_value(last.drifted_share * 100.0)) " % of columns)"
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Page(page(&viewer, "Monitors", None, content)))
}

pub async fn detail(State(ui): Shared, viewer: Viewer, Path(name): Path<String>) -> PageResult {
    let monitors = monitors(&ui)?;
    let spec = monitors.get(&name).await?;
    let state = monitors.state(&name).await?;
    let mut severity = LineChart::new("Drift severity per feature (above 1 = drift)")
        .x_label("window")
        .y_label(format!("severity (drawn up to {SEVERITY_CAP})"))
        .threshold(1.0, "drift")
        .size(720, 320);
    let mut share = LineChart::new("Share of drifted columns")
        .x_label("window")
        .y_label("share")
        .threshold(spec.drift_share, "dataset drift");
    if let Some(run_id) = &state.run_id {
        let run = ui.store.get_run(run_id).await?;
        // The features whose latest severity is highest.
        let mut features: Vec<(&str, f64)> = run
            .data
            .metrics
            .iter()
            .filter_map(|m| metrics::severity_column(&m.key).map(|f| (f, m.value)))
            .collect();
        features.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (feature, _) in features.into_iter().take(MAX_FEATURES) {
            let history =
                metric_history(ui.store.as_ref(), run_id, &metrics::severity(feature)).await?;
            let points = history
                .iter()
                .map(|m| (m.step as f64, m.value.min(SEVERITY_CAP)))
                .collect();
            severity = severity.series(Series::new(feature, points));
        }
        let history = metric_history(ui.store.as_ref(), run_id, metrics::DRIFTED_SHARE).await?;
        share = share.series(Series::new(
            "drifted share",
            history.iter().map(|m| (m.step as f64, m.value)).collect(),
        ));
    }
    let latest = state.history.last();
    let report = match (&state.run_id, latest) {
        (Some(run_id), Some(window)) => Some(format!(
            "/ui/runs/{run_id}/raw?{}",
            query(&[("path", &window.report)])
        )),
        _ => None,
    };
    let content = html! {
        h1 { "Monitor " (spec.name) }
        p {
            "Endpoint " a href={ "/ui/endpoints/" (segment(&spec.endpoint)) } { (spec.endpoint) }
            " · reference " (spec.reference)
            " · " (state.windows) " windows"
            @if let Some(run_id) = &state.run_id { " · " a href={ "/ui/runs/" (run_id) } { "history run" } }
        }
        div.charts #drift-charts {
            div.chart { (PreEscaped(severity.to_svg())) }
            div.chart { (PreEscaped(share.to_svg())) }
        }
        h2 { "Windows" }
        table #windows {
            thead { tr { th { "Window" } th { "From" } th { "To" } th { "Rows" } th { "Versions" } th { "Verdict" } th { "Drifted columns" } } }
            tbody {
                @for window in state.history.iter().rev() {
                    tr {
                        td.num { (window.window) }
                        td { (window.start) }
                        td { (window.end) }
                        td.num { (window.rows) }
                        td { (window.versions.join(", ")) }
                        td { @if window.dataset_drifted { span.status-FAILED { "drift" } } @else { "no drift" } }
                        td { (window.drifted_columns.join(", ")) }
                    }
                }
            }
        }
        @if let Some(src) = &report {
            h2 { "Latest report" }
            p { a #report-link href=(src) { "Open the report on its own" } }
            iframe.report #report src=(src) title="latest drift report" {}
        }
    };
    Ok(Page(page(
        &viewer,
        &format!("Monitor {name}"),
        None,
        content,
    )))
}
