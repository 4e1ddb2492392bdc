//! Small helpers shared by the SQL store's files: a query builder that numbers
//! `$N` placeholders, NaN encoding, and id generation.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Arguments, AssertSqlSafe, Encode, Row, Type};

use crate::error::{Error, Result};

/// A SQL statement under construction with its bound arguments.
///
/// sqlx's `QueryBuilder` writes `?` for the `Any` driver, which PostgreSQL
/// rejects; this one writes `$N`, which both SQLite and PostgreSQL accept.
#[derive(Default)]
pub(crate) struct Sql {
    pub(crate) text: String,
    args: AnyArguments,
    /// The same values for the direct SQLite path (see `direct.rs`).
    pub(crate) values: Vec<rusqlite::types::Value>,
    n_args: usize,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            ..Default::default()
        }
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends ` LIMIT n` (and ` OFFSET m`) with the numbers written into the
    /// text rather than bound. SQLite (3.51, as bundled here) plans with the value of
    /// a bound LIMIT, so it marks such a statement for recompiling whenever the
    /// parameter is rebound, and clearing bindings between runs, as statement
    /// caches do, counts as rebinding: every search paid a full re-prepare, a
    /// seventh of its time. Integers cannot carry SQL into the text.
    pub(crate) fn limit(&mut self, limit: i64, offset: Option<i64>) -> &mut Sql {
        self.text.push_str(&format!(" LIMIT {limit}"));
        if let Some(offset) = offset {
            self.text.push_str(&format!(" OFFSET {offset}"));
        }
        self
    }

    /// Binds a value and returns its placeholder (`$N`) without appending it.
    pub(crate) fn arg<T>(&mut self, value: T) -> String
    where
        T: for<'q> Encode<'q, sqlx::Any>
            + Type<sqlx::Any>
            + Clone
            + Into<rusqlite::types::Value>
            + Send
            + 'static,
    {
        self.values.push(value.clone().into());
        // Encoding into AnyArguments only fails for types Any cannot carry,
        // which the bounds above already exclude.
        let _ = self.args.add(value);
        self.n_args += 1;
        format!("${}", self.n_args)
    }

    /// Binds a value and appends its placeholder.
    pub(crate) fn bind<T>(&mut self, value: T) -> &mut Sql
    where
        T: for<'q> Encode<'q, sqlx::Any>
            + Type<sqlx::Any>
            + Clone
            + Into<rusqlite::types::Value>
            + Send
            + 'static,
    {
        let placeholder = self.arg(value);
        self.text.push_str(&placeholder);
        self
    }

    /// The query, ready to execute.
    pub(crate) fn query(self) -> sqlx::query::Query<'static, sqlx::Any, AnyArguments> {
        sqlx::query_with(AssertSqlSafe(self.text), self.args)
    }
}

/// Splits a double into the stored value and NaN flag (SQLite cannot store NaN).
pub(crate) fn encode_double(value: f64) -> (Option<f64>, i64) {
    if value.is_nan() {
        (None, 1)
    } else {
        (Some(value), 0)
    }
}

/// Reads a double stored by [`encode_double`].
pub(crate) fn decode_double(row: &AnyRow, value_column: &str, nan_column: &str) -> Result<f64> {
    let is_nan: i64 = row.try_get(nan_column)?;
    let value: Option<f64> = row.try_get(value_column)?;
    Ok(if is_nan != 0 {
        f64::NAN
    } else {
        value.unwrap_or(f64::NAN)
    })
}

/// A fresh 32-hex-character id, as MLflow makes run ids.
pub(crate) fn new_hex_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Parses an experiment id; MLflow's are integers sent as strings.
pub(crate) fn parse_experiment_id(experiment_id: &str) -> Result<i64> {
    experiment_id.trim().parse::<i64>().map_err(|_| {
        Error::invalid(format!(
            "Invalid experiment ID '{experiment_id}': experiment ids are integers"
        ))
    })
}

/// Parses a model version number.
pub(crate) fn parse_version(version: &str) -> Result<i64> {
    version
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| {
            Error::invalid(format!(
                "Model version must be a positive integer, got '{version}'"
            ))
        })
}

