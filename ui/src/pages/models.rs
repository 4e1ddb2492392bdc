//! `/ui/models`: registered models; `/ui/models/{name}`: versions, aliases
//! (movable from the page), and links back to the runs that produced them.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use smelt_identity::Capability;
use smelt_identity::resolve::Target;
use smelt_tracking::store::SearchModels;

use super::{Page, PageError, PageResult, Shared};
use crate::layout::{csrf_field, page, query, segment, time_ms};
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
        .search_registered_models(&SearchModels {
            max_results: Some(100),
            page_token: params.page_token.filter(|t| !t.is_empty()),
            ..SearchModels::default()
        })
        .await?;
    let models = viewer
        .readable(found.items, |m| {
            Some(Target::RegisteredModel(m.name.clone()))
        })
        .await;
    Ok(Page(page(
        &viewer,
        "Models",
        None,
        html! {
            h1 { "Registered models" }
            @if models.is_empty() {
                p.muted { "No registered models yet: train with --register NAME, or register a run's model with the mlflow client." }
            } @else {
                table #models {
                    thead { tr { th { "Name" } th { "Latest version" } th { "Aliases" } th { "Updated" } } }
                    tbody {
                        @for model in &models {
                            tr {
                                td { a href={ "/ui/models/" (segment(&model.name)) } { (model.name) } }
                                td.num { (model.latest_versions.iter().map(|v| v.version.as_str()).max_by_key(|v| v.parse::<u64>().unwrap_or(0)).unwrap_or("")) }
                                td { @for alias in &model.aliases { span.alias { "@" (alias.alias) " → " (alias.version) } " " } }
                                td { (time_ms(model.last_updated_timestamp)) }
                            }
                        }
                    }
                }
            }
            @if let Some(token) = &found.next_page_token {
                p.pager { a href={ "/ui/models?" (query(&[("page_token", token)])) } { "Next page →" } }
            }
        },
    )))
}

pub async fn detail(State(ui): Shared, viewer: Viewer, Path(name): Path<String>) -> PageResult {
    let model = ui.store.get_registered_model(&name).await?;
    let mut versions = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let found = ui
            .store
            .search_model_versions(&SearchModels {
                filter: Some(format!("name = '{}'", name.replace('\'', "\\'"))),
                max_results: Some(200),
                page_token: token.clone(),
                ..SearchModels::default()
            })
            .await?;
        versions.extend(found.items);
        token = found.next_page_token.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    versions.sort_by_key(|v| std::cmp::Reverse(v.version.parse::<u64>().unwrap_or(0)));
    let base = format!("/ui/models/{}", segment(&name));
    // Alias forms only for those who may move aliases (the gate would
    // refuse the others' POST anyway).
    let editable = viewer
        .can(Target::RegisteredModel(name.clone()), Capability::Update)
        .await;
    let content = html! {
        h1 { "Model " (model.name) }
        @if let Some(description) = model.description.as_deref().filter(|d| !d.is_empty()) {
            p { (description) }
        }
        h2 { "Aliases" }
        table #aliases {
            thead { tr { th { "Alias" } th { "Version" } th {} } }
            tbody {
                @for alias in &model.aliases {
                    tr data-alias=(alias.alias) {
                        td { "@" (alias.alias) }
                        td.num { (alias.version) }
                        td {
                            @if editable {
                                form.inline method="post" action={ (base) "/alias/delete" } {
                                    (csrf_field(&viewer))
                                    input type="hidden" name="alias" value=(alias.alias);
                                    button type="submit" { "remove" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if editable {
            form #set-alias method="post" action={ (base) "/alias" } {
                (csrf_field(&viewer))
                "Point alias "
                input type="text" name="alias" placeholder="champion" required;
                " at version "
                select name="version" {
                    @for version in &versions { option value=(version.version) { (version.version) } }
                }
                " " button type="submit" { "Set alias" }
            }
        }
        h2 { "Versions" }
        table #versions {
            thead { tr { th { "Version" } th { "Aliases" } th { "Stage" } th { "Status" } th { "Created" } th { "Run" } th { "Source" } } }
            tbody {
                @for version in &versions {
                    tr data-version=(version.version) {
                        td.num { (version.version) }
                        td { @for alias in &version.aliases { "@" (alias) " " } }
                        td { (version.current_stage) }
                        td { (version.status) }
                        td { (time_ms(version.creation_timestamp)) }
                        td { @if let Some(run_id) = &version.run_id { a href={ "/ui/runs/" (run_id) } { (run_id) } } }
                        td.muted { (version.source) }
                    }
                }
            }
        }
    };
    Ok(Page(page(&viewer, &format!("Model {name}"), None, content)))
}

#[derive(Debug, Deserialize)]
pub struct AliasForm {
    alias: String,
    #[serde(default)]
    version: String,
}

/// Moves (or creates) an alias, then shows the model again. Endpoints
/// following the alias swap at once, on every replica.
pub async fn set_alias(
    State(ui): Shared,
    Path(name): Path<String>,
    Form(form): Form<AliasForm>,
) -> Result<Response, PageError> {
    let alias = form.alias.trim().trim_start_matches('@');
    if alias.is_empty() {
        return Err(PageError::bad_request("name the alias to set"));
    }
    ui.store
        .set_registered_model_alias(&name, alias, form.version.trim())
        .await?;
    tracing::info!(model = %name, alias, version = %form.version, "alias moved from the web UI");
    announce_registry_change(&ui);
    Ok(Redirect::to(&format!("/ui/models/{}", segment(&name))).into_response())
}

pub async fn delete_alias(
    State(ui): Shared,
    Path(name): Path<String>,
    Form(form): Form<AliasForm>,
) -> Result<Response, PageError> {
    ui.store
        .delete_registered_model_alias(&name, form.alias.trim())
        .await?;
    announce_registry_change(&ui);
    Ok(Redirect::to(&format!("/ui/models/{}", segment(&name))).into_response())
}

/// Tells the endpoints (of every replica) that an alias moved.
fn announce_registry_change(ui: &crate::UiState) {
    if let Some(serving) = &ui.serving {
        serving.announce(smelt_serving::Change::Registry);
    }
}
