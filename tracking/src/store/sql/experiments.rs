//! Experiments in the SQL store.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::filters::{MissingTag, direction, push_comparison, push_key_value};
use super::rows::{Sql, limits, parse_experiment_id, validate_key, validate_length};
use super::{SqlStore, page_size};
use crate::entities::{Experiment, LIFECYCLE_ACTIVE, LIFECYCLE_DELETED, Page, Tag, ViewType};
use crate::error::{Error, Result};
use crate::search::{self, Entity, SearchKind};
use crate::store::{ExperimentStore, SearchExperiments};
use crate::wire::now_ms;

const EXPERIMENT_COLUMNS: &str =
    "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time";

impl SqlStore {
    /// Creates experiment 0, "Default", the first time a database is opened.
    pub(super) async fn ensure_default_experiment(&self) -> Result<()> {
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT experiment_id FROM experiments WHERE experiment_id = 0")
                .fetch_optional(&self.pool)
                .await?;
        if exists.is_some() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let now = now_ms();
        sqlx::query(
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
             VALUES (0, 'Default', $1, 'active', $2, $2) ON CONFLICT DO NOTHING",
        )
        .bind(self.experiment_artifact_location(0))
        .bind(now)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }

    async fn experiment_row(&self, experiment_id: i64) -> Result<AnyRow> {
        let mut sql = Sql::new(&format!(
            "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE experiment_id = "
        ));
        sql.bind(experiment_id);
        sql.query()
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| {
                Error::not_found(format!("No Experiment with id={experiment_id} exists"))
            })
    }

    /// Loads experiments from rows, with their tags, in row order.
    async fn experiments_from_rows(&self, rows: Vec<AnyRow>) -> Result<Vec<Experiment>> {
        let mut experiments = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("experiment_id")?;
            experiments.push(Experiment {
                experiment_id: id.to_string(),
                name: row.try_get("name")?,
                artifact_location: row.try_get("artifact_location")?,
                lifecycle_stage: row.try_get("lifecycle_stage")?,
                creation_time: row.try_get("creation_time")?,
                last_update_time: row.try_get("last_update_time")?,
                tags: Vec::new(),
            });
        }
        if experiments.is_empty() {
            return Ok(experiments);
        }
        let mut sql = Sql::new(
            "SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id IN (",
        );
        for (idx, experiment) in experiments.iter().enumerate() {
            if idx > 0 {
                sql.push(", ");
            }
            sql.bind(parse_experiment_id(&experiment.experiment_id)?);
        }
        sql.push(") ORDER BY key");
        for row in sql.query().fetch_all(&self.pool).await? {
            let id: i64 = row.try_get("experiment_id")?;
            let id = id.to_string();
            if let Some(experiment) = experiments.iter_mut().find(|e| e.experiment_id == id) {
                experiment.tags.push(Tag {
                    key: row.try_get("key")?,
                    value: row.try_get("value")?,
                });
            }
        }
        Ok(experiments)
    }

    /// Fails unless the experiment exists and is active.
    pub(crate) async fn require_active_experiment(&self, experiment_id: i64) -> Result<String> {
        let row = self.experiment_row(experiment_id).await?;
        let stage: String = row.try_get("lifecycle_stage")?;
        if stage != LIFECYCLE_ACTIVE {
            return Err(Error::invalid(format!(
                "The experiment {experiment_id} must be in the 'active' state. Current state is {stage}."
            )));
        }
        Ok(row.try_get("artifact_location")?)
    }

    async fn set_experiment_stage(&self, experiment_id: &str, from: &str, to: &str) -> Result<()> {
        let id = parse_experiment_id(experiment_id)?;
        if id == 0 && to == LIFECYCLE_DELETED {
            return Err(Error::invalid(
                "Cannot delete the default experiment '0'. This is an internally reserved experiment.",
            ));
        }
        let row = self.experiment_row(id).await?;
        let stage: String = row.try_get("lifecycle_stage")?;
        if stage != from {
            return Err(Error::invalid(format!(
                "Cannot change the experiment {id} from '{from}' to '{to}': it is '{stage}'."
            )));
        }
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE experiments SET lifecycle_stage = $1, last_update_time = $2 WHERE experiment_id = $3")
            .bind(to)
            .bind(now)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        // Runs follow their experiment into and out of the trash, as in MLflow.
        let deleted_time = (to == LIFECYCLE_DELETED).then_some(now);
        sqlx::query("UPDATE runs SET lifecycle_stage = $1, deleted_time = $2 WHERE experiment_id = $3 AND lifecycle_stage = $4")
            .bind(to)
            .bind(deleted_time)
            .bind(id)
            .bind(from)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await
    }
}

