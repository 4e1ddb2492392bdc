//! Classical models from linfa 0.8.1, wrapped for Smelt: the trainer fits a [`LinfaModel`] from
//! a [`LinfaSpec`] and a prepared feature matrix, saves it as JSON in the model folder, and the
//! predictor loads it back and calls [`LinfaModel::predict`].
//!
//! The wrapper owns everything linfa leaves to the caller or gets wrong for our use: input
//! validation (linfa panics or returns NaN on many bad inputs), class codes that are absent from
//! the training rows, probabilities for every class, and serialisation of models whose linfa
//! type has no serde support (the random forest).

mod fitted;
mod spec;
#[cfg(test)]
mod tests;

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use fitted::Fitted;
pub use spec::{Criterion, LinfaSpec, SvmKernel, TaskKind};

/// What the model learns from: rows × features in `x` (already imputed/standardised/one-hot
/// encoded, no NaN).
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// Class codes `0..n_classes`, one per row of `x`.
    Classes {
        codes: &'a [usize],
        n_classes: usize,
    },
    /// Numeric targets, one per row of `x`.
    Values(&'a [f64]),
}

/// Predictions for the rows of `x`.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// rows × n_classes; every row sums to 1.
    Probabilities(Array2<f64>),
    Values(Vec<f64>),
}

/// A fitted model, saved as JSON (serde) inside the model folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinfaModel {
    model: Fitted,
    n_features: usize,
    /// Number of classes for classifiers (the width of the probability output), 0 for regressors.
    n_classes: usize,
}

impl LinfaModel {
    /// Fits the model described by `spec` on `x` and `target`.
    pub fn fit(spec: &LinfaSpec, x: ArrayView2<f64>, target: Target<'_>) -> Result<LinfaModel> {
        check_x(x)?;
        match target {
            Target::Classes { codes, n_classes } => {
                if !spec.supports(TaskKind::Classification) {
                    return Err(ModelError::Unsupported(format!(
                        "{} is a regression model and cannot predict classes; use \
                         logistic_regression, decision_tree, random_forest, gaussian_nb or svm",
                        spec.name()
                    )));
                }
                check_classes(x, codes, n_classes)?;
                let model = fitted::fit_classifier(spec, x, codes, n_classes)?;
                Ok(LinfaModel {
                    model,
                    n_features: x.ncols(),
                    n_classes,
                })
            }
            Target::Values(y) => {
                if !spec.supports(TaskKind::Regression) {
                    return Err(ModelError::Unsupported(format!(
                        "{} is a classifier and cannot predict numeric values; use \
                         linear_regression, ridge, lasso, elastic_net or svm",
                        spec.name()
                    )));
                }
                check_values(x, y)?;
                let model = fitted::fit_regressor(spec, x, y)?;
                Ok(LinfaModel {
                    model,
                    n_features: x.ncols(),
                    n_classes: 0,
                })
            }
        }
    }

    /// Number of feature columns the model was trained on (and expects at prediction).
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Classification: probabilities rows × n_classes (rows sum to 1). Regression: values.
    pub fn predict(&self, x: ArrayView2<f64>) -> Result<Output> {
        if x.ncols() != self.n_features {
            return Err(ModelError::Input(format!(
                "the model expects {} features, got {}",
                self.n_features,
                x.ncols()
            )));
        }
        check_x(x)?;
        let out = self.model.predict(x, self.n_classes)?;
        // Finite inputs can still overflow inside a model (e.g. naive Bayes with
        // var_smoothing = 0 on a constant feature); never hand NaN to the predictor's caller.
        let bad_row = match &out {
            Output::Probabilities(p) => p
                .rows()
                .into_iter()
                .position(|r| r.iter().any(|v| !v.is_finite())),
            Output::Values(v) => v.iter().position(|v| !v.is_finite()),
        };
        match bad_row {
            Some(row) => Err(ModelError::Input(format!(
                "the model produced a non-finite prediction for row {row}; the input is far \
                 outside the training data or the hyperparameters are degenerate"
            ))),
            None => Ok(out),
        }
    }
}

/// Rejects empty or non-finite feature matrices: linfa either panics on them or silently
/// produces NaN models, neither of which tells the user what is wrong with their data.
fn check_x(x: ArrayView2<f64>) -> Result<()> {
    if x.nrows() == 0 {
        return Err(ModelError::Input("the feature matrix has no rows".into()));
    }
    if x.ncols() == 0 {
        return Err(ModelError::Input(
            "the feature matrix has no columns".into(),
        ));
    }
    if let Some(((row, col), v)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(ModelError::Input(format!(
            "the feature matrix holds {v} at row {row}, column {col}; features must be finite \
             (impute or drop missing values first)"
        )));
    }
    Ok(())
}

fn check_classes(x: ArrayView2<f64>, codes: &[usize], n_classes: usize) -> Result<()> {
    if codes.len() != x.nrows() {
        return Err(ModelError::Input(format!(
            "{} rows of features but {} class labels",
            x.nrows(),
            codes.len()
        )));
    }
    if let Some((row, code)) = codes.iter().enumerate().find(|(_, c)| **c >= n_classes) {
        return Err(ModelError::Input(format!(
            "class code {code} at row {row} is out of range for {n_classes} classes"
        )));
    }
    let mut present = vec![false; n_classes];
    for &c in codes {
        present[c] = true;
    }
    let n_present = present.iter().filter(|p| **p).count();
    if n_present < 2 {
        return Err(ModelError::Input(format!(
            "classification needs at least 2 classes in the training rows, found {n_present}"
        )));
    }
    Ok(())
}

fn check_values(x: ArrayView2<f64>, y: &[f64]) -> Result<()> {
    if y.len() != x.nrows() {
        return Err(ModelError::Input(format!(
            "{} rows of features but {} target values",
            x.nrows(),
            y.len()
        )));
    }
    if let Some((row, v)) = y.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(ModelError::Input(format!(
            "the target holds {v} at row {row}; targets must be finite"
        )));
    }
    Ok(())
}
