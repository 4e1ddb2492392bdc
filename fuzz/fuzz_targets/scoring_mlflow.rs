//! MLflow scoring bodies (`POST /invocations`): JSON in its four shapes
//! (`dataframe_split`, `dataframe_records`, `instances`, `inputs`) and CSV,
//! read against a model's input schema. The first byte picks the
//! Content-Type; the rest is the body. Every input must give a frame with
//! the schema's columns or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smelt_data::Kind;
use smelt_serving::protocol::mlflow::parse_invocation;
use smelt_serving::schema::{InputColumn, InputSchema};

const CONTENT_TYPES: [Option<&str>; 5] = [
    Some("application/json"),
    Some("text/csv"),
    None,
    Some("application/json; format=pandas-split"),
    Some("text/plain"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let schema = InputSchema {
        columns: vec![
            InputColumn {
                name: "x".to_string(),
                kind: Kind::Numeric,
            },
            InputColumn {
                name: "color".to_string(),
                kind: Kind::Categorical,
            },
            InputColumn {
                name: "y".to_string(),
                kind: Kind::Numeric,
            },
        ],
    };
    let content_type = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];
    if let Ok(invocation) = parse_invocation(content_type, body, &schema) {
        assert_eq!(invocation.frame.names(), schema.names());
    }
});
