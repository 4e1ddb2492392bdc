//! What kind of problem a target poses, and how a model of it is scored.
//!
//! The rule is AutoGluon's `infer_problem_type` (autogluon/core `utils.py`),
//! written out in [`infer_problem_type`]; the default objective per type is the
//! one SageMaker Autopilot chooses (`API_AutoMLJobObjective`): F1 for binary,
//! accuracy for multiclass, MSE for regression. The metrics themselves are
//! the trainer's ([`smelt_trainer::metrics`]): this module only says which of
//! them a problem type admits and reports.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use smelt_data::{Column, Values};
use smelt_trainer::metrics::{self, Predicted};
pub use smelt_trainer::metrics::{Metric, Truth};

/// Binary, multiclass or regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum ProblemType {
    Binary,
    Multiclass,
    Regression,
}

impl ProblemType {
    pub fn name(self) -> &'static str {
        match self {
            ProblemType::Binary => "binary",
            ProblemType::Multiclass => "multiclass",
            ProblemType::Regression => "regression",
        }
    }

    pub fn is_classification(self) -> bool {
        self != ProblemType::Regression
    }

    /// Whether `metric` means anything for this problem type.
    pub fn admits(self, metric: Metric) -> bool {
        match metric {
            Metric::F1 => self == ProblemType::Binary,
            _ => metric.is_classification() == self.is_classification(),
        }
    }

    /// The metrics reported for every candidate of this problem type.
    pub fn reported_metrics(self) -> &'static [Metric] {
        match self {
            ProblemType::Binary => &[
                Metric::Accuracy,
                Metric::BalancedAccuracy,
                Metric::F1,
                Metric::F1Macro,
                Metric::RocAuc,
                Metric::LogLoss,
            ],
            ProblemType::Multiclass => &[
                Metric::Accuracy,
                Metric::BalancedAccuracy,
                Metric::F1Macro,
                Metric::RocAuc,
                Metric::LogLoss,
            ],
            ProblemType::Regression => &[Metric::Rmse, Metric::Mse, Metric::Mae, Metric::R2],
        }
    }

    /// SageMaker Autopilot's default objective for this problem type.
    pub fn default_metric(self) -> Metric {
        match self {
            ProblemType::Binary => Metric::F1,
            ProblemType::Multiclass => Metric::Accuracy,
            ProblemType::Regression => Metric::Mse,
        }
    }
}

/// AutoGluon's threshold: above 1,000 labelled rows, a numeric target is a
/// class label only when its distinct values are at most 5 % of the rows
/// (10 % on smaller data), at most 1,000 of them, and all whole numbers.
const LARGE_DATA_ROWS: usize = 1000;
const MAX_CLASSES: usize = 1000;

/// Infers the problem type of a target column, ignoring missing values:
///
/// - exactly two distinct values → binary;
/// - text → multiclass;
/// - numbers: multiclass when distinct/rows ≤ 0.05 (≤ 0.1 for ≤ 1,000 rows),
///   distinct ≤ 1,000 and every value is a whole number; otherwise regression.
///
/// `None` when the target has fewer than two distinct values (nothing to learn).
pub fn infer_problem_type(target: &Column) -> Option<ProblemType> {
    match &target.values {
        Values::Categorical(categories) => {
            let distinct: HashSet<u32> = categories
                .codes()
                .iter()
                .copied()
                .filter(|&c| c != smelt_data::MISSING_CODE)
                .collect();
            match distinct.len() {
                0 | 1 => None,
                2 => Some(ProblemType::Binary),
                _ => Some(ProblemType::Multiclass),
            }
        }
        Values::Numeric(values) => {
            let present: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
            let distinct: HashSet<u64> = present.iter().map(|v| v.to_bits()).collect();
            let n = present.len();
            match distinct.len() {
                0 | 1 => None,
                2 => Some(ProblemType::Binary),
                u => {
                    let threshold = if n > LARGE_DATA_ROWS { 0.05 } else { 0.1 };
                    let integral = present.iter().all(|v| v.fract() == 0.0);
                    if (u as f64) / (n as f64) <= threshold && u <= MAX_CLASSES && integral {
                        Some(ProblemType::Multiclass)
                    } else {
                        Some(ProblemType::Regression)
                    }
                }
            }
        }
    }
}

/// What a model predicted for a set of rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Outputs {
    /// rows × k probabilities, row-major.
    Probabilities {
        k: usize,
        values: Vec<f64>,
    },
    Values(Vec<f64>),
}

impl Outputs {
    /// A borrowed view, as the metrics take it.
    pub fn view(&self) -> Predicted<'_> {
        match self {
            Outputs::Probabilities { k, values } => Predicted::Probabilities { k: *k, values },
            Outputs::Values(values) => Predicted::Values(values),
        }
    }
}

