//! `/api/2.0/mlflow/experiments/*` handlers.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiResult;
use super::extract::{Mlflow, one_or_many, required};
use crate::entities::{Tag, ViewType};
use crate::error::Error;
use crate::store::SearchExperiments;
use crate::wire;

#[derive(Deserialize)]
pub(super) struct CreateRequest {
    name: Option<String>,
    artifact_location: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    tags: Vec<Tag>,
}

pub(super) async fn create(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<CreateRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(&req.name, "name")?;
    let id = state
        .store
        .create_experiment(name, req.artifact_location.as_deref(), &req.tags)
        .await?;
    Ok(Json(json!({ "experiment_id": id })))
}

#[derive(Deserialize)]
pub(super) struct IdRequest {
    experiment_id: Option<String>,
}

pub(super) async fn get(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<IdRequest>,
) -> ApiResult<Json<Value>> {
    let id = required(&req.experiment_id, "experiment_id")?;
    let experiment = state.store.get_experiment(id).await?;
    Ok(Json(json!({ "experiment": experiment })))
}

#[derive(Deserialize)]
pub(super) struct ByNameRequest {
    experiment_name: Option<String>,
}

pub(super) async fn get_by_name(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<ByNameRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(&req.experiment_name, "experiment_name")?;
    let experiment = state
        .store
        .get_experiment_by_name(name)
        .await?
        .ok_or_else(|| Error::not_found(format!("Could not find experiment with name '{name}'")))?;
    Ok(Json(json!({ "experiment": experiment })))
}

#[derive(Deserialize)]
pub(super) struct SearchRequest {
    #[serde(default, with = "wire::opt_int64")]
    max_results: Option<i64>,
    page_token: Option<String>,
    filter: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    order_by: Vec<String>,
    view_type: Option<ViewType>,
}

pub(super) async fn search(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<SearchRequest>,
) -> ApiResult<Json<Value>> {
    let page = state
        .store
        .search_experiments(&SearchExperiments {
            filter: req.filter,
            view_type: req.view_type.unwrap_or_default(),
            max_results: req.max_results,
            order_by: req.order_by,
            page_token: req.page_token,
        })
        .await?;
    Ok(Json(super::page_json("experiments", page)))
}

#[derive(Deserialize)]
pub(super) struct UpdateRequest {
    experiment_id: Option<String>,
    new_name: Option<String>,
}

pub(super) async fn update(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<UpdateRequest>,
) -> ApiResult<Json<Value>> {
    let id = required(&req.experiment_id, "experiment_id")?;
    let new_name = required(&req.new_name, "new_name")?;
    state.store.rename_experiment(id, new_name).await?;
    Ok(Json(json!({})))
}

pub(super) async fn delete(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<IdRequest>,
) -> ApiResult<Json<Value>> {
    state
        .store
        .delete_experiment(required(&req.experiment_id, "experiment_id")?)
        .await?;
    Ok(Json(json!({})))
}

pub(super) async fn restore(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<IdRequest>,
) -> ApiResult<Json<Value>> {
    state
        .store
        .restore_experiment(required(&req.experiment_id, "experiment_id")?)
        .await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub(super) struct TagRequest {
    experiment_id: Option<String>,
    key: Option<String>,
    value: Option<String>,
}

pub(super) async fn set_tag(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<TagRequest>,
) -> ApiResult<Json<Value>> {
    let id = required(&req.experiment_id, "experiment_id")?;
    let key = required(&req.key, "key")?;
    let value = req
        .value
        .as_deref()
        .ok_or_else(|| Error::missing_field("value"))?;
    state.store.set_experiment_tag(id, key, value).await?;
    Ok(Json(json!({})))
}

pub(super) async fn delete_tag(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<TagRequest>,
) -> ApiResult<Json<Value>> {
    let id = required(&req.experiment_id, "experiment_id")?;
    let key = required(&req.key, "key")?;
    state.store.delete_experiment_tag(id, key).await?;
    Ok(Json(json!({})))
}
