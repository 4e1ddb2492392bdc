//! MLflow 3 logged models in the SQL store.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::filters::{MissingTag, direction, push_comparison, push_key_value};
use super::rows::{Sql, limits, new_hex_id, parse_experiment_id, validate_key, validate_length};
use super::{SqlStore, page_size};
use crate::entities::*;
use crate::error::{Error, Result};
use crate::search::{self, Entity, SearchKind};
use crate::store::{CreateLoggedModel, LoggedModelStore, SearchLoggedModels};
use crate::wire::now_ms;

const MODEL_COLUMNS: &str = "lm.model_id, lm.experiment_id, lm.name, lm.artifact_uri, lm.status, \
    lm.creation_timestamp_ms, lm.last_updated_timestamp_ms, lm.model_type, lm.source_run_id, lm.status_message";

impl SqlStore {
    async fn logged_models_from_rows(&self, rows: &[AnyRow]) -> Result<Vec<LoggedModel>> {
        let mut models = Vec::with_capacity(rows.len());
        for row in rows {
            let experiment_id: i64 = row.try_get("experiment_id")?;
            let status: String = row.try_get("status")?;
            let model_id: String = row.try_get("model_id")?;
            let tags = self
                .fetch_key_values(
                    sqlx::query(
                        "SELECT key, value FROM logged_model_tags WHERE model_id = $1 ORDER BY key",
                    )
                    .bind(model_id.clone()),
                )
                .await?;
            let params: Vec<Param> = self.fetch_key_values(sqlx::query(
                "SELECT key, value FROM logged_model_params WHERE model_id = $1 ORDER BY key",
            )
            .bind(model_id.clone())).await?
                .into_iter()
                .map(|tag| Param { key: tag.key, value: tag.value })
                .collect();
            let mut metrics = Vec::new();
            for r in sqlx::query(
                "SELECT run_id, key, value, is_nan, step, timestamp, dataset_name, dataset_digest FROM model_metrics WHERE model_id = $1 ORDER BY key, step",
            )
            .bind(model_id.clone())
            .fetch_all(&self.pool)
            .await?
            {
                metrics.push(Metric {
                    key: r.try_get("key")?,
                    value: super::rows::decode_double(&r, "value", "is_nan")?,
                    timestamp: r.try_get("timestamp")?,
                    step: r.try_get("step")?,
                    run_id: r.try_get("run_id")?,
                    model_id: Some(model_id.clone()),
                    dataset_name: r.try_get("dataset_name")?,
                    dataset_digest: r.try_get("dataset_digest")?,
                });
            }
            models.push(LoggedModel {
                info: LoggedModelInfo {
                    model_id,
                    experiment_id: experiment_id.to_string(),
                    name: row.try_get("name")?,
                    creation_timestamp_ms: row.try_get("creation_timestamp_ms")?,
                    last_updated_timestamp_ms: row.try_get("last_updated_timestamp_ms")?,
                    artifact_uri: row.try_get("artifact_uri")?,
                    status: LoggedModelStatus::parse(&status).unwrap_or_default(),
                    creator_id: None,
                    model_type: row.try_get("model_type")?,
                    source_run_id: row.try_get("source_run_id")?,
                    status_message: row.try_get("status_message")?,
                    tags,
                },
                data: LoggedModelData { params, metrics },
            });
        }
        Ok(models)
    }

    async fn require_logged_model(&self, model_id: &str) -> Result<()> {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT model_id FROM logged_models WHERE model_id = $1 AND lifecycle_stage = 'active'",
        )
        .bind(model_id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        found.map(|_| ()).ok_or_else(|| {
            Error::not_found(format!("Logged model with ID '{model_id}' not found."))
        })
    }
}

