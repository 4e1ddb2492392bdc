//! Evaluation metrics, computed on whole splits (not averaged over batches)
//! so that epoch values match what scikit-learn reports for the same rows.

use std::collections::BTreeMap;

/// Metrics of a classifier on `codes` (true classes) given predicted
/// probabilities (rows × k, row-major): `accuracy`, `f1_macro`, `log_loss`,
/// and `roc_auc` when k = 2.
pub fn classification(codes: &[usize], probabilities: &[f64], k: usize) -> BTreeMap<String, f64> {
    let n = codes.len();
    let predicted: Vec<usize> = (0..n)
        .map(|row| {
            let p = &probabilities[row * k..(row + 1) * k];
            p.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i)
        })
        .collect();
    let mut metrics = BTreeMap::new();
    let correct = codes.iter().zip(&predicted).filter(|(a, b)| a == b).count();
    metrics.insert("accuracy".into(), correct as f64 / n.max(1) as f64);
    metrics.insert("f1_macro".into(), f1_macro(codes, &predicted, k));
    metrics.insert("log_loss".into(), log_loss(codes, probabilities, k));
    if k == 2 {
        let scores: Vec<f64> = (0..n).map(|row| probabilities[row * 2 + 1]).collect();
        let positives: Vec<bool> = codes.iter().map(|&c| c == 1).collect();
        if let Some(auc) = roc_auc(&positives, &scores) {
            metrics.insert("roc_auc".into(), auc);
        }
    }
    metrics
}

/// `rmse`, `mae` and `r2` of predictions against truth.
pub fn regression(truth: &[f64], predicted: &[f64]) -> BTreeMap<String, f64> {
    let n = truth.len().max(1) as f64;
    let mse = truth
        .iter()
        .zip(predicted)
        .map(|(t, p)| (t - p).powi(2))
        .sum::<f64>()
        / n;
    let mae = truth
        .iter()
        .zip(predicted)
        .map(|(t, p)| (t - p).abs())
        .sum::<f64>()
        / n;
    let mean = truth.iter().sum::<f64>() / n;
    let total = truth.iter().map(|t| (t - mean).powi(2)).sum::<f64>();
    let r2 = if total > 0.0 {
        1.0 - mse * n / total
    } else {
        0.0
    };
    BTreeMap::from([
        ("rmse".into(), mse.sqrt()),
        ("mae".into(), mae),
        ("r2".into(), r2),
    ])
}

/// Mean per-class F1 over classes present in truth or predictions (sklearn's
/// `f1_score(average="macro")` with its zero-division default of 0).
pub fn f1_macro(truth: &[usize], predicted: &[usize], k: usize) -> f64 {
    let mut scores = Vec::new();
    for class in 0..k {
        let tp = truth
            .iter()
            .zip(predicted)
            .filter(|&(&t, &p)| t == class && p == class)
            .count();
        let fp = truth
            .iter()
            .zip(predicted)
            .filter(|&(&t, &p)| t != class && p == class)
            .count();
        let fn_ = truth
            .iter()
            .zip(predicted)
            .filter(|&(&t, &p)| t == class && p != class)
            .count();
        if tp + fp + fn_ == 0 {
            continue;
        }
        scores.push(2.0 * tp as f64 / (2 * tp + fp + fn_) as f64);
    }
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
        assert!((m["accuracy"] - 0.6).abs() < 1e-12);
        assert!((m["f1_macro"] - 0.5833333333333333).abs() < 1e-12);
        assert!((m["roc_auc"] - 0.8333333333333334).abs() < 1e-12);
        let expected_log_loss =
            -(0.9f64.ln() + 0.4f64.ln() + 0.35f64.ln() + 0.8f64.ln() + 0.9f64.ln()) / 5.0;
        assert!((m["log_loss"] - expected_log_loss).abs() < 1e-12);
    }

    #[test]
    fn regression_metrics() {
        let m = regression(&[1.0, 2.0, 3.0], &[1.0, 2.0, 4.0]);
        assert!((m["rmse"] - (1.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((m["mae"] - 1.0 / 3.0).abs() < 1e-12);
        assert!((m["r2"] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn auc_handles_ties_and_single_class() {
        assert_eq!(roc_auc(&[true, false], &[0.5, 0.5]), Some(0.5));
        assert_eq!(roc_auc(&[true, true], &[0.1, 0.2]), None);
    }
}
