//! MLflow's scoring protocol (`POST /invocations`), read the way mlflow's
//! own scoring server reads it, so that clients written for an MLflow model
//! work against a Smelt model unchanged.

use serde_json::{Map, Value};
use smelt_data::Frame;
use smelt_models::Predictions;

use super::{FrameBuilder, check_all_seen, describe, locate_columns, parse_json, unknown_column};
use crate::error::{Result, ServeError};
use crate::schema::InputSchema;

/// A parsed scoring request.
#[derive(Debug)]
pub struct Invocation {
    pub frame: Frame,
    pub params: PredictParams,
}

/// What the `params` field asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PredictParams {
    /// `predict_method: "predict_proba"`: answer class probabilities.
    pub probabilities: bool,
}

const INPUT_FIELDS: [&str; 4] = [
    "dataframe_split",
    "dataframe_records",
    "instances",
    "inputs",
];
const FIELDS_SENTENCE: &str = "The input must be a JSON dictionary with exactly one of the input \
     fields {'dataframe_split', 'dataframe_records', 'instances', 'inputs'} (plus optional 'params').";

enum Media {
    Json,
    Csv,
}

pub fn parse_invocation(
    content_type: Option<&str>,
    body: &[u8],
    schema: &InputSchema,
) -> Result<Invocation> {
    match media(content_type)? {
        Media::Json => parse_json_request(body, schema),
        Media::Csv => Ok(Invocation {
            frame: parse_csv(body, schema)?,
            params: PredictParams::default(),
        }),
    }
}

/// The body of a successful answer: `{"predictions": ...}`.
pub fn predictions_json(predictions: &Predictions, params: &PredictParams) -> Value {
    let body = match predictions {
        Predictions::Values(values) => number_list(values),
        Predictions::Classes { probabilities, .. } if params.probabilities => {
            Value::Array(probabilities.iter().map(|row| number_list(row)).collect())
        }
        Predictions::Classes {
            classes, labels, ..
        } => labels_json(classes, labels),
    };
    let mut out = Map::with_capacity(1);
    out.insert("predictions".to_string(), body);
    Value::Object(out)
}

/// Non-finite values become `null`, which is what `Value::from` does.
fn number_list(values: &[f64]) -> Value {
    Value::Array(values.iter().map(|&x| Value::from(x)).collect())
}

/// Labels as numbers when the model's classes are all numbers, as sklearn
/// (and so mlflow) would answer for a model trained on numeric labels.
fn labels_json(classes: &[String], labels: &[String]) -> Value {
    let numeric = !classes.is_empty() && classes.iter().all(|c| numeric_label(c).is_some());
    let to_json = |label: &String| {
        numeric
            .then(|| numeric_label(label))
            .flatten()
            .unwrap_or_else(|| Value::String(label.clone()))
    };
    Value::Array(labels.iter().map(to_json).collect())
}

fn numeric_label(label: &str) -> Option<Value> {
    if let Ok(i) = label.parse::<i64>() {
        return Some(Value::from(i));
    }
    let x = label.parse::<f64>().ok()?;
    x.is_finite().then(|| Value::from(x))
}

fn media(content_type: Option<&str>) -> Result<Media> {
    let Some(raw) = content_type else {
        return Ok(Media::Json);
    };
    let mut parts = raw.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    let media = if essence.eq_ignore_ascii_case("application/json") {
        Media::Json
    } else if essence.eq_ignore_ascii_case("text/csv") {
        Media::Csv
    } else {
        return Err(unsupported(raw));
    };
    if parts.all(is_utf8_charset) {
        Ok(media)
    } else {
        Err(unsupported(raw))
    }
}

fn is_utf8_charset(parameter: &str) -> bool {
    let parameter = parameter.trim();
    if parameter.is_empty() {
        return true;
    }
    parameter.split_once('=').is_some_and(|(key, value)| {
        key.trim().eq_ignore_ascii_case("charset")
            && value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
    })
}

fn unsupported(received: &str) -> ServeError {
    ServeError::UnsupportedMediaType(format!(
        "This predictor only supports the following content types: application/json, text/csv \
         (optionally with charset=utf-8). Received: '{received}'."
    ))
}

