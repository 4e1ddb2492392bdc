//! `/api/2.0/mlflow/logged-models/*` handlers (MLflow 3).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiResult;
use super::extract::{Mlflow, one_or_many, required};
use crate::entities::{LoggedModelStatus, Param, Tag};
use crate::error::Error;
use crate::store::{CreateLoggedModel, SearchLoggedModels};
use crate::wire;

#[derive(Deserialize)]
pub(super) struct CreateRequest {
    experiment_id: Option<String>,
    name: Option<String>,
    model_type: Option<String>,
    source_run_id: Option<String>,
    #[serde(default)]
    params: Vec<Param>,
    #[serde(default)]
    tags: Vec<Tag>,
}

pub(super) async fn create(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<CreateRequest>,
) -> ApiResult<Json<Value>> {
    let experiment_id = required(&req.experiment_id, "experiment_id")?.to_string();
    let model = state
        .store
        .create_logged_model(&CreateLoggedModel {
            experiment_id,
            name: req.name,
            model_type: req.model_type,
            source_run_id: req.source_run_id,
            params: req.params,
            tags: req.tags,
        })
        .await?;
    Ok(Json(json!({ "model": model })))
}

pub(super) async fn get(
    State(state): State<Arc<AppState>>,
    Path(model_id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "model": state.store.get_logged_model(&model_id).await? }),
    ))
}

#[derive(Deserialize)]
pub(super) struct FinalizeRequest {
    status: Option<String>,
}

pub(super) async fn finalize(
    State(state): State<Arc<AppState>>,
    Path(model_id): Path<String>,
    Mlflow(req): Mlflow<FinalizeRequest>,
) -> ApiResult<Json<Value>> {
    let status_name = required(&req.status, "status")?;
    let status = LoggedModelStatus::parse(status_name)
        .ok_or_else(|| Error::invalid(format!("Invalid logged model status '{status_name}'")))?;
    Ok(Json(
        json!({ "model": state.store.finalize_logged_model(&model_id, status).await? }),
    ))
}

#[derive(Deserialize)]
pub(super) struct TagsRequest {
    #[serde(default)]
    tags: Vec<Tag>,
}

pub(super) async fn set_tags(
    State(state): State<Arc<AppState>>,
    Path(model_id): Path<String>,
    Mlflow(req): Mlflow<TagsRequest>,
) -> ApiResult<Json<Value>> {
    state
        .store
        .set_logged_model_tags(&model_id, &req.tags)
        .await?;
    Ok(Json(
        json!({ "model": state.store.get_logged_model(&model_id).await? }),
    ))
}

pub(super) async fn delete_tag(
    State(state): State<Arc<AppState>>,
    Path((model_id, key)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    state.store.delete_logged_model_tag(&model_id, &key).await?;
    Ok(Json(json!({})))
}

pub(super) async fn delete(
    State(state): State<Arc<AppState>>,
    Path(model_id): Path<String>,
) -> ApiResult<Json<Value>> {
    state.store.delete_logged_model(&model_id).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub(super) struct OrderBy {
    field_name: String,
    #[serde(default = "ascending_default")]
    ascending: bool,
}

fn ascending_default() -> bool {
    true
}

#[derive(Deserialize)]
pub(super) struct SearchRequest {
    #[serde(default, deserialize_with = "one_or_many")]
    experiment_ids: Vec<String>,
    filter: Option<String>,
    #[serde(default, with = "wire::opt_int64")]
    max_results: Option<i64>,
    #[serde(default)]
    order_by: Vec<OrderBy>,
    page_token: Option<String>,
}

pub(super) async fn search(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<SearchRequest>,
) -> ApiResult<Json<Value>> {
    let order_by = req
        .order_by
        .into_iter()
        .map(|o| {
            format!(
                "{} {}",
                o.field_name,
                if o.ascending { "ASC" } else { "DESC" }
            )
        })
        .collect();
    let page = state
        .store
        .search_logged_models(&SearchLoggedModels {
            experiment_ids: req.experiment_ids,
            filter: req.filter,
            max_results: req.max_results,
            order_by,
            page_token: req.page_token,
        })
        .await?;
    Ok(Json(super::page_json("models", page)))
}
