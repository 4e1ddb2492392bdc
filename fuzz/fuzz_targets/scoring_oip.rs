//! Open Inference Protocol v2 bodies (`POST /v2/models/{name}/infer`): the
//! `inputs` tensors with their shapes and datatypes, `parameters`, `id` and
//! the requested `outputs`, read against a model's input schema. The first
//! byte picks a classification or a regression model; the rest is the body.
//! Every input must give a request or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smelt_data::Kind;
use smelt_models::Task;
use smelt_serving::protocol::oip::parse_infer;
use smelt_serving::schema::{InputColumn, InputSchema};

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
        ],
    };
    let task = if selector % 2 == 0 {
        Task::Classification {
            classes: vec!["a".to_string(), "b".to_string()],
        }
    } else {
        Task::Regression
    };
    let _ = parse_infer(body, &schema, &task);
});
