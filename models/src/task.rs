//! What a model predicts: class labels (encoded as 0..k in training, decoded
//! back to the original labels at prediction) or numbers.

use serde::{Deserialize, Serialize};
use smelt_data::{Column, Values};

use crate::error::{ModelError, Result};

/// The learning task and, for classification, the label order the model's
/// outputs follow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Task {
    Classification { classes: Vec<String> },
    Regression,
}

impl Task {
    pub fn is_classification(&self) -> bool {
        matches!(self, Task::Classification { .. })
    }

    pub fn classes(&self) -> &[String] {
        match self {
            Task::Classification { classes } => classes,
            Task::Regression => &[],
        }
    }
}

/// The target column, encoded for training.
#[derive(Debug, Clone, PartialEq)]
pub enum EncodedTarget {
    Classes(Vec<usize>),
    Values(Vec<f64>),
}

/// Whether a target column should be treated as classes: text always;
/// numbers when they are all integers with few distinct values (at most 20,
/// and fewer than half the rows), as a label column `0,1,2` is.
pub fn infer_task(column: &Column) -> Task {
    let labels = || distinct_labels(column);
    match &column.values {
        Values::Categorical(_) => Task::Classification { classes: labels() },
        Values::Numeric(values) => {
            let present: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
            let integral = present.iter().all(|x| x.fract() == 0.0);
            let classes = labels();
            if integral && classes.len() <= 20 && classes.len() * 2 < present.len().max(1) {
                Task::Classification { classes }
            } else {
                Task::Regression
            }
        }
    }
}

/// Distinct labels, sorted numerically when they are all numbers ("2" before "10").
pub fn distinct_labels(column: &Column) -> Vec<String> {
    let mut labels: Vec<String> = (0..column.values.len())
        .filter_map(|row| column.values.text(row))
        .collect();
    labels.sort();
    labels.dedup();
    if labels.iter().all(|l| l.parse::<f64>().is_ok()) {
        labels.sort_by(|a, b| {
            a.parse::<f64>()
                .unwrap_or(0.0)
                .total_cmp(&b.parse::<f64>().unwrap_or(0.0))
        });
    }
    labels
}

/// Encodes the target for `task`. Missing targets are an error naming the
/// first such row (counted from 1), since a row without a label cannot teach.
pub fn encode_target(column: &Column, task: &Task) -> Result<EncodedTarget> {
    let name = &column.name;
    let missing_row = (0..column.values.len()).find(|&row| column.values.is_missing(row));
    if let Some(row) = missing_row {
        return Err(ModelError::Input(format!(
            "the target column '{name}' is missing (empty or NaN) in data row {}; drop or fill rows without a target",
            row + 1
        )));
    }
    match task {
        Task::Classification { classes } => {
            let codes = (0..column.values.len())
                .map(|row| {
                    let label = column.values.text(row).unwrap_or_default();
                    classes.iter().position(|c| *c == label).ok_or_else(|| {
                        ModelError::Input(format!(
                            "target '{name}', data row {}: label '{label}' is not one of the model's classes ({})",
                            row + 1,
                            classes.join(", ")
                        ))
                    })
                })
                .collect::<Result<_>>()?;
            Ok(EncodedTarget::Classes(codes))
        }
        Task::Regression => match &column.values {
            Values::Numeric(values) => Ok(EncodedTarget::Values(values.clone())),
            Values::Categorical(_) => Err(ModelError::Input(format!(
                "the target column '{name}' holds text, so it cannot be a regression target; use a classifier"
            ))),
        },
    }
}

/// A batch of predictions.
#[derive(Debug, Clone, PartialEq)]
pub enum Predictions {
    Classes {
        /// The model's label order; `probabilities` columns follow it.
        classes: Vec<String>,
        labels: Vec<String>,
        probabilities: Vec<Vec<f64>>,
    },
    Values(Vec<f64>),
}

impl Predictions {
    pub fn len(&self) -> usize {
        match self {
            Predictions::Classes { labels, .. } => labels.len(),
            Predictions::Values(values) => values.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Decodes class probabilities (rows × classes, row-major) into labels.
    pub fn from_probabilities(classes: &[String], rows: usize, probabilities: &[f64]) -> Self {
        let k = classes.len();
        let probabilities: Vec<Vec<f64>> = (0..rows)
            .map(|row| probabilities[row * k..(row + 1) * k].to_vec())
            .collect();
        let labels = probabilities
            .iter()
            .map(|p| {
                let best = p
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(i, _)| i);
                classes[best].clone()
            })
            .collect();
        Predictions::Classes {
            classes: classes.to_vec(),
            labels,
            probabilities,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_classification_for_labels_and_regression_for_measurements() {
        let labels = Column::numeric("y", (0..100).map(|i| (i % 3) as f64).collect());
        assert_eq!(
            infer_task(&labels),
            Task::Classification {
                classes: vec!["0".into(), "1".into(), "2".into()]
            }
        );
        let measured = Column::numeric("y", (0..100).map(|i| i as f64 * 1.5).collect());
        assert_eq!(infer_task(&measured), Task::Regression);
        let digits = Column::numeric("y", (0..100).map(|i| (i % 11) as f64).collect());
        assert_eq!(distinct_labels(&digits)[..3], ["0", "1", "2"]);
        assert_eq!(distinct_labels(&digits)[10], "10");
    }

    #[test]
    fn missing_targets_are_refused_with_the_row() {
        let column = Column::numeric("price", vec![1.0, f64::NAN]);
        let error = encode_target(&column, &Task::Regression)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("'price' is missing (empty or NaN) in data row 2"),
            "{error}"
        );
    }
}
