//! Property tests for the CSV and Parquet readers: any bytes give a frame or
//! a typed error, never a panic, and a frame written as CSV or Parquet reads
//! back with the same columns, kinds and values.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use proptest::prelude::*;
use smelt_data::{DataError, Frame, ReadOptions, Values, read_csv_bytes, read_table};

/// One generated column: numbers (`None` is missing) or labels.
#[derive(Debug, Clone)]
enum Generated {
    Numeric(Vec<Option<f64>>),
    Labels(Vec<Option<String>>),
}

/// A label the reader keeps as text: not a number (`inf` parses as one) and
/// not one of the cells pandas reads as missing.
fn label() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_.é-]{0,8}".prop_filter("text, not a number or a missing marker", |s| {
        s.parse::<f64>().is_err()
            && !["NA", "NaN", "nan", "null", "NULL", "None"].contains(&s.as_str())
    })
}

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::num::f64::NORMAL,
        prop::num::f64::ZERO,
        (-1000i32..1000).prop_map(f64::from),
    ]
}

/// Columns of equal length, at least one row, each with a value present
/// (an all-missing column has no kind to infer).
fn table() -> impl Strategy<Value = Vec<(String, Generated)>> {
    (1usize..12, 1usize..5).prop_flat_map(|(rows, width)| {
        let column = prop_oneof![
            prop::collection::vec(prop::option::weighted(0.8, finite()), rows).prop_map(|mut v| {
                v[0].get_or_insert(1.5);
                Generated::Numeric(v)
            }),
            prop::collection::vec(prop::option::weighted(0.8, label()), rows).prop_map(|mut v| {
                v[0].get_or_insert_with(|| "x".to_string());
                Generated::Labels(v)
            }),
        ];
        prop::collection::vec(column, width).prop_map(|columns| {
            columns
                .into_iter()
                .enumerate()
                .map(|(i, c)| (format!("col_{i}"), c))
                .collect()
        })
    })
}

fn write_csv(table: &[(String, Generated)]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(table.iter().map(|(name, _)| name.as_str()))
        .unwrap();
    let rows = match &table[0].1 {
        Generated::Numeric(v) => v.len(),
        Generated::Labels(v) => v.len(),
    };
    for row in 0..rows {
        let record: Vec<String> = table
            .iter()
            .map(|(_, column)| match column {
                Generated::Numeric(v) => v[row].map(|x| x.to_string()).unwrap_or_default(),
                Generated::Labels(v) => v[row].clone().unwrap_or_default(),
            })
            .collect();
        writer.write_record(&record).unwrap();
    }
    writer.into_inner().unwrap()
}

fn assert_reads_back(frame: &Frame, table: &[(String, Generated)]) -> Result<(), TestCaseError> {
    prop_assert_eq!(frame.columns().len(), table.len());
    for (column, (name, generated)) in frame.columns().iter().zip(table) {
        prop_assert_eq!(&column.name, name);
        match (&column.values, generated) {
            (Values::Numeric(read), Generated::Numeric(written)) => {
                let written: Vec<f64> = written.iter().map(|x| x.unwrap_or(f64::NAN)).collect();
                prop_assert_eq!(read.len(), written.len());
                for (r, w) in read.iter().zip(&written) {
                    prop_assert!(r == w || (r.is_nan() && w.is_nan()), "{name}: {r} != {w}");
                }
            }
            (Values::Categorical(read), Generated::Labels(written)) => {
                let read: Vec<Option<&str>> = read.iter().collect();
                let written: Vec<Option<&str>> = written.iter().map(Option::as_deref).collect();
                prop_assert_eq!(read, written);
            }
            (read, _) => prop_assert!(false, "{name} read as {:?}", read.kind()),
        }
    }
    Ok(())
}

fn write_parquet(path: &std::path::Path, table: &[(String, Generated)]) {
    let arrays: Vec<(String, ArrayRef)> = table
        .iter()
        .map(|(name, column)| {
            let array: ArrayRef = match column {
                Generated::Numeric(v) => Arc::new(Float64Array::from(v.clone())),
                Generated::Labels(v) => Arc::new(StringArray::from(v.clone())),
            };
            (name.clone(), array)
        })
        .collect();
    let batch = RecordBatch::try_from_iter(arrays).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn csv_bytes_never_panic(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            "[a-c,\"\n\r; 0-9.eNA-]{0,80}".prop_map(String::into_bytes),
        ],
        categorical in prop::sample::select(vec![vec![], vec!["a".to_string()]]),
    ) {
        let options = ReadOptions { categorical };
        match read_csv_bytes("body.csv", &bytes, &options) {
            Ok(frame) => {
                for column in frame.columns() {
                    prop_assert_eq!(column.values.len(), frame.rows());
                }
            }
            Err(DataError::UnknownColumn { name, .. }) => prop_assert_eq!(name, "a"),
            Err(error) => {
                let message = error.to_string();
                prop_assert!(message.starts_with("body.csv"), "{message}");
            }
        }
    }

    #[test]
    fn csv_round_trips(table in table()) {
        let bytes = write_csv(&table);
        let frame = read_csv_bytes("table.csv", &bytes, &ReadOptions::default());
        prop_assert!(frame.is_ok(), "{:?}\n{}", frame.err(), String::from_utf8_lossy(&bytes));
        assert_reads_back(&frame.unwrap(), &table)?;
    }
}

proptest! {
    // Each case writes a file; fewer cases keep the test quick.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn parquet_round_trips(table in table()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("table.parquet");
        write_parquet(&path, &table);
        let frame = read_table(&path, &ReadOptions::default());
        prop_assert!(frame.is_ok(), "{:?}", frame.err());
        assert_reads_back(&frame.unwrap(), &table)?;
    }

    #[test]
    fn parquet_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        keep in 0usize..64,
    ) {
        // Random bytes rarely look like Parquet: also try a real file's head
        // and tail around random middles, so the footer parser is reached.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.parquet");
        let real = dir.path().join("real.parquet");
        write_parquet(&real, &[("a".to_string(), Generated::Numeric(vec![Some(1.0), None]))]);
        let real = std::fs::read(&real).unwrap();
        let mut mixed = real[..keep.min(real.len())].to_vec();
        mixed.extend_from_slice(&bytes);
        mixed.extend_from_slice(&real[real.len().saturating_sub(keep * 4)..]);
        for contents in [&bytes, &mixed] {
            std::fs::write(&path, contents).unwrap();
            if let Ok(frame) = read_table(&path, &ReadOptions::default()) {
                for column in frame.columns() {
                    prop_assert_eq!(column.values.len(), frame.rows());
                }
            }
        }
    }
}
