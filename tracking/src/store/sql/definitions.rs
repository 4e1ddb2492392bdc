//! `DefinitionStore` on SQL: one row per (kind, name) in `smelt_definitions`.

use async_trait::async_trait;

use super::SqlStore;
use crate::error::{Error, Result};
use crate::store::DefinitionStore;
use crate::wire::now_ms;

#[async_trait]
impl DefinitionStore for SqlStore {
    async fn create_definition(&self, kind: &str, name: &str, body: &str) -> Result<()> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO smelt_definitions (kind, name, body, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (kind, name) DO NOTHING",
        )
        .bind(kind.to_string())
        .bind(name.to_string())
        .bind(body.to_string())
        .bind(now)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(Error::already_exists(format!(
                "{kind} '{name}' already exists"
            )));
        }
        tx.commit().await
    }

    async fn update_definition(&self, kind: &str, name: &str, body: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE smelt_definitions SET body = $3, updated_at = $4 WHERE kind = $1 AND name = $2",
        )
        .bind(kind.to_string())
        .bind(name.to_string())
        .bind(body.to_string())
        .bind(now_ms())
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(Error::not_found(format!("{kind} '{name}' does not exist")));
        }
        tx.commit().await
    }

    async fn get_definition(&self, kind: &str, name: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT body FROM smelt_definitions WHERE kind = $1 AND name = $2")
                .bind(kind.to_string())
                .bind(name.to_string())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn list_definitions(&self, kind: &str) -> Result<Vec<(String, String)>> {
        Ok(
            sqlx::query_as(
                "SELECT name, body FROM smelt_definitions WHERE kind = $1 ORDER BY name",
            )
            .bind(kind.to_string())
            .fetch_all(&self.pool)
            .await?,
        )
    }

    async fn delete_definition(&self, kind: &str, name: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM smelt_definitions WHERE kind = $1 AND name = $2")
            .bind(kind.to_string())
            .bind(name.to_string())
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(Error::not_found(format!("{kind} '{name}' does not exist")));
        }
        tx.commit().await
    }
}
