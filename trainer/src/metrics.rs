//! Classification and regression metrics: the one implementation behind the
//! trainer's epoch and final metrics and the autopilot's objectives and
//! leaderboard. Computed on whole splits (not averaged over batches) so that
//! values match what scikit-learn reports for the same rows.
//!
//! A metric is a [`Metric`], never a string: its name (`accuracy`, `rmse`, …)
//! is used only where values leave for the tracking store or a file
//! ([`named`]). Every metric is computed from its definition; none is derived
//! from another (MSE is the mean squared error, not RMSE squared, which
//! differs in the last bits).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use smelt_models::EncodedTarget;

/// A metric of a classifier or a regressor.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Metric {
    Accuracy,
    /// Mean recall over the classes present in the truth.
    BalancedAccuracy,
    /// F1 of the positive class (the second label in sorted order), binary only.
    F1,
    /// Mean per-class F1 over classes present in truth or predictions.
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
    /// Every metric, classification first.
    pub const ALL: [Metric; 10] = [
        Metric::Accuracy,
        Metric::BalancedAccuracy,
        Metric::F1,
        Metric::F1Macro,
        Metric::RocAuc,
        Metric::LogLoss,
        Metric::Rmse,
        Metric::Mse,
        Metric::Mae,
        Metric::R2,
    ];

    /// What a training job logs for a classifier (each as `train_…`, `val_…`,
    /// `test_…`); ROC AUC only with two classes, see [`trained`].
    pub const TRAINED_CLASSIFICATION: [Metric; 4] = [
        Metric::Accuracy,
        Metric::F1Macro,
        Metric::LogLoss,
        Metric::RocAuc,
    ];

    /// What a training job logs for a regressor.
    pub const TRAINED_REGRESSION: [Metric; 3] = [Metric::Rmse, Metric::Mae, Metric::R2];

    /// The name metrics are logged and written under.
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

    /// The metric logged under `name`.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    pub fn higher_is_better(self) -> bool {
        !matches!(
            self,
            Metric::LogLoss | Metric::Rmse | Metric::Mse | Metric::Mae
        )
    }

    /// The value a search minimises.
    pub fn loss(self, score: f64) -> f64 {
        if self.higher_is_better() {
            -score
        } else {
            score
        }
    }

    /// Whether the metric scores class probabilities (else numeric predictions).
    pub fn is_classification(self) -> bool {
        !matches!(self, Metric::Rmse | Metric::Mse | Metric::Mae | Metric::R2)
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Metric values by metric.
pub type Scores = BTreeMap<Metric, f64>;

/// `scores` under their logged names, each behind `prefix` (`val_`, `train_`…).
pub fn named(scores: &Scores, prefix: &str) -> BTreeMap<String, f64> {
    scores
        .iter()
        .map(|(metric, value)| (format!("{prefix}{}", metric.name()), *value))
        .collect()
}

/// The truth predictions are scored against.
#[derive(Debug, Clone, Copy)]
pub enum Truth<'a> {
    /// Class codes `0..k`.
    Classes {
        codes: &'a [usize],
        k: usize,
    },
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

/// What a model predicted for the same rows.
#[derive(Debug, Clone, Copy)]
pub enum Predicted<'a> {
    /// rows × k probabilities, row-major.
    Probabilities {
        k: usize,
        values: &'a [f64],
    },
    Values(&'a [f64]),
}

/// Scores `predicted` against `truth` with `metric`; `None` when the metric
/// does not apply (a regression metric of probabilities, F1 of three classes),
/// the shapes disagree, there are no rows, or the metric is undefined on these
/// rows (ROC AUC with one class present).
pub fn score(metric: Metric, truth: Truth<'_>, predicted: Predicted<'_>) -> Option<f64> {
    match (truth, predicted) {
        (Truth::Classes { codes, k }, Predicted::Probabilities { k: width, values }) => {
            if width != k || k == 0 || codes.is_empty() || values.len() != codes.len() * k {
                return None;
            }
            let predicted = argmax_rows(values, k);
            classification_score(metric, codes, &predicted, values, k)
        }
        (Truth::Values(truth), Predicted::Values(predicted)) => {
            if truth.len() != predicted.len() || truth.is_empty() {
                return None;
            }
            regression_score(metric, truth, predicted)
        }
        _ => None,
    }
}

/// Each of `metrics` that is defined on these rows.
pub fn score_each(metrics: &[Metric], truth: Truth<'_>, predicted: Predicted<'_>) -> Scores {
    metrics
        .iter()
        .filter_map(|&m| score(m, truth, predicted).map(|v| (m, v)))
        .collect()
}

/// What a training job logs for a classifier of `k` classes: accuracy, macro
/// F1, log loss, and ROC AUC when k = 2 (multiclass AUC is the autopilot's,
/// and logging it would change what existing runs compare against).
pub fn trained(k: usize) -> &'static [Metric] {
    if k == 2 {
        &Metric::TRAINED_CLASSIFICATION
    } else {
        &Metric::TRAINED_CLASSIFICATION[..3]
    }
}

