//! Direct SQLite connections for the hottest paths.
//!
//! sqlx's SQLite driver runs every connection on its own worker thread: each
//! statement is a round trip to that thread (tens of microseconds here) and
//! each bound value and returned row is converted through the `Any` driver.
//! For the calls a training loop or a dashboard makes thousands of times
//! (logging a metric, searching runs, loading runs, reading history), that
//! was most of the time. These rusqlite connections run the same SQL on the
//! calling thread instead, on the same database file: WAL lets them read
//! beside sqlx's connections, and writes still take the store's writer lock,
//! so there is one writer at a time whichever driver writes.
//!
//! Statements here are short (a page of runs, one chunk insert); they run on
//! the async worker thread rather than a blocking pool, as a CPU-bound step
//! of that size would.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::runs::{DatasetRow, LatestMetricRow, RunBundle, RunInfoRow};
use crate::error::{Error, Result};

/// Reader connections; two async workers can run at most two at a time, a few
/// more cover threads that block.
const N_READERS: usize = 4;

/// Connections that bypass sqlx's worker threads.
pub(crate) struct DirectSqlite {
    readers: Vec<Mutex<Connection>>,
    writer: Mutex<Connection>,
}

impl DirectSqlite {
    /// Opens connections to the database file sqlx opened (and migrated).
    pub(crate) fn open(file: &Path) -> Result<DirectSqlite> {
        let open = || -> Result<Connection> {
            let connection = Connection::open_with_flags(
                file,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )
            .map_err(sqlite_error)?;
            connection
                .busy_timeout(Duration::from_secs(30))
                .map_err(sqlite_error)?;
            // The same settings as the sqlx connections (see mod.rs).
            connection
                .execute_batch(
                    "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA case_sensitive_like=ON; \
                     PRAGMA cache_size=-32768; PRAGMA mmap_size=1073741824;",
                )
                .map_err(sqlite_error)?;
            connection.set_prepared_statement_cache_capacity(64);
            Ok(connection)
        };
        let readers = (0..N_READERS)
            .map(|_| open().map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        Ok(DirectSqlite {
            readers,
            writer: Mutex::new(open()?),
        })
    }

    /// Runs `f` on a reader connection (the first free one).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        for reader in &self.readers {
            if let Ok(connection) = reader.try_lock() {
                return f(&connection).map_err(sqlite_error);
            }
        }
        let connection = self.readers[0]
            .lock()
            .map_err(|_| Error::internal("a SQLite reader was poisoned"))?;
        f(&connection).map_err(sqlite_error)
    }

    /// Runs `f` on the writer connection. The caller holds the store's writer
    /// lock, which orders this write with sqlx's.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let connection = self
            .writer
            .lock()
            .map_err(|_| Error::internal("the SQLite writer was poisoned"))?;
        f(&connection).map_err(sqlite_error)
    }
}

impl DirectSqlite {
    /// Everything about the runs whose ids `ids_json` (a JSON array) lists:
    /// plain row reads, one statement per part.
    pub(crate) fn load_run_bundle(&self, ids_json: &str) -> Result<RunBundle> {
        const IN_IDS: &str = "WHERE run_id IN (SELECT value FROM json_each(?1))";
        self.read(|connection| {
            let rows = |sql: String| connection.prepare_cached(&sql);
            let runs = rows(format!(
                "SELECT run_id, experiment_id, run_name, user_id, status, start_time, end_time, artifact_uri, \
                 lifecycle_stage FROM runs {IN_IDS}"
            ))?
            .query_map([ids_json], |r| {
                Ok(RunInfoRow(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
            // Params and tags in one statement, and the three parts most runs
            // lack in another: each statement costs more than its rows here.
            let mut params = Vec::new();
            let mut tags = Vec::new();
            let mut key_values = rows(format!(
                "SELECT 0, run_id, key, value FROM params {IN_IDS} UNION ALL SELECT 1, run_id, key, value FROM tags {IN_IDS}"
            ))?;
            let mut key_value_rows = key_values.query([ids_json])?;
            while let Some(r) = key_value_rows.next()? {
                let row = (r.get(1)?, r.get(2)?, r.get(3)?);
                if r.get::<_, i64>(0)? == 0 { params.push(row) } else { tags.push(row) }
            }
            let latest_metrics = rows(format!("SELECT run_id, key, value, is_nan, step, timestamp FROM latest_metrics {IN_IDS}"))?
                .query_map([ids_json], |r| {
                    let value: Option<f64> = r.get(2)?;
                    let is_nan: i64 = r.get(3)?;
                    let value = if is_nan != 0 { f64::NAN } else { value.unwrap_or(f64::NAN) };
                    Ok(LatestMetricRow(r.get(0)?, r.get(1)?, value, r.get(4)?, r.get(5)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut dataset_inputs = Vec::new();
            let mut model_inputs = Vec::new();
            let mut model_outputs = Vec::new();
            let mut extras = rows(format!(
                "SELECT 0, run_id, name, digest, source_type, source, schema, profile, tags_json, NULL FROM dataset_inputs {IN_IDS} \
                 UNION ALL SELECT 1, run_id, model_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM model_inputs {IN_IDS} \
                 UNION ALL SELECT 2, run_id, model_id, NULL, NULL, NULL, NULL, NULL, NULL, step FROM model_outputs {IN_IDS}"
            ))?;
            let mut extra_rows = extras.query([ids_json])?;
            while let Some(r) = extra_rows.next()? {
                match r.get::<_, i64>(0)? {
                    0 => dataset_inputs.push(DatasetRow(
                        r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?,
                    )),
                    1 => model_inputs.push((r.get(1)?, r.get(2)?)),
                    _ => model_outputs.push((r.get(1)?, r.get(2)?, r.get(9)?)),
                }
            }
            Ok(RunBundle { runs, params, tags, latest_metrics, dataset_inputs, model_inputs, model_outputs })
        })
    }
}

fn sqlite_error(error: rusqlite::Error) -> Error {
    tracing::error!(%error, "sqlite error");
    Error::internal(format!("database error: {error}"))
}