fn validate_experiment_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid(
            "Invalid experiment name: ''. Experiment names may not be empty.",
        ));
    }
    if name.len() > limits::MAX_EXPERIMENT_NAME_LENGTH {
        return Err(Error::invalid(format!(
            "Experiment name exceeds the maximum length of {} characters",
            limits::MAX_EXPERIMENT_NAME_LENGTH
        )));
    }
    Ok(())
}

#[async_trait]
impl ExperimentStore for SqlStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> Result<String> {
        validate_experiment_name(name)?;
        for tag in tags {
            validate_key("tag", &tag.key)?;
            validate_length("Tag", &tag.key, &tag.value, limits::MAX_TAG_VAL_LENGTH)?;
        }
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let taken: Option<String> =
            sqlx::query_scalar("SELECT lifecycle_stage FROM experiments WHERE name = $1")
                .bind(name)
                .fetch_optional(&mut *tx.tx)
                .await?;
        if let Some(stage) = taken {
            let hint = if stage == LIFECYCLE_DELETED {
                " (it is deleted: restore it or choose another name)"
            } else {
                ""
            };
            return Err(Error::already_exists(format!(
                "Experiment '{name}' already exists{hint}."
            )));
        }
        let next_id: Option<i64> = sqlx::query_scalar("SELECT MAX(experiment_id) FROM experiments")
            .fetch_one(&mut *tx.tx)
            .await?;
        let id = next_id.map_or(0, |max| max + 1);
        let location = match artifact_location.filter(|l| !l.is_empty()) {
            Some(location) => location.trim_end_matches('/').to_string(),
            None => self.experiment_artifact_location(id),
        };
        sqlx::query(
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
             VALUES ($1, $2, $3, 'active', $4, $4)",
        )
        .bind(id)
        .bind(name)
        .bind(location)
        .bind(now)
        .execute(&mut *tx.tx)
        .await
        .map_err(|e| match Error::from(e) {
            err if err.code == crate::ErrorCode::ResourceAlreadyExists => {
                Error::already_exists(format!("Experiment '{name}' already exists."))
            }
            err => err,
        })?;
        for tag in tags {
            sqlx::query(
                "INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(tag.key.clone())
            .bind(tag.value.clone())
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id.to_string())
    }

