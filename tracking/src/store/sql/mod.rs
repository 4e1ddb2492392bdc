//! The SQL tracking store: SQLite by default, PostgreSQL when scaled out.
//!
//! One implementation serves both databases through sqlx's `Any` driver: the
//! queries use `$N` placeholders, which both drivers accept, and the few places
//! where the dialects differ ask [`Dialect`]. Schemas are versioned per dialect
//! (see [`migrations`]).
//!
//! Durability: SQLite runs in WAL mode with `synchronous=NORMAL`, so a committed
//! write survives a killed process (the WAL is in the OS's hands at commit)
//! without paying an fsync per request. Writes inside one process go through a
//! mutex so concurrent clients queue instead of failing with "database is
//! locked"; `busy_timeout` covers other processes sharing the file.

mod definitions;
mod direct;
mod experiments;
mod filters;
mod identity;
mod logged_models;
mod metric_history;
mod migrations;
mod registry;
mod rows;
mod run_cache;
mod run_search;
mod runs;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use crate::error::{Error, Result};

/// Which SQL database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (single file, WAL).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A tracking store on SQLite or PostgreSQL.
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
    /// Serialises writers on SQLite; `None` on PostgreSQL, which has row locks.
    write_lock: Option<Mutex<()>>,
    default_artifact_root: String,
    /// rusqlite connections for the hot paths, on SQLite (see `direct.rs`).
    direct: Option<direct::DirectSqlite>,
    /// Runs as searches last loaded them, beside `direct` (see `run_cache.rs`).
    run_cache: Option<run_cache::RunCache>,
}

/// A write transaction and, on SQLite, the guard that makes it the only writer.
pub(crate) struct WriteTx<'a> {
    pub(crate) tx: Transaction<'static, Any>,
    _guard: Option<MutexGuard<'a, ()>>,
}

impl WriteTx<'_> {
    pub(crate) async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl SqlStore {
    /// Whether a tracking URI names a database this store can open.
    pub fn handles(uri: &str) -> bool {
        uri.starts_with("sqlite:") || uri.starts_with("postgresql:") || uri.starts_with("postgres:")
    }

    /// Opens (and migrates) the database at `uri`. New experiments put their
    /// artifacts under `default_artifact_root` (`mlflow-artifacts:` when the
    /// server proxies artifacts, else a `file:` or `s3:` URI).
    pub async fn open(uri: &str, default_artifact_root: &str) -> Result<SqlStore> {
        sqlx::any::install_default_drivers();
        let (dialect, url) = normalise_url(uri)?;
        if let Some(file) = sqlite_file(&url)
            && let Some(parent) = std::path::Path::new(file)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                Error::invalid(format!(
                    "cannot create the folder of the SQLite file '{file}': {e}"
                ))
            })?;
        }
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| Error::invalid(format!("bad database URI '{uri}': {e}")))?;
        let max_connections = if dialect == Dialect::Sqlite { 8 } else { 16 };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // WAL lets readers run beside the writer; NORMAL syncs at
                        // checkpoints, which still survives a process crash.
                        // LIKE must be case-sensitive, as MLflow's is. Reads go
                        // through a memory map and a 32 MiB page cache: large
                        // searches would otherwise spend their time in read().
                        sqlx::raw_sql(
                            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; \
                             PRAGMA foreign_keys=ON; PRAGMA case_sensitive_like=ON; \
                             PRAGMA cache_size=-32768; PRAGMA mmap_size=1073741824;",
                        )
                        .execute(&mut *conn)
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| Error::internal(format!("cannot open the tracking database '{uri}': {e}")))?;
        let mut store = SqlStore {
            pool,
            dialect,
            write_lock: (dialect == Dialect::Sqlite).then(|| Mutex::new(())),
            default_artifact_root: default_artifact_root.trim_end_matches('/').to_string(),
            direct: None,
            run_cache: None,
        };
        migrations::run(&store).await?;
        store.ensure_default_experiment().await?;
        if let Some(file) = sqlite_file(&url) {
            store.direct = Some(direct::DirectSqlite::open(std::path::Path::new(file))?);
            store.run_cache = Some(run_cache::RunCache::default());
        }
        Ok(store)
    }

    /// The database dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The connection pool, for tests and maintenance.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(crate) async fn begin_write(&self) -> Result<WriteTx<'_>> {
        let guard = self.lock_writer().await;
        let tx = self.pool.begin().await?;
        Ok(WriteTx { tx, _guard: guard })
    }

    /// A transaction for a caller that already holds the writer lock.
    pub(crate) async fn begin_write_unlocked(&self) -> Result<WriteTx<'_>> {
        let tx = self.pool.begin().await?;
        Ok(WriteTx { tx, _guard: None })
    }

    /// Makes this task the only writer (SQLite); no-op on PostgreSQL.
    pub(crate) async fn lock_writer(&self) -> Option<MutexGuard<'_, ()>> {
        match &self.write_lock {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }

    /// Runs a query selecting `key, value` and returns the pairs as tags (also
    /// used for params, which have the same shape).
    pub(crate) async fn fetch_key_values(
        &self,
        query: sqlx::query::Query<'static, Any, sqlx::any::AnyArguments>,
    ) -> Result<Vec<crate::entities::Tag>> {
        use sqlx::Row;
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(crate::entities::Tag {
                    key: row.try_get("key")?,
                    value: row.try_get("value")?,
                })
            })
            .collect()
    }

    /// The artifact location of a new experiment with this id.
    pub(crate) fn experiment_artifact_location(&self, experiment_id: i64) -> String {
        if self.default_artifact_root == "mlflow-artifacts:" {
            format!("mlflow-artifacts:/{experiment_id}")
        } else {
            format!("{}/{experiment_id}", self.default_artifact_root)
        }
    }

    /// `LOWER(x) LIKE LOWER(y)` on SQLite, `x ILIKE y` on PostgreSQL.
    pub(crate) fn ilike(&self, column: &str, placeholder: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("LOWER({column}) LIKE LOWER({placeholder})"),
            Dialect::Postgres => format!("{column} ILIKE {placeholder}"),
        }
    }
}

