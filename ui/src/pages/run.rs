//! `/ui/runs/{id}`: one run — its attributes, params, tags, a chart per
//! metric over steps, its artifacts, and for an autopilot run the
//! leaderboard.

use std::sync::Arc;

use axum::extract::{Path, State};
use maud::{Markup, PreEscaped, html};
use smelt_tracking::entities::{Metric, Run};
use smelt_tracking::store::TrackingStore;

use super::leaderboard::leaderboard_section;
use super::runs::display_name;
use super::{Page, PageResult, Shared};
use crate::layout::{duration_ms, page, query, time_ms};
use crate::viewer::Viewer;
use smelt_charts::{LineChart, Series, format_value};

/// Metric points drawn per chart at most (MLflow's UI samples too); the
/// page says when a history was cut.
const MAX_POINTS: usize = 25_000;

pub async fn detail(State(ui): Shared, viewer: Viewer, Path(run_id): Path<String>) -> PageResult {
    let run = ui.store.get_run(&run_id).await?;
    let experiment = ui.store.get_experiment(&run.info.experiment_id).await?;
    let mut charts = Vec::new();
    let mut keys: Vec<&str> = run.data.metrics.iter().map(|m| m.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        let history = metric_history(ui.store.as_ref(), &run_id, key).await?;
        charts.push(history_chart(key, &history));
    }
    let leaderboard = leaderboard_section(&ui, &run).await;
    let running = run.info.status.as_str() == "RUNNING";
    let content = html! {
        h1 { "Run " (display_name(&run)) }
        p {
            "Experiment " a href={ "/ui/experiments/" (run.info.experiment_id) } { (experiment.name) }
            @if let Some(parent) = run.tag("mlflow.parentRunId") {
                " · parent run " a href={ "/ui/runs/" (parent) } { (parent) }
            }
            " · " a href={ "/ui/runs/" (run.info.run_id) "/artifacts" } { "artifacts" }
            " · " a href={ "/ui/experiments/" (run.info.experiment_id) "?" (query(&[("filter", &format!("tags.mlflow.parentRunId = '{}'", run.info.run_id))])) } { "child runs" }
        }
        table #run-info {
            tr { th { "Run ID" } td { (run.info.run_id) } }
            tr { th { "Status" } td class={ "status-" (run.info.status.as_str()) } { (run.info.status.as_str()) } }
            tr { th { "Started" } td { (time_ms(run.info.start_time)) } }
            tr { th { "Duration" } td { (duration_ms(run.info.start_time, run.info.end_time.or(running.then(now_ms)))) } }
            tr { th { "Artifact URI" } td.muted { (run.info.artifact_uri) } }
        }
        @if let Some(section) = leaderboard { (section) }
        h2 { "Metrics" }
        @if charts.is_empty() {
            p.muted { "No metrics logged." }
        } @else {
            div.charts #metric-charts {
                @for chart in &charts { (chart) }
            }
            (latest_table(&run.data.metrics))
        }
        h2 { "Parameters" }
        (key_value_table("params", run.data.params.iter().map(|p| (p.key.as_str(), p.value.as_str()))))
        h2 { "Tags" }
        (key_value_table("tags", run.data.tags.iter().map(|t| (t.key.as_str(), t.value.as_str()))))
    };
    Ok(Page(page(
        &viewer,
        &format!("Run {}", display_name(&run)),
        running.then_some(5),
        content,
    )))
}

/// A metric's whole history (up to [`MAX_POINTS`]), oldest step first.
pub async fn metric_history(
    store: &dyn TrackingStore,
    run_id: &str,
    key: &str,
) -> Result<Vec<Metric>, smelt_tracking::Error> {
    let mut points = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = store
            .get_metric_history(run_id, key, token.as_deref(), Some(MAX_POINTS as i64))
            .await?;
        points.extend(page.items);
        token = page.next_page_token.filter(|t| !t.is_empty());
        if token.is_none() || points.len() >= MAX_POINTS {
            break;
        }
    }
    points.truncate(MAX_POINTS);
    Ok(points)
}

/// One metric's chart: value against step.
fn history_chart(key: &str, history: &[Metric]) -> Markup {
    let points = history
        .iter()
        .map(|m| (m.step as f64, m.value))
        .collect::<Vec<_>>();
    let svg = LineChart::new(key)
        .y_label(key)
        .series(Series::new(key, points))
        .to_svg();
    html! { div.chart data-metric=(key) data-points=(history.len()) { (PreEscaped(svg)) } }
}

fn latest_table(metrics: &[Metric]) -> Markup {
    html! {
        table #metrics {
            thead { tr { th { "Metric" } th { "Latest" } th { "Step" } } }
            tbody {
                @for metric in metrics {
                    tr { td { (metric.key) } td.num { (format_value(metric.value)) } td.num { (metric.step) } }
                }
            }
        }
    }
}

fn key_value_table<'a>(id: &str, pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Markup {
    let mut pairs: Vec<(&str, &str)> = pairs.collect();
    pairs.sort_unstable();
    html! {
        @if pairs.is_empty() {
            p.muted { "None." }
        } @else {
            table id=(id) {
                @for (key, value) in pairs {
                    tr { th { (key) } td { (value) } }
                }
            }
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The run's artifact store, when its location can be opened.
pub fn run_artifacts(
    ui: &crate::UiState,
    run: &Run,
) -> Result<Arc<dyn smelt_tracking::artifacts::ArtifactStore>, smelt_tracking::Error> {
    (ui.open_artifacts)(&run.info.artifact_uri)
}
