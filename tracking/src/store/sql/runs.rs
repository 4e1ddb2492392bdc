//! Runs, their params, metrics, tags, inputs and outputs in the SQL store.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::Row;

use super::filters::push_comparison;
use super::rows::{
    Sql, generate_run_name, limits, new_hex_id, parse_experiment_id, validate_key, validate_length,
};
use super::run_cache::RunCache;
use super::{SqlStore, WriteTx, page_size};
use crate::entities::*;
use crate::error::{Error, Result};
use crate::search::{self, Comparator, Comparison, Entity};
use crate::store::{CreateRun, RunStore, SearchRuns, UpdateRun};
use crate::wire::now_ms;

/// The tag MLflow mirrors the run name into.
pub(crate) const RUN_NAME_TAG: &str = "mlflow.runName";

/// Rows inserted per multi-row INSERT; keeps well under SQLite's variable limit.
const ROWS_PER_INSERT: usize = 200;

/// A `runs` row as `fetch_json_rows` returns it.
#[derive(serde::Deserialize)]
pub(super) struct RunInfoRow(
    pub(super) String,
    pub(super) i64,
    pub(super) String,
    pub(super) String,
    pub(super) String,
    pub(super) Option<i64>,
    pub(super) Option<i64>,
    pub(super) String,
    pub(super) String,
);

/// A `latest_metrics` row: run id, key, value (MLflow's double encoding), step, timestamp.
#[derive(serde::Deserialize)]
pub(super) struct LatestMetricRow(
    pub(super) String,
    pub(super) String,
    #[serde(with = "crate::wire::double")] pub(super) f64,
    pub(super) i64,
    pub(super) i64,
);

