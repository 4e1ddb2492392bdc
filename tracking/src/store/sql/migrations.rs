//! Versioned schema migrations, applied in order at start.
//!
//! Each migration has a SQLite and a PostgreSQL script (the DDL differs; the
//! queries do not). Applied versions are recorded in `smelt_schema_migrations`;
//! a database newer than this build is refused rather than misread.

use super::{Dialect, SqlStore};
use crate::error::{Error, Result};

struct Migration {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "initial schema",
        sqlite: include_str!("../../../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../../../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        description: "definitions of endpoints and monitors",
        sqlite: include_str!("../../../migrations/sqlite/0002_definitions.sql"),
        postgres: include_str!("../../../migrations/postgres/0002_definitions.sql"),
    },
    Migration {
        version: 3,
        description: "run revisions (SQLite), for the run cache",
        sqlite: include_str!("../../../migrations/sqlite/0003_run_revisions.sql"),
        postgres: include_str!("../../../migrations/postgres/0003_run_revisions.sql"),
    },
    Migration {
        version: 4,
        description: "identity: users, grants, roles, tokens, sessions, audit log",
        sqlite: include_str!("../../../migrations/sqlite/0004_identity.sql"),
        postgres: include_str!("../../../migrations/postgres/0004_identity.sql"),
    },
];

/// Brings the database schema up to the newest version this build knows.
pub(super) async fn run(store: &SqlStore) -> Result<()> {
    let mut tx = store.begin_write().await?;
    if store.dialect == Dialect::Postgres {
        // Two servers starting at once must not both migrate.
        sqlx::query("SELECT pg_advisory_xact_lock(7316482901)")
            .execute(&mut *tx.tx)
            .await?;
    }
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS smelt_schema_migrations (
            version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *tx.tx)
    .await?;
    let current: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM smelt_schema_migrations")
            .fetch_one(&mut *tx.tx)
            .await?;
    let current = current.unwrap_or(0);
    let newest = MIGRATIONS.last().map_or(0, |m| m.version);
    if current > newest {
        return Err(Error::internal(format!(
            "the tracking database has schema version {current}, newer than this smelt build knows ({newest}): upgrade smelt"
        )));
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        let script = match store.dialect {
            Dialect::Sqlite => migration.sqlite,
            Dialect::Postgres => migration.postgres,
        };
        sqlx::raw_sql(script)
            .execute(&mut *tx.tx)
            .await
            .map_err(|e| {
                Error::internal(format!(
                    "schema migration {} ({}) failed: {e}",
                    migration.version, migration.description
                ))
            })?;
        sqlx::query("INSERT INTO smelt_schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)")
            .bind(migration.version)
            .bind(migration.description)
            .bind(crate::wire::now_ms())
            .execute(&mut *tx.tx)
            .await?;
        tracing::info!(
            version = migration.version,
            description = migration.description,
            "applied schema migration"
        );
    }
    tx.commit().await
}
