//! The CSV reader behind `read_table` and CSV request bodies: header, quoting,
//! type inference (numeric or categorical), missing values, ragged rows and
//! invalid UTF-8. The first byte picks which columns are forced categorical;
//! the rest is the file. Every input must give a consistent frame or a typed
//! error that names the source, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smelt_data::{DataError, ReadOptions, read_csv_bytes};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let options = ReadOptions {
        categorical: match selector % 3 {
            0 => Vec::new(),
            1 => vec!["a".to_string()],
            _ => vec!["a".to_string(), "b".to_string(), "missing".to_string()],
        },
    };
    match read_csv_bytes("fuzz.csv", bytes, &options) {
        Ok(frame) => {
            for column in frame.columns() {
                assert_eq!(column.values.len(), frame.rows(), "{}", column.name);
            }
        }
        // Errors about the file name it; an unknown `categorical` column is
        // the caller's mistake and names the columns instead.
        Err(DataError::UnknownColumn { .. }) => {}
        Err(error) => assert!(error.to_string().contains("fuzz.csv"), "{error}"),
    }
});
