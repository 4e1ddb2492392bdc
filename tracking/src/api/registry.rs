//! `/api/2.0/mlflow/registered-models/*` and `/model-versions/*` handlers.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiResult;
use super::extract::{Mlflow, flexible_bool, one_or_many, required};
use crate::entities::Tag;
use crate::error::Error;
use crate::store::{CreateModelVersion, SearchModels};
use crate::wire;

#[derive(Deserialize)]
pub(super) struct ModelRequest {
    name: Option<String>,
    new_name: Option<String>,
    description: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    tags: Vec<Tag>,
    #[serde(default, deserialize_with = "one_or_many")]
    stages: Vec<String>,
    key: Option<String>,
    value: Option<String>,
    alias: Option<String>,
    version: Option<String>,
}

pub(super) async fn create_model(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<ModelRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(&req.name, "name")?;
    let model = state
        .store
        .create_registered_model(name, &req.tags, req.description.as_deref())
        .await?;
    Ok(Json(json!({ "registered_model": model })))
}

pub(super) async fn get_model(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<ModelRequest>,
) -> ApiResult<Json<Value>> {
    let model = state
        .store
        .get_registered_model(required(&req.name, "name")?)
        .await?;
    Ok(Json(json!({ "registered_model": model })))
}

pub(super) async fn rename_model(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<ModelRequest>,
) -> ApiResult<Json<Value>> {
    let model = state
        .store
        .rename_registered_model(
            required(&req.name, "name")?,
            required(&req.new_name, "new_name")?,
        )
        .await?;
    Ok(Json(json!({ "registered_model": model })))
}

pub(super) async fn update_model(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<ModelRequest>,
) -> ApiResult<Json<Value>> {
    let model = state
        .store
        .update_registered_model(required(&req.name, "name")?, req.description.as_deref())
        .await?;
    Ok(Json(json!({ "registered_model": model })))
}

