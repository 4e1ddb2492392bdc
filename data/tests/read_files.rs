//! Reading the shipped datasets and Parquet files written by Arrow.

use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::types::Int8Type;
use arrow_array::{ArrayRef, DictionaryArray, Float64Array, Int32Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use smelt_data::{Kind, ReadOptions, Values, digest, read_table};

fn dataset(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../datasets")
        .join(name)
}

#[test]
fn penguins_has_numbers_categories_and_gaps() {
    let frame = read_table(&dataset("penguins.csv"), &ReadOptions::default()).unwrap();
    assert_eq!(frame.rows(), 344);
    assert_eq!(frame.column("species").unwrap().kind(), Kind::Categorical);
    assert_eq!(
        frame.column("bill_length_mm").unwrap().kind(),
        Kind::Numeric
    );
    assert_eq!(
        frame
            .column("bill_length_mm")
            .unwrap()
            .values
            .missing_count(),
        2
    );
    assert_eq!(frame.column("sex").unwrap().values.missing_count(), 11);
}

#[test]
fn parquet_and_csv_of_the_same_data_agree() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    let island: DictionaryArray<Int8Type> = vec![Some("Biscoe"), None, Some("Dream")]
        .into_iter()
        .collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "x",
            Arc::new(Float64Array::from(vec![Some(1.5), None, Some(3.0)])),
        ),
        ("n", Arc::new(Int32Array::from(vec![1, 2, 3]))),
        (
            "s",
            Arc::new(StringArray::from(vec![Some("a"), Some("b"), None])),
        ),
        ("island", Arc::new(island)),
    ];
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut writer =
        ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();

    let frame = read_table(&path, &ReadOptions::default()).unwrap();
    assert_eq!(frame.rows(), 3);
    assert_eq!(
        frame.column("n").unwrap().values,
        Values::Numeric(vec![1.0, 2.0, 3.0])
    );
    assert_eq!(
        frame.column("island").unwrap().values,
        Values::Categorical([Some("Biscoe"), None, Some("Dream")].into_iter().collect())
    );

    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, "x,n,s,island\n1.5,1,a,Biscoe\n,2,b,\n3,3,,Dream\n").unwrap();
    let from_csv = read_table(&csv, &ReadOptions::default()).unwrap();
    assert_eq!(digest(&frame), digest(&from_csv));

    let forced = read_table(
        &path,
        &ReadOptions {
            categorical: vec!["n".into()],
        },
    )
    .unwrap();
    assert_eq!(
        forced.column("n").unwrap().values.text(0).as_deref(),
        Some("1")
    );
    assert_eq!(forced.column("n").unwrap().kind(), Kind::Categorical);

    // Only the named columns are read, with the same values as a full read.
    assert_eq!(
        smelt_data::parquet_column_names(&path).unwrap(),
        ["x", "n", "s", "island"]
    );
    let some = smelt_data::read_parquet_columns(
        &path,
        &ReadOptions::default(),
        &["island".into(), "x".into(), "absent".into()],
    )
    .unwrap();
    assert_eq!(some.names(), ["x", "island"]);
    assert_eq!(some.rows(), 3);
    assert_eq!(some.column("island"), frame.column("island"));
    assert_eq!(
        some.column("x").unwrap().values.text(2).as_deref(),
        Some("3")
    );
}

#[test]
fn unreadable_and_unknown_files_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let missing = read_table(&dir.path().join("nope.csv"), &ReadOptions::default()).unwrap_err();
    assert!(missing.to_string().starts_with("cannot read "), "{missing}");
    let junk = dir.path().join("junk.parquet");
    std::fs::write(&junk, b"not parquet").unwrap();
    let error = read_table(&junk, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(error.contains("not a readable Parquet file"), "{error}");
    let error = read_table(&dir.path().join("x.xlsx"), &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(error.contains("unsupported file type '.xlsx'"), "{error}");
}
