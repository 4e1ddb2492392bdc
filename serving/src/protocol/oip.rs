//! The Open Inference Protocol v2 over REST (KServe v2, Triton, Seldon
//! MLServer): typed tensors in, typed tensors out. A tabular model reads
//! either one tensor per column, or one `[n, k]` tensor when every column is
//! numeric, which is what numpy-minded clients send.

use serde_json::{Map, Value, json};
use smelt_data::{Frame, Kind};
use smelt_models::{Predictions, Task};

use super::{ColumnBuilder, FrameBuilder, describe, locate_columns, parse_json};
use crate::error::{Result, ServeError};
use crate::schema::InputSchema;

/// An output a request can ask for by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// `predict`: the label or value per row.
    Predict,
    /// `probabilities`: one probability per class per row (classifiers only).
    Probabilities,
}

impl OutputKind {
    fn name(self) -> &'static str {
        match self {
            OutputKind::Predict => "predict",
            OutputKind::Probabilities => "probabilities",
        }
    }

    /// The outputs a model of this task has, in answer order.
    fn all(task: &Task) -> &'static [OutputKind] {
        if task.is_classification() {
            &[OutputKind::Predict, OutputKind::Probabilities]
        } else {
            &[OutputKind::Predict]
        }
    }
}

/// A parsed inference request.
#[derive(Debug)]
pub struct InferRequest {
    pub id: Option<String>,
    pub frame: Frame,
    pub outputs: Vec<OutputKind>,
    pub parameters: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Datatype {
    Bool,
    Int(u32),
    Uint(u32),
    Fp32,
    Fp64,
    Bytes,
}

const DATATYPES: &str =
    "BOOL, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64, FP32, FP64, BYTES";

impl Datatype {
    fn parse(name: &str, input: &str) -> Result<Self> {
        Ok(match name {
            "BOOL" => Datatype::Bool,
            "INT8" => Datatype::Int(8),
            "INT16" => Datatype::Int(16),
            "INT32" => Datatype::Int(32),
            "INT64" => Datatype::Int(64),
            "UINT8" => Datatype::Uint(8),
            "UINT16" => Datatype::Uint(16),
            "UINT32" => Datatype::Uint(32),
            "UINT64" => Datatype::Uint(64),
            "FP32" => Datatype::Fp32,
            "FP64" => Datatype::Fp64,
            "BYTES" => Datatype::Bytes,
            "FP16" | "BF16" => {
                return Err(ServeError::InvalidInput(format!(
                    "input '{input}': {name} cannot be sent as JSON; use FP32"
                )));
            }
            _ => {
                return Err(ServeError::InvalidInput(format!(
                    "input '{input}': unknown datatype '{name}'; the datatypes are: {DATATYPES}"
                )));
            }
        })
    }

    fn name(self) -> String {
        match self {
            Datatype::Bool => "BOOL".to_string(),
            Datatype::Int(bits) => format!("INT{bits}"),
            Datatype::Uint(bits) => format!("UINT{bits}"),
            Datatype::Fp32 => "FP32".to_string(),
            Datatype::Fp64 => "FP64".to_string(),
            Datatype::Bytes => "BYTES".to_string(),
        }
    }

    /// The inclusive range an integer datatype holds.
    fn range(self) -> Option<(i128, i128)> {
        match self {
            Datatype::Int(bits) => Some((-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)),
            Datatype::Uint(bits) => Some((0, (1i128 << bits) - 1)),
            _ => None,
        }
    }
}

/// One request input, its data flattened row-major.
#[derive(Debug)]
struct Tensor {
    name: String,
    shape: Vec<usize>,
    datatype: Datatype,
    data: Vec<Value>,
}

pub fn parse_infer(body: &[u8], schema: &InputSchema, task: &Task) -> Result<InferRequest> {
    let Value::Object(mut top) = parse_json(body)? else {
        return Err(ServeError::BadRequest(
            "the request must be a JSON object with 'inputs'".to_string(),
        ));
    };
    let id = match top.remove("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id),
        Some(other) => return Err(bad_field("id", "a string", &other)),
    };
    let parameters = match top.remove("parameters") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(parameters)) => parameters,
        Some(other) => return Err(bad_field("parameters", "an object", &other)),
    };
    let inputs = match top.remove("inputs") {
        Some(Value::Array(inputs)) => inputs,
        None => {
            return Err(ServeError::BadRequest(
                "the request needs 'inputs'".to_string(),
            ));
        }
        Some(other) => return Err(bad_field("inputs", "a list of inputs", &other)),
    };
    let tensors = inputs
        .into_iter()
        .enumerate()
        .map(|(position, input)| parse_tensor(input, position))
        .collect::<Result<Vec<_>>>()?;
    Ok(InferRequest {
        id,
        frame: build_frame(tensors, schema)?,
        outputs: parse_outputs(top.remove("outputs"), task)?,
        parameters,
    })
}