/// On PostgreSQL, one statement answers every part of a set of runs as a JSON
/// object `{table: [[columns…], …]}`, the ids coming as one JSON parameter
/// ($1): each statement is a round trip, so loading runs is one whatever their
/// number. (SQLite reads the same parts row by row on its direct connection.)
/// NaN and ±Infinity come back as MLflow's strings, since JSON has no such
/// numbers.
static RUN_BUNDLE_SQL_POSTGRES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let value = "CASE WHEN is_nan != 0 OR value IS NULL THEN to_json('NaN'::text) \
                 WHEN value = 'Infinity'::float8 THEN to_json('Infinity'::text) \
                 WHEN value = '-Infinity'::float8 THEN to_json('-Infinity'::text) ELSE to_json(value) END";
    let parts = [
        ("runs", "run_id, experiment_id, run_name, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage".to_string()),
        ("params", "run_id, key, value".to_string()),
        ("tags", "run_id, key, value".to_string()),
        ("latest_metrics", format!("run_id, key, {value}, step, timestamp")),
        ("dataset_inputs", "run_id, name, digest, source_type, source, schema, profile, tags_json".to_string()),
        ("model_inputs", "run_id, model_id".to_string()),
        ("model_outputs", "run_id, model_id, step".to_string()),
    ];
    let members = parts
        .iter()
        .map(|(table, columns)| {
            format!(
                "'{table}', (SELECT COALESCE(json_agg(json_build_array({columns})), '[]'::json) FROM {table} \
                 WHERE run_id IN (SELECT jsonb_array_elements_text($1::jsonb)))"
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!("SELECT json_build_object({members})::text")
});

/// Everything about a set of runs: what the direct SQLite reads or the
/// PostgreSQL bundle statement return.
#[derive(serde::Deserialize)]
pub(super) struct RunBundle {
    pub(super) runs: Vec<RunInfoRow>,
    pub(super) params: Vec<(String, String, String)>,
    pub(super) tags: Vec<(String, String, String)>,
    pub(super) latest_metrics: Vec<LatestMetricRow>,
    pub(super) dataset_inputs: Vec<DatasetRow>,
    pub(super) model_inputs: Vec<(String, String)>,
    pub(super) model_outputs: Vec<(String, String, i64)>,
}

/// A `dataset_inputs` row.
#[derive(serde::Deserialize)]
pub(super) struct DatasetRow(
    pub(super) String,
    pub(super) String,
    pub(super) String,
    pub(super) String,
    pub(super) String,
    pub(super) Option<String>,
    pub(super) Option<String>,
    pub(super) String,
);

/// Appends `IN ($1, $2, …)` for a list of strings.
fn push_in_list(sql: &mut Sql, items: &[String]) {
    sql.push("(");
    for (idx, item) in items.iter().enumerate() {
        if idx > 0 {
            sql.push(", ");
        }
        sql.bind(item.clone());
    }
    sql.push(")");
}

impl SqlStore {
    /// Loads whole runs, in the order of `run_ids`: one query per part, each
    /// taking the ids as one JSON parameter and answering one JSON row, because
    /// per-parameter and per-row costs dominate small queries here.
    pub(crate) async fn load_runs(&self, run_ids: &[String]) -> Result<Vec<Run>> {
        if run_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::to_string(run_ids).map_err(|e| Error::internal(e.to_string()))?;
        let bundle = match &self.direct {
            Some(direct) => direct.load_run_bundle(&ids)?,
            None => {
                let text: String = sqlx::query_scalar(RUN_BUNDLE_SQL_POSTGRES.as_str())
                    .bind(ids)
                    .fetch_one(&self.pool)
                    .await?;
                serde_json::from_str::<RunBundle>(&text)
                    .map_err(|e| Error::internal(format!("cannot decode runs: {e}")))?
            }
        };
        let infos = bundle.runs;
        let mut runs: HashMap<String, Run> = HashMap::with_capacity(infos.len());
        for RunInfoRow(
            run_id,
            experiment_id,
            run_name,
            user_id,
            status,
            start_time,
            end_time,
            artifact_uri,
            stage,
        ) in infos
        {
            let info = RunInfo {
                run_uuid: run_id.clone(),
                run_id: run_id.clone(),
                run_name,
                experiment_id: experiment_id.to_string(),
                user_id,
                status: RunStatus::parse(&status).unwrap_or_default(),
                start_time,
                end_time,
                artifact_uri,
                lifecycle_stage: stage,
            };
            runs.insert(
                run_id,
                Run {
                    info,
                    data: RunData::default(),
                    inputs: RunInputs::default(),
                    outputs: RunOutputs::default(),
                },
            );
        }

        for (run_id, key, value) in bundle.params {
            if let Some(run) = runs.get_mut(&run_id) {
                run.data.params.push(Param { key, value });
            }
        }
        for (run_id, key, value) in bundle.tags {
            if let Some(run) = runs.get_mut(&run_id) {
                run.data.tags.push(Tag { key, value });
            }
        }
        for LatestMetricRow(run_id, key, value, step, timestamp) in bundle.latest_metrics {
            if let Some(run) = runs.get_mut(&run_id) {
                let mut metric = Metric::new(key, value, step);
                metric.timestamp = timestamp;
                run.data.metrics.push(metric);
            }
        }
        for DatasetRow(run_id, name, digest, source_type, source, schema, profile, tags_json) in
            bundle.dataset_inputs
        {
            if let Some(run) = runs.get_mut(&run_id) {
                run.inputs.dataset_inputs.push(DatasetInput {
                    tags: serde_json::from_str(&tags_json).unwrap_or_default(),
                    dataset: Dataset {
                        name,
                        digest,
                        source_type,
                        source,
                        schema,
                        profile,
                    },
                });
            }
        }
        for (run_id, model_id) in bundle.model_inputs {
            if let Some(run) = runs.get_mut(&run_id) {
                run.inputs.model_inputs.push(ModelInput { model_id });
            }
        }
        for (run_id, model_id, step) in bundle.model_outputs {
            if let Some(run) = runs.get_mut(&run_id) {
                run.outputs
                    .model_outputs
                    .push(ModelOutput { model_id, step });
            }
        }
        for run in runs.values_mut() {
            run.data.params.sort_by(|a, b| a.key.cmp(&b.key));
            run.data.tags.sort_by(|a, b| a.key.cmp(&b.key));
            run.data.metrics.sort_by(|a, b| a.key.cmp(&b.key));
        }
        Ok(run_ids.iter().filter_map(|id| runs.remove(id)).collect())
    }

    /// Runs by `(id, revision)`, in order: from the cache where it holds that
    /// revision, the rest loaded (and remembered). A run deleted since the id
    /// query is left out, as `load_runs` leaves it out.
    async fn load_runs_through(&self, cache: &RunCache, ids: &[(String, i64)]) -> Result<Vec<Run>> {
        let mut found = cache.get(ids);
        let missing: Vec<String> = ids
            .iter()
            .zip(&found)
            .filter(|(_, run)| run.is_none())
            .map(|((id, _), _)| id.clone())
            .collect();
        if !missing.is_empty() {
            let mut loaded: HashMap<String, Run> = self
                .load_runs(&missing)
                .await?
                .into_iter()
                .map(|run| (run.info.run_id.clone(), run))
                .collect();
            let mut fresh = Vec::with_capacity(loaded.len());
            for ((id, revision), slot) in ids.iter().zip(found.iter_mut()) {
                if slot.is_none()
                    && let Some(run) = loaded.remove(id)
                {
                    fresh.push((*revision, run.clone()));
                    *slot = Some(run);
                }
            }
            cache.put(fresh);
        }
        Ok(found.into_iter().flatten().collect())
    }

    /// Fails unless the run exists and is active; returns its experiment id.
    pub(crate) async fn require_active_run(
        &self,
        tx: &mut WriteTx<'_>,
        run_id: &str,
    ) -> Result<i64> {
        let row = sqlx::query("SELECT experiment_id, lifecycle_stage FROM runs WHERE run_id = $1")
            .bind(run_id.to_string())
            .fetch_optional(&mut *tx.tx)
            .await?
            .ok_or_else(|| Error::not_found(format!("Run with id={run_id} not found")))?;
        let stage: String = row.try_get("lifecycle_stage")?;
        if stage != LIFECYCLE_ACTIVE {
            return Err(Error::invalid(format!(
                "The run {run_id} must be in the 'active' state. Current state is {stage}."
            )));
        }
        Ok(row.try_get("experiment_id")?)
    }

    /// Inserts metric rows and moves each key's latest value forward.
    /// Logs metrics as one statement when nothing else must change with them
    /// (no params, tags or logged-model links): the chunk insert checks the
    /// run is active, and a trigger moves the latest values, so the write is
    /// atomic without a transaction's extra round trips.
    async fn log_metrics_only(&self, run_id: &str, metrics: &[Metric]) -> Result<()> {
        let _guard = self.lock_writer().await;
        let n_written = match self.insert_metric_chunks_directly(run_id, metrics) {
            Some(written) => written?,
            None => self
                .metric_chunk_insert(run_id, metrics)?
                .execute(&self.pool)
                .await?
                .rows_affected() as usize,
        };
        if n_written == 0 && !metrics.is_empty() {
            // Nothing written: say why, as a transaction would have.
            let mut tx = self.begin_write_unlocked().await?;
            self.require_active_run(&mut tx, run_id).await?;
            return Err(Error::internal(format!(
                "metrics for run {run_id} were not written"
            )));
        }
        Ok(())
    }

    /// Inserts params; re-logging the same value is fine, a different one is not.
    async fn write_params(
        &self,
        tx: &mut WriteTx<'_>,
        run_id: &str,
        params: &[Param],
    ) -> Result<()> {
        if params.is_empty() {
            return Ok(());
        }
        let mut sql = Sql::new("SELECT key, value FROM params WHERE run_id = ");
        sql.bind(run_id.to_string()).push(" AND key IN ");
        let keys: Vec<String> = params.iter().map(|p| p.key.clone()).collect();
        push_in_list(&mut sql, &keys);
        let mut existing: HashMap<String, String> = HashMap::new();
        for row in sql.query().fetch_all(&mut *tx.tx).await? {
            existing.insert(row.try_get("key")?, row.try_get("value")?);
        }
        let mut fresh: Vec<&Param> = Vec::new();
        for param in params {
            let previous = existing
                .get(&param.key)
                .or_else(|| fresh.iter().find(|p| p.key == param.key).map(|p| &p.value));
            match previous {
                Some(old) if *old != param.value => {
                    return Err(Error::invalid(format!(
                        "Changing param values is not allowed. Param with key='{}' was already logged with value='{old}' \
                         for run ID='{run_id}'. Attempted logging new value '{}'.",
                        param.key, param.value
                    )));
                }
                Some(_) => {}
                None => fresh.push(param),
            }
        }
        for chunk in fresh.chunks(ROWS_PER_INSERT) {
            let mut sql = Sql::new("INSERT INTO params (run_id, key, value) VALUES ");
            for (idx, param) in chunk.iter().enumerate() {
                sql.push(if idx == 0 { "(" } else { ", (" });
                sql.bind(run_id.to_string())
                    .push(", ")
                    .bind(param.key.clone())
                    .push(", ")
                    .bind(param.value.clone());
                sql.push(")");
            }
            sql.query().execute(&mut *tx.tx).await?;
        }
        Ok(())
    }

    /// Upserts tags; `mlflow.runName` also renames the run.
    async fn write_tags(&self, tx: &mut WriteTx<'_>, run_id: &str, tags: &[Tag]) -> Result<()> {
        for chunk in tags.chunks(ROWS_PER_INSERT) {
            let mut sql = Sql::new("INSERT INTO tags (run_id, key, value) VALUES ");
            for (idx, tag) in chunk.iter().enumerate() {
                sql.push(if idx == 0 { "(" } else { ", (" });
                sql.bind(run_id.to_string())
                    .push(", ")
                    .bind(tag.key.clone())
                    .push(", ")
                    .bind(tag.value.clone());
                sql.push(")");
            }
            sql.push(" ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value");
            sql.query().execute(&mut *tx.tx).await?;
        }
        if let Some(name_tag) = tags.iter().rev().find(|t| t.key == RUN_NAME_TAG) {
            sqlx::query("UPDATE runs SET run_name = $1 WHERE run_id = $2")
                .bind(name_tag.value.clone())
                .bind(run_id.to_string())
                .execute(&mut *tx.tx)
                .await?;
        }
        Ok(())
    }

    async fn set_run_stage(&self, run_id: &str, from: &str, to: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let stage: Option<String> =
            sqlx::query_scalar("SELECT lifecycle_stage FROM runs WHERE run_id = $1")
                .bind(run_id.to_string())
                .fetch_optional(&mut *tx.tx)
                .await?;
        match stage {
            None => return Err(Error::not_found(format!("Run with id={run_id} not found"))),
            Some(stage) if stage == to => return Ok(()),
            Some(stage) if stage != from => {
                return Err(Error::invalid(format!(
                    "The run {run_id} is '{stage}' and cannot become '{to}'."
                )));
            }
            Some(_) => {}
        }
        let deleted_time = (to == LIFECYCLE_DELETED).then(now_ms);
        sqlx::query("UPDATE runs SET lifecycle_stage = $1, deleted_time = $2 WHERE run_id = $3")
            .bind(to)
            .bind(deleted_time)
            .bind(run_id.to_string())
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await
    }

    /// Appends the SQL for one run filter clause on a param, tag, attribute
    /// or dataset (metric filters are joins, written by the search builder).
    pub(super) fn push_run_filter(&self, sql: &mut Sql, comparison: &Comparison) -> Result<()> {
        match comparison.entity {
            Entity::Metric => {
                return Err(Error::internal(
                    "metric filters are joins, not WHERE clauses",
                ));
            }
            Entity::Param | Entity::Tag => {
                let table = if comparison.entity == Entity::Param {
                    "params"
                } else {
                    "tags"
                };
                let negate = comparison.comparator == Comparator::IsNull;
                sql.push(if negate {
                    "NOT EXISTS (SELECT 1 FROM "
                } else {
                    "EXISTS (SELECT 1 FROM "
                });
                sql.push(table)
                    .push(" kv WHERE kv.run_id = r.run_id AND kv.key = ");
                sql.bind(comparison.key.clone());
                if !matches!(
                    comparison.comparator,
                    Comparator::IsNull | Comparator::IsNotNull
                ) {
                    sql.push(" AND ");
                    push_comparison(
                        self,
                        sql,
                        "kv.value",
                        comparison.comparator,
                        &comparison.value,
                    )?;
                }
                sql.push(")");
            }
            Entity::Attribute => {
                let column = match comparison.key.as_str() {
                    "run_id" => "r.run_id",
                    "run_name" => "r.run_name",
                    "status" => "r.status",
                    "user_id" => "r.user_id",
                    "artifact_uri" => "r.artifact_uri",
                    "lifecycle_stage" => "r.lifecycle_stage",
                    "start_time" => "r.start_time",
                    "end_time" => "r.end_time",
                    other => {
                        return Err(Error::invalid(format!(
                            "Invalid attribute key '{other}' specified."
                        )));
                    }
                };
                push_comparison(self, sql, column, comparison.comparator, &comparison.value)?;
            }
            Entity::Dataset => {
                let column = match comparison.key.as_str() {
                    "name" => "d.name",
                    "digest" => "d.digest",
                    "context" => "d.context",
                    other => {
                        return Err(Error::invalid(format!(
                            "Invalid dataset key '{other}' specified."
                        )));
                    }
                };
                sql.push("EXISTS (SELECT 1 FROM dataset_inputs d WHERE d.run_id = r.run_id AND ");
                push_comparison(self, sql, column, comparison.comparator, &comparison.value)?;
                sql.push(")");
            }
        }
        Ok(())
    }
}

fn validate_metric(metric: &Metric) -> Result<()> {
    validate_key("metric", &metric.key)
}

fn validate_param(param: &Param) -> Result<()> {
    validate_key("param", &param.key)?;
    validate_length(
        "Param",
        &param.key,
        &param.value,
        limits::MAX_PARAM_VAL_LENGTH,
    )
}

fn validate_tag(tag: &Tag) -> Result<()> {
    validate_key("tag", &tag.key)?;
    validate_length("Tag", &tag.key, &tag.value, limits::MAX_TAG_VAL_LENGTH)
}

/// MLflow's `log-batch` limits.
pub(crate) fn validate_batch(metrics: &[Metric], params: &[Param], tags: &[Tag]) -> Result<()> {
    if metrics.len() > limits::MAX_METRICS_PER_BATCH {
        return Err(Error::invalid(format!(
            "A batch logging request can contain at most {} metrics. Got {} metrics. Please split up metrics across multiple requests and try again.",
            limits::MAX_METRICS_PER_BATCH,
            metrics.len()
        )));
    }
    if params.len() > limits::MAX_PARAMS_TAGS_PER_BATCH {
        return Err(Error::invalid(format!(
            "A batch logging request can contain at most {} params. Got {} params. Please split up params across multiple requests and try again.",
            limits::MAX_PARAMS_TAGS_PER_BATCH,
            params.len()
        )));
    }
    if tags.len() > limits::MAX_PARAMS_TAGS_PER_BATCH {
        return Err(Error::invalid(format!(
            "A batch logging request can contain at most {} tags. Got {} tags. Please split up tags across multiple requests and try again.",
            limits::MAX_PARAMS_TAGS_PER_BATCH,
            tags.len()
        )));
    }
    let total = metrics.len() + params.len() + tags.len();
    if total > limits::MAX_ENTITIES_PER_BATCH {
        return Err(Error::invalid(format!(
            "A batch logging request can contain at most {} metrics, params, and tags in total. Got {total}.",
            limits::MAX_ENTITIES_PER_BATCH
        )));
    }
    metrics.iter().try_for_each(validate_metric)?;
    params.iter().try_for_each(validate_param)?;
    tags.iter().try_for_each(validate_tag)?;
    // MLflow refuses one batch that gives the same param two different values.
    for (idx, param) in params.iter().enumerate() {
        if let Some(other) = params[..idx]
            .iter()
            .find(|p| p.key == param.key && p.value != param.value)
        {
            return Err(Error::invalid(format!(
                "Duplicate parameter keys have been submitted: key '{}' with values '{}' and '{}'.",
                param.key, other.value, param.value
            )));
        }
    }
    Ok(())
}

#[async_trait]
impl RunStore for SqlStore {
    async fn create_run(&self, request: &CreateRun) -> Result<Run> {
        let experiment_id = parse_experiment_id(&request.experiment_id)?;
        request.tags.iter().try_for_each(validate_tag)?;
        let artifact_location = self.require_active_experiment(experiment_id).await?;
        let run_id = new_hex_id();
        let run_name = request
            .run_name
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| {
                request
                    .tags
                    .iter()
                    .find(|t| t.key == RUN_NAME_TAG)
                    .map(|t| t.value.clone())
            })
            .unwrap_or_else(generate_run_name);
        let user_id = request
            .user_id
            .clone()
            .filter(|u| !u.is_empty())
            .or_else(|| {
                request
                    .tags
                    .iter()
                    .find(|t| t.key == "mlflow.user")
                    .map(|t| t.value.clone())
            })
            .unwrap_or_default();
        let start_time = request.start_time.unwrap_or_else(now_ms);
        let artifact_uri = format!(
            "{}/{run_id}/artifacts",
            artifact_location.trim_end_matches('/')
        );
        let mut tags: Vec<Tag> = request
            .tags
            .iter()
            .filter(|t| t.key != RUN_NAME_TAG)
            .cloned()
            .collect();
        tags.push(Tag::new(RUN_NAME_TAG, run_name.clone()));

        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO runs (run_id, experiment_id, run_name, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage)
             VALUES ($1, $2, $3, $4, 'RUNNING', $5, NULL, $6, 'active')",
        )
        .bind(run_id.clone())
        .bind(experiment_id)
        .bind(run_name)
        .bind(user_id)
        .bind(start_time)
        .bind(artifact_uri)
        .execute(&mut *tx.tx)
        .await?;
        self.write_tags(&mut tx, &run_id, &tags).await?;
        tx.commit().await?;
        self.get_run(&run_id).await
    }

    async fn get_run(&self, run_id: &str) -> Result<Run> {
        self.load_runs(&[run_id.to_string()])
            .await?
            .pop()
            .ok_or_else(|| Error::not_found(format!("Run with id={run_id} not found")))
    }

    async fn update_run(&self, request: &UpdateRun) -> Result<RunInfo> {
        let mut tx = self.begin_write().await?;
        self.require_active_run(&mut tx, &request.run_id).await?;
        let mut sql = Sql::new("UPDATE runs SET run_id = run_id");
        if let Some(status) = request.status {
            sql.push(", status = ").bind(status.as_str().to_string());
        }
        if let Some(end_time) = request.end_time {
            sql.push(", end_time = ").bind(end_time);
        }
        if let Some(name) = request.run_name.as_ref().filter(|n| !n.is_empty()) {
            sql.push(", run_name = ").bind(name.clone());
        }
        sql.push(" WHERE run_id = ").bind(request.run_id.clone());
        sql.query().execute(&mut *tx.tx).await?;
        if let Some(name) = request.run_name.as_ref().filter(|n| !n.is_empty()) {
            self.write_tags(
                &mut tx,
                &request.run_id,
                &[Tag::new(RUN_NAME_TAG, name.clone())],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(self.get_run(&request.run_id).await?.info)
    }

    async fn delete_run(&self, run_id: &str) -> Result<()> {
        self.set_run_stage(run_id, LIFECYCLE_ACTIVE, LIFECYCLE_DELETED)
            .await
    }

    async fn restore_run(&self, run_id: &str) -> Result<()> {
        self.set_run_stage(run_id, LIFECYCLE_DELETED, LIFECYCLE_ACTIVE)
            .await
    }

    async fn search_runs(&self, query: &SearchRuns) -> Result<Page<Run>> {
        let size = page_size(query.max_results, 1000, 50000)?;
        let offset = search::decode_offset(query.page_token.as_deref())?;
        let (mut run_ids, has_more) = self.search_run_ids(query, size, offset as i64).await?;
        run_ids.truncate(size as usize);
        let items = match &self.run_cache {
            Some(cache) => self.load_runs_through(cache, &run_ids).await?,
            None => {
                let ids: Vec<String> = run_ids.into_iter().map(|(id, _)| id).collect();
                self.load_runs(&ids).await?
            }
        };
        Ok(Page {
            items,
            next_page_token: has_more.then(|| search::encode_offset(offset + size as u64)),
        })
    }

    async fn log_metric(&self, run_id: &str, metric: &Metric) -> Result<()> {
        validate_metric(metric)?;
        if metric.model_id.is_none() {
            return self
                .log_metrics_only(run_id, std::slice::from_ref(metric))
                .await;
        }
        let mut tx = self.begin_write().await?;
        self.require_active_run(&mut tx, run_id).await?;
        self.write_metric_chunks(&mut tx, run_id, std::slice::from_ref(metric))
            .await?;
        tx.commit().await
    }

    async fn log_param(&self, run_id: &str, param: &Param) -> Result<()> {
        validate_param(param)?;
        let mut tx = self.begin_write().await?;
        self.require_active_run(&mut tx, run_id).await?;
        self.write_params(&mut tx, run_id, std::slice::from_ref(param))
            .await?;
        tx.commit().await
    }

    async fn set_tag(&self, run_id: &str, tag: &Tag) -> Result<()> {
        validate_tag(tag)?;
        let mut tx = self.begin_write().await?;
        self.require_active_run(&mut tx, run_id).await?;
        self.write_tags(&mut tx, run_id, std::slice::from_ref(tag))
            .await?;
        tx.commit().await
    }

    async fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        self.require_active_run(&mut tx, run_id).await?;
        let done = sqlx::query("DELETE FROM tags WHERE run_id = $1 AND key = $2")
            .bind(run_id.to_string())
            .bind(key.to_string())
            .execute(&mut *tx.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!(
                "No tag with name: {key} in run with id {run_id}"
            )));
        }
        tx.commit().await
    }

    async fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()> {
        validate_batch(metrics, params, tags)?;
        if params.is_empty() && tags.is_empty() && metrics.iter().all(|m| m.model_id.is_none()) {
            return self.log_metrics_only(run_id, metrics).await;
        }
        let mut tx = self.begin_write().await?;
        self.require_active_run(&mut tx, run_id).await?;
        self.write_params(&mut tx, run_id, params).await?;
        self.write_tags(&mut tx, run_id, tags).await?;
        if !metrics.is_empty() {
            self.write_metric_chunks(&mut tx, run_id, metrics).await?;
        }
        tx.commit().await
    }

    async fn log_inputs(
        &self,
        run_id: &str,
        datasets: &[DatasetInput],
        models: &[ModelInput],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        self.require_active_run(&mut tx, run_id).await?;
        for input in datasets {
            if input.dataset.name.is_empty() || input.dataset.digest.is_empty() {
                return Err(Error::invalid("A dataset input needs a name and a digest."));
            }
            let context = input
                .tags
                .iter()
                .find(|t| t.key == "mlflow.data.context")
                .map(|t| t.value.clone());
            let tags_json =
                serde_json::to_string(&input.tags).map_err(|e| Error::internal(e.to_string()))?;
            sqlx::query(
                "INSERT INTO dataset_inputs (run_id, name, digest, source_type, source, schema, profile, tags_json, context)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (run_id, name, digest) DO UPDATE SET tags_json = excluded.tags_json, context = excluded.context",
            )
            .bind(run_id.to_string())
            .bind(input.dataset.name.clone())
            .bind(input.dataset.digest.clone())
            .bind(input.dataset.source_type.clone())
            .bind(input.dataset.source.clone())
            .bind(input.dataset.schema.clone())
            .bind(input.dataset.profile.clone())
            .bind(tags_json)
            .bind(context)
            .execute(&mut *tx.tx)
            .await?;
        }
        for model in models {
            sqlx::query("INSERT INTO model_inputs (run_id, model_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(run_id.to_string())
                .bind(model.model_id.clone())
                .execute(&mut *tx.tx)
                .await?;
        }
        tx.commit().await
    }

    async fn log_outputs(&self, run_id: &str, models: &[ModelOutput]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        self.require_active_run(&mut tx, run_id).await?;
        for model in models {
            sqlx::query(
                "INSERT INTO model_outputs (run_id, model_id, step) VALUES ($1, $2, $3)
                 ON CONFLICT (run_id, model_id) DO UPDATE SET step = excluded.step",
            )
            .bind(run_id.to_string())
            .bind(model.model_id.clone())
            .bind(model.step)
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.commit().await
    }

    async fn get_metric_history(
        &self,
        run_id: &str,
        metric_key: &str,
        page_token: Option<&str>,
        max_results: Option<i64>,
    ) -> Result<Page<Metric>> {
        let size = page_size(max_results, 25000, 100_000)?;
        let exists: Option<String> =
            sqlx::query_scalar("SELECT run_id FROM runs WHERE run_id = $1")
                .bind(run_id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        if exists.is_none() {
            return Err(Error::not_found(format!("Run with id={run_id} not found")));
        }
        let (items, next_page_token) = self
            .read_history_page(run_id, metric_key, page_token, size as usize)
            .await?;
        Ok(Page {
            items,
            next_page_token,
        })
    }
}
