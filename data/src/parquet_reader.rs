//! Parquet into a [`Frame`] through Arrow: integer, float and decimal-free
//! numeric columns become numeric; strings, booleans and dictionaries of
//! strings become categorical. Other types are refused by name.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::ParquetMetaData;

use crate::ReadOptions;
use crate::categories::{Categories, MISSING as MISSING_CODE};
use crate::error::{DataError, Result};
use crate::frame::{Column, Frame, Values};

/// The column names of a Parquet file, from its footer alone.
pub(crate) fn parquet_column_names(path: &Path) -> Result<Vec<String>> {
    let file = std::fs::File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| DataError::Format {
            path: path.to_path_buf(),
            message: format!("not a readable Parquet file: {e}"),
        })?;
    Ok(builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect())
}

pub(crate) fn read_parquet(path: &Path, options: &ReadOptions) -> Result<Frame> {
    read_parquet_columns(path, options, None)
}

/// [`read_parquet`] of only the named top-level columns (`None`: all);
/// Parquet stores columns apart, so the others are never decoded. Names the
/// file lacks are left out.
pub(crate) fn read_parquet_columns(
    path: &Path,
    options: &ReadOptions,
    only: Option<&[String]>,
) -> Result<Frame> {
    let format_error = |message: String| DataError::Format {
        path: path.to_path_buf(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file_len = file.metadata().map_or(0, |m| m.len());
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| format_error(format!("not a readable Parquet file: {e}")))?;
    check_column_chunks(builder.metadata()).map_err(format_error)?;
    {
        let file_schema = builder.schema();
        let names: Vec<&str> = file_schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        for known in &options.categorical {
            if !names.contains(&known.as_str()) {
                return Err(DataError::unknown_column(
                    known,
                    " listed as categorical",
                    &names,
                ));
            }
        }
    }
    if let Some(only) = only {
        let wanted: Vec<usize> = builder
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, field)| only.contains(field.name()))
            .map(|(index, _)| index)
            .collect();
        let mask = ProjectionMask::roots(builder.parquet_schema(), wanted);
        builder = builder.with_projection(mask);
    }
    let schema = match only {
        // The batches' schema: the projected fields, in file order.
        Some(only) => std::sync::Arc::new(arrow_schema::Schema::new(
            builder
                .schema()
                .fields()
                .iter()
                .filter(|field| only.contains(field.name()))
                .cloned()
                .collect::<Vec<_>>(),
        )),
        None => builder.schema().clone(),
    };
    // Columns grow batch by batch; sizing them once avoids reallocating
    // (and the kernel zeroing fresh pages for) every doubling.
    // The footer's row count is only a claim: a corrupt one must not
    // reserve terabytes, so at most one row per byte of the file is
    // reserved (compressible columns hold more and simply grow).
    let rows = usize::try_from(builder.metadata().file_metadata().num_rows())
        .unwrap_or(0)
        .min(usize::try_from(file_len).unwrap_or(usize::MAX));
    let mut reader = builder
        .build()
        .map_err(|e| format_error(format!("cannot read: {e}")))?;

    let mut columns: Vec<Values> = schema
        .fields()
        .iter()
        .map(|field| match is_numeric(field.data_type()) {
            true if !options.categorical.contains(field.name()) => {
                Values::Numeric(Vec::with_capacity(rows))
            }
            _ => Values::Categorical(Categories::with_capacity(rows)),
        })
        .collect();
    loop {
        // The decoder panics on some corrupt pages (arrow-rs 60 indexes a
        // definition-level bitmap past its end); such a file is an error
        // naming it, not a crashed command or job.
        let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reader.next()))
            .map_err(|panic| {
                let why = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                format_error(format!(
                    "the file is corrupt: its pages cannot be decoded ({why})"
                ))
            })?;
        let Some(batch) = next else {
            break;
        };
        let batch = batch.map_err(|e| format_error(format!("cannot decode a row group: {e}")))?;
        for ((values, array), field) in columns.iter_mut().zip(batch.columns()).zip(schema.fields())
        {
            append(values, array, field.name()).map_err(format_error)?;
        }
    }
    let frame = Frame::new(
        schema
            .fields()
            .iter()
            .zip(columns)
            .map(|(field, values)| Column {
                name: field.name().clone(),
                values,
            })
            .collect(),
    )?;
    if frame.rows() == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(frame)
}

fn is_numeric(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Float32
            | DataType::Float64
    )
}