fn bad_field(field: &str, expected: &str, got: &Value) -> ServeError {
    ServeError::BadRequest(format!(
        "'{field}' must be {expected}, got {}",
        describe(got)
    ))
}

fn parse_tensor(input: Value, position: usize) -> Result<Tensor> {
    let Value::Object(mut input) = input else {
        return Err(ServeError::BadRequest(format!(
            "each input must be an object with 'name', 'shape', 'datatype' and 'data'; input \
             {position} is {}",
            describe(&input)
        )));
    };
    let name = match input.remove("name") {
        Some(Value::String(name)) => name,
        _ => return Err(tensor_field(&position.to_string(), "'name' (a string)")),
    };
    let shape = match input.remove("shape") {
        Some(Value::Array(shape)) => parse_shape(&shape, &name)?,
        _ => return Err(tensor_field(&name, "'shape' (a list of sizes)")),
    };
    let datatype = match input.remove("datatype") {
        Some(Value::String(datatype)) => Datatype::parse(&datatype, &name)?,
        _ => {
            return Err(tensor_field(
                &name,
                "'datatype' (a string such as \"FP64\")",
            ));
        }
    };
    let data = match input.remove("data") {
        Some(Value::Array(data)) => {
            flatten(data, shape.iter().fold(1, |a, &d| a.saturating_mul(d)))
        }
        _ => return Err(tensor_field(&name, "'data' (a list of values)")),
    };
    check_count(&name, &shape, data.len())?;
    Ok(Tensor {
        name,
        shape,
        datatype,
        data,
    })
}

fn tensor_field(input: &str, what: &str) -> ServeError {
    ServeError::BadRequest(format!("input {input} needs {what}"))
}

fn parse_shape(shape: &[Value], input: &str) -> Result<Vec<usize>> {
    shape
        .iter()
        .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| {
            let shown: Vec<String> = shape.iter().map(describe).collect();
            ServeError::InvalidInput(format!(
                "input '{input}': shape entries must be non-negative integers, got [{}]",
                shown.join(",")
            ))
        })
}

/// Clients send numpy arrays both flat and nested; row-major order is the
/// same either way.
fn flatten(data: Vec<Value>, expected: usize) -> Vec<Value> {
    if !data.iter().any(Value::is_array) {
        return data;
    }
    let mut flat = Vec::with_capacity(expected.min(1 << 20));
    flatten_into(data, &mut flat);
    flat
}

// serde_json stops nesting at 128 levels, so this recursion is bounded.
fn flatten_into(data: Vec<Value>, flat: &mut Vec<Value>) {
    for value in data {
        match value {
            Value::Array(inner) => flatten_into(inner, flat),
            other => flat.push(other),
        }
    }
}

fn check_count(input: &str, shape: &[usize], got: usize) -> Result<()> {
    let needed = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if needed == Some(got) {
        return Ok(());
    }
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let needed = needed.map_or_else(|| "more".to_string(), |n| n.to_string());
    Err(ServeError::InvalidInput(format!(
        "input '{input}': shape [{}] needs {needed} values, got {got}",
        dims.join(",")
    )))
}

fn build_frame(tensors: Vec<Tensor>, schema: &InputSchema) -> Result<Frame> {
    let width = schema.columns.len();
    if let [only] = tensors.as_slice() {
        let named_column = schema.position(&only.name).is_some();
        if let [_, k] = only.shape[..] {
            if k == width && !(named_column && k == 1) {
                return from_matrix(tensors, schema);
            }
            if !named_column {
                return Err(ServeError::InvalidInput(format!(
                    "input '{}' has {k} columns but the model has {width} ({})",
                    only.name,
                    schema.names().join(", ")
                )));
            }
        }
    }
    from_columns(tensors, schema)
}

