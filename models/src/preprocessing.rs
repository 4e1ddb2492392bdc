//! Preprocessing that cannot skew: fitted on training rows only, saved as
//! `preprocessing.json` beside the weights, and applied by this same code at
//! training, evaluation and serving time.
//!
//! Numeric features: missing values take the training median (or mean, a
//! [`PreprocessOptions`] variant), then standardise with the training mean
//! and standard deviation (or stay unscaled, another variant). Categorical
//! features: one-hot over the training categories; a category never seen in
//! training encodes as all zeros (scikit-learn's `handle_unknown="ignore"`),
//! and a missing value gets its own indicator when training had any.

use serde::{Deserialize, Serialize};
use smelt_data::{Column, Frame, Values};

use crate::error::{ModelError, Result};

/// Row-major feature matrix, the shape every runtime consumes.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    pub rows: usize,
    pub cols: usize,
    pub values: Vec<f64>,
}

impl Features {
    pub fn row(&self, row: usize) -> &[f64] {
        &self.values[row * self.cols..(row + 1) * self.cols]
    }

    pub fn to_f32(&self) -> Vec<f32> {
        self.values.iter().map(|&x| x as f32).collect()
    }
}

/// How one input column becomes model inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum FeatureTransform {
    Numeric {
        name: String,
        /// The training median, used for missing values.
        impute: f64,
        mean: f64,
        /// The training standard deviation (population); 1 for a constant column.
        scale: f64,
    },
    Categorical {
        name: String,
        /// Training categories in output order.
        categories: Vec<String>,
        /// Whether training had missing values, which then get their own column.
        missing_indicator: bool,
    },
}

impl FeatureTransform {
    pub fn name(&self) -> &str {
        match self {
            FeatureTransform::Numeric { name, .. } | FeatureTransform::Categorical { name, .. } => {
                name
            }
        }
    }

    /// How many model inputs this column produces.
    pub fn width(&self) -> usize {
        match self {
            FeatureTransform::Numeric { .. } => 1,
            FeatureTransform::Categorical {
                categories,
                missing_indicator,
                ..
            } => categories.len() + usize::from(*missing_indicator),
        }
    }
}

/// The fitted feature pipeline: one transform per input column, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessor {
    pub features: Vec<FeatureTransform>,
}

/// How numeric missing values are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impute {
    #[default]
    Median,
    Mean,
}

/// The preprocessing variants a fit can ask for. Whatever the variant, the
/// saved `preprocessing.json` has one shape (fill value, centre, scale per
/// numeric feature), so inference needs no variant logic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PreprocessOptions {
    pub impute: Impute,
    /// Standardise numeric features (centre 0, scale 1 when false).
    pub standardise: bool,
}

impl Default for PreprocessOptions {
    fn default() -> Self {
        PreprocessOptions {
            impute: Impute::Median,
            standardise: true,
        }
    }
}

impl Preprocessor {
    /// Fits on the training frame (which must not hold the target column).
    pub fn fit(train: &Frame) -> Result<Self> {
        Self::fit_with(train, &PreprocessOptions::default())
    }

    /// Fits with a preprocessing variant (the autopilot searches over them).
    pub fn fit_with(train: &Frame, options: &PreprocessOptions) -> Result<Self> {
        if train.columns().is_empty() {
            return Err(ModelError::Input(
                "there are no feature columns to train on".into(),
            ));
        }
        let features = train
            .columns()
            .iter()
            .map(|column| fit_column(column, options))
            .collect::<Result<_>>()?;
        Ok(Preprocessor { features })
    }

    pub fn input_names(&self) -> Vec<&str> {
        self.features.iter().map(FeatureTransform::name).collect()
    }

    /// Width of the encoded matrix.
    pub fn output_width(&self) -> usize {
        self.features.iter().map(FeatureTransform::width).sum()
    }

    /// Names of the encoded columns (`island=Dream`, `sex=<missing>`, `age`).
    pub fn output_names(&self) -> Vec<String> {
        let mut names = Vec::with_capacity(self.output_width());
        for feature in &self.features {
            match feature {
                FeatureTransform::Numeric { name, .. } => names.push(name.clone()),
                FeatureTransform::Categorical {
                    name,
                    categories,
                    missing_indicator,
                } => {
                    names.extend(categories.iter().map(|c| format!("{name}={c}")));
                    if *missing_indicator {
                        names.push(format!("{name}=<missing>"));
                    }
                }
            }
        }
        names
    }

    /// Encodes `frame`, which must hold every input column (extra columns are
    /// ignored). Numbers sent as text are parsed; a value that is not a
    /// number, or is infinite, is an error naming the column and row.
    pub fn transform(&self, frame: &Frame) -> Result<Features> {
        let rows = frame.rows();
        let cols = self.output_width();
        let mut values = vec![0.0; rows * cols];
        let mut offset = 0;
        for (index, feature) in self.features.iter().enumerate() {
            // Serving builds frames in the model's column order; look there
            // first instead of searching every column by name.
            let positional = frame
                .columns()
                .get(index)
                .filter(|column| column.name == feature.name());
            let column = positional
                .or_else(|| frame.column(feature.name()))
                .ok_or_else(|| {
                    ModelError::Input(format!(
                        "the input has no column '{}'; the model needs: {}",
                        feature.name(),
                        self.input_names().join(", ")
                    ))
                })?;
            match feature {
                FeatureTransform::Numeric {
                    name,
                    impute,
                    mean,
                    scale,
                } => {
                    for row in 0..rows {
                        let x = numeric_value(column, row, name)?;
                        let x = if x.is_nan() { *impute } else { x };
                        values[row * cols + offset] = (x - mean) / scale;
                    }
                }
                FeatureTransform::Categorical {
                    categories,
                    missing_indicator,
                    ..
                } => {
                    for row in 0..rows {
                        match column.values.text(row) {
                            Some(text) => {
                                if let Some(index) = categories.iter().position(|c| *c == text) {
                                    values[row * cols + offset + index] = 1.0;
                                }
                            }
                            None if *missing_indicator => {
                                values[row * cols + offset + categories.len()] = 1.0;
                            }
                            None => {}
                        }
                    }
                }
            }
            offset += feature.width();
        }
        Ok(Features { rows, cols, values })
    }
}