/// The file path inside a normalised `sqlite://path?query` URL.
fn sqlite_file(url: &str) -> Option<&str> {
    url.strip_prefix("sqlite://")
        .and_then(|rest| rest.split('?').next())
}

/// Splits a tracking URI into its dialect and the URL sqlx expects.
fn normalise_url(uri: &str) -> Result<(Dialect, String)> {
    if let Some(rest) = uri.strip_prefix("sqlite:") {
        // SQLAlchemy's spelling, which MLflow users write: `sqlite:///rel/path`
        // (three slashes, then a relative path) and `sqlite:////abs/path` (an
        // absolute one). sqlx wants `sqlite://path`; `mode=rwc` creates the file.
        let path = rest
            .strip_prefix("///")
            .or_else(|| rest.strip_prefix("//"))
            .unwrap_or(rest);
        if path.is_empty() {
            return Err(Error::invalid(
                "sqlite URI has no file path: use sqlite:///path/to/smelt.db",
            ));
        }
        if path == ":memory:" || path == "/:memory:" {
            return Err(Error::invalid(
                "an in-memory SQLite store loses everything between connections: give a file path",
            ));
        }
        let (file, query) = path.split_once('?').unwrap_or((path, ""));
        let query = if query.is_empty() {
            "mode=rwc".to_string()
        } else {
            format!("{query}&mode=rwc")
        };
        return Ok((Dialect::Sqlite, format!("sqlite://{file}?{query}")));
    }
    if let Some(rest) = uri
        .strip_prefix("postgresql:")
        .or_else(|| uri.strip_prefix("postgres:"))
    {
        return Ok((Dialect::Postgres, format!("postgres:{rest}")));
    }
    Err(Error::invalid(format!(
        "'{uri}' is not a sqlite: or postgresql: URI"
    )))
}

/// Checks a `max_results` against MLflow's limit and applies its default.
pub(crate) fn page_size(max_results: Option<i64>, default: i64, limit: i64) -> Result<i64> {
    let size = max_results.unwrap_or(default);
    if size <= 0 || size > limit {
        return Err(Error::invalid(format!(
            "Invalid value {size} for parameter 'max_results' supplied. It must be at most {limit} and positive."
        )));
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_uris_are_normalised() {
        let (dialect, url) = normalise_url("sqlite:////tmp/x/smelt.db").unwrap();
        assert_eq!(dialect, Dialect::Sqlite);
        assert_eq!(url, "sqlite:///tmp/x/smelt.db?mode=rwc");
        let (_, url) = normalise_url("sqlite:///relative/smelt.db").unwrap();
        assert_eq!(url, "sqlite://relative/smelt.db?mode=rwc");
        assert!(normalise_url("sqlite://").is_err());
        assert!(normalise_url("sqlite:///:memory:").is_err());
        assert_eq!(
            normalise_url("postgresql://u@h/db").unwrap().1,
            "postgres://u@h/db"
        );
        assert!(normalise_url("mysql://x").is_err());
    }
}