/// A name like `bold-lark-417`, as MLflow gives runs without one.
pub(crate) fn generate_run_name() -> String {
    use rand::seq::IndexedRandom;
    const ADJECTIVES: &[&str] = &[
        "able", "bold", "brave", "bright", "calm", "clever", "crisp", "eager", "fair", "gentle",
        "glad", "grand", "keen", "kind", "lively", "lucky", "merry", "nimble", "proud", "quick",
        "quiet", "rare", "sharp", "shiny", "silent", "smart", "steady", "swift", "tidy", "vivid",
        "warm", "wise",
    ];
    const NOUNS: &[&str] = &[
        "ant", "bass", "bear", "crane", "deer", "doe", "eel", "finch", "fox", "gull", "hare",
        "hawk", "lark", "lynx", "mole", "moth", "newt", "owl", "pike", "quail", "ram", "seal",
        "shrew", "snail", "stork", "swan", "toad", "trout", "vole", "wasp", "wolf", "wren",
    ];
    let mut rng = rand::rng();
    let adjective = ADJECTIVES.choose(&mut rng).copied().unwrap_or("quick");
    let noun = NOUNS.choose(&mut rng).copied().unwrap_or("fox");
    let number = rand::Rng::random_range(&mut rng, 0..1000);
    format!("{adjective}-{noun}-{number}")
}

/// MLflow's validation limits (`mlflow/utils/validation.py`).
pub(crate) mod limits {
    pub const MAX_ENTITY_KEY_LENGTH: usize = 250;
    pub const MAX_PARAM_VAL_LENGTH: usize = 6000;
    pub const MAX_TAG_VAL_LENGTH: usize = 8000;
    pub const MAX_EXPERIMENT_NAME_LENGTH: usize = 500;
    pub const MAX_METRICS_PER_BATCH: usize = 1000;
    pub const MAX_PARAMS_TAGS_PER_BATCH: usize = 100;
    pub const MAX_ENTITIES_PER_BATCH: usize = 1000;
}

/// Checks a metric, param or tag key: non-empty, not too long, no path tricks.
pub(crate) fn validate_key(kind: &str, key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid(format!(
            "Invalid {kind} name: ''. Names may not be empty."
        )));
    }
    if key.len() > limits::MAX_ENTITY_KEY_LENGTH {
        return Err(Error::invalid(format!(
            "{kind} name '{}…' had length {}, which exceeded length limit of {}",
            key.chars().take(40).collect::<String>(),
            key.len(),
            limits::MAX_ENTITY_KEY_LENGTH
        )));
    }
    if key.starts_with('/') || key.split('/').any(|part| part == ".." || part == ".") {
        return Err(Error::invalid(format!(
            "Invalid {kind} name: '{key}'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such."
        )));
    }
    Ok(())
}

/// Checks a value's length against a limit.
pub(crate) fn validate_length(kind: &str, key: &str, value: &str, limit: usize) -> Result<()> {
    if value.len() > limit {
        return Err(Error::invalid(format!(
            "{kind} '{key}' had value length {}, which exceeded length limit of {limit}",
            value.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, StatementStatus};

    use super::Sql;

    /// Runs `sql` three times through the statement cache, as the direct
    /// SQLite path does; returns the rows and how often SQLite re-prepared it.
    fn run_cached(sql: &Sql) -> (Vec<i64>, i32) {
        let connection = Connection::open_in_memory().unwrap();
        let mut rows = Vec::new();
        for _ in 0..3 {
            let mut statement = connection.prepare_cached(&sql.text).unwrap();
            rows = statement
                .query_map(rusqlite::params_from_iter(sql.values.iter()), |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
        }
        let reprepared = connection
            .prepare_cached(&sql.text)
            .unwrap()
            .get_status(StatementStatus::RePrepare);
        (rows, reprepared)
    }

    #[test]
    fn a_page_is_never_re_prepared() {
        let mut sql = Sql::new("SELECT value FROM json_each('[1,2,3,4,5]') WHERE value > ");
        sql.bind(1_i64).push(" ORDER BY value").limit(2, Some(1));
        assert_eq!(run_cached(&sql), (vec![3, 4], 0));

        // The premise: the same page with bound numbers is re-prepared on
        // every run after the first.
        let mut bound = Sql::new("SELECT value FROM json_each('[1,2,3,4,5]') WHERE value > ");
        bound
            .bind(1_i64)
            .push(" ORDER BY value LIMIT ")
            .bind(2_i64)
            .push(" OFFSET ")
            .bind(1_i64);
        let (rows, reprepared) = run_cached(&bound);
        assert_eq!(rows, vec![3, 4]);
        assert!(reprepared > 0, "a bound LIMIT was not re-prepared");
    }
}
