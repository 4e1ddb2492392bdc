//! `/`: the experiments, newest first, with links to their runs.

use axum::extract::{Query, State};
use maud::html;
use serde::Deserialize;
use smelt_identity::resolve::Target;
use smelt_tracking::store::SearchExperiments;

use super::{Page, PageResult, Shared};
use crate::layout::{page, query, time_ms};
use crate::viewer::Viewer;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    page_token: Option<String>,
}

pub async fn list(
    State(ui): Shared,
    viewer: Viewer,
    Query(params): Query<ListQuery>,
) -> PageResult {
    let found = ui
        .store
        .search_experiments(&SearchExperiments {
            max_results: Some(100),
            order_by: vec!["last_update_time DESC".to_string()],
            page_token: params.page_token.filter(|t| !t.is_empty()),
            ..SearchExperiments::default()
        })
        .await?;
    // The page keeps what the viewer may read; the next-page link still
    // follows the store's order.
    let experiments = viewer
        .readable(found.items, |e| {
            Some(Target::Experiment(e.experiment_id.clone()))
        })
        .await;
    Ok(Page(page(
        &viewer,
        "Experiments",
        None,
        html! {
            h1 { "Experiments" }
            @if experiments.is_empty() {
                p.muted { "No experiments yet. Train a model (smelt train …) or log a run with the mlflow client." }
            } @else {
                table #experiments {
                    thead { tr { th { "Name" } th { "ID" } th { "Last update" } th { "Artifact location" } } }
                    tbody {
                        @for experiment in &experiments {
                            tr {
                                td { a href={ "/ui/experiments/" (experiment.experiment_id) } { (experiment.name) } }
                                td.num { (experiment.experiment_id) }
                                td { (time_ms(experiment.last_update_time)) }
                                td.muted { (experiment.artifact_location) }
                            }
                        }
                    }
                }
            }
            @if let Some(token) = &found.next_page_token {
                p.pager { a href={ "/?" (query(&[("page_token", token)])) } { "Next page →" } }
            }
        },
    )))
}
