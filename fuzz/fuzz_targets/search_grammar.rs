//! MLflow's search grammar: filter strings, `order_by` clauses and page
//! tokens, for every kind of search. The first byte picks the search kind;
//! the rest is the text a client sent. Every input must give `Ok` or a typed
//! INVALID_PARAMETER_VALUE error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smelt_tracking::ErrorCode;
use smelt_tracking::search::{SearchKind, decode_offset, parse_filter, parse_order_by};

const KINDS: [SearchKind; 5] = [
    SearchKind::Runs,
    SearchKind::Experiments,
    SearchKind::RegisteredModels,
    SearchKind::ModelVersions,
    SearchKind::LoggedModels,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let kind = KINDS[usize::from(selector) % KINDS.len()];
    let text = String::from_utf8_lossy(rest);
    for result in [
        parse_filter(kind, &text).map(drop),
        parse_order_by(kind, &text).map(drop),
        decode_offset(Some(&text)).map(drop),
    ] {
        if let Err(error) = result {
            assert_eq!(error.code, ErrorCode::InvalidParameterValue, "{error:?}");
        }
    }
});