/// Every metric reported for `problem` that is defined on these rows, by
/// name (as the leaderboard and the trial runs write them).
pub fn score_all(
    problem: ProblemType,
    truth: Truth<'_>,
    outputs: &Outputs,
) -> std::collections::BTreeMap<String, f64> {
    metrics::named(
        &metrics::score_each(problem.reported_metrics(), truth, outputs.view()),
        "",
    )
}

/// Scores `outputs` against `truth` with `metric` (the trainer's
/// [`metrics::score`]); `None` when the metric does not apply or is undefined
/// on these rows (ROC AUC with one class present).
pub fn score(metric: Metric, truth: Truth<'_>, outputs: &Outputs) -> Option<f64> {
    metrics::score(metric, truth, outputs.view())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_types_follow_autogluons_rule() {
        let iris_like = Column::numeric("y", (0..150).map(|i| (i % 3) as f64).collect());
        assert_eq!(
            infer_problem_type(&iris_like),
            Some(ProblemType::Multiclass)
        );
        let two = Column::numeric("y", (0..50).map(|i| (i % 2) as f64 * 7.0).collect());
        assert_eq!(infer_problem_type(&two), Some(ProblemType::Binary));
        // 214 distinct of 442 (diabetes): a measurement.
        let diabetes_like = Column::numeric("y", (0..442).map(|i| (i % 214) as f64).collect());
        assert_eq!(
            infer_problem_type(&diabetes_like),
            Some(ProblemType::Regression)
        );
        // Few distinct values, but not whole numbers: regression.
        let halves = Column::numeric("y", (0..200).map(|i| (i % 4) as f64 + 0.5).collect());
        assert_eq!(infer_problem_type(&halves), Some(ProblemType::Regression));
        let text = Column::categorical(
            "y",
            vec![Some("a".to_string()), Some("b".into()), Some("c".into())],
        );
        assert_eq!(infer_problem_type(&text), Some(ProblemType::Multiclass));
        let constant = Column::numeric("y", vec![1.0, 1.0, f64::NAN]);
        assert_eq!(infer_problem_type(&constant), None);
    }

    #[test]
    fn scores_match_hand_computed_values() {
        // truth 0 0 1 1, predicted 0 1 1 1.
        let codes = [0, 0, 1, 1];
        let outputs = Outputs::Probabilities {
            k: 2,
            values: vec![0.9, 0.1, 0.4, 0.6, 0.2, 0.8, 0.3, 0.7],
        };
        let truth = Truth::Classes {
            codes: &codes,
            k: 2,
        };
        assert_eq!(score(Metric::Accuracy, truth, &outputs), Some(0.75));
        // recall(0) = 0.5, recall(1) = 1.
        assert_eq!(score(Metric::BalancedAccuracy, truth, &outputs), Some(0.75));
        // tp 2, fp 1, fn 0 → 4/5.
        assert_eq!(score(Metric::F1, truth, &outputs), Some(0.8));
        assert_eq!(score(Metric::RocAuc, truth, &outputs), Some(1.0));
        assert_eq!(score(Metric::Rmse, truth, &outputs), None);

        let values = Outputs::Values(vec![1.0, 2.0, 5.0]);
        let truth = Truth::Values(&[1.0, 3.0, 3.0]);
        assert_eq!(score(Metric::Mae, truth, &values), Some(1.0));
        assert!((score(Metric::Mse, truth, &values).unwrap() - 5.0 / 3.0).abs() < 1e-12);
    }

    /// The leaderboard's MSE is the mean squared error itself: the autopilot
    /// once took it as the trainer's RMSE squared, 2.9999999999999996 here.
    #[test]
    fn the_leaderboard_mse_is_the_trainers_definition() {
        let truth = [0.0, 0.0, 3.0];
        let outputs = Outputs::Values(vec![0.0; 3]);
        let all = score_all(ProblemType::Regression, Truth::Values(&truth), &outputs);
        assert_eq!(all["mse"], 3.0);
        assert_eq!(
            all["rmse"],
            metrics::regression(&truth, &[0.0; 3])[&Metric::Rmse]
        );
        assert_eq!(all.keys().collect::<Vec<_>>(), ["mae", "mse", "r2", "rmse"]);
        assert!(ProblemType::Binary.admits(Metric::F1));
        assert!(!ProblemType::Multiclass.admits(Metric::F1));
        assert!(!ProblemType::Regression.admits(Metric::Accuracy));
    }

    #[test]
    fn the_loss_is_minimised_whatever_the_direction() {
        assert!(Metric::Accuracy.loss(0.9) < Metric::Accuracy.loss(0.8));
        assert!(Metric::Rmse.loss(0.1) < Metric::Rmse.loss(0.2));
    }
}