/// Layout (b): one `[n, k]` tensor, columns in schema order.
fn from_matrix(tensors: Vec<Tensor>, schema: &InputSchema) -> Result<Frame> {
    let Some(tensor) = tensors.into_iter().next() else {
        return FrameBuilder::new(schema, 0).finish();
    };
    let categorical: Vec<String> = schema
        .columns
        .iter()
        .filter(|c| c.kind == Kind::Categorical)
        .map(|c| format!("'{}'", c.name))
        .collect();
    if !categorical.is_empty() {
        return Err(ServeError::InvalidInput(format!(
            "a single [n, k] input fits only a model whose columns are all numeric; this \
             model's column(s) {} are categorical, so send one input per column, named as \
             the column (the model needs: {})",
            categorical.join(", "),
            schema.names().join(", ")
        )));
    }
    if tensor.datatype == Datatype::Bytes {
        return Err(bytes_for_numeric(&tensor.name));
    }
    let width = schema.columns.len();
    let mut builder = FrameBuilder::new(schema, tensor.shape.first().copied().unwrap_or(0));
    for (index, value) in tensor.data.into_iter().enumerate() {
        let column = builder.column(index % width)?;
        push_value(column, tensor.datatype, value, &tensor.name, index)?;
    }
    builder.finish()
}

/// Layout (a): one `[n]` or `[n, 1]` tensor per column.
fn from_columns(tensors: Vec<Tensor>, schema: &InputSchema) -> Result<Frame> {
    let positions = locate_columns(schema, tensors.iter().map(|t| t.name.as_str()))?;
    let rows = common_rows(&tensors)?;
    let mut builder = FrameBuilder::new(schema, rows);
    for (tensor, index) in tensors.into_iter().zip(positions) {
        let column = builder.column(index)?;
        if tensor.datatype == Datatype::Bytes && matches!(column, ColumnBuilder::Numeric(_)) {
            return Err(bytes_for_numeric(&tensor.name));
        }
        for (row, value) in tensor.data.into_iter().enumerate() {
            push_value(column, tensor.datatype, value, &tensor.name, row)?;
        }
    }
    builder.finish()
}

/// The row count every per-column tensor must share.
fn common_rows(tensors: &[Tensor]) -> Result<usize> {
    let mut first: Option<(&str, usize)> = None;
    for tensor in tensors {
        let rows = match tensor.shape[..] {
            [n] | [n, 1] => n,
            _ => {
                let dims: Vec<String> = tensor.shape.iter().map(usize::to_string).collect();
                return Err(ServeError::InvalidInput(format!(
                    "input '{}': shape [{}] does not fit one column; use [n] or [n,1]",
                    tensor.name,
                    dims.join(",")
                )));
            }
        };
        match first {
            Some((name, n)) if n != rows => {
                return Err(ServeError::InvalidInput(format!(
                    "inputs must all have the same number of rows: input '{name}' has {n} but \
                     input '{}' has {rows}",
                    tensor.name
                )));
            }
            Some(_) => {}
            None => first = Some((&tensor.name, rows)),
        }
    }
    Ok(first.map_or(0, |(_, n)| n))
}

fn bytes_for_numeric(input: &str) -> ServeError {
    ServeError::InvalidInput(format!(
        "input '{input}': the model's column is numeric, so BYTES cannot be sent; use FP64 (or \
         another numeric datatype)"
    ))
}

fn push_value(
    column: &mut ColumnBuilder,
    datatype: Datatype,
    value: Value,
    input: &str,
    index: usize,
) -> Result<()> {
    match (datatype, value) {
        (Datatype::Bool, Value::Bool(b)) => column.push_bool(b),
        (Datatype::Fp32 | Datatype::Fp64 | Datatype::Bytes, Value::Null) => column.push_missing(),
        (Datatype::Fp32 | Datatype::Fp64, Value::Number(n)) => {
            column.push_number(n.as_f64().unwrap_or(f64::NAN));
        }
        (Datatype::Bytes, Value::String(s)) => {
            return column.push_json(Value::String(s), input, index);
        }
        (Datatype::Int(_) | Datatype::Uint(_), value) => {
            let x = integer(datatype, &value)
                .ok_or_else(|| element_error(datatype, input, index, &value))?;
            column.push_number(x);
        }
        (_, value) => return Err(element_error(datatype, input, index, &value)),
    }
    Ok(())
}

