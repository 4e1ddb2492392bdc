//! MLflow's search grammar: filter strings, `order_by` clauses and page tokens.
//!
//! A filter such as ``metrics.acc > 0.9 AND tags.`mlflow.runName` LIKE 'a%'``
//! parses into a list of [`Comparison`]s joined by AND (MLflow has no OR). The
//! parser knows which entities and comparators each kind of search accepts
//! ([`SearchKind`]) and rejects the rest with MLflow's INVALID_PARAMETER_VALUE
//! wording. Stores turn the comparisons into queries; this module does no IO.

mod page_token;
mod parser;

pub use page_token::{decode_offset, encode_offset};
pub use parser::{parse_filter, parse_order_by};

/// Which search a filter belongs to; decides the allowed keys and comparators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchKind {
    /// `runs/search`.
    Runs,
    /// `experiments/search`.
    Experiments,
    /// `registered-models/search`.
    RegisteredModels,
    /// `model-versions/search`.
    ModelVersions,
    /// `logged-models/search`.
    LoggedModels,
}

/// What a filter key refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    /// `metrics.<key>` (latest value).
    Metric,
    /// `params.<key>`.
    Param,
    /// `tags.<key>`.
    Tag,
    /// An attribute of the entity itself (`attributes.status`, `name`, …).
    Attribute,
    /// `datasets.<name|digest|context>` (runs only).
    Dataset,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `LIKE` (case-sensitive, `%` and `_` wildcards)
    Like,
    /// `ILIKE` (case-insensitive LIKE)
    ILike,
    /// `IN (…)`
    In,
    /// `NOT IN (…)`
    NotIn,
    /// `IS NULL`
    IsNull,
    /// `IS NOT NULL`
    IsNotNull,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A numeric literal (metrics and numeric attributes).
    Number(f64),
    /// A quoted string literal.
    String(String),
    /// A parenthesised list of quoted strings (`IN`, `NOT IN`).
    List(Vec<String>),
    /// No value (`IS NULL`, `IS NOT NULL`).
    None,
}

/// One `<entity>.<key> <comparator> <value>` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// What the key names.
    pub entity: Entity,
    /// The key; attribute names are canonical (`start_time` for `created`,
    /// `run_name` for `"run name"`, `version_number` for `version`).
    pub key: String,
    /// The operator.
    pub comparator: Comparator,
    /// The literal it compares with.
    pub value: Value,
}

/// One `order_by` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    /// What the key names (Metric, Param, Tag or Attribute).
    pub entity: Entity,
    /// The key; attribute names canonical as in [`Comparison::key`].
    pub key: String,
    /// ASC (the default) or DESC.
    pub ascending: bool,
}