    async fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        let id = parse_experiment_id(experiment_id)?;
        let row = self.experiment_row(id).await?;
        let mut experiments = self.experiments_from_rows(vec![row]).await?;
        experiments
            .pop()
            .ok_or_else(|| Error::not_found(format!("No Experiment with id={id} exists")))
    }

    async fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        let mut sql = Sql::new(&format!(
            "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE name = "
        ));
        sql.bind(name.to_string());
        let rows = sql.query().fetch_all(&self.pool).await?;
        Ok(self.experiments_from_rows(rows).await?.pop())
    }

    async fn search_experiments(&self, query: &SearchExperiments) -> Result<Page<Experiment>> {
        let size = page_size(query.max_results, 1000, 50000)?;
        let offset = search::decode_offset(query.page_token.as_deref())?;
        let comparisons = search::parse_filter(
            SearchKind::Experiments,
            query.filter.as_deref().unwrap_or(""),
        )?;
        let mut sql = Sql::new(&format!(
            "SELECT {EXPERIMENT_COLUMNS} FROM experiments e WHERE "
        ));
        match query.view_type {
            ViewType::ActiveOnly => sql.push("e.lifecycle_stage = 'active'"),
            ViewType::DeletedOnly => sql.push("e.lifecycle_stage = 'deleted'"),
            ViewType::All => sql.push("1 = 1"),
        };
        for comparison in &comparisons {
            sql.push(" AND ");
            match comparison.entity {
                Entity::Tag => push_key_value(
                    self,
                    &mut sql,
                    "experiment_tags",
                    "kv.experiment_id = e.experiment_id",
                    comparison,
                    MissingTag::NoMatch,
                )?,
                Entity::Attribute => {
                    let column = match comparison.key.as_str() {
                        "name" => "e.name",
                        // Ids are strings on the wire and integers here.
                        "experiment_id" => "CAST(e.experiment_id AS TEXT)",
                        "creation_time" => "e.creation_time",
                        "last_update_time" => "e.last_update_time",
                        other => {
                            return Err(Error::invalid(format!(
                                "Invalid attribute key '{other}' for experiments"
                            )));
                        }
                    };
                    push_comparison(
                        self,
                        &mut sql,
                        column,
                        comparison.comparator,
                        &comparison.value,
                    )?;
                }
                other => {
                    return Err(Error::invalid(format!(
                        "Cannot filter experiments by {other:?}"
                    )));
                }
            }
        }
        sql.push(" ORDER BY ");
        for clause in &query.order_by {
            let order = search::parse_order_by(SearchKind::Experiments, clause)?;
            let column = match order.key.as_str() {
                "name" => "e.name",
                "experiment_id" => "e.experiment_id",
                "creation_time" => "e.creation_time",
                "last_update_time" => "e.last_update_time",
                other => {
                    return Err(Error::invalid(format!(
                        "Invalid order_by key '{other}' for experiments"
                    )));
                }
            };
            sql.push(&format!("{column} {}, ", direction(order.ascending)));
        }
        sql.push("e.creation_time DESC, e.experiment_id ASC")
            .limit(size + 1, Some(offset as i64));
        let mut rows = sql.query().fetch_all(&self.pool).await?;
        let has_more = rows.len() as i64 > size;
        rows.truncate(size as usize);
        let items = self.experiments_from_rows(rows).await?;
        Ok(Page {
            items,
            next_page_token: has_more.then(|| search::encode_offset(offset + size as u64)),
        })
    }

    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        validate_experiment_name(new_name)?;
        let id = parse_experiment_id(experiment_id)?;
        self.require_active_experiment(id).await?;
        let mut tx = self.begin_write().await?;
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT experiment_id FROM experiments WHERE name = $1")
                .bind(new_name)
                .fetch_optional(&mut *tx.tx)
                .await?;
        if taken.is_some_and(|other| other != id) {
            return Err(Error::already_exists(format!(
                "Experiment '{new_name}' already exists."
            )));
        }
        sqlx::query(
            "UPDATE experiments SET name = $1, last_update_time = $2 WHERE experiment_id = $3",
        )
        .bind(new_name)
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }

    async fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        self.set_experiment_stage(experiment_id, LIFECYCLE_ACTIVE, LIFECYCLE_DELETED)
            .await
    }

    async fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        self.set_experiment_stage(experiment_id, LIFECYCLE_DELETED, LIFECYCLE_ACTIVE)
            .await
    }

    async fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> Result<()> {
        validate_key("tag", key)?;
        validate_length("Tag", key, value, limits::MAX_TAG_VAL_LENGTH)?;
        let id = parse_experiment_id(experiment_id)?;
        self.require_active_experiment(id).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
        )
        .bind(id)
        .bind(key)
        .bind(value)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }

    async fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()> {
        let id = parse_experiment_id(experiment_id)?;
        self.require_active_experiment(id).await?;
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM experiment_tags WHERE experiment_id = $1 AND key = $2")
            .bind(id)
            .bind(key)
            .execute(&mut *tx.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!(
                "No tag with name: {key} in experiment with id {id}"
            )));
        }
        tx.commit().await
    }
}