#[async_trait]
impl LoggedModelStore for SqlStore {
    async fn create_logged_model(&self, request: &CreateLoggedModel) -> Result<LoggedModel> {
        let experiment_id = parse_experiment_id(&request.experiment_id)?;
        let location = self.require_active_experiment(experiment_id).await?;
        for tag in &request.tags {
            validate_key("tag", &tag.key)?;
            validate_length("Tag", &tag.key, &tag.value, limits::MAX_TAG_VAL_LENGTH)?;
        }
        let model_id = format!("m-{}", new_hex_id());
        let name = request
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "model".to_string());
        let artifact_uri = format!(
            "{}/models/{model_id}/artifacts",
            location.trim_end_matches('/')
        );
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO logged_models (model_id, experiment_id, name, artifact_uri, status, creation_timestamp_ms,
                last_updated_timestamp_ms, model_type, source_run_id, lifecycle_stage)
             VALUES ($1, $2, $3, $4, 'LOGGED_MODEL_PENDING', $5, $5, $6, $7, 'active')",
        )
        .bind(model_id.clone())
        .bind(experiment_id)
        .bind(name)
        .bind(artifact_uri)
        .bind(now)
        .bind(request.model_type.clone())
        .bind(request.source_run_id.clone())
        .execute(&mut *tx.tx)
        .await?;
        for tag in &request.tags {
            sqlx::query(
                "INSERT INTO logged_model_tags (model_id, key, value) VALUES ($1, $2, $3)
                 ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
            )
            .bind(model_id.clone())
            .bind(tag.key.clone())
            .bind(tag.value.clone())
            .execute(&mut *tx.tx)
            .await?;
        }
        for param in &request.params {
            sqlx::query(
                "INSERT INTO logged_model_params (model_id, key, value) VALUES ($1, $2, $3)
                 ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
            )
            .bind(model_id.clone())
            .bind(param.key.clone())
            .bind(param.value.clone())
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.commit().await?;
        self.get_logged_model(&model_id).await
    }

    async fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MODEL_COLUMNS} FROM logged_models lm WHERE lm.model_id = $1 AND lm.lifecycle_stage = 'active'"
        )))
        .bind(model_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        self.logged_models_from_rows(&rows)
            .await?
            .pop()
            .ok_or_else(|| {
                Error::not_found(format!("Logged model with ID '{model_id}' not found."))
            })
    }

    async fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel> {
        self.require_logged_model(model_id).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE logged_models SET status = $1, last_updated_timestamp_ms = $2 WHERE model_id = $3")
            .bind(status.as_str())
            .bind(now_ms())
            .bind(model_id.to_string())
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await?;
        self.get_logged_model(model_id).await
    }

    async fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag]) -> Result<()> {
        self.require_logged_model(model_id).await?;
        for tag in tags {
            validate_key("tag", &tag.key)?;
            validate_length("Tag", &tag.key, &tag.value, limits::MAX_TAG_VAL_LENGTH)?;
        }
        let mut tx = self.begin_write().await?;
        for tag in tags {
            sqlx::query(
                "INSERT INTO logged_model_tags (model_id, key, value) VALUES ($1, $2, $3)
                 ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
            )
            .bind(model_id.to_string())
            .bind(tag.key.clone())
            .bind(tag.value.clone())
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.commit().await
    }

    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()> {
        self.require_logged_model(model_id).await?;
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM logged_model_tags WHERE model_id = $1 AND key = $2")
            .bind(model_id.to_string())
            .bind(key.to_string())
            .execute(&mut *tx.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!(
                "No tag with key '{key}' on logged model '{model_id}'"
            )));
        }
        tx.commit().await
    }

    async fn delete_logged_model(&self, model_id: &str) -> Result<()> {
        self.require_logged_model(model_id).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_timestamp_ms = $1 WHERE model_id = $2")
            .bind(now_ms())
            .bind(model_id.to_string())
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await
    }

    async fn search_logged_models(&self, query: &SearchLoggedModels) -> Result<Page<LoggedModel>> {
        let size = page_size(query.max_results, 100, 50000)?;
        let offset = search::decode_offset(query.page_token.as_deref())?;
        let comparisons = search::parse_filter(
            SearchKind::LoggedModels,
            query.filter.as_deref().unwrap_or(""),
        )?;
        let mut sql = Sql::new(&format!(
            "SELECT {MODEL_COLUMNS} FROM logged_models lm WHERE lm.lifecycle_stage = 'active'"
        ));
        if !query.experiment_ids.is_empty() {
            sql.push(" AND lm.experiment_id IN (");
            for (idx, id) in query.experiment_ids.iter().enumerate() {
                if idx > 0 {
                    sql.push(", ");
                }
                sql.bind(parse_experiment_id(id)?);
            }
            sql.push(")");
        }
        for comparison in &comparisons {
            sql.push(" AND ");
            match comparison.entity {
                Entity::Tag => push_key_value(
                    self,
                    &mut sql,
                    "logged_model_tags",
                    "kv.model_id = lm.model_id",
                    comparison,
                    MissingTag::NoMatch,
                )?,
                Entity::Param => push_key_value(
                    self,
                    &mut sql,
                    "logged_model_params",
                    "kv.model_id = lm.model_id",
                    comparison,
                    MissingTag::NoMatch,
                )?,
                Entity::Metric => {
                    sql.push("EXISTS (SELECT 1 FROM model_metrics m WHERE m.model_id = lm.model_id AND m.key = ");
                    sql.bind(comparison.key.clone())
                        .push(" AND m.is_nan = 0 AND ");
                    push_comparison(
                        self,
                        &mut sql,
                        "m.value",
                        comparison.comparator,
                        &comparison.value,
                    )?;
                    sql.push(")");
                }
                Entity::Attribute => {
                    let column = logged_model_column(&comparison.key)?;
                    push_comparison(
                        self,
                        &mut sql,
                        column,
                        comparison.comparator,
                        &comparison.value,
                    )?;
                }
                Entity::Dataset => {
                    return Err(Error::invalid("Cannot filter logged models by dataset"));
                }
            }
        }
        sql.push(" ORDER BY ");
        for clause in &query.order_by {
            let order = search::parse_order_by(SearchKind::LoggedModels, clause)?;
            if order.entity != Entity::Attribute {
                return Err(Error::invalid(format!(
                    "Cannot order logged models by '{clause}'"
                )));
            }
            sql.push(&format!(
                "{} {}, ",
                logged_model_column(&order.key)?,
                direction(order.ascending)
            ));
        }
        sql.push("lm.creation_timestamp_ms DESC, lm.model_id ASC")
            .limit(size + 1, Some(offset as i64));
        let mut rows = sql.query().fetch_all(&self.pool).await?;
        let has_more = rows.len() as i64 > size;
        rows.truncate(size as usize);
        let items = self.logged_models_from_rows(&rows).await?;
        Ok(Page {
            items,
            next_page_token: has_more.then(|| search::encode_offset(offset + size as u64)),
        })
    }
}

fn logged_model_column(key: &str) -> Result<&'static str> {
    Ok(match key {
        "name" => "lm.name",
        "model_id" => "lm.model_id",
        "status" => "lm.status",
        "source_run_id" => "lm.source_run_id",
        "model_type" => "lm.model_type",
        "creation_timestamp" | "creation_time" | "creation_timestamp_ms" => {
            "lm.creation_timestamp_ms"
        }
        "last_updated_timestamp" | "last_updated_timestamp_ms" => "lm.last_updated_timestamp_ms",
        other => {
            return Err(Error::invalid(format!(
                "Invalid attribute key '{other}' for logged models"
            )));
        }
    })
}