/// The training job's metrics of a classifier on `codes` (true classes)
/// given predicted probabilities (rows × k, row-major); see [`trained`].
pub fn classification(codes: &[usize], probabilities: &[f64], k: usize) -> Scores {
    score_each(
        trained(k),
        Truth::Classes { codes, k },
        Predicted::Probabilities {
            k,
            values: probabilities,
        },
    )
}

/// The training job's metrics of a regressor: RMSE, MAE and R².
pub fn regression(truth: &[f64], predicted: &[f64]) -> Scores {
    score_each(
        &Metric::TRAINED_REGRESSION,
        Truth::Values(truth),
        Predicted::Values(predicted),
    )
}

/// The most probable class of each row (the first on ties).
pub fn argmax_rows(values: &[f64], k: usize) -> Vec<usize> {
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

fn classification_score(
    metric: Metric,
    codes: &[usize],
    predicted: &[usize],
    values: &[f64],
    k: usize,
) -> Option<f64> {
    let n = codes.len() as f64;
    Some(match metric {
        Metric::Accuracy => codes.iter().zip(predicted).filter(|(a, b)| a == b).count() as f64 / n,
        Metric::BalancedAccuracy => balanced_accuracy(codes, predicted, k),
        Metric::F1 => {
            if k != 2 {
                return None;
            }
            f1_of_class(codes, predicted, 1).unwrap_or(0.0)
        }
        Metric::F1Macro => f1_macro(codes, predicted, k),
        Metric::RocAuc => {
            if k == 2 {
                let positive: Vec<bool> = codes.iter().map(|&c| c == 1).collect();
                let scores: Vec<f64> = values.chunks(2).map(|p| p[1]).collect();
                roc_auc(&positive, &scores)?
            } else {
                // One-vs-rest, macro-averaged over the classes present (sklearn's `ovr`).
                let aucs: Vec<f64> = (0..k)
                    .filter_map(|c| {
                        let positive: Vec<bool> = codes.iter().map(|&t| t == c).collect();
                        let scores: Vec<f64> = values.chunks(k).map(|p| p[c]).collect();
                        roc_auc(&positive, &scores)
                    })
                    .collect();
                if aucs.is_empty() {
                    return None;
                }
                aucs.iter().sum::<f64>() / aucs.len() as f64
            }
        }
        Metric::LogLoss => log_loss(codes, values, k),
        Metric::Rmse | Metric::Mse | Metric::Mae | Metric::R2 => return None,
    })
}

fn regression_score(metric: Metric, truth: &[f64], predicted: &[f64]) -> Option<f64> {
    let n = truth.len() as f64;
    let mse = || {
        truth
            .iter()
            .zip(predicted)
            .map(|(t, p)| (t - p).powi(2))
            .sum::<f64>()
            / n
    };
    Some(match metric {
        Metric::Mse => mse(),
        Metric::Rmse => mse().sqrt(),
        Metric::Mae => {
            truth
                .iter()
                .zip(predicted)
                .map(|(t, p)| (t - p).abs())
                .sum::<f64>()
                / n
        }
        Metric::R2 => {
            let mean = truth.iter().sum::<f64>() / n;
            let total = truth.iter().map(|t| (t - mean).powi(2)).sum::<f64>();
            // A constant truth explains nothing; sklearn answers 0 here too
            // when the predictions are not exact.
            if total > 0.0 {
                1.0 - mse() * n / total
            } else {
                0.0
            }
        }
        _ => return None,
    })
}

/// Mean recall over the classes present in the truth (sklearn's definition).
fn balanced_accuracy(truth: &[usize], predicted: &[usize], k: usize) -> f64 {
    let mut hits = vec![0usize; k];
    let mut totals = vec![0usize; k];
    for (&t, &p) in truth.iter().zip(predicted) {
        totals[t] += 1;
        hits[t] += usize::from(t == p);
    }
    let recalls: Vec<f64> = (0..k)
        .filter(|&c| totals[c] > 0)
        .map(|c| hits[c] as f64 / totals[c] as f64)
        .collect();
    recalls.iter().sum::<f64>() / recalls.len().max(1) as f64
}

/// F1 of one class; `None` when the class is in neither truth nor predictions.
fn f1_of_class(truth: &[usize], predicted: &[usize], class: usize) -> Option<f64> {
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    for (&t, &p) in truth.iter().zip(predicted) {
        match (t == class, p == class) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            (false, false) => {}
        }
    }
    let denominator = 2 * tp + fp + fn_;
    (denominator > 0).then(|| 2.0 * tp as f64 / denominator as f64)
}

