//! The wire protocols a served model speaks, and what they share: turning
//! request values into a [`Frame`] that has exactly the model's columns, in
//! the model's order, with the model's kinds. Every protocol reports a bad
//! value the same way, naming the column and the 0-based row of the request
//! ("column 'x', row 0: ..."), so a user can find it in what they sent.

pub mod mlflow;
pub mod oip;

use serde_json::Value;
use smelt_data::frame::format_number;
use smelt_data::{Column, Frame, Kind};

use crate::error::{Result, ServeError};
use crate::schema::InputSchema;

/// The values of one schema column while a request is read.
#[derive(Debug)]
pub(crate) enum ColumnBuilder {
    Numeric(Vec<f64>),
    Categorical(Vec<Option<String>>),
}

impl ColumnBuilder {
    fn new(kind: Kind, rows: usize) -> Self {
        match kind {
            Kind::Numeric => ColumnBuilder::Numeric(Vec::with_capacity(rows)),
            Kind::Categorical => ColumnBuilder::Categorical(Vec::with_capacity(rows)),
        }
    }

    pub(crate) fn push_missing(&mut self) {
        match self {
            ColumnBuilder::Numeric(v) => v.push(f64::NAN),
            ColumnBuilder::Categorical(v) => v.push(None),
        }
    }

    /// A number sent with a numeric datatype; `NaN` is missing. A categorical
    /// column gets the text the training data would have held for it.
    pub(crate) fn push_number(&mut self, x: f64) {
        match self {
            ColumnBuilder::Numeric(v) => v.push(x),
            ColumnBuilder::Categorical(v) => v.push((!x.is_nan()).then(|| format_number(x))),
        }
    }

    pub(crate) fn push_bool(&mut self, b: bool) {
        match self {
            ColumnBuilder::Numeric(v) => v.push(if b { 1.0 } else { 0.0 }),
            ColumnBuilder::Categorical(v) => v.push(Some(b.to_string())),
        }
    }

    /// One JSON value, by the column's kind. Taken by value so that text
    /// moves into the frame without a copy.
    pub(crate) fn push_json(&mut self, value: Value, column: &str, row: usize) -> Result<()> {
        match (self, value) {
            (this, Value::Null) => this.push_missing(),
            (ColumnBuilder::Numeric(v), Value::Number(n)) => v.push(n.as_f64().unwrap_or(f64::NAN)),
            (ColumnBuilder::Numeric(_), other) => {
                return Err(value_error(column, row, "a number", &other));
            }
            (ColumnBuilder::Categorical(v), Value::String(s)) => v.push(Some(s)),
            (this @ ColumnBuilder::Categorical(_), Value::Number(n)) => {
                this.push_number(n.as_f64().unwrap_or(f64::NAN));
            }
            (this @ ColumnBuilder::Categorical(_), Value::Bool(b)) => this.push_bool(b),
            (ColumnBuilder::Categorical(_), other) => {
                return Err(value_error(column, row, "text", &other));
            }
        }
        Ok(())
    }

    /// One CSV field: empty is missing, as pandas reads it.
    pub(crate) fn push_text(&mut self, field: &str, column: &str, row: usize) -> Result<()> {
        match self {
            ColumnBuilder::Numeric(v) => {
                let trimmed = field.trim();
                if trimmed.is_empty() {
                    v.push(f64::NAN);
                    return Ok(());
                }
                match trimmed.parse::<f64>() {
                    // Infinity would reach the model as a value no scaler handles.
                    Ok(x) if !x.is_infinite() => v.push(x),
                    _ => {
                        let got = Value::String(field.to_string());
                        return Err(value_error(column, row, "a number", &got));
                    }
                }
            }
            ColumnBuilder::Categorical(v) => {
                v.push((!field.is_empty()).then(|| field.to_string()));
            }
        }
        Ok(())
    }

    fn into_column(self, name: &str) -> Column {
        match self {
            ColumnBuilder::Numeric(v) => Column::numeric(name, v),
            ColumnBuilder::Categorical(v) => Column::categorical(name, v),
        }
    }
}

/// Collects a request's values into the schema's columns.
#[derive(Debug)]
pub(crate) struct FrameBuilder<'a> {
    schema: &'a InputSchema,
    columns: Vec<ColumnBuilder>,
}

