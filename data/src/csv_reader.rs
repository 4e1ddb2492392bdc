//! CSV into a [`Frame`]. A column is numeric when every non-missing value
//! parses as a number; a column that is mostly numbers with a stray word is
//! an error naming the line (silently turning it into text would hide a data
//! bug and change the model), unless the caller lists it as categorical.

use std::path::Path;

use crate::ReadOptions;
use crate::error::{DataError, Result};
use crate::frame::{Column, Frame, Values};

/// Cells that mean "no value", as pandas reads them by default.
const MISSING: &[&str] = &[
    "", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "<NA>",
];

/// A column is "mostly numeric" when at least this share of its non-missing
/// values parse as numbers; a text value in such a column is reported.
const NUMERIC_MAJORITY: f64 = 0.9;

pub(crate) fn read_csv(path: &Path, delimiter: u8, options: &ReadOptions) -> Result<Frame> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_csv(path, &bytes, delimiter, options)
}

pub(crate) fn parse_csv(
    path: &Path,
    bytes: &[u8],
    delimiter: u8,
    options: &ReadOptions,
) -> Result<Frame> {
    let format_error = |message: String| DataError::Format {
        path: path.to_path_buf(),
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format_error(format!("cannot read the header line: {e}")))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    if headers.is_empty() || headers.iter().all(String::is_empty) {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    if let Some(position) = headers.iter().position(String::is_empty) {
        return Err(format_error(format!(
            "column {} has an empty name in the header line; name every column",
            position + 1
        )));
    }
    // Checked here rather than left to `Frame::new`, so that the message
    // names the file (found by fuzzing: `a,b,a`).
    if let Some(name) = (1..headers.len()).find_map(|i| {
        let name = &headers[i];
        headers[..i].contains(name).then_some(name)
    }) {
        return Err(format_error(format!(
            "column '{name}' appears twice in the header line; column names must be unique"
        )));
    }
    for known in &options.categorical {
        if !headers.contains(known) {
            let names: Vec<&str> = headers.iter().map(String::as_str).collect();
            return Err(DataError::unknown_column(
                known,
                " listed as categorical",
                &names,
            ));
        }
    }

    let mut cells: Vec<Vec<Option<String>>> = vec![Vec::new(); headers.len()];
    let mut lines: Vec<u64> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            format_error(match e.kind() {
                csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!(
                    "line {line} has {len} fields but the header has {expected_len}; every row needs one value per column"
                ),
                _ => format!("line {line}: {e}"),
            })
        })?;
        lines.push(record.position().map_or(0, |p| p.line()));
        for (column, value) in cells.iter_mut().zip(record.iter()) {
            let value = value.trim();
            column.push((!MISSING.contains(&value)).then(|| value.to_string()));
        }
    }
    if lines.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }

    let columns = headers
        .into_iter()
        .zip(cells)
        .map(|(name, values)| {
            let forced = options.categorical.contains(&name);
            infer_column(path, name, values, &lines, forced)
        })
        .collect::<Result<Vec<_>>>()?;
    Frame::new(columns)
}

fn infer_column(
    path: &Path,
    name: String,
    values: Vec<Option<String>>,
    lines: &[u64],
    forced_categorical: bool,
) -> Result<Column> {
    if forced_categorical {
        return Ok(Column {
            name,
            values: Values::Categorical(values.into()),
        });
    }
    let present = values.iter().flatten().count();
    let parsed: Vec<Option<f64>> = values
        .iter()
        .map(|v| v.as_deref().and_then(parse_number))
        .collect();
    let numeric = parsed.iter().flatten().count();
    if present > 0 && numeric == present {
        let numbers = parsed.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect();
        return Ok(Column {
            name,
            values: Values::Numeric(numbers),
        });
    }
    if present > 0 && numeric as f64 >= NUMERIC_MAJORITY * present as f64 {
        let row = values
            .iter()
            .zip(&parsed)
            .position(|(v, p)| v.is_some() && p.is_none())
            .expect("a non-numeric value exists");
        return Err(DataError::TextInNumericColumn {
            path: path.to_path_buf(),
            line: lines[row],
            column: name,
            value: values[row].clone().unwrap_or_default(),
        });
    }
    Ok(Column {
        name,
        values: Values::Categorical(values.into()),
    })
}

/// A finite number, or `None`. `inf` and friends are not numbers a model can
/// learn from, so they are treated as text (and then reported).
fn parse_number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|x| x.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, categorical: &[&str]) -> Result<Frame> {
        let options = ReadOptions {
            categorical: categorical.iter().map(|s| s.to_string()).collect(),
        };
        parse_csv(Path::new("data.csv"), text.as_bytes(), b',', &options)
    }

    #[test]
    fn infers_kinds_and_missing_values() {
        let frame = parse("a,b,c\n1,x,\n2.5,,NA\nNA,y,3\n", &[]).unwrap();
        assert_eq!(frame.rows(), 3);
        let Values::Numeric(a) = &frame.column("a").unwrap().values else {
            panic!()
        };
        assert_eq!(a[..2], [1.0, 2.5]);
        assert!(a[2].is_nan());
        assert_eq!(
            frame.column("b").unwrap().values,
            Values::Categorical([Some("x"), None, Some("y")].into_iter().collect())
        );
        assert_eq!(frame.column("c").unwrap().values.missing_count(), 2);
    }

    #[test]
    fn a_repeated_header_names_the_file() {
        // The input libFuzzer found (csv_reader target).
        let input = b"a,b,a\n\"1,5\"\0\0\0!\0\0\0\0\0\0,\x08\0\0\0\0\0\0\0,\n";
        let options = ReadOptions::default();
        let error = parse_csv(Path::new("data.csv"), input, b',', &options)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "data.csv: column 'a' appears twice in the header line; column names must be unique"
        );
    }

    #[test]
    fn text_in_a_numeric_column_names_the_line() {
        let mut text = String::from("age,label\n");
        for i in 0..20 {
            text.push_str(&format!("{i},a\n"));
        }
        text.push_str("forty,b\n");
        let error = parse(&text, &[]).unwrap_err().to_string();
        assert!(
            error.contains("data.csv, line 22, column 'age': 'forty' is not a number"),
            "{error}"
        );
        assert!(parse(&text, &["age"]).is_ok());
    }

    #[test]
    fn ragged_rows_and_empty_files_are_errors() {
        let error = parse("a,b\n1,2\n3\n", &[]).unwrap_err().to_string();
        assert!(
            error.contains("line 3 has 1 fields but the header has 2"),
            "{error}"
        );
        let error = parse("a,b\n", &[]).unwrap_err().to_string();
        assert!(error.contains("has no data rows"), "{error}");
        let error = parse("", &[]).unwrap_err().to_string();
        assert!(error.contains("has no data rows"), "{error}");
    }

    #[test]
    fn unknown_categorical_columns_are_named() {
        let error = parse("a\n1\n", &["b"]).unwrap_err().to_string();
        assert!(
            error.contains("unknown column 'b' listed as categorical"),
            "{error}"
        );
    }
}
