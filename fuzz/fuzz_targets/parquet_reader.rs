//! The Parquet reader behind `read_table`: footer, schema, column types and
//! projections, on arbitrary file contents. The input is written to a file in
//! a temp folder and read three ways (whole, footer only, one column). Every
//! input must give a consistent frame or a typed error, never a panic.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use smelt_data::{ReadOptions, parquet_column_names, read_parquet_columns, read_table};

fn path() -> &'static PathBuf {
    static PATH: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = PATH.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temp folder");
        let path = dir.path().join("input.parquet");
        (dir, path)
    });
    path
}

fuzz_target!(
    init: {
        // The reader catches the panics arrow-rs raises on some corrupt pages
        // and answers an error; libFuzzer's hook would abort before that
        // catch runs. Any other panic still reaches libfuzzer-sys's own
        // catch, which aborts: it is still a finding.
        let _ = std::panic::take_hook();
    },
    |data: &[u8]| {
        let path = path();
        std::fs::write(path, data).expect("the input is written");
        let options = ReadOptions::default();
        if let Ok(frame) = read_table(path, &options) {
            for column in frame.columns() {
                assert_eq!(column.values.len(), frame.rows(), "{}", column.name);
            }
        }
        let _ = parquet_column_names(path);
        let _ = read_parquet_columns(path, &options, &["a".to_string()]);
    }
);
