//! Turns parsed search filters and order_by clauses into SQL.
//!
//! The parser ([`crate::search`]) has already checked which keys and
//! comparators a search accepts; this module only decides how each comparison
//! reads in SQL. Metric, param and tag comparisons become correlated `EXISTS`
//! sub-queries over the indexed (key, value) columns, so one filter never
//! multiplies rows and every clause can use an index.

use super::SqlStore;
use super::rows::Sql;
use crate::error::{Error, Result};
use crate::search::{Comparator, Comparison, Value};

/// The SQL operator for a scalar comparator.
fn operator(comparator: Comparator) -> &'static str {
    match comparator {
        Comparator::Eq => "=",
        Comparator::Ne => "!=",
        Comparator::Lt => "<",
        Comparator::Le => "<=",
        Comparator::Gt => ">",
        Comparator::Ge => ">=",
        Comparator::Like => "LIKE",
        Comparator::ILike => "ILIKE",
        Comparator::In => "IN",
        Comparator::NotIn => "NOT IN",
        Comparator::IsNull => "IS NULL",
        Comparator::IsNotNull => "IS NOT NULL",
    }
}

/// Appends `column <op> <value>` for one comparison.
///
/// `numeric` says whether the column holds numbers; a string literal compared
/// with a numeric column (or the reverse) is the caller's error.
pub(crate) fn push_comparison(
    store: &SqlStore,
    sql: &mut Sql,
    column: &str,
    comparator: Comparator,
    value: &Value,
) -> Result<()> {
    match (comparator, value) {
        (Comparator::IsNull | Comparator::IsNotNull, _) => {
            sql.push(&format!("{column} {}", operator(comparator)));
        }
        (Comparator::ILike, Value::String(pattern)) => {
            let placeholder = sql.arg(pattern.clone());
            sql.push(&store.ilike(column, &placeholder));
        }
        (Comparator::In | Comparator::NotIn, Value::List(items)) => {
            if items.is_empty() {
                // `x IN ()` is not SQL; an empty list matches nothing.
                sql.push(if comparator == Comparator::In {
                    "1 = 0"
                } else {
                    "1 = 1"
                });
                return Ok(());
            }
            sql.push(&format!("{column} {} (", operator(comparator)));
            for (item_idx, item) in items.iter().enumerate() {
                if item_idx > 0 {
                    sql.push(", ");
                }
                sql.bind(item.clone());
            }
            sql.push(")");
        }
        (_, Value::Number(number)) => {
            sql.push(&format!("{column} {} ", operator(comparator)));
            sql.bind(*number);
        }
        (_, Value::String(text)) => {
            sql.push(&format!("{column} {} ", operator(comparator)));
            sql.bind(text.clone());
        }
        (comparator, value) => {
            return Err(Error::invalid(format!(
                "cannot compare {column} with {} and {value:?}",
                operator(comparator)
            )));
        }
    }
    Ok(())
}

/// How a `!=` on a tag treats entities without that tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MissingTag {
    /// The entity must have the tag (runs, experiments, logged models).
    NoMatch,
    /// An absent tag differs from any value (the model registry, where the
    /// client's own `tags.mlflow.prompt.is_prompt != 'true'` must keep models
    /// that never had the tag).
    Matches,
}

/// Appends a comparison on a key/value side table (params or tags of runs,
/// tags of experiments or models): `EXISTS (SELECT 1 FROM table WHERE owner
/// AND key = … AND value <op> …)`, or `NOT EXISTS` for `IS NULL`.
pub(crate) fn push_key_value(
    store: &SqlStore,
    sql: &mut Sql,
    table: &str,
    owner_condition: &str,
    comparison: &Comparison,
    missing: MissingTag,
) -> Result<()> {
    if missing == MissingTag::Matches && comparison.comparator == Comparator::Ne {
        let equal = Comparison {
            comparator: Comparator::Eq,
            ..comparison.clone()
        };
        sql.push("NOT ");
        return push_key_value(
            store,
            sql,
            table,
            owner_condition,
            &equal,
            MissingTag::NoMatch,
        );
    }
    let negate = comparison.comparator == Comparator::IsNull;
    sql.push(if negate {
        "NOT EXISTS (SELECT 1 FROM "
    } else {
        "EXISTS (SELECT 1 FROM "
    });
    sql.push(table)
        .push(" kv WHERE ")
        .push(owner_condition)
        .push(" AND kv.key = ");
    sql.bind(comparison.key.clone());
    if !matches!(
        comparison.comparator,
        Comparator::IsNull | Comparator::IsNotNull
    ) {
        sql.push(" AND ");
        push_comparison(
            store,
            sql,
            "kv.value",
            comparison.comparator,
            &comparison.value,
        )?;
    }
    sql.push(")");
    Ok(())
}

/// `ASC`/`DESC` with NULLs last either way, as MLflow sorts.
pub(crate) fn direction(ascending: bool) -> &'static str {
    if ascending {
        "ASC NULLS LAST"
    } else {
        "DESC NULLS LAST"
    }
}
