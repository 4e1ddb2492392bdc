//! The model registry in the SQL store: registered models, versions, stages,
//! tags and aliases.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::filters::{MissingTag, direction, push_comparison, push_key_value};
use super::rows::{Sql, limits, parse_version, validate_key, validate_length};
use super::{SqlStore, page_size};
use crate::artifacts::ModelUri;
use crate::entities::*;
use crate::error::{Error, Result};
use crate::search::{self, Comparator, Entity, SearchKind, Value};
use crate::store::{CreateModelVersion, ModelRegistry, SearchModels};
use crate::wire::now_ms;

const VERSION_COLUMNS: &str = "mv.name, mv.version, mv.creation_timestamp, mv.last_updated_timestamp, mv.description, \
    mv.user_id, mv.current_stage, mv.source, mv.run_id, mv.run_link, mv.status, mv.status_message, mv.model_id";

fn not_found_model(name: &str) -> Error {
    Error::not_found(format!("Registered Model with name={name} not found"))
}

fn not_found_version(name: &str, version: &str) -> Error {
    Error::not_found(format!(
        "Model Version (name={name}, version={version}) not found"
    ))
}

fn validate_model_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid("Registered model name cannot be empty."));
    }
    if name.contains('/') || name.contains(':') || name.contains('@') {
        // `models:/NAME@ALIAS` and `models:/NAME/VERSION` must stay unambiguous.
        return Err(Error::invalid(format!(
            "Invalid registered model name '{name}': names may not contain '/', ':' or '@'."
        )));
    }
    Ok(())
}

fn validate_tag(key: &str, value: &str) -> Result<()> {
    validate_key("tag", key)?;
    validate_length("Tag", key, value, limits::MAX_TAG_VAL_LENGTH)
}

