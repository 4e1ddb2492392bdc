//! Property tests for the scoring protocols' request readers (MLflow's
//! `/invocations` JSON and CSV, Open Inference Protocol v2): any body gives a
//! frame or a typed 4xx error, never a panic, and a generated frame sent in
//! each shape reads back as the same frame, in the schema's column order.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use smelt_data::{Frame, Kind, Values};
use smelt_models::Task;
use smelt_serving::ServeError;
use smelt_serving::protocol::mlflow::parse_invocation;
use smelt_serving::protocol::oip::parse_infer;
use smelt_serving::schema::{InputColumn, InputSchema};

/// One column's values: numbers (`None` missing) or labels.
#[derive(Debug, Clone)]
enum Cells {
    Numeric(Vec<Option<f64>>),
    Labels(Vec<String>),
}

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![prop::num::f64::NORMAL, (-100i32..100).prop_map(f64::from)]
}

/// A schema and matching columns (1–8 rows) in schema order, plus a
/// permutation: the order the client sends the columns in.
fn request() -> impl Strategy<Value = (InputSchema, Vec<Cells>, Vec<usize>)> {
    (1usize..8, 1usize..5).prop_flat_map(|(rows, width)| {
        let cells = prop_oneof![
            prop::collection::vec(prop::option::weighted(0.8, finite()), rows)
                .prop_map(Cells::Numeric),
            prop::collection::vec("[a-zA-Z][a-zA-Z0-9 ,\"é_-]{0,8}", rows).prop_map(Cells::Labels),
        ];
        let order: Vec<usize> = (0..width).collect();
        (
            prop::collection::vec(cells, width),
            Just(order).prop_shuffle(),
        )
            .prop_map(|(columns, order)| {
                let schema = InputSchema {
                    columns: columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| InputColumn {
                            name: format!("feature {i}"),
                            kind: match c {
                                Cells::Numeric(_) => Kind::Numeric,
                                Cells::Labels(_) => Kind::Categorical,
                            },
                        })
                        .collect(),
                };
                (schema, columns, order)
            })
    })
}

fn json_cell(cells: &Cells, row: usize) -> Value {
    match cells {
        Cells::Numeric(v) => v[row].map_or(Value::Null, |x| json!(x)),
        Cells::Labels(v) => json!(v[row]),
    }
}

fn rows(columns: &[Cells]) -> usize {
    match &columns[0] {
        Cells::Numeric(v) => v.len(),
        Cells::Labels(v) => v.len(),
    }
}

fn assert_frame(
    frame: &Frame,
    schema: &InputSchema,
    columns: &[Cells],
) -> Result<(), TestCaseError> {
    prop_assert_eq!(frame.names(), schema.names());
    for (column, cells) in frame.columns().iter().zip(columns) {
        match (&column.values, cells) {
            (Values::Numeric(read), Cells::Numeric(sent)) => {
                prop_assert_eq!(read.len(), sent.len());
                for (r, s) in read.iter().zip(sent) {
                    match s {
                        Some(s) => prop_assert_eq!(r, s),
                        None => prop_assert!(r.is_nan()),
                    }
                }
            }
            (Values::Categorical(read), Cells::Labels(sent)) => {
                let read: Vec<Option<&str>> = read.iter().collect();
                let sent: Vec<Option<&str>> = sent.iter().map(|s| Some(s.as_str())).collect();
                prop_assert_eq!(read, sent);
            }
            (read, _) => prop_assert!(false, "{} read as {:?}", column.name, read.kind()),
        }
    }
    Ok(())
}

fn fixed_schema() -> InputSchema {
    InputSchema {
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
    }
}

/// JSON-ish text built from the protocols' own keys, to get past the first
/// checks more often than random bytes do.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(",".to_string()),
        Just(":".to_string()),
        Just("\"dataframe_split\"".to_string()),
        Just("\"dataframe_records\"".to_string()),
        Just("\"instances\"".to_string()),
        Just("\"inputs\"".to_string()),
        Just("\"columns\"".to_string()),
        Just("\"data\"".to_string()),
        Just("\"params\"".to_string()),
        Just("\"name\"".to_string()),
        Just("\"shape\"".to_string()),
        Just("\"datatype\"".to_string()),
        Just("\"FP32\"".to_string()),
        Just("\"INT8\"".to_string()),
        Just("\"BYTES\"".to_string()),
        Just("\"x\"".to_string()),
        Just("\"color\"".to_string()),
        Just("null".to_string()),
        Just("true".to_string()),
        "-?[0-9]{1,20}(\\.[0-9]{1,3})?(e[0-9]{1,3})?",
        "\"[a-z]{0,3}\"",
    ];
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..128),
        prop::collection::vec(piece, 0..24).prop_map(|p| p.concat().into_bytes()),
    ]
}