impl<'a> FrameBuilder<'a> {
    pub(crate) fn new(schema: &'a InputSchema, rows: usize) -> Self {
        let columns = schema
            .columns
            .iter()
            .map(|c| ColumnBuilder::new(c.kind, rows))
            .collect();
        FrameBuilder { schema, columns }
    }

    pub(crate) fn width(&self) -> usize {
        self.columns.len()
    }

    /// The builder of the schema column at `index`; callers only pass
    /// positions that came from the schema.
    pub(crate) fn column(&mut self, index: usize) -> Result<&mut ColumnBuilder> {
        self.columns
            .get_mut(index)
            .ok_or_else(|| internal_index(index))
    }

    pub(crate) fn name(&self, index: usize) -> &'a str {
        self.schema
            .columns
            .get(index)
            .map_or("", |c| c.name.as_str())
    }

    /// One JSON value into the schema column at `index`.
    pub(crate) fn push_json(&mut self, index: usize, value: Value, row: usize) -> Result<()> {
        let name = self.name(index);
        self.column(index)?.push_json(value, name, row)
    }

    /// One CSV field into the schema column at `index`.
    pub(crate) fn push_text(&mut self, index: usize, field: &str, row: usize) -> Result<()> {
        let name = self.name(index);
        self.column(index)?.push_text(field, name, row)
    }

    /// A row of values in schema order, which must have the schema's width.
    pub(crate) fn push_positional(&mut self, values: Vec<Value>, row: usize) -> Result<()> {
        if values.len() != self.width() {
            return Err(ServeError::InvalidInput(format!(
                "row {row} has {} values but the model needs {} (in this order: {})",
                values.len(),
                self.width(),
                self.schema.names().join(", ")
            )));
        }
        for (index, value) in values.into_iter().enumerate() {
            self.push_json(index, value, row)?;
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Result<Frame> {
        let columns = self
            .columns
            .into_iter()
            .zip(&self.schema.columns)
            .map(|(values, column)| values.into_column(&column.name))
            .collect();
        Frame::new(columns)
            .map_err(|e| ServeError::Internal(format!("building the input frame: {e}")))
    }
}

fn internal_index(index: usize) -> ServeError {
    ServeError::Internal(format!(
        "column index {index} is outside the model's schema"
    ))
}

/// Maps the column names a request sent to schema positions. Every schema
/// column must be there once, and nothing else.
pub(crate) fn locate_columns<'n>(
    schema: &InputSchema,
    names: impl IntoIterator<Item = &'n str>,
) -> Result<Vec<usize>> {
    let mut seen = vec![false; schema.columns.len()];
    let mut positions = Vec::with_capacity(schema.columns.len());
    for (sent, name) in names.into_iter().enumerate() {
        // Clients usually send the signature's order; check there first.
        let index = match schema.columns.get(sent) {
            Some(column) if column.name == name => sent,
            _ => schema
                .position(name)
                .ok_or_else(|| unknown_column(schema, name))?,
        };
        if std::mem::replace(&mut seen[index], true) {
            return Err(ServeError::InvalidInput(format!(
                "column '{name}' appears more than once; each column must be sent once"
            )));
        }
        positions.push(index);
    }
    check_all_seen(schema, &seen)?;
    Ok(positions)
}

/// Fails listing every schema column whose flag in `seen` is false.
pub(crate) fn check_all_seen(schema: &InputSchema, seen: &[bool]) -> Result<()> {
    let missing: Vec<&str> = schema
        .columns
        .iter()
        .zip(seen)
        .filter(|(_, seen)| !**seen)
        .map(|(c, _)| c.name.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing_columns(schema, &missing))
    }
}

pub(crate) fn missing_columns(schema: &InputSchema, missing: &[&str]) -> ServeError {
    let quoted: Vec<String> = missing.iter().map(|m| format!("'{m}'")).collect();
    let noun = if missing.len() == 1 {
        "column"
    } else {
        "columns"
    };
    ServeError::InvalidInput(format!(
        "the input is missing {noun} {} (the model needs: {})",
        quoted.join(", "),
        schema.names().join(", ")
    ))
}