/// Mean per-class F1 over classes present in truth or predictions (sklearn's
/// `f1_score(average="macro")` with its zero-division default of 0).
pub fn f1_macro(truth: &[usize], predicted: &[usize], k: usize) -> f64 {
    let scores: Vec<f64> = (0..k)
        .filter_map(|class| f1_of_class(truth, predicted, class))
        .collect();
    if scores.is_empty() {
        0.0
    } else {
        scores.iter().sum::<f64>() / scores.len() as f64
    }
}

/// Cross-entropy of the true class, probabilities clipped as sklearn does.
pub fn log_loss(truth: &[usize], probabilities: &[f64], k: usize) -> f64 {
    let eps = f64::EPSILON;
    let total: f64 = truth
        .iter()
        .enumerate()
        .map(|(row, &class)| -probabilities[row * k + class].clamp(eps, 1.0 - eps).ln())
        .sum();
    total / truth.len().max(1) as f64
}

/// Area under the ROC curve by the rank statistic (ties count half);
/// `None` when only one class is present.
pub fn roc_auc(positive: &[bool], scores: &[f64]) -> Option<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    // Sorting (score, label) pairs themselves, not indices into the scores,
    // keeps the sort in cache: this runs on every epoch's training rows.
    let mut pairs: Vec<(f64, bool)> = scores
        .iter()
        .copied()
        .zip(positive.iter().copied())
        .collect();
    pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    // Ranks from 1, averaged over ties.
    let mut positive_ranks = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j + 1 < pairs.len() && pairs[j + 1].0 == pairs[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let tied_positives = pairs[i..=j].iter().filter(|(_, p)| *p).count();
        positive_ranks += rank * tied_positives as f64;
        i = j + 1;
    }
    let u = positive_ranks - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos * n_neg) as f64)
}