/// The value as an `f64` when it is an integer within the datatype's range.
fn integer(datatype: Datatype, value: &Value) -> Option<f64> {
    let (low, high) = datatype.range()?;
    let n = value
        .as_i64()
        .map(i128::from)
        .or_else(|| value.as_u64().map(i128::from))?;
    (low..=high).contains(&n).then_some(n as f64)
}

fn element_error(datatype: Datatype, input: &str, index: usize, got: &Value) -> ServeError {
    let name = datatype.name();
    let rule = match datatype.range() {
        Some((low, high)) => format!("{name} values must be integers from {low} to {high}"),
        None if datatype == Datatype::Bool => "BOOL values must be true or false".to_string(),
        None if datatype == Datatype::Bytes => {
            "BYTES values must be strings (or null for missing)".to_string()
        }
        None => format!("{name} values must be numbers (or null for missing)"),
    };
    ServeError::InvalidInput(format!(
        "input '{input}', index {index}: {rule}, got {}",
        describe(got)
    ))
}

fn parse_outputs(outputs: Option<Value>, task: &Task) -> Result<Vec<OutputKind>> {
    let valid = OutputKind::all(task);
    let items = match outputs {
        None | Some(Value::Null) => return Ok(valid.to_vec()),
        Some(Value::Array(items)) if items.is_empty() => return Ok(valid.to_vec()),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(bad_field("outputs", "a list of {\"name\": ...}", &other)),
    };
    let mut kinds = Vec::with_capacity(items.len());
    for item in &items {
        let name = item
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad_field("outputs", "a list of {\"name\": ...}", item))?;
        let kind = valid.iter().find(|k| k.name() == name).ok_or_else(|| {
            let names: Vec<&str> = valid.iter().map(|k| k.name()).collect();
            ServeError::InvalidInput(format!(
                "unknown output '{name}'; this model's outputs are: {}",
                names.join(", ")
            ))
        })?;
        if !kinds.contains(kind) {
            kinds.push(*kind);
        }
    }
    Ok(kinds)
}

/// The response body. `id` is the request's, or one the caller made up;
/// `None` leaves it out.
pub fn infer_response(
    model_name: &str,
    model_version: Option<&str>,
    id: Option<&str>,
    predictions: &Predictions,
    outputs: &[OutputKind],
) -> Value {
    let mut body = Map::with_capacity(4);
    body.insert("model_name".to_string(), Value::from(model_name));
    if let Some(version) = model_version {
        body.insert("model_version".to_string(), Value::from(version));
    }
    if let Some(id) = id {
        body.insert("id".to_string(), Value::from(id));
    }
    let tensors = outputs
        .iter()
        .filter_map(|kind| output_tensor(*kind, predictions))
        .collect();
    body.insert("outputs".to_string(), Value::Array(tensors));
    Value::Object(body)
}

/// `None` for probabilities of a regressor, which has none to give.
fn output_tensor(kind: OutputKind, predictions: &Predictions) -> Option<Value> {
    match (kind, predictions) {
        (OutputKind::Predict, Predictions::Classes { labels, .. }) => Some(json!({
            "name": "predict", "datatype": "BYTES", "shape": [labels.len()], "data": labels,
        })),
        (OutputKind::Predict, Predictions::Values(values)) => {
            let data: Vec<Value> = values.iter().map(|&x| Value::from(x)).collect();
            Some(json!({
                "name": "predict", "datatype": "FP64", "shape": [values.len()], "data": data,
            }))
        }
        (
            OutputKind::Probabilities,
            Predictions::Classes {
                classes,
                probabilities,
                ..
            },
        ) => {
            let data: Vec<Value> = probabilities
                .iter()
                .flatten()
                .map(|&p| Value::from(p))
                .collect();
            Some(json!({
                "name": "probabilities",
                "datatype": "FP64",
                "shape": [probabilities.len(), classes.len()],
                "data": data,
                "parameters": {"classes": classes},
            }))
        }
        (OutputKind::Probabilities, Predictions::Values(_)) => None,
    }
}