fn parse_json_request(body: &[u8], schema: &InputSchema) -> Result<Invocation> {
    let mut top = match parse_json(body)? {
        Value::Object(top) => top,
        other => {
            return Err(ServeError::BadRequest(format!(
                "{FIELDS_SENTENCE} Received {}.",
                json_kind(&other)
            )));
        }
    };
    let field = input_field(&top)?;
    let params = match top.remove("params") {
        None => PredictParams::default(),
        Some(params) => parse_params(params)?,
    };
    let value = top.remove(field).unwrap_or(Value::Null);
    let frame = match field {
        "dataframe_split" => from_split(value, schema)?,
        "dataframe_records" => from_list(value, schema, field, from_records)?,
        "instances" => from_list(value, schema, field, from_instances)?,
        _ => from_inputs(value, schema)?,
    };
    Ok(Invocation { frame, params })
}

/// The one input field the request used; anything else but `params` is
/// an error, so that a typo is not silently ignored.
fn input_field(top: &Map<String, Value>) -> Result<&'static str> {
    let mut found = INPUT_FIELDS.iter().filter(|f| top.contains_key(**f));
    let field = found.next();
    let clean = found.next().is_none()
        && top
            .keys()
            .all(|k| k == "params" || INPUT_FIELDS.contains(&k.as_str()));
    match field {
        Some(field) if clean => Ok(field),
        _ => {
            let keys: Vec<String> = top.keys().map(|k| format!("'{k}'")).collect();
            Err(ServeError::BadRequest(format!(
                "{FIELDS_SENTENCE} Received a dictionary with fields: [{}].",
                keys.join(", ")
            )))
        }
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn parse_params(value: Value) -> Result<PredictParams> {
    let Value::Object(map) = value else {
        return Err(ServeError::BadRequest(format!(
            "'params' must be an object, got {}",
            json_kind(&value)
        )));
    };
    let mut params = PredictParams::default();
    for (key, value) in map {
        if key != "predict_method" {
            return Err(ServeError::InvalidInput(format!(
                "unknown param '{key}'; the accepted params are: predict_method"
            )));
        }
        params.probabilities = match value.as_str() {
            Some("predict") => false,
            Some("predict_proba") => true,
            _ => {
                return Err(ServeError::InvalidInput(format!(
                    "param 'predict_method' must be \"predict\" or \"predict_proba\", got {}",
                    describe(&value)
                )));
            }
        };
    }
    Ok(params)
}

fn from_list(
    value: Value,
    schema: &InputSchema,
    field: &str,
    read: fn(Vec<Value>, &InputSchema, &str) -> Result<Frame>,
) -> Result<Frame> {
    match value {
        Value::Array(items) => read(items, schema, field),
        other => Err(ServeError::BadRequest(format!(
            "'{field}' must be a list, got {}",
            json_kind(&other)
        ))),
    }
}

fn from_split(value: Value, schema: &InputSchema) -> Result<Frame> {
    let Value::Object(mut split) = value else {
        return Err(split_shape(&format!("got {}", json_kind(&value))));
    };
    if let Some(key) = split
        .keys()
        .find(|k| !matches!(k.as_str(), "columns" | "data" | "index"))
    {
        return Err(split_shape(&format!("got an unknown key '{key}'")));
    }
    let rows = match split.remove("data") {
        Some(Value::Array(rows)) => rows,
        Some(other) => return Err(split_shape(&format!("'data' is {}", json_kind(&other)))),
        None => return Err(split_shape("'data' is absent")),
    };
    match split.remove("columns") {
        None | Some(Value::Null) => from_rows(rows, schema, "dataframe_split"),
        Some(Value::Array(columns)) => from_named_rows(&columns, rows, schema),
        Some(other) => Err(split_shape(&format!("'columns' is {}", json_kind(&other)))),
    }
}

fn split_shape(detail: &str) -> ServeError {
    ServeError::BadRequest(format!(
        "'dataframe_split' must be an object with 'columns' (a list of names), 'data' (a list \
         of rows, each a list of values) and optionally 'index'; {detail}"
    ))
}

fn from_named_rows(columns: &[Value], rows: Vec<Value>, schema: &InputSchema) -> Result<Frame> {
    let names = columns
        .iter()
        .map(|c| {
            c.as_str()
                .ok_or_else(|| split_shape(&format!("a column name is {}", describe(c))))
        })
        .collect::<Result<Vec<&str>>>()?;
    let positions = locate_columns(schema, names)?;
    let mut builder = FrameBuilder::new(schema, rows.len());
    for (row, values) in rows.into_iter().enumerate() {
        let values = row_list(values, row, "dataframe_split")?;
        if values.len() != positions.len() {
            return Err(ServeError::InvalidInput(format!(
                "row {row} has {} values but 'columns' names {}",
                values.len(),
                positions.len()
            )));
        }
        for (&index, value) in positions.iter().zip(values) {
            builder.push_json(index, value, row)?;
        }
    }
    builder.finish()
}

fn row_list(value: Value, row: usize, field: &str) -> Result<Vec<Value>> {
    match value {
        Value::Array(values) => Ok(values),
        other => Err(ServeError::BadRequest(format!(
            "'{field}' rows must be lists of values; row {row} is {}",
            json_kind(&other)
        ))),
    }
}

/// Rows as lists of values in the schema's order.
fn from_rows(rows: Vec<Value>, schema: &InputSchema, field: &str) -> Result<Frame> {
    let mut builder = FrameBuilder::new(schema, rows.len());
    for (row, values) in rows.into_iter().enumerate() {
        builder.push_positional(row_list(values, row, field)?, row)?;
    }
    builder.finish()
}

/// Rows as objects. A key absent from a record is a missing value; a column
/// absent from every record is an error, since then it was not sent at all.
fn from_records(records: Vec<Value>, schema: &InputSchema, field: &str) -> Result<Frame> {
    let mut builder = FrameBuilder::new(schema, records.len());
    let mut seen = vec![false; schema.columns.len()];
    let any = !records.is_empty();
    for (row, record) in records.into_iter().enumerate() {
        let Value::Object(mut record) = record else {
            return Err(ServeError::BadRequest(format!(
                "'{field}' must be a list of objects (one per row); row {row} is {}",
                json_kind(&record)
            )));
        };
        for (index, column) in schema.columns.iter().enumerate() {
            match record.remove(&column.name) {
                Some(value) => {
                    seen[index] = true;
                    builder.push_json(index, value, row)?;
                }
                None => builder.column(index)?.push_missing(),
            }
        }
        if let Some(extra) = record.keys().next() {
            return Err(unknown_column(schema, extra));
        }
    }
    if any {
        check_all_seen(schema, &seen)?;
    }
    builder.finish()
}

/// `instances` takes records, positional rows or, for a one-column model,
/// bare values; the first item decides which.
fn from_instances(items: Vec<Value>, schema: &InputSchema, field: &str) -> Result<Frame> {
    match items.first() {
        None | Some(Value::Array(_)) => from_rows(items, schema, field),
        Some(Value::Object(_)) => from_records(items, schema, field),
        Some(_) => from_scalars(items, schema, field),
    }
}

fn from_scalars(items: Vec<Value>, schema: &InputSchema, field: &str) -> Result<Frame> {
    if schema.columns.len() != 1 {
        return Err(ServeError::InvalidInput(format!(
            "'{field}' is a list of single values, which fits only a model with one column; \
             send one row per item (the model needs: {})",
            schema.names().join(", ")
        )));
    }
    let mut builder = FrameBuilder::new(schema, items.len());
    for (row, value) in items.into_iter().enumerate() {
        builder.push_json(0, value, row)?;
    }
    builder.finish()
}

fn from_inputs(value: Value, schema: &InputSchema) -> Result<Frame> {
    match value {
        Value::Object(columns) => from_columns(columns, schema),
        Value::Array(items) => from_instances(items, schema, "inputs"),
        other => Err(ServeError::BadRequest(format!(
            "'inputs' must be an object of column name to list of values, or a list of rows; \
             got {}",
            json_kind(&other)
        ))),
    }
}

/// `inputs` as `{column: [values...]}`.
fn from_columns(columns: Map<String, Value>, schema: &InputSchema) -> Result<Frame> {
    let positions = locate_columns(schema, columns.keys().map(String::as_str))?;
    let mut builder = FrameBuilder::new(schema, 0);
    let mut first: Option<(String, usize)> = None;
    for ((name, values), index) in columns.into_iter().zip(positions) {
        let Value::Array(values) = values else {
            return Err(ServeError::BadRequest(format!(
                "'inputs' column '{name}' must be a list of values, got {}",
                json_kind(&values)
            )));
        };
        match &first {
            Some((first_name, rows)) if *rows != values.len() => {
                return Err(ServeError::InvalidInput(format!(
                    "'inputs' columns must all have the same length: column '{first_name}' has \
                     {rows} values but column '{name}' has {}",
                    values.len()
                )));
            }
            Some(_) => {}
            None => first = Some((name, values.len())),
        }
        for (row, value) in values.into_iter().enumerate() {
            builder.push_json(index, value, row)?;
        }
    }
    builder.finish()
}

fn parse_csv(body: &[u8], schema: &InputSchema) -> Result<Frame> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(body);
    let headers = reader.headers().map_err(csv_error)?.clone();
    let positions = if headers.iter().all(str::is_empty) {
        locate_columns(schema, [])?
    } else {
        locate_columns(schema, headers.iter())?
    };
    let mut builder = FrameBuilder::new(schema, 0);
    let mut record = csv::StringRecord::new();
    let mut row = 0;
    while reader.read_record(&mut record).map_err(csv_error)? {
        for (field, &index) in record.iter().zip(&positions) {
            builder.push_text(index, field, row)?;
        }
        row += 1;
    }
    builder.finish()
}

