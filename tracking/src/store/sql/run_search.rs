//! Which runs a `runs/search` page holds, as SQL.
//!
//! A page is `LIMIT n` of an ordered result, so the fast plan reads rows in
//! the order the page wants and stops after `n` matches: that needs the
//! leading sort key to drive the query. With SQLite, `CROSS JOIN` fixes the
//! join order, so the builder names the driving table first:
//!
//! - ordered by a metric: `latest_metrics` (index on key, value) in sort
//!   order, then the run, then the filters as point lookups; runs without
//!   that metric (or with NaN) come after, as MLflow sorts them, from a second
//!   query that is only run when the first does not fill the page;
//! - otherwise: `runs` (index on experiment, stage, start time) first.
//!
//! Over 100,000 runs this is the difference between sorting every match and
//! reading a hundred of them. PostgreSQL treats `CROSS JOIN` as a plain join
//! and plans by itself.

use sqlx::Row;

use super::filters::{direction, push_comparison};
use super::rows::{Sql, parse_experiment_id};
use super::{Dialect, SqlStore};
use crate::entities::ViewType;
use crate::error::{Error, Result};
use crate::search::{self, Comparison, Entity, OrderBy, SearchKind};
use crate::store::SearchRuns;

/// Which rows a query reads first.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Drive {
    /// From `runs`, in its index order.
    Runs,
    /// From the leading order metric's rows with a value, in value order.
    OrderMetricPresent,
    /// Runs lacking the leading order metric (or holding NaN), which sort last.
    OrderMetricAbsent,
}

/// A parsed search.
struct RunQuery {
    experiment_ids: Vec<i64>,
    view: ViewType,
    filters: Vec<Comparison>,
    orders: Vec<OrderBy>,
}

impl SqlStore {
    /// The ids of one page (up to `size + 1`, the extra one telling whether
    /// another page follows), each with the run's revision (0 where the
    /// schema keeps none), and whether there are more.
    pub(super) async fn search_run_ids(
        &self,
        query: &SearchRuns,
        size: i64,
        offset: i64,
    ) -> Result<(Vec<(String, i64)>, bool)> {
        let parsed = RunQuery {
            experiment_ids: query
                .experiment_ids
                .iter()
                .map(|id| parse_experiment_id(id))
                .collect::<Result<_>>()?,
            view: query.run_view_type,
            filters: search::parse_filter(SearchKind::Runs, query.filter.as_deref().unwrap_or(""))?,
            orders: query
                .order_by
                .iter()
                .map(|clause| search::parse_order_by(SearchKind::Runs, clause))
                .collect::<Result<_>>()?,
        };
        if parsed.experiment_ids.is_empty() {
            return Ok((Vec::new(), false));
        }
        let wanted = size + 1;
        let leading_metric = parsed
            .orders
            .first()
            .is_some_and(|o| o.entity == Entity::Metric);
        let ids = if leading_metric {
            let mut ids = self
                .fetch_ids(self.build(
                    &parsed,
                    Drive::OrderMetricPresent,
                    Some((wanted, offset)),
                )?)
                .await?;
            // Runs lacking the metric (or holding NaN) match no comparison
            // on it, so with a filter on the sort metric they cannot follow.
            let absent_can_match = !parsed.filters.iter().any(|c| {
                c.entity == Entity::Metric && parsed.orders.first().is_some_and(|o| o.key == c.key)
            });
            if absent_can_match && (ids.len() as i64) < wanted {
                // How many runs have the metric: known from this page unless
                // the offset skipped past all of them.
                let n_present = if !ids.is_empty() || offset == 0 {
                    offset + ids.len() as i64
                } else {
                    let sql = self.build(&parsed, Drive::OrderMetricPresent, None)?;
                    self.count(sql).await?
                };
                let absent_offset = (offset - n_present).max(0);
                let rest = wanted - ids.len() as i64;
                let sql = self.build(
                    &parsed,
                    Drive::OrderMetricAbsent,
                    Some((rest, absent_offset)),
                )?;
                ids.extend(self.fetch_ids(sql).await?);
            }
            ids
        } else {
            self.fetch_ids(self.build(&parsed, Drive::Runs, Some((wanted, offset)))?)
                .await?
        };
        let has_more = ids.len() as i64 > size;
        Ok((ids, has_more))
    }

