//! Metric history, stored in chunks.
//!
//! Each logging call writes one `metric_chunks` row per metric key, holding
//! that call's points as JSON sorted by (step, timestamp). A 1,000-point batch
//! is a handful of rows instead of 1,000 index entries, which is what makes
//! `log-batch` fast; single `log-metric` calls are one-point chunks.
//!
//! Reads merge chunks in `min_step` order and stop as soon as no later chunk
//! can hold a point that sorts before the page's last one, so a page of a
//! million-point history touches only the chunks it needs and memory stays
//! bounded by the page size plus one chunk. Pages are keyset pages: the token
//! is the position (step, timestamp, chunk seq, index in chunk) of the last
//! point served.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::rows::{Sql, encode_double};
use super::{Dialect, SqlStore, WriteTx};
use crate::entities::Metric;
use crate::error::{Error, Result};
use crate::wire;

/// One point inside a chunk: `[step, timestamp, value, model_id, dataset_name, dataset_digest]`.
#[derive(Serialize, Deserialize)]
struct StoredPoint(
    i64,
    i64,
    #[serde(with = "wire::double")] f64,
    #[serde(default, skip_serializing_if = "Option::is_none")] Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")] Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")] Option<String>,
);

/// A chunk on its way into the database.
#[derive(Serialize)]
struct NewChunk<'a>(&'a str, i64, i64, usize, String);

/// Where a point sits in the global order of one metric's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Position {
    step: i64,
    timestamp: i64,
    seq: i64,
    idx: i64,
}

fn encode_token(position: Position) -> String {
    STANDARD.encode(format!(
        "{{\"step\": {}, \"timestamp\": {}, \"seq\": {}, \"idx\": {}}}",
        position.step, position.timestamp, position.seq, position.idx
    ))
}

fn decode_token(token: &str) -> Result<Position> {
    let invalid = || Error::invalid(format!("Invalid page token '{token}' for metric history"));
    let bytes = STANDARD.decode(token).map_err(|_| invalid())?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let field = |name: &str| value.get(name).and_then(|v| v.as_i64()).ok_or_else(invalid);
    Ok(Position {
        step: field("step")?,
        timestamp: field("timestamp")?,
        seq: field("seq")?,
        idx: field("idx")?,
    })
}

