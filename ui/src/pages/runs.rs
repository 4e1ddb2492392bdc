//! `/ui/experiments/{id}`: an experiment's runs, one page at a time, sorted
//! and filtered by the store (MLflow's search grammar), with boxes to pick
//! runs to compare.

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use maud::{Markup, html};
use serde::Deserialize;
use smelt_tracking::entities::Run;
use smelt_tracking::store::SearchRuns;

use super::{Page, PageError, PageResult, Shared};
use crate::layout::{duration_ms, page, query, time_ms};
use crate::viewer::Viewer;
use smelt_charts::format_value;

/// Runs per page.
const PAGE_SIZE: i64 = 50;
/// Metric and param columns shown at most (the run page has them all).
const MAX_COLUMNS: usize = 16;

#[derive(Debug, Default, Deserialize)]
pub struct TableQuery {
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    order_by: Option<String>,
    #[serde(default)]
    page_token: Option<String>,
}

pub async fn table(
    State(ui): Shared,
    viewer: Viewer,
    Path(experiment_id): Path<String>,
    Query(params): Query<TableQuery>,
) -> PageResult {
    let experiment = ui.store.get_experiment(&experiment_id).await?;
    let filter = params.filter.unwrap_or_default().trim().to_string();
    let order_by = params.order_by.unwrap_or_default().trim().to_string();
    let search = ui
        .store
        .search_runs(&SearchRuns {
            experiment_ids: vec![experiment_id.clone()],
            filter: Some(filter.clone()).filter(|f| !f.is_empty()),
            max_results: Some(PAGE_SIZE),
            order_by: if order_by.is_empty() {
                Vec::new()
            } else {
                vec![order_by.clone()]
            },
            page_token: params.page_token.filter(|t| !t.is_empty()),
            ..SearchRuns::default()
        })
        .await;
    // A filter the grammar refuses is shown above an empty table, so the
    // person can fix it in place.
    let (runs, next, problem) = match search {
        Ok(found) => (found.items, found.next_page_token, None),
        Err(error) if error.code.smelt_status() == 400 => (Vec::new(), None, Some(error.message)),
        Err(error) => return Err(PageError::from(error)),
    };
    let base = format!("/ui/experiments/{experiment_id}");
    let sort_link = |key: &str| -> String {
        let descending = format!("{key} DESC");
        let next_order = if order_by == descending {
            format!("{key} ASC")
        } else {
            descending
        };
        format!(
            "{base}?{}",
            query(&[("filter", &filter), ("order_by", &next_order)])
        )
    };
    let arrow = |key: &str| -> &'static str {
        if order_by == format!("{key} DESC") {
            " ▼"
        } else if order_by == format!("{key} ASC") {
            " ▲"
        } else {
            ""
        }
    };
    let metric_keys = column_keys(&runs, |run| run.data.metrics.iter().map(|m| m.key.as_str()));
    let param_keys = column_keys(&runs, |run| run.data.params.iter().map(|p| p.key.as_str()));
    let header = |label: &str, key: String| -> Markup {
        html! { th { a.sort href=(sort_link(&key)) { (label) (arrow(&key)) } } }
    };
    let content = html! {
        h1 { "Runs of " (experiment.name) }
        form #search method="get" action=(base) {
            input.filter type="text" name="filter" value=(filter)
                placeholder="metrics.accuracy > 0.9 AND params.model = 'mlp'";
            input type="hidden" name="order_by" value=(order_by);
            " " button type="submit" { "Search" }
            " " a href=(base) { "clear" }
        }
        @if let Some(message) = &problem {
            p.error #search-error { (message) }
        }
        form #compare method="get" action="/ui/compare" {
            p { button type="submit" { "Compare selected runs" } }
            table #runs {
                thead {
                    tr {
                        th {}
                        (header("Run", "attributes.run_name".to_string()))
                        (header("Status", "attributes.status".to_string()))
                        (header("Started", "attributes.start_time".to_string()))
                        th { "Duration" }
                        @for key in &metric_keys {
                            (header(key, format!("metrics.`{key}`")))
                        }
                        @for key in &param_keys {
                            (header(key, format!("params.`{key}`")))
                        }
                    }
                }
                tbody {
                    @for run in &runs {
                        tr data-run-id=(run.info.run_id) {
                            td { input type="checkbox" name="runs" value=(run.info.run_id); }
                            td { a href={ "/ui/runs/" (run.info.run_id) } { (display_name(run)) } }
                            td class={ "status-" (run.info.status.as_str()) } { (run.info.status.as_str()) }
                            td { (time_ms(run.info.start_time)) }
                            td.num { (duration_ms(run.info.start_time, run.info.end_time)) }
                            @for key in &metric_keys {
                                td.num data-key={ "metrics." (key) } {
                                    @if let Some(metric) = run.data.metrics.iter().find(|m| &m.key == key) {
                                        (format_value(metric.value))
                                    }
                                }
                            }
                            @for key in &param_keys {
                                td data-key={ "params." (key) } {
                                    @if let Some(param) = run.data.params.iter().find(|p| &p.key == key) {
                                        (param.value)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if runs.is_empty() && problem.is_none() {
            p.muted { "No runs match." }
        }
        p.pager {
            @if let Some(token) = &next {
                a #next-page href={ (base) "?" (query(&[("filter", &filter), ("order_by", &order_by), ("page_token", token)])) } { "Next page →" }
            }
        }
    };
    Ok(Page(page(
        &viewer,
        &format!("Runs of {}", experiment.name),
        None,
        content,
    )))
}

/// The run's name, or its id when it has none.
pub fn display_name(run: &Run) -> &str {
    if run.info.run_name.is_empty() {
        &run.info.run_id
    } else {
        &run.info.run_name
    }
}

/// The keys any run on the page has, sorted, at most [`MAX_COLUMNS`].
fn column_keys<'a, I>(runs: &'a [Run], keys: impl Fn(&'a Run) -> I) -> Vec<String>
where
    I: Iterator<Item = &'a str>,
{
    let all: BTreeSet<&str> = runs.iter().flat_map(keys).collect();
    all.into_iter()
        .take(MAX_COLUMNS)
        .map(str::to_string)
        .collect()
}