fn numeric_value(column: &Column, row: usize, name: &str) -> Result<f64> {
    let x = match &column.values {
        Values::Numeric(values) => values[row],
        Values::Categorical(values) => match values.get(row) {
            None => f64::NAN,
            Some(text) => text.trim().parse::<f64>().map_err(|_| {
                ModelError::Input(format!(
                    "column '{name}', row {}: '{text}' is not a number, and '{name}' is a numeric feature",
                    row + 1
                ))
            })?,
        },
    };
    if x.is_infinite() {
        return Err(ModelError::Input(format!(
            "column '{name}', row {}: {x} is not a finite number",
            row + 1
        )));
    }
    Ok(x)
}

fn fit_column(column: &Column, options: &PreprocessOptions) -> Result<FeatureTransform> {
    let name = column.name.clone();
    Ok(match &column.values {
        Values::Numeric(values) => {
            let mut present: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
            if present.is_empty() {
                return Err(ModelError::Input(format!(
                    "feature '{name}' has no values in the training rows; drop it from the features"
                )));
            }
            present.sort_by(f64::total_cmp);
            let n = present.len();
            let median = if n % 2 == 1 {
                present[n / 2]
            } else {
                (present[n / 2 - 1] + present[n / 2]) / 2.0
            };
            let mean = present.iter().sum::<f64>() / n as f64;
            let variance = present.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            let std = variance.sqrt();
            let fill = match options.impute {
                Impute::Median => median,
                Impute::Mean => mean,
            };
            let (mean, scale) = if options.standardise {
                (mean, if std > 1e-12 { std } else { 1.0 })
            } else {
                (0.0, 1.0)
            };
            FeatureTransform::Numeric {
                name,
                impute: fill,
                mean,
                scale,
            }
        }
        Values::Categorical(values) => {
            // The labels that occur (a taken subset may not use them all).
            let mut seen = vec![false; values.labels().len()];
            let mut missing = false;
            for code in values.codes() {
                match seen.get_mut(*code as usize) {
                    Some(flag) => *flag = true,
                    None => missing = true,
                }
            }
            let mut categories: Vec<String> = values
                .labels()
                .iter()
                .zip(&seen)
                .filter(|(_, seen)| **seen)
                .map(|(label, _)| label.clone())
                .collect();
            categories.sort();
            FeatureTransform::Categorical {
                name,
                categories,
                missing_indicator: missing,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame {
        Frame::new(vec![
            Column::numeric("x", vec![1.0, f64::NAN, 3.0, 5.0]),
            Column::categorical(
                "c",
                vec![Some("b".into()), Some("a".into()), None, Some("b".into())],
            ),
        ])
        .unwrap()
    }

    #[test]
    fn fits_on_training_rows_and_encodes() {
        let pre = Preprocessor::fit(&frame()).unwrap();
        assert_eq!(pre.output_names(), ["x", "c=a", "c=b", "c=<missing>"]);
        let out = pre.transform(&frame()).unwrap();
        assert_eq!((out.rows, out.cols), (4, 4));
        // The missing x takes the median (3), which standardises to (3 - 3) / std.
        assert_eq!(out.row(1)[0], 0.0);
        assert_eq!(&out.row(2)[1..], &[0.0, 0.0, 1.0]);
        let json = serde_json::to_string(&pre).unwrap();
        assert_eq!(serde_json::from_str::<Preprocessor>(&json).unwrap(), pre);
    }

    #[test]
    fn unknown_categories_encode_as_zeros_and_text_numbers_parse() {
        let pre = Preprocessor::fit(&frame()).unwrap();
        let live = Frame::new(vec![
            Column::categorical("x", vec![Some("3".into())]),
            Column::categorical("c", vec![Some("zebra".into())]),
        ])
        .unwrap();
        let out = pre.transform(&live).unwrap();
        assert_eq!(out.row(0), &[0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn bad_inputs_name_the_column() {
        let pre = Preprocessor::fit(&frame()).unwrap();
        let missing = Frame::new(vec![Column::numeric("x", vec![1.0])]).unwrap();
        let error = pre.transform(&missing).unwrap_err().to_string();
        assert_eq!(error, "the input has no column 'c'; the model needs: x, c");
        let text = Frame::new(vec![
            Column::categorical("x", vec![Some("ten".into())]),
            Column::categorical("c", vec![None]),
        ])
        .unwrap();
        let error = pre.transform(&text).unwrap_err().to_string();
        assert!(
            error.contains("column 'x', row 1: 'ten' is not a number"),
            "{error}"
        );
    }
}
