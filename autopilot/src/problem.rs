//! What kind of problem a target poses, and how a model of it is scored.
//!
//! The rule is AutoGluon's `infer_problem_type` (autogluon/core `utils.py`),
//! written out in [`infer_problem_type`]; the default objective per type is the
//! one SageMaker Autopilot chooses (`API_AutoMLJobObjective`): F1 for binary,
//! accuracy for multiclass, MSE for regression.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use smelt_data::{Column, Values};
use smelt_models::EncodedTarget;
use smelt_trainer::metrics;

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

/// An objective the search optimises, and every metric the leaderboard shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Metric {
    Accuracy,
    BalancedAccuracy,
    /// F1 of the positive class (the second label in sorted order), binary only.
    F1,
    F1Macro,
    /// Binary: area under the ROC curve; multiclass: one-vs-rest macro average.
    RocAuc,
    LogLoss,
    Rmse,
    Mse,
    Mae,
    R2,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::BalancedAccuracy => "balanced_accuracy",
            Metric::F1 => "f1",
            Metric::F1Macro => "f1_macro",
            Metric::RocAuc => "roc_auc",
            Metric::LogLoss => "log_loss",
            Metric::Rmse => "rmse",
            Metric::Mse => "mse",
            Metric::Mae => "mae",
            Metric::R2 => "r2",
        }
    }

    pub fn higher_is_better(self) -> bool {
        !matches!(
            self,
            Metric::LogLoss | Metric::Rmse | Metric::Mse | Metric::Mae
        )
    }

    /// The value the search minimises.
    pub fn loss(self, score: f64) -> f64 {
        if self.higher_is_better() {
            -score
        } else {
            score
        }
    }

    /// Whether the metric means anything for this problem type.
    pub fn applies_to(self, problem: ProblemType) -> bool {
        match self {
            Metric::F1 => problem == ProblemType::Binary,
            Metric::Accuracy
            | Metric::BalancedAccuracy
            | Metric::F1Macro
            | Metric::RocAuc
            | Metric::LogLoss => problem.is_classification(),
            Metric::Rmse | Metric::Mse | Metric::Mae | Metric::R2 => {
                problem == ProblemType::Regression
            }
        }
    }

    /// The metrics reported for every candidate of a problem type.
    pub fn reported(problem: ProblemType) -> &'static [Metric] {
        match problem {
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

/// The truth the outputs are scored against.
#[derive(Debug, Clone, Copy)]
pub enum Truth<'a> {
    Classes { codes: &'a [usize], k: usize },
    Values(&'a [f64]),
}

impl<'a> Truth<'a> {
    /// The truth of an encoded target; `k` is the number of classes.
    pub fn of(target: &'a EncodedTarget, k: usize) -> Truth<'a> {
        match target {
            EncodedTarget::Classes(codes) => Truth::Classes { codes, k },
            EncodedTarget::Values(values) => Truth::Values(values),
        }
    }
}

/// Every metric reported for `problem` that is defined on these rows.
pub fn score_all(
    problem: ProblemType,
    truth: Truth<'_>,
    outputs: &Outputs,
) -> std::collections::BTreeMap<String, f64> {
    Metric::reported(problem)
        .iter()
        .filter_map(|&m| score(m, truth, outputs).map(|v| (m.name().to_string(), v)))
        .collect()
}

/// Scores `outputs` against `truth` with `metric`; `None` when the metric does not
/// apply or is undefined on these rows (ROC AUC with one class present).
pub fn score(metric: Metric, truth: Truth<'_>, outputs: &Outputs) -> Option<f64> {
    match (truth, outputs) {
        (Truth::Classes { codes, k }, Outputs::Probabilities { k: width, values }) => {
            if *width != k || values.len() != codes.len() * k {
                return None;
            }
            classification_score(metric, codes, values, k)
        }
        (Truth::Values(truth), Outputs::Values(predicted)) => {
            if truth.len() != predicted.len() || truth.is_empty() {
                return None;
            }
            let all = metrics::regression(truth, predicted);
            match metric {
                Metric::Rmse => all.get("rmse").copied(),
                Metric::Mse => all.get("rmse").map(|r| r * r),
                Metric::Mae => all.get("mae").copied(),
                Metric::R2 => all.get("r2").copied(),
                _ => None,
            }
        }
        _ => None,
    }
}

fn argmax_rows(values: &[f64], k: usize) -> Vec<usize> {
    values
        .chunks(k)
        .map(|p| {
            p.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i)
        })
        .collect()
}

fn classification_score(metric: Metric, codes: &[usize], values: &[f64], k: usize) -> Option<f64> {
    if codes.is_empty() {
        return None;
    }
    let predicted = argmax_rows(values, k);
    let n = codes.len() as f64;
    Some(match metric {
        Metric::Accuracy => codes.iter().zip(&predicted).filter(|(a, b)| a == b).count() as f64 / n,
        Metric::BalancedAccuracy => {
            // Mean recall over the classes present in the truth (sklearn's definition).
            let mut hits = vec![0usize; k];
            let mut totals = vec![0usize; k];
            for (&t, &p) in codes.iter().zip(&predicted) {
                totals[t] += 1;
                hits[t] += usize::from(t == p);
            }
            let recalls: Vec<f64> = (0..k)
                .filter(|&c| totals[c] > 0)
                .map(|c| hits[c] as f64 / totals[c] as f64)
                .collect();
            recalls.iter().sum::<f64>() / recalls.len() as f64
        }
        Metric::F1 => {
            if k != 2 {
                return None;
            }
            let tp = codes
                .iter()
                .zip(&predicted)
                .filter(|(t, p)| **t == 1 && **p == 1)
                .count();
            let fp = codes
                .iter()
                .zip(&predicted)
                .filter(|(t, p)| **t == 0 && **p == 1)
                .count();
            let fn_ = codes
                .iter()
                .zip(&predicted)
                .filter(|(t, p)| **t == 1 && **p == 0)
                .count();
            let denominator = 2 * tp + fp + fn_;
            if denominator == 0 {
                0.0
            } else {
                2.0 * tp as f64 / denominator as f64
            }
        }
        Metric::F1Macro => metrics::f1_macro(codes, &predicted, k),
        Metric::RocAuc => {
            if k == 2 {
                let positive: Vec<bool> = codes.iter().map(|&c| c == 1).collect();
                let scores: Vec<f64> = values.chunks(2).map(|p| p[1]).collect();
                metrics::roc_auc(&positive, &scores)?
            } else {
                // One-vs-rest, macro-averaged over the classes present (sklearn's `ovr`).
                let aucs: Vec<f64> = (0..k)
                    .filter_map(|c| {
                        let positive: Vec<bool> = codes.iter().map(|&t| t == c).collect();
                        let scores: Vec<f64> = values.chunks(k).map(|p| p[c]).collect();
                        metrics::roc_auc(&positive, &scores)
                    })
                    .collect();
                if aucs.is_empty() {
                    return None;
                }
                aucs.iter().sum::<f64>() / aucs.len() as f64
            }
        }
        Metric::LogLoss => metrics::log_loss(codes, values, k),
        Metric::Rmse | Metric::Mse | Metric::Mae | Metric::R2 => return None,
    })
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

    #[test]
    fn the_loss_is_minimised_whatever_the_direction() {
        assert!(Metric::Accuracy.loss(0.9) < Metric::Accuracy.loss(0.8));
        assert!(Metric::Rmse.loss(0.1) < Metric::Rmse.loss(0.2));
    }
}
