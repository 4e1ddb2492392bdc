//! `/ui/compare?runs=A&runs=B…`: runs side by side — parameters with the
//! rows that differ highlighted, latest metrics, and one chart per metric
//! with a line per run.

use std::collections::BTreeSet;

use axum::extract::{RawQuery, State};
use maud::{PreEscaped, html};
use smelt_tracking::entities::Run;

use super::run::metric_history;
use super::runs::display_name;
use super::{Page, PageError, PageResult, Shared};
use crate::layout::page;
use crate::viewer::Viewer;
use smelt_charts::{LineChart, Series, format_value};

/// Runs compared at most on one page.
const MAX_RUNS: usize = 10;

pub async fn compare(State(ui): Shared, viewer: Viewer, RawQuery(raw): RawQuery) -> PageResult {
    let mut ids: Vec<String> = Vec::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if key == "runs" {
            for id in value.split(',').map(str::trim).filter(|id| !id.is_empty()) {
                if !ids.iter().any(|known| known == id) {
                    ids.push(id.to_string());
                }
            }
        }
    }
    if ids.len() < 2 {
        return Err(PageError::bad_request(
            "pick at least two runs to compare (tick their boxes in the runs table)",
        ));
    }
    if ids.len() > MAX_RUNS {
        return Err(PageError::bad_request(format!(
            "{} runs picked; compare at most {MAX_RUNS} at a time",
            ids.len()
        )));
    }
    let mut runs: Vec<Run> = Vec::with_capacity(ids.len());
    for id in &ids {
        runs.push(ui.store.get_run(id).await?);
    }
    let param_keys: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.data.params.iter().map(|p| p.key.as_str()))
        .collect();
    let metric_keys: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.data.metrics.iter().map(|m| m.key.as_str()))
        .collect();
    let param = |run: &Run, key: &str| -> Option<String> {
        run.data
            .params
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.value.clone())
    };
    let mut charts = Vec::new();
    for key in &metric_keys {
        let mut chart = LineChart::new(*key).y_label(*key);
        for run in &runs {
            let history = metric_history(ui.store.as_ref(), &run.info.run_id, key).await?;
            if history.is_empty() {
                continue;
            }
            let points = history.iter().map(|m| (m.step as f64, m.value)).collect();
            chart = chart.series(Series::new(display_name(run), points));
        }
        charts.push((key, chart.to_svg()));
    }
    let content = html! {
        h1 { "Compare " (runs.len()) " runs" }
        h2 { "Parameters" }
        table #compare-params {
            thead { tr { th { "Parameter" } @for run in &runs { th { a href={ "/ui/runs/" (run.info.run_id) } { (display_name(run)) } } } } }
            tbody {
                @for key in &param_keys {
                    @let values: Vec<Option<String>> = runs.iter().map(|r| param(r, key)).collect();
                    @let differs = values.iter().any(|v| v != &values[0]);
                    tr class=[differs.then_some("diff")] data-key=(key) {
                        th { (key) }
                        @for value in &values { td { (value.as_deref().unwrap_or("—")) } }
                    }
                }
            }
        }
        h2 { "Latest metrics" }
        table #compare-metrics {
            thead { tr { th { "Metric" } @for run in &runs { th { (display_name(run)) } } } }
            tbody {
                @for key in &metric_keys {
                    tr {
                        th { (key) }
                        @for run in &runs {
                            td.num {
                                @if let Some(m) = run.data.metrics.iter().find(|m| m.key == *key) { (format_value(m.value)) } @else { "—" }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Charts" }
        div.charts #compare-charts {
            @for (key, svg) in &charts { div.chart data-metric=(key) { (PreEscaped(svg)) } }
        }
    };
    Ok(Page(page(&viewer, "Compare runs", None, content)))
}
