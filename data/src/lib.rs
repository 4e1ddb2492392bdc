//! Tabular data and nothing else: the [`Frame`] every Smelt crate shares,
//! reading CSV and Parquet into it (with type inference and errors that name
//! the file, line and column), seeded splits and folds, and content digests.
//!
//! Start reading at [`frame`]; [`read_table`] is the one entry point for files.

mod categories;
mod csv_reader;
mod digest;
mod error;
pub mod frame;
mod parquet_reader;
pub mod rng;
mod split;

pub use categories::MISSING as MISSING_CODE;
pub use digest::digest;
pub use error::{DataError, Result};
pub use frame::{Categories, Column, Frame, Kind, Values};
pub use rng::{SeededRng, seeded_rng, shuffle};
pub use split::{k_folds, shuffled_indices, train_test_split};

use std::path::Path;

/// How to read a table.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Columns to read as categorical even when every value looks like a
    /// number (for example zip codes, or integer class labels).
    pub categorical: Vec<String>,
}

/// Reads a CSV (`.csv`, `.tsv`, `.txt`) or Parquet (`.parquet`, `.pq`) file
/// into a [`Frame`], choosing the format by the file's extension.
pub fn read_table(path: &Path, options: &ReadOptions) -> Result<Frame> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match extension.as_str() {
        "parquet" | "pq" => parquet_reader::read_parquet(path, options),
        "csv" | "txt" => csv_reader::read_csv(path, b',', options),
        "tsv" => csv_reader::read_csv(path, b'\t', options),
        other => Err(DataError::Format {
            path: path.to_path_buf(),
            message: format!(
                "unsupported file type '.{other}': Smelt reads .csv, .tsv and .parquet files"
            ),
        }),
    }
}

/// Reads CSV text that is already in memory (request bodies, tests).
/// `source` names it in error messages.
/// Whether `path` names a Parquet file (by its extension).
pub fn is_parquet(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "parquet" | "pq"))
}

/// The column names of a Parquet file (its footer only).
pub fn parquet_column_names(path: &Path) -> Result<Vec<String>> {
    parquet_reader::parquet_column_names(path)
}

/// Only the named columns of a Parquet file (the rest are not decoded);
/// names it lacks are left out.
pub fn read_parquet_columns(
    path: &Path,
    options: &ReadOptions,
    columns: &[String],
) -> Result<Frame> {
    parquet_reader::read_parquet_columns(path, options, Some(columns))
}

pub fn read_csv_bytes(source: &str, bytes: &[u8], options: &ReadOptions) -> Result<Frame> {
    csv_reader::parse_csv(Path::new(source), bytes, b',', options)
}
