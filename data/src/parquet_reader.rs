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
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::ReadOptions;
use crate::error::{DataError, Result};
use crate::frame::{Column, Frame, Values};

pub(crate) fn read_parquet(path: &Path, options: &ReadOptions) -> Result<Frame> {
    let format_error = |message: String| DataError::Format {
        path: path.to_path_buf(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| format_error(format!("not a readable Parquet file: {e}")))?;
    let schema = builder.schema().clone();
    // Columns grow batch by batch; sizing them once avoids reallocating
    // (and the kernel zeroing fresh pages for) every doubling.
    let rows = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    for known in &options.categorical {
        if !names.contains(&known.as_str()) {
            return Err(DataError::unknown_column(
                known,
                " listed as categorical",
                &names,
            ));
        }
    }
    let reader = builder
        .build()
        .map_err(|e| format_error(format!("cannot read: {e}")))?;

    let mut columns: Vec<Values> = schema
        .fields()
        .iter()
        .map(|field| match is_numeric(field.data_type()) {
            true if !options.categorical.contains(field.name()) => {
                Values::Numeric(Vec::with_capacity(rows))
            }
            _ => Values::Categorical(Vec::with_capacity(rows)),
        })
        .collect();
    for batch in reader {
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
        Values::Categorical(out) => out.extend(texts(array, name)?),
    }
    Ok(())
}

/// A non-numeric (or forced categorical) array as optional strings.
fn texts(array: &ArrayRef, name: &str) -> Result<Vec<Option<String>>, String> {
    let n = array.len();
    let cell = |i: usize, text: String| (!array.is_null(i)).then_some(text);
    Ok(match array.data_type() {
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            (0..n).map(|i| cell(i, a.value(i).to_string())).collect()
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            (0..n).map(|i| cell(i, a.value(i).to_string())).collect()
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            (0..n).map(|i| cell(i, a.value(i).to_string())).collect()
        }
        DataType::Boolean => {
            let a = array.as_boolean();
            (0..n).map(|i| cell(i, a.value(i).to_string())).collect()
        }
        DataType::Dictionary(_, _) => {
            let dictionary = array.as_any_dictionary();
            let labels = texts(dictionary.values(), name)?;
            let keys = dictionary.normalized_keys();
            (0..n)
                .map(|i| {
                    if array.is_null(i) {
                        None
                    } else {
                        labels[keys[i]].clone()
                    }
                })
                .collect()
        }
        data_type if is_numeric(data_type) => {
            let mut numbers = Values::Numeric(Vec::new());
            append(&mut numbers, array, name)?;
            (0..n).map(|i| numbers.text(i)).collect()
        }
        other => {
            return Err(format!(
                "column '{name}' has type {other}, which Smelt cannot use as a feature; convert it to numbers or strings"
            ));
        }
    })
}
