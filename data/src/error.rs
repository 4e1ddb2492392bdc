//! What can go wrong reading data, worded for the person who has to fix it.

use std::path::PathBuf;

pub type Result<T, E = DataError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} has no data rows: it needs a header line and at least one row")]
    Empty { path: PathBuf },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error(
        "{path}, line {line}, column '{column}': '{value}' is not a number, but the column's other values are numeric; fix or blank the value, or list '{column}' under `categorical` to read the column as text"
    )]
    TextInNumericColumn {
        path: PathBuf,
        line: u64,
        column: String,
        value: String,
    },
    #[error("unknown column '{name}'{context}; the columns are: {available}")]
    UnknownColumn {
        name: String,
        context: String,
        available: String,
    },
    #[error("{0}")]
    Invalid(String),
}

impl DataError {
    pub(crate) fn unknown_column(name: &str, context: &str, available: &[&str]) -> Self {
        DataError::UnknownColumn {
            name: name.to_string(),
            context: context.to_string(),
            available: available.join(", "),
        }
    }
}
