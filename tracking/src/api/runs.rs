//! `/api/2.0/mlflow/runs/*` and `/metrics/*` handlers.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiResult;
use super::extract::{Mlflow, one_or_many, required};
use crate::entities::{
    DatasetInput, Metric, ModelInput, ModelOutput, Param, RunStatus, Tag, ViewType,
};
use crate::error::Error;
use crate::store::{CreateRun, SearchRuns, UpdateRun};
use crate::wire;

/// The run id, under its current or its deprecated name.
#[derive(Deserialize)]
pub(super) struct RunId {
    run_id: Option<String>,
    run_uuid: Option<String>,
}

impl RunId {
    fn get(&self) -> Result<&str, Error> {
        run_id_of(&self.run_id, &self.run_uuid)
    }
}

/// The run id from `run_id`, else from the deprecated `run_uuid`. (Request
/// structs spell both fields out: `#[serde(flatten)]` would buffer the whole
/// body, which costs more than the database on large batches.)
fn run_id_of<'a>(
    run_id: &'a Option<String>,
    run_uuid: &'a Option<String>,
) -> Result<&'a str, Error> {
    run_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .or(run_uuid.as_deref().filter(|id| !id.is_empty()))
        .ok_or_else(|| Error::missing_field("run_id"))
}

#[derive(Deserialize)]
pub(super) struct CreateRequest {
    experiment_id: Option<String>,
    user_id: Option<String>,
    run_name: Option<String>,
    #[serde(default, with = "wire::opt_int64")]
    start_time: Option<i64>,
    #[serde(default, deserialize_with = "one_or_many")]
    tags: Vec<Tag>,
}

pub(super) async fn create(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<CreateRequest>,
) -> ApiResult<Json<Value>> {
    let run = state
        .store
        .create_run(&CreateRun {
            experiment_id: req
                .experiment_id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| "0".to_string()),
            user_id: req.user_id,
            run_name: req.run_name,
            start_time: req.start_time,
            tags: req.tags,
        })
        .await?;
    Ok(Json(json!({ "run": run })))
}

pub(super) async fn get(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<RunId>,
) -> ApiResult<Json<Value>> {
    let run = state.store.get_run(req.get()?).await?;
    Ok(Json(json!({ "run": run })))
}

#[derive(Deserialize)]
pub(super) struct UpdateRequest {
    run_id: Option<String>,
    run_uuid: Option<String>,
    status: Option<RunStatus>,
    #[serde(default, with = "wire::opt_int64")]
    end_time: Option<i64>,
    run_name: Option<String>,
}

pub(super) async fn update(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<UpdateRequest>,
) -> ApiResult<Json<Value>> {
    let run_info = state
        .store
        .update_run(&UpdateRun {
            run_id: run_id_of(&req.run_id, &req.run_uuid)?.to_string(),
            status: req.status,
            end_time: req.end_time,
            run_name: req.run_name,
        })
        .await?;
    Ok(Json(json!({ "run_info": run_info })))
}

pub(super) async fn delete(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<RunId>,
) -> ApiResult<Json<Value>> {
    state.store.delete_run(req.get()?).await?;
    Ok(Json(json!({})))
}

pub(super) async fn restore(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<RunId>,
) -> ApiResult<Json<Value>> {
    state.store.restore_run(req.get()?).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub(super) struct SearchRequest {
    #[serde(default, deserialize_with = "one_or_many")]
    experiment_ids: Vec<String>,
    filter: Option<String>,
    run_view_type: Option<ViewType>,
    #[serde(default, with = "wire::opt_int64")]
    max_results: Option<i64>,
    #[serde(default, deserialize_with = "one_or_many")]
    order_by: Vec<String>,
    page_token: Option<String>,
}

pub(super) async fn search(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<SearchRequest>,
) -> ApiResult<Response> {
    let page = state
        .store
        .search_runs(&SearchRuns {
            experiment_ids: req.experiment_ids,
            filter: req.filter,
            run_view_type: req.run_view_type.unwrap_or_default(),
            max_results: req.max_results,
            order_by: req.order_by,
            page_token: req.page_token,
        })
        .await?;
    Ok(super::page_response("runs", page))
}

#[derive(Deserialize)]
pub(super) struct LogMetricRequest {
    run_id: Option<String>,
    run_uuid: Option<String>,
    key: Option<String>,
    #[serde(default, deserialize_with = "optional_double")]
    value: Option<f64>,
    #[serde(default, with = "wire::opt_int64")]
    timestamp: Option<i64>,
    #[serde(default, with = "wire::opt_int64")]
    step: Option<i64>,
    model_id: Option<String>,
    dataset_name: Option<String>,
    dataset_digest: Option<String>,
}

fn optional_double<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<f64>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("not a double")),
        Value::String(s) => wire::double::parse_double(&s)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("'{s}' is not a number"))),
        other => Err(serde::de::Error::custom(format!("{other} is not a number"))),
    }
}