impl SqlStore {
    async fn require_registered_model(&self, name: &str) -> Result<()> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT name FROM registered_models WHERE name = $1")
                .bind(name.to_string())
                .fetch_optional(&self.pool)
                .await?;
        found.map(|_| ()).ok_or_else(|| not_found_model(name))
    }

    async fn versions_from_rows(&self, rows: &[AnyRow]) -> Result<Vec<ModelVersion>> {
        let mut versions = Vec::with_capacity(rows.len());
        for row in rows {
            let name: String = row.try_get("name")?;
            let number: i64 = row.try_get("version")?;
            let tags = self.fetch_key_values(sqlx::query("SELECT key, value FROM model_version_tags WHERE name = $1 AND version = $2 ORDER BY key")
                .bind(name.clone())
                .bind(number)).await?;
            let aliases: Vec<String> = sqlx::query_scalar(
                "SELECT alias FROM registered_model_aliases WHERE name = $1 AND version = $2 ORDER BY alias",
            )
            .bind(name.clone())
            .bind(number)
            .fetch_all(&self.pool)
            .await?;
            versions.push(ModelVersion {
                name,
                version: number.to_string(),
                creation_timestamp: row.try_get("creation_timestamp")?,
                last_updated_timestamp: row.try_get("last_updated_timestamp")?,
                user_id: row.try_get("user_id")?,
                current_stage: row.try_get("current_stage")?,
                description: row.try_get("description")?,
                source: row.try_get("source")?,
                run_id: row.try_get("run_id")?,
                status: row.try_get("status")?,
                status_message: row.try_get("status_message")?,
                tags,
                run_link: row.try_get("run_link")?,
                aliases,
                model_id: row.try_get("model_id")?,
            });
        }
        Ok(versions)
    }

    async fn registered_models_from_rows(&self, rows: &[AnyRow]) -> Result<Vec<RegisteredModel>> {
        let mut models = Vec::with_capacity(rows.len());
        for row in rows {
            let name: String = row.try_get("name")?;
            let tags = self
                .fetch_key_values(
                    sqlx::query(
                        "SELECT key, value FROM registered_model_tags WHERE name = $1 ORDER BY key",
                    )
                    .bind(name.clone()),
                )
                .await?;
            let aliases = sqlx::query("SELECT alias, version FROM registered_model_aliases WHERE name = $1 ORDER BY alias")
                .bind(name.clone())
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(RegisteredModelAlias { alias: r.try_get("alias")?, version: r.try_get::<i64, _>("version")?.to_string() })
                })
                .collect::<Result<Vec<_>>>()?;
            let latest_versions = self.latest_versions(&name, &[]).await?;
            models.push(RegisteredModel {
                name,
                creation_timestamp: row.try_get("creation_timestamp")?,
                last_updated_timestamp: row.try_get("last_updated_timestamp")?,
                user_id: row.try_get("user_id")?,
                description: row.try_get("description")?,
                latest_versions,
                tags,
                aliases,
            });
        }
        Ok(models)
    }

    /// The newest version in each stage (only the given stages when non-empty).
    async fn latest_versions(&self, name: &str, stages: &[String]) -> Result<Vec<ModelVersion>> {
        let mut sql = Sql::new(&format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions mv WHERE mv.name = $1 AND mv.version = \
             (SELECT MAX(v2.version) FROM model_versions v2 WHERE v2.name = mv.name AND v2.current_stage = mv.current_stage)"
        ));
        let _ = sql.arg(name.to_string());
        if !stages.is_empty() {
            let canonical = stages
                .iter()
                .map(|s| {
                    canonical_stage(s).map(str::to_string).ok_or_else(|| {
                        Error::invalid(format!("Invalid Model Version stage: {s}. Value must be one of None, Staging, Production, Archived."))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            sql.push(" AND mv.current_stage IN (");
            for (idx, stage) in canonical.into_iter().enumerate() {
                if idx > 0 {
                    sql.push(", ");
                }
                sql.bind(stage);
            }
            sql.push(")");
        }
        sql.push(" ORDER BY mv.version");
        let rows = sql.query().fetch_all(&self.pool).await?;
        self.versions_from_rows(&rows).await
    }

    async fn version_row(&self, name: &str, version: &str) -> Result<AnyRow> {
        let number = parse_version(version)?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions mv WHERE mv.name = $1 AND mv.version = $2"
        )))
        .bind(name.to_string())
        .bind(number)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| not_found_version(name, version))
    }

    async fn touch_model(&self, tx: &mut super::WriteTx<'_>, name: &str) -> Result<()> {
        sqlx::query("UPDATE registered_models SET last_updated_timestamp = $1 WHERE name = $2")
            .bind(now_ms())
            .bind(name.to_string())
            .execute(&mut *tx.tx)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl ModelRegistry for SqlStore {
    async fn create_registered_model(
        &self,
        name: &str,
        tags: &[Tag],
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        validate_model_name(name)?;
        for tag in tags {
            validate_tag(&tag.key, &tag.value)?;
        }
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let exists: Option<String> =
            sqlx::query_scalar("SELECT name FROM registered_models WHERE name = $1")
                .bind(name.to_string())
                .fetch_optional(&mut *tx.tx)
                .await?;
        if exists.is_some() {
            return Err(Error::already_exists(format!(
                "Registered Model (name={name}) already exists."
            )));
        }
        sqlx::query(
            "INSERT INTO registered_models (name, creation_timestamp, last_updated_timestamp, description) VALUES ($1, $2, $2, $3)",
        )
        .bind(name.to_string())
        .bind(now)
        .bind(description.map(str::to_string))
        .execute(&mut *tx.tx)
        .await?;
        for tag in tags {
            sqlx::query("INSERT INTO registered_model_tags (name, key, value) VALUES ($1, $2, $3)")
                .bind(name.to_string())
                .bind(tag.key.clone())
                .bind(tag.value.clone())
                .execute(&mut *tx.tx)
                .await?;
        }
        tx.commit().await?;
        self.get_registered_model(name).await
    }

    async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        let rows = sqlx::query(
            "SELECT name, creation_timestamp, last_updated_timestamp, description, user_id FROM registered_models WHERE name = $1",
        )
        .bind(name.to_string())
        .fetch_all(&self.pool)
        .await?;
        self.registered_models_from_rows(&rows)
            .await?
            .pop()
            .ok_or_else(|| not_found_model(name))
    }

    async fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel> {
        validate_model_name(new_name)?;
        self.require_registered_model(name).await?;
        let mut tx = self.begin_write().await?;
        let taken: Option<String> =
            sqlx::query_scalar("SELECT name FROM registered_models WHERE name = $1")
                .bind(new_name.to_string())
                .fetch_optional(&mut *tx.tx)
                .await?;
        if taken.is_some() {
            return Err(Error::already_exists(format!(
                "Registered Model (name={new_name}) already exists."
            )));
        }
        for table in [
            "registered_models",
            "registered_model_tags",
            "model_versions",
            "model_version_tags",
            "registered_model_aliases",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET name = $1 WHERE name = $2"
            )))
            .bind(new_name.to_string())
            .bind(name.to_string())
            .execute(&mut *tx.tx)
            .await?;
        }
        self.touch_model(&mut tx, new_name).await?;
        tx.commit().await?;
        self.get_registered_model(new_name).await
    }

    async fn update_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        self.require_registered_model(name).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE registered_models SET description = $1, last_updated_timestamp = $2 WHERE name = $3")
            .bind(description.map(str::to_string))
            .bind(now_ms())
            .bind(name.to_string())
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await?;
        self.get_registered_model(name).await
    }

    async fn delete_registered_model(&self, name: &str) -> Result<()> {
        self.require_registered_model(name).await?;
        let mut tx = self.begin_write().await?;
        for table in [
            "registered_model_aliases",
            "model_version_tags",
            "model_versions",
            "registered_model_tags",
            "registered_models",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE name = $1"
            )))
            .bind(name.to_string())
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.commit().await
    }

    async fn search_registered_models(
        &self,
        query: &SearchModels,
    ) -> Result<Page<RegisteredModel>> {
        let size = page_size(query.max_results, 100, 1000)?;
        let offset = search::decode_offset(query.page_token.as_deref())?;
        let comparisons = search::parse_filter(
            SearchKind::RegisteredModels,
            query.filter.as_deref().unwrap_or(""),
        )?;
        let mut sql = Sql::new(
            "SELECT rm.name, rm.creation_timestamp, rm.last_updated_timestamp, rm.description, rm.user_id FROM registered_models rm WHERE 1 = 1",
        );
        for comparison in &comparisons {
            sql.push(" AND ");
            match comparison.entity {
                Entity::Tag => push_key_value(
                    self,
                    &mut sql,
                    "registered_model_tags",
                    "kv.name = rm.name",
                    comparison,
                    MissingTag::Matches,
                )?,
                Entity::Attribute if comparison.key == "name" => push_comparison(
                    self,
                    &mut sql,
                    "rm.name",
                    comparison.comparator,
                    &comparison.value,
                )?,
                _ => {
                    return Err(Error::invalid(format!(
                        "Invalid filter key '{}' for registered models",
                        comparison.key
                    )));
                }
            }
        }
        sql.push(" ORDER BY ");
        for clause in &query.order_by {
            let order = search::parse_order_by(SearchKind::RegisteredModels, clause)?;
            let column = match order.key.as_str() {
                "name" => "rm.name",
                "creation_timestamp" | "timestamp" => "rm.creation_timestamp",
                "last_updated_timestamp" => "rm.last_updated_timestamp",
                other => {
                    return Err(Error::invalid(format!(
                        "Invalid order_by key '{other}' for registered models"
                    )));
                }
            };
            sql.push(&format!("{column} {}, ", direction(order.ascending)));
        }
        sql.push("rm.name ASC").limit(size + 1, Some(offset as i64));
        let mut rows = sql.query().fetch_all(&self.pool).await?;
        let has_more = rows.len() as i64 > size;
        rows.truncate(size as usize);
        let items = self.registered_models_from_rows(&rows).await?;
        Ok(Page {
            items,
            next_page_token: has_more.then(|| search::encode_offset(offset + size as u64)),
        })
    }

    async fn get_latest_versions(
        &self,
        name: &str,
        stages: &[String],
    ) -> Result<Vec<ModelVersion>> {
        self.require_registered_model(name).await?;
        self.latest_versions(name, stages).await
    }

    async fn set_registered_model_tag(&self, name: &str, key: &str, value: &str) -> Result<()> {
        validate_tag(key, value)?;
        self.require_registered_model(name).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO registered_model_tags (name, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (name, key) DO UPDATE SET value = excluded.value",
        )
        .bind(name.to_string())
        .bind(key.to_string())
        .bind(value.to_string())
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }

    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        self.require_registered_model(name).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM registered_model_tags WHERE name = $1 AND key = $2")
            .bind(name.to_string())
            .bind(key.to_string())
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await
    }

    async fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
    ) -> Result<()> {
        if alias.is_empty()
            || alias.eq_ignore_ascii_case("latest")
            || alias.starts_with('v') && alias[1..].parse::<i64>().is_ok()
        {
            return Err(Error::invalid(format!(
                "'{alias}' is not a valid alias: it may not be empty, 'latest', or look like a version ('v1')."
            )));
        }
        self.version_row(name, version).await?;
        let number = parse_version(version)?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO registered_model_aliases (name, alias, version) VALUES ($1, $2, $3)
             ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version",
        )
        .bind(name.to_string())
        .bind(alias.to_string())
        .bind(number)
        .execute(&mut *tx.tx)
        .await?;
        self.touch_model(&mut tx, name).await?;
        tx.commit().await
    }

    async fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        self.require_registered_model(name).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM registered_model_aliases WHERE name = $1 AND alias = $2")
            .bind(name.to_string())
            .bind(alias.to_string())
            .execute(&mut *tx.tx)
            .await?;
        self.touch_model(&mut tx, name).await?;
        tx.commit().await
    }

    async fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        self.require_registered_model(name).await?;
        let version: Option<i64> = sqlx::query_scalar(
            "SELECT version FROM registered_model_aliases WHERE name = $1 AND alias = $2",
        )
        .bind(name.to_string())
        .bind(alias.to_string())
        .fetch_optional(&self.pool)
        .await?;
        // MLflow answers a missing alias with 400, not 404.
        let version = version
            .ok_or_else(|| Error::invalid(format!("Registered model alias {alias} not found.")))?;
        self.get_model_version(name, &version.to_string()).await
    }

    async fn create_model_version(&self, request: &CreateModelVersion) -> Result<ModelVersion> {
        if request.source.is_empty() {
            return Err(Error::missing_field("source"));
        }
        for tag in &request.tags {
            validate_tag(&tag.key, &tag.value)?;
        }
        self.require_registered_model(&request.name).await?;
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        // A version made from a logged model inherits the model's run, as in MLflow.
        let mut run_id = request.run_id.clone().filter(|r| !r.is_empty());
        if let (None, Some(model_id)) = (&run_id, request.model_id.as_ref()) {
            run_id = sqlx::query_scalar::<_, Option<String>>(
                "SELECT source_run_id FROM logged_models WHERE model_id = $1",
            )
            .bind(model_id.clone())
            .fetch_optional(&mut *tx.tx)
            .await?
            .flatten();
        }
        if let Some(run_id) = run_id.as_ref() {
            let found: Option<String> =
                sqlx::query_scalar("SELECT run_id FROM runs WHERE run_id = $1")
                    .bind(run_id.clone())
                    .fetch_optional(&mut *tx.tx)
                    .await?;
            if found.is_none() {
                return Err(Error::not_found(format!("Run with id={run_id} not found")));
            }
        }
        // A per-model counter, so a deleted version's number is never reused:
        // `models:/name/2` must not silently come to mean another model.
        let number: i64 = sqlx::query_scalar(
            "UPDATE registered_models SET last_version = last_version + 1 WHERE name = $1 RETURNING last_version",
        )
        .bind(request.name.clone())
        .fetch_one(&mut *tx.tx)
        .await?;
        sqlx::query(
            "INSERT INTO model_versions (name, version, creation_timestamp, last_updated_timestamp, description, current_stage,
                source, run_id, run_link, status, model_id)
             VALUES ($1, $2, $3, $3, $4, 'None', $5, $6, $7, 'READY', $8)",
        )
        .bind(request.name.clone())
        .bind(number)
        .bind(now)
        .bind(request.description.clone())
        .bind(request.source.clone())
        .bind(run_id)
        .bind(request.run_link.clone())
        .bind(request.model_id.clone())
        .execute(&mut *tx.tx)
        .await?;
        for tag in &request.tags {
            sqlx::query("INSERT INTO model_version_tags (name, version, key, value) VALUES ($1, $2, $3, $4)")
                .bind(request.name.clone())
                .bind(number)
                .bind(tag.key.clone())
                .bind(tag.value.clone())
                .execute(&mut *tx.tx)
                .await?;
        }
        self.touch_model(&mut tx, &request.name).await?;
        tx.commit().await?;
        self.get_model_version(&request.name, &number.to_string())
            .await
    }

    async fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion> {
        let row = self.version_row(name, version).await?;
        self.versions_from_rows(&[row])
            .await?
            .pop()
            .ok_or_else(|| not_found_version(name, version))
    }

    async fn update_model_version(
        &self,
        name: &str,
        version: &str,
        description: Option<&str>,
    ) -> Result<ModelVersion> {
        self.version_row(name, version).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE model_versions SET description = $1, last_updated_timestamp = $2 WHERE name = $3 AND version = $4")
            .bind(description.map(str::to_string))
            .bind(now_ms())
            .bind(name.to_string())
            .bind(parse_version(version)?)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await?;
        self.get_model_version(name, version).await
    }

    async fn delete_model_version(&self, name: &str, version: &str) -> Result<()> {
        self.version_row(name, version).await?;
        let number = parse_version(version)?;
        let mut tx = self.begin_write().await?;
        for table in [
            "registered_model_aliases",
            "model_version_tags",
            "model_versions",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE name = $1 AND version = $2"
            )))
            .bind(name.to_string())
            .bind(number)
            .execute(&mut *tx.tx)
            .await?;
        }
        self.touch_model(&mut tx, name).await?;
        tx.commit().await
    }

    async fn search_model_versions(&self, query: &SearchModels) -> Result<Page<ModelVersion>> {
        let size = page_size(query.max_results, 200_000, 200_000)?;
        let offset = search::decode_offset(query.page_token.as_deref())?;
        let comparisons = search::parse_filter(
            SearchKind::ModelVersions,
            query.filter.as_deref().unwrap_or(""),
        )?;
        let mut sql = Sql::new(&format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions mv WHERE 1 = 1"
        ));
        for comparison in &comparisons {
            sql.push(" AND ");
            match comparison.entity {
                Entity::Tag => push_key_value(
                    self,
                    &mut sql,
                    "model_version_tags",
                    "kv.name = mv.name AND kv.version = mv.version",
                    comparison,
                    MissingTag::Matches,
                )?,
                Entity::Attribute => {
                    let column = match comparison.key.as_str() {
                        "name" => "mv.name",
                        "version_number" => "mv.version",
                        "run_id" => "mv.run_id",
                        "source_path" => "mv.source",
                        other => {
                            return Err(Error::invalid(format!(
                                "Invalid filter key '{other}' for model versions"
                            )));
                        }
                    };
                    // Version numbers may arrive quoted or in an IN list of strings.
                    let value = match (&comparison.value, column) {
                        (Value::String(s), "mv.version") => Value::Number(parse_version(s)? as f64),
                        (other, _) => other.clone(),
                    };
                    if column == "mv.version"
                        && matches!(comparison.comparator, Comparator::In | Comparator::NotIn)
                    {
                        push_comparison(
                            self,
                            &mut sql,
                            "CAST(mv.version AS TEXT)",
                            comparison.comparator,
                            &value,
                        )?;
                    } else {
                        push_comparison(self, &mut sql, column, comparison.comparator, &value)?;
                    }
                }
                _ => {
                    return Err(Error::invalid(format!(
                        "Invalid filter key '{}' for model versions",
                        comparison.key
                    )));
                }
            }
        }
        sql.push(" ORDER BY ");
        for clause in &query.order_by {
            let order = search::parse_order_by(SearchKind::ModelVersions, clause)?;
            let column = match order.key.as_str() {
                "name" => "mv.name",
                "version_number" => "mv.version",
                "creation_timestamp" | "timestamp" => "mv.creation_timestamp",
                "last_updated_timestamp" => "mv.last_updated_timestamp",
                other => {
                    return Err(Error::invalid(format!(
                        "Invalid order_by key '{other}' for model versions"
                    )));
                }
            };
            sql.push(&format!("{column} {}, ", direction(order.ascending)));
        }
        sql.push("mv.name ASC, mv.version DESC")
            .limit(size + 1, Some(offset as i64));
        let mut rows = sql.query().fetch_all(&self.pool).await?;
        let has_more = rows.len() as i64 > size;
        rows.truncate(size as usize);
        let items = self.versions_from_rows(&rows).await?;
        Ok(Page {
            items,
            next_page_token: has_more.then(|| search::encode_offset(offset + size as u64)),
        })
    }

    async fn transition_model_version_stage(
        &self,
        name: &str,
        version: &str,
        stage: &str,
        archive_existing_versions: bool,
    ) -> Result<ModelVersion> {
        let stage = canonical_stage(stage).ok_or_else(|| {
            Error::invalid(format!("Invalid Model Version stage: {stage}. Value must be one of None, Staging, Production, Archived."))
        })?;
        self.version_row(name, version).await?;
        let number = parse_version(version)?;
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        if archive_existing_versions && matches!(stage, "Staging" | "Production") {
            sqlx::query(
                "UPDATE model_versions SET current_stage = 'Archived', last_updated_timestamp = $1
                 WHERE name = $2 AND current_stage = $3 AND version != $4",
            )
            .bind(now)
            .bind(name.to_string())
            .bind(stage)
            .bind(number)
            .execute(&mut *tx.tx)
            .await?;
        }
        sqlx::query("UPDATE model_versions SET current_stage = $1, last_updated_timestamp = $2 WHERE name = $3 AND version = $4")
            .bind(stage)
            .bind(now)
            .bind(name.to_string())
            .bind(number)
            .execute(&mut *tx.tx)
            .await?;
        self.touch_model(&mut tx, name).await?;
        tx.commit().await?;
        self.get_model_version(name, version).await
    }

    async fn get_model_version_download_uri(&self, name: &str, version: &str) -> Result<String> {
        let model_version = self.get_model_version(name, version).await?;
        // A version made from a logged model (`models:/m-…`) downloads from
        // that model's artifact location, and one made from a run's files
        // (`runs:/ID/PATH`) from that path under the run's, as MLflow
        // resolves them; `ModelUri` reads the source. Anything else (or a
        // source whose model or run is gone) is its own location.
        match ModelUri::parse(&model_version.source) {
            Ok(ModelUri::LoggedModel { model_id }) => {
                let location: Option<String> = sqlx::query_scalar(
                    "SELECT artifact_uri FROM logged_models WHERE model_id = $1",
                )
                .bind(model_id)
                .fetch_optional(&self.pool)
                .await?;
                if let Some(location) = location {
                    return Ok(location);
                }
            }
            Ok(ModelUri::Run { run_id, path }) => {
                let artifact_uri: Option<String> =
                    sqlx::query_scalar("SELECT artifact_uri FROM runs WHERE run_id = $1")
                        .bind(run_id)
                        .fetch_optional(&self.pool)
                        .await?;
                if let Some(artifact_uri) = artifact_uri {
                    return Ok(if path.is_empty() {
                        artifact_uri
                    } else {
                        format!("{artifact_uri}/{path}")
                    });
                }
            }
            _ => {}
        }
        Ok(model_version.source)
    }

    async fn set_model_version_tag(
        &self,
        name: &str,
        version: &str,
        key: &str,
        value: &str,
    ) -> Result<()> {
        validate_tag(key, value)?;
        self.version_row(name, version).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO model_version_tags (name, version, key, value) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value",
        )
        .bind(name.to_string())
        .bind(parse_version(version)?)
        .bind(key.to_string())
        .bind(value.to_string())
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }

    async fn delete_model_version_tag(&self, name: &str, version: &str, key: &str) -> Result<()> {
        self.version_row(name, version).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM model_version_tags WHERE name = $1 AND version = $2 AND key = $3")
            .bind(name.to_string())
            .bind(parse_version(version)?)
            .bind(key.to_string())
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await
    }
}
