//! The [`Frame`]: named, typed columns of equal length. Numbers are `f64`
//! with `NaN` meaning missing; text is dictionary-encoded [`Categories`]
//! with `None` meaning missing. Two kinds are all a
//! tabular model needs: numeric features are scaled, text features are
//! one-hot encoded, and a target of either kind can be a class label.

use serde::{Deserialize, Serialize};

pub use crate::categories::Categories;
use crate::error::{DataError, Result};

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Numeric,
    Categorical,
}

/// A column's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// `NaN` marks a missing value.
    Numeric(Vec<f64>),
    /// `None` marks a missing value.
    Categorical(Categories),
}

impl Values {
    pub fn len(&self) -> usize {
        match self {
            Values::Numeric(v) => v.len(),
            Values::Categorical(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn kind(&self) -> Kind {
        match self {
            Values::Numeric(_) => Kind::Numeric,
            Values::Categorical(_) => Kind::Categorical,
        }
    }

    pub fn is_missing(&self, row: usize) -> bool {
        match self {
            Values::Numeric(v) => v[row].is_nan(),
            Values::Categorical(v) => v.is_missing(row),
        }
    }

    pub fn missing_count(&self) -> usize {
        (0..self.len()).filter(|&row| self.is_missing(row)).count()
    }

    /// The value at `row` as text (numbers without a trailing `.0` when
    /// integral, so that a label column `0,1,2` reads back as "0","1","2").
    pub fn text(&self, row: usize) -> Option<String> {
        match self {
            Values::Numeric(v) => {
                let x = v[row];
                (!x.is_nan()).then(|| format_number(x))
            }
            Values::Categorical(v) => v.get(row).map(str::to_string),
        }
    }

    fn take(&self, rows: &[usize]) -> Values {
        match self {
            Values::Numeric(v) => Values::Numeric(rows.iter().map(|&r| v[r]).collect()),
            Values::Categorical(v) => Values::Categorical(v.take(rows)),
        }
    }
}

/// Formats a number the shortest way that reads back the same (`3` not `3.0`).
pub fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// One named column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub values: Values,
}

impl Column {
    pub fn numeric(name: impl Into<String>, values: Vec<f64>) -> Self {
        Column {
            name: name.into(),
            values: Values::Numeric(values),
        }
    }

    pub fn categorical(name: impl Into<String>, values: impl Into<Categories>) -> Self {
        Column {
            name: name.into(),
            values: Values::Categorical(values.into()),
        }
    }

    pub fn kind(&self) -> Kind {
        self.values.kind()
    }
}

/// Named columns of equal length. Column names are unique.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frame {
    columns: Vec<Column>,
    rows: usize,
}

impl Frame {
    /// Checks that names are unique and lengths agree.
    pub fn new(columns: Vec<Column>) -> Result<Self> {
        let rows = columns.first().map_or(0, |c| c.values.len());
        // Sorting borrowed names finds duplicates without hashing every
        // name: serving builds a frame per request, so this is a hot path.
        let mut names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(DataError::Invalid(format!(
                "column '{}' appears twice; column names must be unique",
                pair[0]
            )));
        }
        for column in &columns {
            if column.values.len() != rows {
                return Err(DataError::Invalid(format!(
                    "column '{}' has {} values but column '{}' has {rows}",
                    column.name,
                    column.values.len(),
                    columns[0].name
                )));
            }
        }
        Ok(Frame { columns, rows })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    pub fn names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The column called `name`, or an error listing the columns there are.
    /// `context` finishes the sentence "unknown column 'x'…", e.g. " in train.csv".
    pub fn require(&self, name: &str, context: &str) -> Result<&Column> {
        self.column(name)
            .ok_or_else(|| DataError::unknown_column(name, context, &self.names()))
    }

    /// A frame of the named columns, in the order given.
    pub fn select(&self, names: &[String], context: &str) -> Result<Frame> {
        let columns = names
            .iter()
            .map(|name| self.require(name, context).cloned())
            .collect::<Result<Vec<_>>>()?;
        Frame::new(columns)
    }

    /// This frame without the named column (no error if it is absent).
    pub fn without(&self, name: &str) -> Frame {
        Frame {
            columns: self
                .columns
                .iter()
                .filter(|c| c.name != name)
                .cloned()
                .collect(),
            rows: self.rows,
        }
    }

    /// The given rows, in the given order.
    pub fn take(&self, rows: &[usize]) -> Frame {
        Frame {
            columns: self
                .columns
                .iter()
                .map(|c| Column {
                    name: c.name.clone(),
                    values: c.values.take(rows),
                })
                .collect(),
            rows: rows.len(),
        }
    }

    /// Appends the rows of `other`, which must have the same column names and kinds.
    pub fn concat(&self, other: &Frame) -> Result<Frame> {
        let mut columns = Vec::with_capacity(self.columns.len());
        for column in &self.columns {
            let theirs = other.require(&column.name, " in the frame being appended")?;
            let values = match (&column.values, &theirs.values) {
                (Values::Numeric(a), Values::Numeric(b)) => {
                    Values::Numeric(a.iter().chain(b).copied().collect())
                }
                (Values::Categorical(a), Values::Categorical(b)) => {
                    let mut both = a.clone();
                    both.extend_from(b);
                    Values::Categorical(both)
                }
                _ => {
                    return Err(DataError::Invalid(format!(
                        "column '{}' is {:?} in one frame and {:?} in the other",
                        column.name,
                        column.kind(),
                        theirs.kind()
                    )));
                }
            };
            columns.push(Column {
                name: column.name.clone(),
                values,
            });
        }
        Frame::new(columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_ragged_and_duplicate_columns() {
        let ragged = Frame::new(vec![
            Column::numeric("a", vec![1.0]),
            Column::numeric("b", vec![]),
        ]);
        assert!(ragged.unwrap_err().to_string().contains("'b' has 0 values"));
        let twice = Frame::new(vec![
            Column::numeric("a", vec![]),
            Column::numeric("a", vec![]),
        ]);
        assert!(twice.unwrap_err().to_string().contains("appears twice"));
    }

    #[test]
    fn unknown_columns_list_the_real_ones() {
        let frame = Frame::new(vec![Column::numeric("age", vec![1.0])]).unwrap();
        let error = frame
            .require("agee", " in the spec's features")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "unknown column 'agee' in the spec's features; the columns are: age"
        );
    }

    #[test]
    fn integral_numbers_read_back_as_labels() {
        let values = Values::Numeric(vec![3.0, 2.5, f64::NAN]);
        assert_eq!(values.text(0).as_deref(), Some("3"));
        assert_eq!(values.text(1).as_deref(), Some("2.5"));
        assert_eq!(values.text(2), None);
    }
}