pub(super) async fn log_metric(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<LogMetricRequest>,
) -> ApiResult<Json<Value>> {
    let run_id = run_id_of(&req.run_id, &req.run_uuid)?;
    let key = required(&req.key, "key")?;
    let value = req.value.ok_or_else(|| Error::missing_field("value"))?;
    let timestamp = req
        .timestamp
        .ok_or_else(|| Error::missing_field("timestamp"))?;
    let metric = Metric {
        key: key.to_string(),
        value,
        timestamp,
        step: req.step.unwrap_or(0),
        run_id: None,
        model_id: req.model_id,
        dataset_name: req.dataset_name,
        dataset_digest: req.dataset_digest,
    };
    state.store.log_metric(run_id, &metric).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub(super) struct KeyValueRequest {
    run_id: Option<String>,
    run_uuid: Option<String>,
    key: Option<String>,
    value: Option<String>,
}

pub(super) async fn log_param(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<KeyValueRequest>,
) -> ApiResult<Json<Value>> {
    let key = required(&req.key, "key")?;
    let value = req
        .value
        .as_deref()
        .ok_or_else(|| Error::missing_field("value"))?;
    state
        .store
        .log_param(
            run_id_of(&req.run_id, &req.run_uuid)?,
            &Param::new(key, value),
        )
        .await?;
    Ok(Json(json!({})))
}

pub(super) async fn set_tag(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<KeyValueRequest>,
) -> ApiResult<Json<Value>> {
    let key = required(&req.key, "key")?;
    let value = req
        .value
        .as_deref()
        .ok_or_else(|| Error::missing_field("value"))?;
    state
        .store
        .set_tag(
            run_id_of(&req.run_id, &req.run_uuid)?,
            &Tag::new(key, value),
        )
        .await?;
    Ok(Json(json!({})))
}

pub(super) async fn delete_tag(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<KeyValueRequest>,
) -> ApiResult<Json<Value>> {
    let key = required(&req.key, "key")?;
    state
        .store
        .delete_tag(run_id_of(&req.run_id, &req.run_uuid)?, key)
        .await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub(super) struct LogBatchRequest {
    run_id: Option<String>,
    run_uuid: Option<String>,
    #[serde(default)]
    metrics: Vec<Metric>,
    #[serde(default)]
    params: Vec<Param>,
    #[serde(default)]
    tags: Vec<Tag>,
}

/// MLflow's `MAX_BATCH_LOG_REQUEST_SIZE`.
const LOG_BATCH_MAX_BYTES: u64 = 1_000_000;

pub(super) async fn log_batch(
    State(state): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
    Mlflow(req): Mlflow<LogBatchRequest>,
) -> ApiResult<Json<Value>> {
    // MLflow refuses a batch over 1 MB with 400, not 413; bodies without a
    // length still meet the server-wide limit.
    let size = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(size) = size.filter(|size| *size > LOG_BATCH_MAX_BYTES) {
        return Err(Error::invalid(format!(
            "Batched logging API requests must be at most 1 MB in size. Got {size} bytes."
        ))
        .into());
    }
    state
        .store
        .log_batch(
            run_id_of(&req.run_id, &req.run_uuid)?,
            &req.metrics,
            &req.params,
            &req.tags,
        )
        .await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub(super) struct LogInputsRequest {
    run_id: Option<String>,
    run_uuid: Option<String>,
    #[serde(default)]
    datasets: Vec<DatasetInput>,
    #[serde(default)]
    models: Vec<ModelInput>,
}

pub(super) async fn log_inputs(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<LogInputsRequest>,
) -> ApiResult<Json<Value>> {
    state
        .store
        .log_inputs(
            run_id_of(&req.run_id, &req.run_uuid)?,
            &req.datasets,
            &req.models,
        )
        .await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub(super) struct LogOutputsRequest {
    run_id: Option<String>,
    run_uuid: Option<String>,
    #[serde(default)]
    models: Vec<ModelOutput>,
}

pub(super) async fn log_outputs(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<LogOutputsRequest>,
) -> ApiResult<Json<Value>> {
    state
        .store
        .log_outputs(run_id_of(&req.run_id, &req.run_uuid)?, &req.models)
        .await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub(super) struct HistoryRequest {
    run_id: Option<String>,
    run_uuid: Option<String>,
    metric_key: Option<String>,
    page_token: Option<String>,
    #[serde(default, with = "wire::opt_int64")]
    max_results: Option<i64>,
}

pub(super) async fn get_history(
    State(state): State<Arc<AppState>>,
    Mlflow(req): Mlflow<HistoryRequest>,
) -> ApiResult<Response> {
    let key = required(&req.metric_key, "metric_key")?;
    let page = state
        .store
        .get_metric_history(
            run_id_of(&req.run_id, &req.run_uuid)?,
            key,
            req.page_token.as_deref(),
            req.max_results,
        )
        .await?;
    Ok(super::page_response("metrics", page))
}