pub fn model_metadata(name: &str, versions: &[String], schema: &InputSchema, task: &Task) -> Value {
    let inputs: Vec<Value> = schema
        .columns
        .iter()
        .map(|c| {
            let datatype = match c.kind {
                Kind::Numeric => "FP64",
                Kind::Categorical => "BYTES",
            };
            json!({"name": c.name, "datatype": datatype, "shape": [-1]})
        })
        .collect();
    let mut outputs = vec![json!({
        "name": "predict",
        "datatype": if task.is_classification() { "BYTES" } else { "FP64" },
        "shape": [-1],
    })];
    if task.is_classification() {
        outputs.push(json!({
            "name": "probabilities",
            "datatype": "FP64",
            "shape": [-1, task.classes().len()],
        }));
    }
    json!({
        "name": name,
        "versions": versions,
        "platform": "smelt",
        "inputs": inputs,
        "outputs": outputs,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::protocol::test_support::*;

    fn classifier() -> Task {
        Task::Classification {
            classes: vec!["no".to_string(), "yes".to_string()],
        }
    }

    fn numeric3() -> InputSchema {
        schema(&[
            ("a", Kind::Numeric),
            ("b", Kind::Numeric),
            ("c", Kind::Numeric),
        ])
    }

    fn infer(body: Value, schema: &InputSchema) -> Result<InferRequest> {
        parse_infer(body.to_string().as_bytes(), schema, &classifier())
    }

    fn invalid(body: Value, schema: &InputSchema) -> String {
        let err = infer(body, schema).expect_err("expected an error");
        assert!(matches!(err, ServeError::InvalidInput(_)), "{err:?}");
        err.to_string()
    }

    fn input(name: &str, shape: Value, datatype: &str, data: Value) -> Value {
        json!({"name": name, "shape": shape, "datatype": datatype, "data": data})
    }

    fn per_column(a: Value, b: Value, c: Value) -> Value {
        json!({"inputs": [
            input("a", json!([2]), "FP64", a),
            input("b", json!([2, 1]), "INT32", b),
            input("c", json!([2]), "BYTES", c),
        ]})
    }

    #[test]
    fn one_input_per_column() {
        let body = per_column(json!([1.5, null]), json!([[3], [-4]]), json!(["x", null]));
        let request = infer(body, &mixed()).unwrap();
        let frame = &request.frame;
        assert_eq!(frame.names(), vec!["a", "b", "c"]);
        assert_eq!(frame.columns()[2].kind(), Kind::Categorical);
        assert_eq!(numbers(frame, "a")[0], 1.5);
        assert!(numbers(frame, "a")[1].is_nan());
        assert_eq!(numbers(frame, "b"), vec![3.0, -4.0]);
        assert_eq!(texts(frame, "c"), vec![Some("x".to_string()), None]);
        assert_eq!(
            request.outputs,
            vec![OutputKind::Predict, OutputKind::Probabilities]
        );
        assert_eq!(request.id, None);
    }

    #[test]
    fn inputs_in_any_order_with_id_and_parameters() {
        let body = json!({
            "id": "req-1",
            "parameters": {"trace": true},
            "inputs": [
                input("c", json!([1]), "BYTES", json!(["x"])),
                input("b", json!([1]), "FP32", json!([2])),
                input("a", json!([1]), "UINT8", json!([255])),
            ],
        });
        let request = infer(body, &mixed()).unwrap();
        assert_eq!(request.id.as_deref(), Some("req-1"));
        assert_eq!(request.parameters.get("trace"), Some(&json!(true)));
        assert_eq!(numbers(&request.frame, "a"), vec![255.0]);
        assert_eq!(request.frame.names(), vec!["a", "b", "c"]);
    }

    #[test]
    fn single_matrix_input_flat_and_nested() {
        for data in [json!([1, 2, 3, 4, 5, 6]), json!([[1, 2, 3], [4, 5, 6]])] {
            let body = json!({"inputs": [input("x", json!([2, 3]), "FP64", data)]});
            let frame = infer(body, &numeric3()).unwrap().frame;
            assert_eq!(numbers(&frame, "a"), vec![1.0, 4.0]);
            assert_eq!(numbers(&frame, "b"), vec![2.0, 5.0]);
            assert_eq!(numbers(&frame, "c"), vec![3.0, 6.0]);
        }
    }

    #[test]
    fn matrix_input_needs_all_numeric_columns() {
        let body = json!({"inputs": [input("x", json!([1, 3]), "FP64", json!([1, 2, 3]))]});
        assert_eq!(
            invalid(body, &mixed()),
            "a single [n, k] input fits only a model whose columns are all numeric; this \
             model's column(s) 'c' are categorical, so send one input per column, named as \
             the column (the model needs: a, b, c)"
        );
    }

    #[test]
    fn matrix_input_of_the_wrong_width() {
        let body = json!({"inputs": [input("x", json!([1, 2]), "FP64", json!([1, 2]))]});
        assert_eq!(
            invalid(body, &numeric3()),
            "input 'x' has 2 columns but the model has 3 (a, b, c)"
        );
    }

    #[test]
    fn shape_must_match_value_count() {
        let body = json!({"inputs": [input("x", json!([2, 2]), "FP64", json!([[1, 2], [3]]))]});
        assert_eq!(
            invalid(body, &numeric3()),
            "input 'x': shape [2,2] needs 4 values, got 3"
        );
        let body = json!({"inputs": [input("a", json!([-1]), "FP64", json!([1]))]});
        assert_eq!(
            invalid(body, &numeric3()),
            "input 'a': shape entries must be non-negative integers, got [-1]"
        );
    }

    #[test]
    fn per_column_shapes_and_row_counts() {
        let body = json!({"inputs": [
            input("a", json!([2, 2]), "FP64", json!([1, 2, 3, 4])),
            input("b", json!([2]), "FP64", json!([1, 2])),
            input("c", json!([2]), "FP64", json!([1, 2])),
        ]});
        assert_eq!(
            invalid(body, &numeric3()),
            "input 'a': shape [2,2] does not fit one column; use [n] or [n,1]"
        );
        let body = json!({"inputs": [
            input("a", json!([2]), "FP64", json!([1, 2])),
            input("b", json!([1]), "FP64", json!([1])),
            input("c", json!([2]), "FP64", json!([1, 2])),
        ]});
        assert_eq!(
            invalid(body, &numeric3()),
            "inputs must all have the same number of rows: input 'a' has 2 but input 'b' has 1"
        );
    }

    #[test]
    fn missing_and_unknown_inputs() {
        let body = json!({"inputs": [input("a", json!([1]), "FP64", json!([1]))]});
        assert_eq!(
            invalid(body, &mixed()),
            "the input is missing columns 'b', 'c' (the model needs: a, b, c)"
        );
        let body = json!({"inputs": [
            input("a", json!([1]), "FP64", json!([1])),
            input("zz", json!([1]), "FP64", json!([1])),
        ]});
        assert_eq!(
            invalid(body, &mixed()),
            "unknown column 'zz'; the model's columns are: a, b, c"
        );
    }

    #[test]
    fn fp16_and_unknown_datatypes() {
        let body = json!({"inputs": [input("a", json!([1]), "FP16", json!([1]))]});
        assert_eq!(
            invalid(body, &mixed()),
            "input 'a': FP16 cannot be sent as JSON; use FP32"
        );
        let body = json!({"inputs": [input("a", json!([1]), "FLOAT", json!([1]))]});
        assert_eq!(
            invalid(body, &mixed()),
            "input 'a': unknown datatype 'FLOAT'; the datatypes are: BOOL, INT8, INT16, INT32, \
             INT64, UINT8, UINT16, UINT32, UINT64, FP32, FP64, BYTES"
        );
    }

    #[test]
    fn integer_datatypes_check_values() {
        let one = schema(&[("a", Kind::Numeric)]);
        let check = |datatype: &str, data: Value| {
            let body = json!({"inputs": [input("a", json!([2]), datatype, data)]});
            invalid(body, &one)
        };
        assert_eq!(
            check("INT32", json!([1, 1.5])),
            "input 'a', index 1: INT32 values must be integers from -2147483648 to 2147483647, got 1.5"
        );
        assert_eq!(
            check("UINT8", json!([-1, 2])),
            "input 'a', index 0: UINT8 values must be integers from 0 to 255, got -1"
        );
        assert_eq!(
            check("INT8", json!([1, null])),
            "input 'a', index 1: INT8 values must be integers from -128 to 127, got null"
        );
        assert_eq!(
            check("FP64", json!([1, "2"])),
            "input 'a', index 1: FP64 values must be numbers (or null for missing), got \"2\""
        );
        assert_eq!(
            check("BOOL", json!([true, 1])),
            "input 'a', index 1: BOOL values must be true or false, got 1"
        );
    }

    #[test]
    fn bool_for_numeric_and_numbers_for_categorical() {
        let body = json!({"inputs": [
            input("a", json!([2]), "BOOL", json!([true, false])),
            input("b", json!([2]), "UINT64", json!([18446744073u64, 0])),
            input("c", json!([2]), "FP64", json!([3.0, 0.5])),
        ]});
        let frame = infer(body, &mixed()).unwrap().frame;
        assert_eq!(numbers(&frame, "a"), vec![1.0, 0.0]);
        assert_eq!(numbers(&frame, "b"), vec![18446744073.0, 0.0]);
        assert_eq!(texts(&frame, "c"), some(&["3", "0.5"]));
    }

    #[test]
    fn bytes_rules() {
        let body = per_column(json!([1, 2]), json!([1, 2]), json!(["x", 5]));
        assert_eq!(
            invalid(body, &mixed()),
            "input 'c', index 1: BYTES values must be strings (or null for missing), got 5"
        );
        let body = json!({"inputs": [
            input("a", json!([1]), "BYTES", json!(["1"])),
            input("b", json!([1]), "FP64", json!([1])),
            input("c", json!([1]), "BYTES", json!(["x"])),
        ]});
        assert_eq!(
            invalid(body, &mixed()),
            "input 'a': the model's column is numeric, so BYTES cannot be sent; use FP64 (or \
             another numeric datatype)"
        );
    }

    #[test]
    fn structural_errors_are_bad_requests() {
        let cases = [
            (json!({"id": "x"}), "the request needs 'inputs'"),
            (
                json!({"inputs": {}}),
                "'inputs' must be a list of inputs, got an object",
            ),
            (
                json!({"inputs": [{"name": "a", "shape": [1], "data": [1]}]}),
                "input a needs 'datatype' (a string such as \"FP64\")",
            ),
            (
                json!({"inputs": [{"shape": [1]}]}),
                "input 0 needs 'name' (a string)",
            ),
            (
                json!([1]),
                "the request must be a JSON object with 'inputs'",
            ),
        ];
        for (body, expected) in cases {
            let err = infer(body, &mixed()).unwrap_err();
            assert!(matches!(err, ServeError::BadRequest(_)), "{err:?}");
            assert_eq!(err.to_string(), expected);
        }
        let err = parse_infer(b"{\"inputs\": [", &mixed(), &classifier()).unwrap_err();
        assert!(matches!(err, ServeError::BadRequest(_)));
        assert!(
            err.to_string()
                .starts_with("invalid JSON: EOF while parsing"),
            "{err}"
        );
    }

    #[test]
    fn zero_rows() {
        let body = per_column(json!([]), json!([]), json!([]));
        let body = json!({"inputs": body["inputs"].as_array().unwrap().iter().map(|i| {
            let mut i = i.clone();
            i["shape"] = json!([0]);
            i
        }).collect::<Vec<_>>()});
        let frame = infer(body, &mixed()).unwrap().frame;
        assert_eq!((frame.rows(), frame.names()), (0, vec!["a", "b", "c"]));
    }

    #[test]
    fn requested_outputs() {
        let base = per_column(json!([1, 2]), json!([1, 2]), json!(["x", "y"]));
        let with = |outputs: Value| {
            let mut body = base.clone();
            body["outputs"] = outputs;
            body
        };
        let request = infer(with(json!([{"name": "probabilities"}])), &mixed()).unwrap();
        assert_eq!(request.outputs, vec![OutputKind::Probabilities]);
        assert_eq!(
            invalid(with(json!([{"name": "scores"}])), &mixed()),
            "unknown output 'scores'; this model's outputs are: predict, probabilities"
        );
        let body = with(json!([{"name": "probabilities"}])).to_string();
        let err = parse_infer(body.as_bytes(), &mixed(), &Task::Regression).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown output 'probabilities'; this model's outputs are: predict"
        );
        let request =
            parse_infer(base.to_string().as_bytes(), &mixed(), &Task::Regression).unwrap();
        assert_eq!(request.outputs, vec![OutputKind::Predict]);
    }

    #[test]
    fn classification_response() {
        let predictions = Predictions::Classes {
            classes: vec!["no".to_string(), "yes".to_string()],
            labels: vec!["yes".to_string(), "no".to_string()],
            probabilities: vec![vec![0.25, 0.75], vec![0.5, 0.5]],
        };
        let all = [OutputKind::Predict, OutputKind::Probabilities];
        let out = infer_response("m", Some("3"), Some("req-1"), &predictions, &all);
        assert_eq!(
            out,
            json!({
                "model_name": "m",
                "model_version": "3",
                "id": "req-1",
                "outputs": [
                    {"name": "predict", "datatype": "BYTES", "shape": [2], "data": ["yes", "no"]},
                    {"name": "probabilities", "datatype": "FP64", "shape": [2, 2],
                     "data": [0.25, 0.75, 0.5, 0.5], "parameters": {"classes": ["no", "yes"]}}
                ]
            })
        );
    }

    #[test]
    fn regression_response_omits_absent_version_and_id() {
        let predictions = Predictions::Values(vec![1.5, f64::NAN]);
        let out = infer_response("m", None, None, &predictions, &[OutputKind::Predict]);
        assert_eq!(
            out,
            json!({"model_name": "m", "outputs": [
                {"name": "predict", "datatype": "FP64", "shape": [2], "data": [1.5, null]}
            ]})
        );
    }

    #[test]
    fn metadata_for_classifier_and_regressor() {
        let meta = model_metadata("m", &["1".to_string()], &mixed(), &classifier());
        assert_eq!(
            meta,
            json!({
                "name": "m", "versions": ["1"], "platform": "smelt",
                "inputs": [
                    {"name": "a", "datatype": "FP64", "shape": [-1]},
                    {"name": "b", "datatype": "FP64", "shape": [-1]},
                    {"name": "c", "datatype": "BYTES", "shape": [-1]}
                ],
                "outputs": [
                    {"name": "predict", "datatype": "BYTES", "shape": [-1]},
                    {"name": "probabilities", "datatype": "FP64", "shape": [-1, 2]}
                ]
            })
        );
        let meta = model_metadata("m", &[], &mixed(), &Task::Regression);
        assert_eq!(
            meta["outputs"],
            json!([{"name": "predict", "datatype": "FP64", "shape": [-1]}])
        );
    }

    #[test]
    fn one_categorical_column_as_n_by_1_is_per_column() {
        let one = schema(&[("c", Kind::Categorical)]);
        let body = json!({"inputs": [input("c", json!([2, 1]), "BYTES", json!([["x"], ["y"]]))]});
        let frame = infer(body, &one).unwrap().frame;
        assert_eq!(texts(&frame, "c"), some(&["x", "y"]));
    }

    #[test]
    fn odd_bodies_never_panic() {
        let huge = 1u64 << 62;
        let bodies = [
            json!({"inputs": [input("x", json!([huge, huge]), "FP64", json!([]))]}),
            json!({"inputs": [input("x", json!([0, 0]), "FP64", json!([]))]}),
            json!({"inputs": [input("x", json!([]), "FP64", json!([1]))]}),
            json!({"inputs": [input("x", json!([1, 3]), "BYTES", json!(["a", "b", "c"]))]}),
            json!({"inputs": [], "outputs": [1]}),
            json!({"inputs": [], "id": 5}),
            json!({"inputs": [input("a", json!([1.5]), "FP64", json!([1]))]}),
        ];
        for body in bodies {
            let _ = infer(body.clone(), &numeric3());
            let _ = infer(body, &schema(&[]));
        }
        let err = infer(
            json!({"inputs": [input("x", json!([huge, huge]), "FP64", json!([]))]}),
            &numeric3(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("input 'x': shape [{huge},{huge}] needs more values, got 0")
        );
    }
}