pub(super) async fn delete_model(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<ModelRequest>,
) -> ApiResult<Json<Value>> {
    state
        .store
        .delete_registered_model(required(&req.name, "name")?)
        .await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub(super) struct SearchRequest {
    filter: Option<String>,
    #[serde(default, with = "wire::opt_int64")]
    max_results: Option<i64>,
    #[serde(default, deserialize_with = "one_or_many")]
    order_by: Vec<String>,
    page_token: Option<String>,
}

impl SearchRequest {
    fn into_query(self) -> SearchModels {
        SearchModels {
            filter: self.filter,
            max_results: self.max_results,
            order_by: self.order_by,
            page_token: self.page_token,
        }
    }
}

pub(super) async fn search_models(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<SearchRequest>,
) -> ApiResult<Json<Value>> {
    let page = state
        .store
        .search_registered_models(&req.into_query())
        .await?;
    Ok(Json(super::page_json("registered_models", page)))
}

pub(super) async fn latest_versions(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<ModelRequest>,
) -> ApiResult<Json<Value>> {
    let versions = state
        .store
        .get_latest_versions(required(&req.name, "name")?, &req.stages)
        .await?;
    Ok(Json(if versions.is_empty() {
        json!({})
    } else {
        json!({ "model_versions": versions })
    }))
}

pub(super) async fn set_model_tag(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<ModelRequest>,
) -> ApiResult<Json<Value>> {
    let value = req
        .value
        .as_deref()
        .ok_or_else(|| Error::missing_field("value"))?;
    state
        .store
        .set_registered_model_tag(
            required(&req.name, "name")?,
            required(&req.key, "key")?,
            value,
        )
        .await?;
    Ok(Json(json!({})))
}

pub(super) async fn delete_model_tag(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<ModelRequest>,
) -> ApiResult<Json<Value>> {
    state
        .store
        .delete_registered_model_tag(required(&req.name, "name")?, required(&req.key, "key")?)
        .await?;
    Ok(Json(json!({})))
}

pub(super) async fn set_alias(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<ModelRequest>,
) -> ApiResult<Json<Value>> {
    state
        .store
        .set_registered_model_alias(
            required(&req.name, "name")?,
            required(&req.alias, "alias")?,
            required(&req.version, "version")?,
        )
        .await?;
    Ok(Json(json!({})))
}

pub(super) async fn delete_alias(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<ModelRequest>,
) -> ApiResult<Json<Value>> {
    state
        .store
        .delete_registered_model_alias(required(&req.name, "name")?, required(&req.alias, "alias")?)
        .await?;
    Ok(Json(json!({})))
}

pub(super) async fn get_by_alias(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<ModelRequest>,
) -> ApiResult<Json<Value>> {
    let version = state
        .store
        .get_model_version_by_alias(required(&req.name, "name")?, required(&req.alias, "alias")?)
        .await?;
    Ok(Json(json!({ "model_version": version })))
}

#[derive(Deserialize)]
pub(super) struct VersionRequest {
    name: Option<String>,
    version: Option<String>,
    source: Option<String>,
    run_id: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    tags: Vec<Tag>,
    run_link: Option<String>,
    description: Option<String>,
    model_id: Option<String>,
    stage: Option<String>,
    #[serde(default, deserialize_with = "flexible_bool")]
    archive_existing_versions: bool,
    key: Option<String>,
    value: Option<String>,
}

impl VersionRequest {
    fn name_version(&self) -> Result<(&str, &str), Error> {
        Ok((
            required(&self.name, "name")?,
            required(&self.version, "version")?,
        ))
    }
}

pub(super) async fn create_version(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<VersionRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(&req.name, "name")?.to_string();
    let source = required(&req.source, "source")?.to_string();
    let version = state
        .store
        .create_model_version(&CreateModelVersion {
            name,
            source,
            run_id: req.run_id,
            tags: req.tags,
            run_link: req.run_link,
            description: req.description,
            model_id: req.model_id,
        })
        .await?;
    Ok(Json(json!({ "model_version": version })))
}

pub(super) async fn get_version(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<VersionRequest>,
) -> ApiResult<Json<Value>> {
    let (name, version) = req.name_version()?;
    Ok(Json(
        json!({ "model_version": state.store.get_model_version(name, version).await? }),
    ))
}

pub(super) async fn update_version(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<VersionRequest>,
) -> ApiResult<Json<Value>> {
    let (name, version) = req.name_version()?;
    let updated = state
        .store
        .update_model_version(name, version, req.description.as_deref())
        .await?;
    Ok(Json(json!({ "model_version": updated })))
}

pub(super) async fn delete_version(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<VersionRequest>,
) -> ApiResult<Json<Value>> {
    let (name, version) = req.name_version()?;
    state.store.delete_model_version(name, version).await?;
    Ok(Json(json!({})))
}

pub(super) async fn search_versions(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<SearchRequest>,
) -> ApiResult<Json<Value>> {
    let page = state.store.search_model_versions(&req.into_query()).await?;
    Ok(Json(super::page_json("model_versions", page)))
}

pub(super) async fn transition_stage(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<VersionRequest>,
) -> ApiResult<Json<Value>> {
    let (name, version) = req.name_version()?;
    let stage = required(&req.stage, "stage")?;
    let updated = state
        .store
        .transition_model_version_stage(name, version, stage, req.archive_existing_versions)
        .await?;
    Ok(Json(json!({ "model_version": updated })))
}

pub(super) async fn download_uri(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<VersionRequest>,
) -> ApiResult<Json<Value>> {
    let (name, version) = req.name_version()?;
    Ok(Json(
        json!({ "artifact_uri": state.store.get_model_version_download_uri(name, version).await? }),
    ))
}

pub(super) async fn set_version_tag(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<VersionRequest>,
) -> ApiResult<Json<Value>> {
    let (name, version) = req.name_version()?;
    let value = req
        .value
        .as_deref()
        .ok_or_else(|| Error::missing_field("value"))?;
    state
        .store
        .set_model_version_tag(name, version, required(&req.key, "key")?, value)
        .await?;
    Ok(Json(json!({})))
}

pub(super) async fn delete_version_tag(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<VersionRequest>,
) -> ApiResult<Json<Value>> {
    let (name, version) = req.name_version()?;
    state
        .store
        .delete_model_version_tag(name, version, required(&req.key, "key")?)
        .await?;
    Ok(Json(json!({})))
}