pub(crate) fn unknown_column(schema: &InputSchema, name: &str) -> ServeError {
    ServeError::InvalidInput(format!(
        "unknown column '{name}'; the model's columns are: {}",
        schema.names().join(", ")
    ))
}

pub(crate) fn value_error(column: &str, row: usize, expected: &str, got: &Value) -> ServeError {
    ServeError::InvalidInput(format!(
        "column '{column}', row {row}: expected {expected}, got {}",
        describe(got)
    ))
}

/// A short rendering of a value for an error message; long text is cut so
/// that one bad cell cannot blow up the response.
pub(crate) fn describe(value: &Value) -> String {
    const LIMIT: usize = 40;
    match value {
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "an object".to_string(),
        Value::String(s) if s.chars().count() > LIMIT => {
            let cut: String = s.chars().take(LIMIT).collect();
            format!("{}…", Value::String(cut))
        }
        other => other.to_string(),
    }
}

/// Parses a body as JSON, answering with serde's message (which names the
/// line and column) when it is not.
pub(crate) fn parse_json(body: &[u8]) -> Result<Value> {
    serde_json::from_slice(body).map_err(|e| ServeError::BadRequest(format!("invalid JSON: {e}")))
}

#[cfg(test)]
pub(crate) mod test_support {
    use smelt_data::{Frame, Kind, Values};

    use crate::schema::{InputColumn, InputSchema};

    pub fn schema(columns: &[(&str, Kind)]) -> InputSchema {
        InputSchema {
            columns: columns
                .iter()
                .map(|(name, kind)| InputColumn {
                    name: name.to_string(),
                    kind: *kind,
                })
                .collect(),
        }
    }

    /// a: numeric, b: numeric, c: categorical.
    pub fn mixed() -> InputSchema {
        schema(&[
            ("a", Kind::Numeric),
            ("b", Kind::Numeric),
            ("c", Kind::Categorical),
        ])
    }

    pub fn numbers(frame: &Frame, name: &str) -> Vec<f64> {
        match &frame.column(name).expect("column").values {
            Values::Numeric(v) => v.clone(),
            Values::Categorical(_) => panic!("column {name} is categorical"),
        }
    }

    pub fn texts(frame: &Frame, name: &str) -> Vec<Option<String>> {
        match &frame.column(name).expect("column").values {
            Values::Categorical(v) => v.iter().map(|s| s.map(str::to_string)).collect(),
            Values::Numeric(_) => panic!("column {name} is numeric"),
        }
    }

    pub fn some(values: &[&str]) -> Vec<Option<String>> {
        values.iter().map(|v| Some(v.to_string())).collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::test_support::*;
    use super::*;

    #[test]
    fn locate_columns_reports_all_missing_at_once() {
        let err = locate_columns(&mixed(), ["b"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the input is missing columns 'a', 'c' (the model needs: a, b, c)"
        );
        assert!(matches!(err, ServeError::InvalidInput(_)));
    }

    #[test]
    fn locate_columns_rejects_duplicates_and_maps_positions() {
        let err = locate_columns(&mixed(), ["a", "a"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column 'a' appears more than once; each column must be sent once"
        );
        assert_eq!(
            locate_columns(&mixed(), ["c", "a", "b"]).unwrap(),
            vec![2, 0, 1]
        );
    }

    #[test]
    fn describe_cuts_long_text_on_a_char_boundary() {
        let long = "é".repeat(100);
        let shown = describe(&Value::String(long));
        assert_eq!(shown, format!("\"{}\"…", "é".repeat(40)));
        assert_eq!(describe(&json!({"k": 1})), "an object");
    }

    #[test]
    fn numbers_for_a_categorical_column_read_as_training_text() {
        let schema = schema(&[("c", Kind::Categorical)]);
        let mut builder = FrameBuilder::new(&schema, 3);
        builder.push_json(0, json!(3.0), 0).unwrap();
        builder.push_json(0, json!(2.5), 1).unwrap();
        builder.push_json(0, json!(false), 2).unwrap();
        let frame = builder.finish().unwrap();
        assert_eq!(texts(&frame, "c"), some(&["3", "2.5", "false"]));
    }
}