    async fn fetch_ids(&self, sql: Sql) -> Result<Vec<(String, i64)>> {
        if let Some(direct) = &self.direct {
            return direct.read(|connection| {
                let mut statement = connection.prepare_cached(&sql.text)?;
                let rows = statement
                    .query_map(rusqlite::params_from_iter(sql.values.iter()), |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })?;
                rows.collect()
            });
        }
        sql.query()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| Ok((row.try_get::<String, _>(0)?, 0)))
            .collect()
    }

    async fn count(&self, sql: Sql) -> Result<i64> {
        if let Some(direct) = &self.direct {
            return direct.read(|connection| {
                connection
                    .prepare_cached(&sql.text)?
                    .query_row(rusqlite::params_from_iter(sql.values.iter()), |row| {
                        row.get(0)
                    })
            });
        }
        Ok(sql
            .query()
            .fetch_one(&self.pool)
            .await?
            .try_get::<i64, _>(0)?)
    }

    /// The SQL for one drive; `page` is (limit, offset), or `None` to count.
    fn build(&self, query: &RunQuery, drive: Drive, page: Option<(i64, i64)>) -> Result<Sql> {
        let mut sql = Sql::new(match (page, self.dialect) {
            (Some(_), Dialect::Sqlite) => "SELECT r.run_id, r.revision FROM ",
            (Some(_), Dialect::Postgres) => "SELECT r.run_id FROM ",
            (None, _) => "SELECT COUNT(*) FROM ",
        });
        sql.push(match drive {
            Drive::OrderMetricPresent => "latest_metrics o0 CROSS JOIN runs r",
            Drive::Runs | Drive::OrderMetricAbsent => "runs r",
        });
        if let (Drive::OrderMetricAbsent, Some(order)) = (drive, query.orders.first()) {
            // A NaN value sorts before a missing one, as in MLflow.
            sql.push(" LEFT JOIN latest_metrics o0 ON o0.run_id = r.run_id AND o0.key = ")
                .bind(order.key.clone());
        }
        // A filter on the driving metric itself is a condition on `o0` (an
        // index range in sort order), not another lookup per row.
        let driving_key = match (drive, query.orders.first()) {
            (Drive::OrderMetricPresent, Some(order)) => Some(order.key.as_str()),
            _ => None,
        };
        let (on_driver, metric_filters): (Vec<&Comparison>, Vec<&Comparison>) = query
            .filters
            .iter()
            .filter(|c| c.entity == Entity::Metric)
            .partition(|c| Some(c.key.as_str()) == driving_key);
        for idx in 0..metric_filters.len() {
            sql.push(&format!(" CROSS JOIN latest_metrics fm{idx}"));
        }
        // Sort keys other than a driving metric are looked up per row.
        let mut order_columns = Vec::new();
        for (idx, order) in query.orders.iter().enumerate() {
            if idx == 0 && drive != Drive::Runs {
                order_columns.push(match drive {
                    Drive::OrderMetricPresent => {
                        format!("o0.value {}", if order.ascending { "ASC" } else { "DESC" })
                    }
                    _ => "o0.is_nan IS NULL ASC".to_string(),
                });
                continue;
            }
            let column = match order.entity {
                Entity::Metric | Entity::Param | Entity::Tag => {
                    let table = match order.entity {
                        Entity::Metric => "latest_metrics",
                        Entity::Param => "params",
                        _ => "tags",
                    };
                    let alias = format!("o{idx}");
                    sql.push(&format!(
                        " LEFT JOIN {table} {alias} ON {alias}.run_id = r.run_id AND {alias}.key = "
                    ));
                    sql.bind(order.key.clone());
                    format!("{alias}.value")
                }
                Entity::Attribute => match order.key.as_str() {
                    "start_time" | "end_time" | "run_name" | "status" | "run_id" | "user_id"
                    | "artifact_uri" => {
                        format!("r.{}", order.key)
                    }
                    other => {
                        return Err(Error::invalid(format!(
                            "Invalid order_by attribute '{other}'"
                        )));
                    }
                },
                Entity::Dataset => {
                    return Err(Error::invalid("Cannot order runs by a dataset field"));
                }
            };
            order_columns.push(format!("{column} {}", direction(order.ascending)));
        }

        sql.push(" WHERE r.experiment_id IN (");
        for (idx, id) in query.experiment_ids.iter().enumerate() {
            if idx > 0 {
                sql.push(", ");
            }
            sql.bind(*id);
        }
        sql.push(")");
        match query.view {
            ViewType::ActiveOnly => sql.push(" AND r.lifecycle_stage = 'active'"),
            ViewType::DeletedOnly => sql.push(" AND r.lifecycle_stage = 'deleted'"),
            ViewType::All => &mut sql,
        };
        match (drive, query.orders.first()) {
            (Drive::OrderMetricPresent, Some(order)) => {
                sql.push(" AND o0.key = ").bind(order.key.clone());
                sql.push(" AND o0.value IS NOT NULL AND o0.run_id = r.run_id");
            }
            (Drive::OrderMetricAbsent, Some(_)) => {
                sql.push(" AND o0.value IS NULL");
            }
            _ => {}
        }
        for comparison in &on_driver {
            // `o0.value IS NOT NULL` already leaves NaN out.
            sql.push(" AND ");
            push_comparison(
                self,
                &mut sql,
                "o0.value",
                comparison.comparator,
                &comparison.value,
            )?;
        }
        for (idx, comparison) in metric_filters.iter().enumerate() {
            // A NaN metric matches no comparison, as in MLflow.
            sql.push(&format!(
                " AND fm{idx}.run_id = r.run_id AND fm{idx}.key = "
            ));
            sql.bind(comparison.key.clone());
            sql.push(&format!(" AND fm{idx}.is_nan = 0 AND "));
            push_comparison(
                self,
                &mut sql,
                &format!("fm{idx}.value"),
                comparison.comparator,
                &comparison.value,
            )?;
        }
        for comparison in query.filters.iter().filter(|c| c.entity != Entity::Metric) {
            sql.push(" AND ");
            self.push_run_filter(&mut sql, comparison)?;
        }
        if let Some((limit, offset)) = page {
            order_columns.push("r.start_time DESC".to_string());
            order_columns.push("r.run_id ASC".to_string());
            sql.push(" ORDER BY ")
                .push(&order_columns.join(", "))
                .limit(limit, Some(offset));
        }
        Ok(sql)
    }
}