/// One chunk per metric key as a JSON array of `[key, min_step, max_step,
/// n_points, points]`: all chunks go in as one parameter, because binding
/// parameters one by one costs more than the database's own work here.
fn metric_chunks_json(metrics: &[Metric]) -> Result<String> {
    let mut keys: Vec<&str> = metrics.iter().map(|m| m.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut chunks = Vec::with_capacity(keys.len());
    for key in keys {
        let mut points: Vec<StoredPoint> = metrics
            .iter()
            .filter(|m| m.key == key)
            .map(|m| {
                StoredPoint(
                    m.step,
                    m.timestamp,
                    m.value,
                    m.model_id.clone(),
                    m.dataset_name.clone(),
                    m.dataset_digest.clone(),
                )
            })
            .collect();
        // Stable: of two points at the same (step, timestamp), the later
        // write stays last and so becomes the latest value.
        points.sort_by_key(|p| (p.0, p.1));
        let min_step = points.first().map_or(0, |p| p.0);
        let max_step = points.last().map_or(0, |p| p.0);
        let n_points = points.len();
        let json = serde_json::to_string(&points)
            .map_err(|e| Error::internal(format!("cannot encode metrics: {e}")))?;
        chunks.push(NewChunk(key, min_step, max_step, n_points, json));
    }
    serde_json::to_string(&chunks)
        .map_err(|e| Error::internal(format!("cannot encode metrics: {e}")))
}

/// Chunks fetched per query while merging a page.
const CHUNKS_PER_FETCH: i64 = 64;

impl SqlStore {
    /// The statement that inserts one chunk per metric key, if the run is
    /// active (no row is written otherwise).
    pub(super) fn metric_chunk_insert(
        &self,
        run_id: &str,
        metrics: &[Metric],
    ) -> Result<sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>> {
        Ok(sqlx::query(self.metric_chunk_insert_sql())
            .bind(run_id.to_string())
            .bind(metric_chunks_json(metrics)?))
    }

    /// Logs metrics without a transaction on the direct SQLite connection (the
    /// caller holds the writer lock); `None` when there is none (PostgreSQL).
    /// Returns the number of chunks written.
    pub(super) fn insert_metric_chunks_directly(
        &self,
        run_id: &str,
        metrics: &[Metric],
    ) -> Option<Result<usize>> {
        let direct = self.direct.as_ref()?;
        let chunks = match metric_chunks_json(metrics) {
            Ok(chunks) => chunks,
            Err(error) => return Some(Err(error)),
        };
        let sql = self.metric_chunk_insert_sql();
        Some(direct.write(|connection| {
            connection
                .prepare_cached(sql)?
                .execute(rusqlite::params![run_id, chunks])
        }))
    }

    fn metric_chunk_insert_sql(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => {
                "INSERT INTO metric_chunks (run_id, key, min_step, max_step, n_points, points) \
                 SELECT $1, e.value ->> 0, e.value ->> 1, e.value ->> 2, e.value ->> 3, e.value ->> 4 FROM json_each($2) e \
                 WHERE EXISTS (SELECT 1 FROM runs WHERE run_id = $1 AND lifecycle_stage = 'active')"
            }
            Dialect::Postgres => {
                "INSERT INTO metric_chunks (run_id, key, min_step, max_step, n_points, points) \
                 SELECT $1, e ->> 0, (e ->> 1)::bigint, (e ->> 2)::bigint, (e ->> 3)::bigint, e ->> 4 \
                 FROM jsonb_array_elements($2::jsonb) e \
                 WHERE EXISTS (SELECT 1 FROM runs WHERE run_id = $1 AND lifecycle_stage = 'active')"
            }
        }
    }

    /// Writes the metrics of one call inside a transaction: a chunk per key
    /// (the trigger moves the latest values), plus the rows that link metrics
    /// to logged models.
    pub(super) async fn write_metric_chunks(
        &self,
        tx: &mut WriteTx<'_>,
        run_id: &str,
        metrics: &[Metric],
    ) -> Result<()> {
        if metrics.is_empty() {
            return Ok(());
        }
        self.metric_chunk_insert(run_id, metrics)?
            .execute(&mut *tx.tx)
            .await?;
        for metric in metrics.iter().filter(|m| m.model_id.is_some()) {
            let (value, is_nan) = encode_double(metric.value);
            sqlx::query(
                "INSERT INTO model_metrics (model_id, run_id, key, value, is_nan, step, timestamp, dataset_name, dataset_digest)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(metric.model_id.clone())
            .bind(run_id.to_string())
            .bind(metric.key.clone())
            .bind(value)
            .bind(is_nan)
            .bind(metric.step)
            .bind(metric.timestamp)
            .bind(metric.dataset_name.clone())
            .bind(metric.dataset_digest.clone())
            .execute(&mut *tx.tx)
            .await?;
        }
        Ok(())
    }

    /// Chunk rows (seq, min_step, points) for a query of the history reader.
    async fn fetch_chunks(&self, sql: Sql) -> Result<Vec<(i64, i64, String)>> {
        if let Some(direct) = &self.direct {
            return direct.read(|connection| {
                let mut statement = connection.prepare_cached(&sql.text)?;
                let rows = statement
                    .query_map(rusqlite::params_from_iter(sql.values.iter()), |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })?;
                rows.collect()
            });
        }
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("seq")?,
                    row.try_get("min_step")?,
                    row.try_get("points")?,
                ))
            })
            .collect()
    }

    /// One page of a metric's history in (step, timestamp) order.
    pub(super) async fn read_history_page(
        &self,
        run_id: &str,
        key: &str,
        page_token: Option<&str>,
        size: usize,
    ) -> Result<(Vec<Metric>, Option<String>)> {
        let after = page_token
            .filter(|t| !t.is_empty())
            .map(decode_token)
            .transpose()?;
        let mut collected: Vec<(Position, StoredPoint)> = Vec::new();
        // Keyset over chunks: (min_step, seq) of the last chunk read.
        let mut chunk_cursor: Option<(i64, i64)> = None;
        'fetch: loop {
            let mut sql =
                Sql::new("SELECT seq, min_step, points FROM metric_chunks WHERE run_id = ");
            sql.bind(run_id.to_string())
                .push(" AND key = ")
                .bind(key.to_string());
            if let Some(after) = after {
                sql.push(" AND max_step >= ").bind(after.step);
            }
            if let Some((min_step, seq)) = chunk_cursor {
                sql.push(" AND (min_step > ").bind(min_step);
                sql.push(" OR (min_step = ")
                    .bind(min_step)
                    .push(" AND seq > ")
                    .bind(seq)
                    .push("))");
            }
            sql.push(" ORDER BY min_step, seq")
                .limit(CHUNKS_PER_FETCH, None);
            let rows = self.fetch_chunks(sql).await?;
            let n_rows = rows.len() as i64;
            for (seq, min_step, text) in rows {
                // Every later chunk starts at or after `min_step`: once the page
                // is full with points before it, nothing later can displace them.
                if collected.len() > size && collected[size].0.step < min_step {
                    break 'fetch;
                }
                let points: Vec<StoredPoint> = serde_json::from_str(&text)
                    .map_err(|e| Error::internal(format!("corrupt metric chunk {seq}: {e}")))?;
                for (idx, point) in points.into_iter().enumerate() {
                    let position = Position {
                        step: point.0,
                        timestamp: point.1,
                        seq,
                        idx: idx as i64,
                    };
                    if after.is_none_or(|after| position > after) {
                        collected.push((position, point));
                    }
                }
                // Keep only what can still be on this page (plus one, to know
                // whether another page follows).
                collected.sort_unstable_by_key(|(position, _)| *position);
                collected.truncate(size + 1);
                chunk_cursor = Some((min_step, seq));
            }
            if n_rows < CHUNKS_PER_FETCH {
                break;
            }
        }
        let has_more = collected.len() > size;
        collected.truncate(size);
        let next_page_token = if has_more {
            collected
                .last()
                .map(|(position, _)| encode_token(*position))
        } else {
            None
        };
        let metrics = collected
            .into_iter()
            .map(|(_, point)| Metric {
                key: key.to_string(),
                value: point.2,
                timestamp: point.1,
                step: point.0,
                run_id: None,
                model_id: point.3,
                dataset_name: point.4,
                dataset_digest: point.5,
            })
            .collect();
        Ok((metrics, next_page_token))
    }
}