fn is_client_error(error: &ServeError) -> bool {
    matches!(
        error,
        ServeError::BadRequest(_)
            | ServeError::InvalidInput(_)
            | ServeError::UnsupportedMediaType(_)
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn mlflow_bodies_never_panic(
        body in body(),
        content_type in prop::sample::select(vec![None, Some("application/json"), Some("text/csv"), Some("text/plain")]),
    ) {
        if let Err(error) = parse_invocation(content_type, &body, &fixed_schema()) {
            prop_assert!(is_client_error(&error), "{error:?}");
        }
    }

    #[test]
    fn oip_bodies_never_panic(body in body(), classification in any::<bool>()) {
        let task = if classification {
            Task::Classification { classes: vec!["a".to_string(), "b".to_string()] }
        } else {
            Task::Regression
        };
        if let Err(error) = parse_infer(&body, &fixed_schema(), &task) {
            prop_assert!(is_client_error(&error), "{error:?}");
        }
    }

    #[test]
    fn dataframe_split_round_trips((schema, columns, order) in request()) {
        let names: Vec<&str> = order.iter().map(|&i| schema.columns[i].name.as_str()).collect();
        let data: Vec<Value> = (0..rows(&columns))
            .map(|row| Value::Array(order.iter().map(|&i| json_cell(&columns[i], row)).collect()))
            .collect();
        let body = json!({"dataframe_split": {"columns": names, "data": data}}).to_string();
        let parsed = parse_invocation(Some("application/json"), body.as_bytes(), &schema);
        prop_assert!(parsed.is_ok(), "{body}: {:?}", parsed.err());
        assert_frame(&parsed.unwrap().frame, &schema, &columns)?;
    }

    #[test]
    fn dataframe_records_round_trip((schema, columns, order) in request()) {
        let records: Vec<Value> = (0..rows(&columns))
            .map(|row| {
                let mut record = Map::new();
                for &i in &order {
                    record.insert(schema.columns[i].name.clone(), json_cell(&columns[i], row));
                }
                Value::Object(record)
            })
            .collect();
        let body = json!({"dataframe_records": records}).to_string();
        let parsed = parse_invocation(None, body.as_bytes(), &schema);
        prop_assert!(parsed.is_ok(), "{body}: {:?}", parsed.err());
        assert_frame(&parsed.unwrap().frame, &schema, &columns)?;
    }

    #[test]
    fn csv_round_trips((schema, columns, order) in request()) {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(order.iter().map(|&i| schema.columns[i].name.as_str())).unwrap();
        for row in 0..rows(&columns) {
            let record: Vec<String> = order
                .iter()
                .map(|&i| match &columns[i] {
                    Cells::Numeric(v) => v[row].map(|x| x.to_string()).unwrap_or_default(),
                    Cells::Labels(v) => v[row].clone(),
                })
                .collect();
            writer.write_record(&record).unwrap();
        }
        let body = writer.into_inner().unwrap();
        let parsed = parse_invocation(Some("text/csv; charset=utf-8"), &body, &schema);
        prop_assert!(parsed.is_ok(), "{}: {:?}", String::from_utf8_lossy(&body), parsed.err());
        assert_frame(&parsed.unwrap().frame, &schema, &columns)?;
    }

    #[test]
    fn oip_round_trips((schema, columns, order) in request()) {
        let inputs: Vec<Value> = order
            .iter()
            .map(|&i| {
                let (datatype, data): (&str, Vec<Value>) = match &columns[i] {
                    Cells::Numeric(v) => ("FP64", v.iter().map(|x| json!(x.unwrap_or(f64::NAN))).collect()),
                    Cells::Labels(v) => ("BYTES", v.iter().map(|s| json!(s)).collect()),
                };
                json!({
                    "name": schema.columns[i].name,
                    "shape": [data.len()],
                    "datatype": datatype,
                    "data": data,
                })
            })
            .collect();
        let body = json!({"id": "r-1", "inputs": inputs}).to_string();
        let parsed = parse_infer(body.as_bytes(), &schema, &Task::Regression);
        prop_assert!(parsed.is_ok(), "{body}: {:?}", parsed.err());
        let parsed = parsed.unwrap();
        prop_assert_eq!(parsed.id.as_deref(), Some("r-1"));
        assert_frame(&parsed.frame, &schema, &columns)?;
    }
}