fn append(values: &mut Values, array: &ArrayRef, name: &str) -> Result<(), String> {
    match values {
        Values::Numeric(out) => {
            macro_rules! extend {
                ($t:ty) => {{
                    let typed = array.as_primitive::<$t>();
                    out.extend((0..typed.len()).map(|i| {
                        if typed.is_null(i) {
                            f64::NAN
                        } else {
                            typed.value(i) as f64
                        }
                    }));
                }};
            }
            match array.data_type() {
                DataType::Int8 => extend!(Int8Type),
                DataType::Int16 => extend!(Int16Type),
                DataType::Int32 => extend!(Int32Type),
                DataType::Int64 => extend!(Int64Type),
                DataType::UInt8 => extend!(UInt8Type),
                DataType::UInt16 => extend!(UInt16Type),
                DataType::UInt32 => extend!(UInt32Type),
                DataType::UInt64 => extend!(UInt64Type),
                DataType::Float32 => extend!(Float32Type),
                DataType::Float64 => extend!(Float64Type),
                other => return Err(format!("column '{name}' changed type to {other} mid-file")),
            }
        }
        Values::Categorical(out) => extend_texts(out, array, name)?,
    }
    Ok(())
}

/// Appends a non-numeric (or forced categorical) array as labels; a label
/// string is copied only the first time it appears.
fn extend_texts(out: &mut Categories, array: &ArrayRef, name: &str) -> Result<(), String> {
    let n = array.len();
    let present = |i: usize| !array.is_null(i);
    match array.data_type() {
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            (0..n).for_each(|i| out.push(present(i).then(|| a.value(i))));
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            (0..n).for_each(|i| out.push(present(i).then(|| a.value(i))));
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            (0..n).for_each(|i| out.push(present(i).then(|| a.value(i))));
        }
        DataType::Boolean => {
            let a = array.as_boolean();
            (0..n).for_each(|i| {
                out.push(present(i).then(|| if a.value(i) { "true" } else { "false" }))
            });
        }
        DataType::Dictionary(_, _) => {
            // Label each dictionary entry once, then copy codes.
            let dictionary = array.as_any_dictionary();
            let mut entries = Categories::default();
            extend_texts(&mut entries, dictionary.values(), name)?;
            let codes: Vec<u32> = entries
                .iter()
                .map(|label| label.map_or(MISSING_CODE, |label| out.intern(label)))
                .collect();
            let keys = dictionary.normalized_keys();
            (0..n).for_each(|i| {
                out.push_code(if present(i) {
                    codes[keys[i]]
                } else {
                    MISSING_CODE
                })
            });
        }
        data_type if is_numeric(data_type) => {
            let mut numbers = Values::Numeric(Vec::new());
            append(&mut numbers, array, name)?;
            (0..n).for_each(|i| out.push(numbers.text(i).as_deref()));
        }
        other => {
            return Err(format!(
                "column '{name}' has type {other}, which Smelt cannot use as a feature; convert it to numbers or strings"
            ));
        }
    }
    Ok(())
}

/// Refuses column chunks with a negative start or length, which a corrupt
/// footer can declare: the parquet crate asserts on them while reading
/// (`ColumnChunkMetaData::byte_range`) instead of returning an error.
/// Found by fuzzing (fuzz/, target `parquet_reader`).
fn check_column_chunks(metadata: &ParquetMetaData) -> std::result::Result<(), String> {
    for (index, group) in metadata.row_groups().iter().enumerate() {
        for column in group.columns() {
            let start = column
                .dictionary_page_offset()
                .unwrap_or(column.data_page_offset());
            if start < 0 || column.compressed_size() < 0 {
                return Err(format!(
                    "row group {index}, column '{}' has a negative offset or size: the file is corrupt",
                    column.column_path().string()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_negative_column_offset_is_an_error_not_a_panic() {
        // The input libFuzzer found (target `parquet_reader`), minimised: a
        // footer whose column chunk starts at a negative offset.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("corrupt.parquet");
        let bytes =
            include_bytes!("../tests/fuzz-regressions/parquet-negative-column-offset.parquet");
        std::fs::write(&path, bytes).unwrap();
        let error = read_parquet(&path, &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("corrupt.parquet"), "{error}");
        assert!(
            error.contains("has a negative offset or size: the file is corrupt"),
            "{error}"
        );
    }

    #[test]
    fn pages_the_decoder_cannot_read_are_an_error_not_a_panic() {
        // Found by libFuzzer (target `parquet_reader`): a data page whose
        // definition levels make arrow-rs index past a bitmap's end.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("corrupt.parquet");
        let bytes = include_bytes!(
            "../tests/fuzz-regressions/parquet-definition-levels-out-of-bounds.parquet"
        );
        std::fs::write(&path, bytes).unwrap();
        let error = read_parquet(&path, &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("corrupt.parquet"), "{error}");
        assert!(error.contains("the file is corrupt"), "{error}");
    }
}