/// Confusion matrix counts, `[truth][predicted]`.
pub fn confusion(truth: &[usize], predicted: &[usize], k: usize) -> Vec<Vec<u64>> {
    let mut matrix = vec![vec![0u64; k]; k];
    for (&t, &p) in truth.iter().zip(predicted) {
        matrix[t][p] += 1;
    }
    matrix
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from scikit-learn 1.9.1:
    //   y=[0,0,1,1,1], p1=[.1,.6,.35,.8,.9]
    //   accuracy_score=0.6, f1_score(macro)=0.5833333333333333,
    //   log_loss=0.4742185726813227 ... roc_auc_score=0.8333333333333334
    #[test]
    fn binary_metrics_match_scikit_learn() {
        let codes = [0, 0, 1, 1, 1];
        let p1 = [0.1, 0.6, 0.35, 0.8, 0.9];
        let probabilities: Vec<f64> = p1.iter().flat_map(|&p| [1.0 - p, p]).collect();
        let m = classification(&codes, &probabilities, 2);
        assert!((m[&Metric::Accuracy] - 0.6).abs() < 1e-12);
        assert!((m[&Metric::F1Macro] - 0.5833333333333333).abs() < 1e-12);
        assert!((m[&Metric::RocAuc] - 0.8333333333333334).abs() < 1e-12);
        let expected_log_loss =
            -(0.9f64.ln() + 0.4f64.ln() + 0.35f64.ln() + 0.8f64.ln() + 0.9f64.ln()) / 5.0;
        assert!((m[&Metric::LogLoss] - expected_log_loss).abs() < 1e-12);
        assert_eq!(m.len(), 4);
    }

    #[test]
    fn regression_metrics() {
        let m = regression(&[1.0, 2.0, 3.0], &[1.0, 2.0, 4.0]);
        assert!((m[&Metric::Rmse] - (1.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((m[&Metric::Mae] - 1.0 / 3.0).abs() < 1e-12);
        assert!((m[&Metric::R2] - 0.5).abs() < 1e-12);
        assert_eq!(
            named(&m, "val_").keys().collect::<Vec<_>>(),
            ["val_mae", "val_r2", "val_rmse"]
        );
    }

    #[test]
    fn auc_handles_ties_and_single_class() {
        assert_eq!(roc_auc(&[true, false], &[0.5, 0.5]), Some(0.5));
        assert_eq!(roc_auc(&[true, true], &[0.1, 0.2]), None);
    }

    #[test]
    fn scores_match_hand_computed_values() {
        // truth 0 0 1 1, predicted 0 1 1 1.
        let codes = [0, 0, 1, 1];
        let values = [0.9, 0.1, 0.4, 0.6, 0.2, 0.8, 0.3, 0.7];
        let truth = Truth::Classes {
            codes: &codes,
            k: 2,
        };
        let predicted = Predicted::Probabilities {
            k: 2,
            values: &values,
        };
        assert_eq!(score(Metric::Accuracy, truth, predicted), Some(0.75));
        // recall(0) = 0.5, recall(1) = 1.
        assert_eq!(
            score(Metric::BalancedAccuracy, truth, predicted),
            Some(0.75)
        );
        // tp 2, fp 1, fn 0 → 4/5.
        assert_eq!(score(Metric::F1, truth, predicted), Some(0.8));
        assert_eq!(score(Metric::RocAuc, truth, predicted), Some(1.0));
        assert_eq!(score(Metric::Rmse, truth, predicted), None);

        let predicted = [1.0, 2.0, 5.0];
        let truth = Truth::Values(&[1.0, 3.0, 3.0]);
        let predicted = Predicted::Values(&predicted);
        assert_eq!(score(Metric::Mae, truth, predicted), Some(1.0));
        assert!((score(Metric::Mse, truth, predicted).unwrap() - 5.0 / 3.0).abs() < 1e-12);
    }

    /// Where the trainer's and the autopilot's former implementations parted:
    /// the autopilot took MSE as RMSE², which is not the mean squared error
    /// in the last bits, and scored no rows as "undefined" where the trainer
    /// answered an accuracy of 0. One implementation answers both the same.
    #[test]
    fn mse_is_the_mean_squared_error_and_no_rows_score_nothing() {
        let truth = [0.0, 0.0, 3.0];
        let predicted = [0.0; 3];
        let mse = score(
            Metric::Mse,
            Truth::Values(&truth),
            Predicted::Values(&predicted),
        )
        .unwrap();
        assert_eq!(mse, 3.0);
        let rmse = regression(&truth, &predicted)[&Metric::Rmse];
        assert_ne!(rmse * rmse, mse, "RMSE² differs from MSE here");
        assert_eq!(rmse, 3f64.sqrt());

        assert!(classification(&[], &[], 2).is_empty());
        assert!(regression(&[], &[]).is_empty());
        assert_eq!(
            score(
                Metric::Accuracy,
                Truth::Classes { codes: &[], k: 2 },
                Predicted::Probabilities { k: 2, values: &[] }
            ),
            None
        );
    }

    #[test]
    fn the_training_set_of_metrics_agrees_with_each_metric_alone() {
        // Three classes: the trainer logs no ROC AUC, the autopilot's OvR AUC
        // is still defined through the same function.
        let codes = [0, 1, 2, 2, 1];
        let values = [
            0.7, 0.2, 0.1, 0.1, 0.5, 0.4, 0.2, 0.2, 0.6, 0.3, 0.3, 0.4, 0.2, 0.6, 0.2,
        ];
        let trained = classification(&codes, &values, 3);
        assert_eq!(
            trained.keys().copied().collect::<Vec<_>>(),
            [Metric::Accuracy, Metric::F1Macro, Metric::LogLoss]
        );
        let truth = Truth::Classes {
            codes: &codes,
            k: 3,
        };
        let predicted = Predicted::Probabilities {
            k: 3,
            values: &values,
        };
        for (metric, value) in &trained {
            assert_eq!(score(*metric, truth, predicted), Some(*value));
        }
        assert!(score(Metric::RocAuc, truth, predicted).is_some());
        assert_eq!(score(Metric::F1, truth, predicted), None);
    }

    #[test]
    fn names_round_trip() {
        for metric in Metric::ALL {
            assert_eq!(Metric::from_name(metric.name()), Some(metric));
            assert_eq!(
                serde_json::to_string(&metric).unwrap(),
                format!("\"{metric}\"")
            );
        }
        assert_eq!(Metric::from_name("loss"), None);
    }
}