fn csv_error(error: csv::Error) -> ServeError {
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => ServeError::InvalidInput(format!(
            "CSV line {} has {len} fields but the header has {expected_len}",
            pos.as_ref().map_or(0, |p| p.line())
        )),
        _ => ServeError::BadRequest(format!("invalid CSV: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use smelt_data::Kind;

    use super::*;
    use crate::protocol::test_support::*;

    fn parse(body: Value) -> Result<Invocation> {
        parse_invocation(
            Some("application/json"),
            body.to_string().as_bytes(),
            &mixed(),
        )
    }

    fn message(result: Result<Invocation>) -> (String, &'static str) {
        let err = result.expect_err("expected an error");
        let code = err.error_code();
        (err.to_string(), code)
    }

    fn invalid(body: Value) -> String {
        let (msg, code) = message(parse(body));
        assert_eq!(code, "INVALID_PARAMETER_VALUE", "{msg}");
        msg
    }

    fn bad(body: Value) -> String {
        let err = parse(body).expect_err("expected an error");
        assert!(matches!(err, ServeError::BadRequest(_)), "{err:?}");
        err.to_string()
    }

    fn assert_expected(frame: &Frame) {
        assert_eq!(frame.names(), vec!["a", "b", "c"]);
        assert_eq!(frame.columns()[0].kind(), Kind::Numeric);
        assert_eq!(frame.columns()[2].kind(), Kind::Categorical);
        assert_eq!(numbers(frame, "a"), vec![1.0, 3.0]);
        assert_eq!(numbers(frame, "b")[0], 2.5);
        assert!(numbers(frame, "b")[1].is_nan());
        assert_eq!(texts(frame, "c"), vec![Some("x".to_string()), None]);
    }

    #[test]
    fn dataframe_split_with_columns_in_any_order() {
        let body = json!({"dataframe_split": {
            "index": [0, 1],
            "columns": ["c", "b", "a"],
            "data": [["x", 2.5, 1], [null, null, 3]]
        }});
        assert_expected(&parse(body).unwrap().frame);
    }

    #[test]
    fn dataframe_split_without_columns_is_positional() {
        let body = json!({"dataframe_split": {"data": [[1, 2.5, "x"], [3, null, null]]}});
        assert_expected(&parse(body).unwrap().frame);
        let msg = invalid(json!({"dataframe_split": {"data": [[1, 2.5]]}}));
        assert_eq!(
            msg,
            "row 0 has 2 values but the model needs 3 (in this order: a, b, c)"
        );
    }

    #[test]
    fn dataframe_split_row_width_and_duplicates() {
        let msg = invalid(json!({"dataframe_split": {
            "columns": ["a", "b", "c"], "data": [[1, 2, "x"], [1, 2]]
        }}));
        assert_eq!(msg, "row 1 has 2 values but 'columns' names 3");
        let msg = invalid(json!({"dataframe_split": {
            "columns": ["a", "b", "c", "a"], "data": []
        }}));
        assert_eq!(
            msg,
            "column 'a' appears more than once; each column must be sent once"
        );
    }

    #[test]
    fn dataframe_split_structure_errors_are_bad_requests() {
        let msg = bad(json!({"dataframe_split": {"columns": ["a"]}}));
        assert!(msg.ends_with("; 'data' is absent"), "{msg}");
        let msg = bad(json!({"dataframe_split": {"columns": ["a", "b", "c"], "data": [5]}}));
        assert_eq!(
            msg,
            "'dataframe_split' rows must be lists of values; row 0 is a number"
        );
    }

    #[test]
    fn dataframe_records_with_partly_absent_keys() {
        let body = json!({"dataframe_records": [
            {"a": 1, "b": 2.5, "c": "x"},
            {"a": 3}
        ]});
        assert_expected(&parse(body).unwrap().frame);
    }

    #[test]
    fn dataframe_records_missing_and_unknown_columns() {
        let msg = invalid(json!({"dataframe_records": [{"a": 1}, {"a": 2}]}));
        assert_eq!(
            msg,
            "the input is missing columns 'b', 'c' (the model needs: a, b, c)"
        );
        let msg = invalid(json!({"dataframe_records": [{"a": 1, "b": 2, "c": "x", "z": 0}]}));
        assert_eq!(msg, "unknown column 'z'; the model's columns are: a, b, c");
    }

    #[test]
    fn numeric_column_rejects_text_bools_and_lists() {
        let msg = invalid(
            json!({"dataframe_split": {"data": [[1, 2, "x"], [1, 2, "y"], ["abc", 2, "z"]]}}),
        );
        assert_eq!(msg, "column 'a', row 2: expected a number, got \"abc\"");
        let msg = invalid(json!({"dataframe_records": [{"a": true, "b": 1, "c": "x"}]}));
        assert_eq!(msg, "column 'a', row 0: expected a number, got true");
        let msg = invalid(json!({"dataframe_records": [{"a": 1, "b": [1], "c": "x"}]}));
        assert_eq!(msg, "column 'b', row 0: expected a number, got a list");
    }

    #[test]
    fn categorical_column_converts_numbers_and_bools_but_not_objects() {
        let body = json!({"instances": [[1, 2, 7], [1, 2, 7.5], [1, 2, true], [1, 2, null]]});
        let frame = parse(body).unwrap().frame;
        let mut expected = some(&["7", "7.5", "true"]);
        expected.push(None);
        assert_eq!(texts(&frame, "c"), expected);
        let msg = invalid(json!({"instances": [[1, 2, {"k": 1}]]}));
        assert_eq!(msg, "column 'c', row 0: expected text, got an object");
    }

    #[test]
    fn instances_as_records_and_as_rows() {
        let records = json!({"instances": [{"a": 1, "b": 2.5, "c": "x"}, {"a": 3, "b": null}]});
        assert_expected(&parse(records).unwrap().frame);
        let rows = json!({"instances": [[1, 2.5, "x"], [3, null, null]]});
        assert_expected(&parse(rows).unwrap().frame);
    }

    #[test]
    fn instances_of_scalars_only_for_one_column_models() {
        let one = schema(&[("x", Kind::Numeric)]);
        let body = json!({"instances": [1, null, 2.5]}).to_string();
        let frame = parse_invocation(None, body.as_bytes(), &one).unwrap().frame;
        let x = numbers(&frame, "x");
        assert_eq!((x[0], x[1].is_nan(), x[2]), (1.0, true, 2.5));
        let msg = invalid(json!({"instances": [1, 2]}));
        assert_eq!(
            msg,
            "'instances' is a list of single values, which fits only a model with one column; \
             send one row per item (the model needs: a, b, c)"
        );
    }

    #[test]
    fn inputs_columnar() {
        let body = json!({"inputs": {"a": [1, 3], "b": [2.5, null], "c": ["x", null]}});
        assert_expected(&parse(body).unwrap().frame);
        let msg = invalid(json!({"inputs": {"a": [1, 3], "b": [2.5], "c": ["x", null]}}));
        assert_eq!(
            msg,
            "'inputs' columns must all have the same length: column 'a' has 2 values but \
             column 'b' has 1"
        );
        let msg = invalid(json!({"inputs": {"a": [1], "b": [2]}}));
        assert_eq!(
            msg,
            "the input is missing column 'c' (the model needs: a, b, c)"
        );
    }

    #[test]
    fn inputs_as_instances_forms() {
        let body = json!({"inputs": [{"a": 1, "b": 2.5, "c": "x"}, {"a": 3}]});
        assert_expected(&parse(body).unwrap().frame);
        let msg = invalid(json!({"inputs": [[1, 2]]}));
        assert_eq!(
            msg,
            "row 0 has 2 values but the model needs 3 (in this order: a, b, c)"
        );
    }

    #[test]
    fn zero_rows_give_an_empty_frame_with_the_schema() {
        for body in [
            json!({"dataframe_records": []}),
            json!({"instances": []}),
            json!({"dataframe_split": {"columns": ["a", "b", "c"], "data": []}}),
        ] {
            let frame = parse(body).unwrap().frame;
            assert_eq!(frame.rows(), 0);
            assert_eq!(frame.names(), vec!["a", "b", "c"]);
            assert_eq!(frame.columns()[2].kind(), Kind::Categorical);
        }
    }

    #[test]
    fn top_level_must_have_exactly_one_input_field() {
        let start = "The input must be a JSON dictionary with exactly one of the input fields \
                     {'dataframe_split', 'dataframe_records', 'instances', 'inputs'} (plus \
                     optional 'params').";
        let msg = bad(json!({"instances": [], "inputs": []}));
        assert_eq!(
            msg,
            format!("{start} Received a dictionary with fields: ['inputs', 'instances'].")
        );
        let msg = bad(json!({}));
        assert_eq!(
            msg,
            format!("{start} Received a dictionary with fields: [].")
        );
        let msg = bad(json!({"instances": [], "extra": 1}));
        assert_eq!(
            msg,
            format!("{start} Received a dictionary with fields: ['extra', 'instances'].")
        );
        let msg = bad(json!([[1, 2, "x"]]));
        assert_eq!(msg, format!("{start} Received a list."));
    }

    #[test]
    fn invalid_json_and_utf8_carry_serde_position() {
        let err = parse_invocation(None, b"{\"instances\": [1,", &mixed()).unwrap_err();
        assert!(matches!(err, ServeError::BadRequest(_)));
        assert_eq!(
            err.to_string(),
            "invalid JSON: EOF while parsing a value at line 1 column 17"
        );
        let err = parse_invocation(None, b"{\"instances\": [\"\xff\"]}", &mixed()).unwrap_err();
        assert!(matches!(err, ServeError::BadRequest(_)));
        assert!(err.to_string().contains("line 1 column"), "{err}");
    }

    #[test]
    fn params_select_predict_method() {
        let body = json!({"instances": [], "params": {"predict_method": "predict_proba"}});
        assert_eq!(
            parse(body).unwrap().params,
            PredictParams {
                probabilities: true
            }
        );
        let body = json!({"instances": [], "params": {"predict_method": "predict"}});
        assert!(!parse(body).unwrap().params.probabilities);
        let msg = invalid(json!({"instances": [], "params": {"temperature": 1}}));
        assert_eq!(
            msg,
            "unknown param 'temperature'; the accepted params are: predict_method"
        );
        let msg = invalid(json!({"instances": [], "params": {"predict_method": "transform"}}));
        assert_eq!(
            msg,
            "param 'predict_method' must be \"predict\" or \"predict_proba\", got \"transform\""
        );
        let msg = bad(json!({"instances": [], "params": [1]}));
        assert_eq!(msg, "'params' must be an object, got a list");
    }

    #[test]
    fn content_types() {
        let body = br#"{"instances": []}"#;
        for ct in [
            "application/json",
            "Application/JSON; charset=UTF-8",
            "application/json;charset=\"utf-8\"",
        ] {
            assert!(parse_invocation(Some(ct), body, &mixed()).is_ok(), "{ct}");
        }
        for ct in [
            "text/plain",
            "application/json; charset=latin-1",
            "text/csv; header=present",
        ] {
            let err = parse_invocation(Some(ct), body, &mixed()).unwrap_err();
            assert!(matches!(err, ServeError::UnsupportedMediaType(_)), "{ct}");
            assert_eq!(
                err.to_string(),
                format!(
                    "This predictor only supports the following content types: \
                     application/json, text/csv (optionally with charset=utf-8). Received: '{ct}'."
                )
            );
        }
    }

    #[test]
    fn csv_body() {
        let body = b"c,b,a\nx,2.5,1\n,,3\n";
        let inv = parse_invocation(Some("text/csv; charset=utf-8"), body, &mixed()).unwrap();
        assert_expected(&inv.frame);
        assert_eq!(inv.params, PredictParams::default());
    }

    #[test]
    fn csv_errors() {
        let csv = |body: &[u8]| parse_invocation(Some("text/csv"), body, &mixed()).unwrap_err();
        let err = csv(b"a,b,c\n1,2,x\n1,abc,y\n");
        assert_eq!(
            err.to_string(),
            "column 'b', row 1: expected a number, got \"abc\""
        );
        let err = csv(b"a,b,c\n1,2,x\n1,2\n");
        assert!(matches!(err, ServeError::InvalidInput(_)));
        assert_eq!(
            err.to_string(),
            "CSV line 3 has 2 fields but the header has 3"
        );
        let err = csv(b"a,b,z\n1,2,x\n");
        assert_eq!(
            err.to_string(),
            "unknown column 'z'; the model's columns are: a, b, c"
        );
        let err = csv(b"");
        assert_eq!(
            err.to_string(),
            "the input is missing columns 'a', 'b', 'c' (the model needs: a, b, c)"
        );
        let err = csv(b"a,b,c\n1,inf,x\n");
        assert_eq!(
            err.to_string(),
            "column 'b', row 0: expected a number, got \"inf\""
        );
    }

    #[test]
    fn csv_header_only_is_zero_rows() {
        let frame = parse_invocation(Some("text/csv"), b"a,b,c\n", &mixed())
            .unwrap()
            .frame;
        assert_eq!((frame.rows(), frame.names()), (0, vec!["a", "b", "c"]));
    }

    fn classes(classes: &[&str], labels: &[&str]) -> Predictions {
        Predictions::Classes {
            classes: classes.iter().map(|c| c.to_string()).collect(),
            labels: labels.iter().map(|c| c.to_string()).collect(),
            probabilities: vec![vec![0.25, 0.75]; labels.len()],
        }
    }

    #[test]
    fn regression_predictions_with_non_finite_as_null() {
        let out = predictions_json(
            &Predictions::Values(vec![1.5, f64::NAN, f64::INFINITY]),
            &PredictParams::default(),
        );
        assert_eq!(out, json!({"predictions": [1.5, null, null]}));
    }

    #[test]
    fn numeric_labels_are_numbers_else_strings() {
        let plain = PredictParams::default();
        let out = predictions_json(&classes(&["1", "2.5"], &["2.5", "1"]), &plain);
        assert_eq!(out.to_string(), r#"{"predictions":[2.5,1]}"#);
        let out = predictions_json(&classes(&["1", "cat"], &["1", "cat"]), &plain);
        assert_eq!(out, json!({"predictions": ["1", "cat"]}));
        let out = predictions_json(&classes(&["nan", "inf"], &["inf"]), &plain);
        assert_eq!(out, json!({"predictions": ["inf"]}));
    }

    #[test]
    fn probabilities_follow_class_order() {
        let proba = PredictParams {
            probabilities: true,
        };
        let out = predictions_json(&classes(&["no", "yes"], &["yes"]), &proba);
        assert_eq!(out, json!({"predictions": [[0.25, 0.75]]}));
    }

    #[test]
    fn wrong_structures_are_bad_requests() {
        let msg = bad(json!({"inputs": 5}));
        assert_eq!(
            msg,
            "'inputs' must be an object of column name to list of values, or a list of rows; \
             got a number"
        );
        let msg = bad(json!({"dataframe_records": [{"a": 1}, [1]]}));
        assert_eq!(
            msg,
            "'dataframe_records' must be a list of objects (one per row); row 1 is a list"
        );
        let msg = bad(json!({"dataframe_records": {"a": 1}}));
        assert_eq!(msg, "'dataframe_records' must be a list, got an object");
        let msg = bad(json!({"inputs": {"a": 1, "b": [1], "c": ["x"]}}));
        assert_eq!(
            msg,
            "'inputs' column 'a' must be a list of values, got a number"
        );
    }

    #[test]
    fn odd_bodies_never_panic() {
        let bodies: [&[u8]; 8] = [
            b"",
            b"null",
            b"{\"instances\": [[[1]]]}",
            b"{\"instances\": [1, {\"a\": 1}]}",
            b"{\"dataframe_split\": {\"columns\": [1], \"data\": []}}",
            b"{\"dataframe_split\": {\"data\": [[1e400, 1, 1]]}}",
            b"{\"inputs\": {}}",
            b"a,b,c\n\xff,1,1\n",
        ];
        for body in bodies {
            for ct in [None, Some("text/csv")] {
                let _ = parse_invocation(ct, body, &mixed());
                let _ = parse_invocation(ct, body, &schema(&[]));
            }
        }
    }
}
