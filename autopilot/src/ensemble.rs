//! Greedy ensemble selection (Caruana et al. 2004) over out-of-fold
//! predictions: start empty; at each step add, with replacement, the candidate
//! whose inclusion gives the best loss of the averaged predictions; keep the
//! best prefix (AutoGluon's `use_best`). Weights are how often each candidate
//! was picked. Ties go to the earlier candidate, so the result is
//! deterministic.

use crate::problem::Outputs;

/// Selection rounds (AutoGluon's default; TabRepo finds nothing gained above 25).
pub const ROUNDS: usize = 25;

/// The chosen members: `(index into candidates, weight)`, weights summing to
/// 1, and the loss of the weighted average.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub members: Vec<(usize, f64)>,
    pub loss: f64,
}

/// Selects an ensemble from `candidates` (all aligned to the same rows)
/// minimising `loss`; `None` when there are no candidates or no finite loss.
pub fn select(
    candidates: &[&Outputs],
    rounds: usize,
    loss: impl Fn(&Outputs) -> Option<f64>,
) -> Option<Selection> {
    let first = candidates.first()?;
    let (len, k) = match first {
        Outputs::Probabilities { k, values } => (values.len(), Some(*k)),
        Outputs::Values(values) => (values.len(), None),
    };
    let values = |o: &Outputs| -> Vec<f64> {
        match o {
            Outputs::Probabilities { values, .. } | Outputs::Values(values) => values.clone(),
        }
    };
    let all: Vec<Vec<f64>> = candidates.iter().map(|o| values(o)).collect();
    if all.iter().any(|v| v.len() != len) {
        return None;
    }
    let wrap = |v: Vec<f64>| match k {
        Some(k) => Outputs::Probabilities { k, values: v },
        None => Outputs::Values(v),
    };

    let mut sum = vec![0.0; len];
    let mut picks: Vec<usize> = Vec::new();
    let mut trajectory: Vec<f64> = Vec::new();
    for round in 1..=rounds.max(1) {
        let mut best: Option<(usize, f64)> = None;
        for (i, candidate) in all.iter().enumerate() {
            let averaged: Vec<f64> = sum
                .iter()
                .zip(candidate)
                .map(|(s, c)| (s + c) / round as f64)
                .collect();
            if let Some(l) = loss(&wrap(averaged)).filter(|l| l.is_finite())
                && best.is_none_or(|(_, b)| l < b)
            {
                best = Some((i, l));
            }
        }
        let (pick, l) = best?;
        sum.iter_mut().zip(&all[pick]).for_each(|(s, c)| *s += c);
        picks.push(pick);
        trajectory.push(l);
    }
    // The best prefix: later rounds may only add noise.
    let (best_len, best_loss) =
        trajectory
            .iter()
            .enumerate()
            .fold(
                (0, f64::INFINITY),
                |(bi, bl), (i, &l)| {
                    if l < bl { (i, l) } else { (bi, bl) }
                },
            );
    let kept = &picks[..=best_len];
    let mut counts: Vec<(usize, usize)> = Vec::new();
    for &p in kept {
        match counts.iter_mut().find(|(i, _)| *i == p) {
            Some((_, n)) => *n += 1,
            None => counts.push((p, 1)),
        }
    }
    counts.sort_by_key(|&(i, _)| i);
    let total = kept.len() as f64;
    Some(Selection {
        members: counts
            .into_iter()
            .map(|(i, n)| (i, n as f64 / total))
            .collect(),
        loss: best_loss,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mse(truth: &[f64]) -> impl Fn(&Outputs) -> Option<f64> + '_ {
        move |o| match o {
            Outputs::Values(v) => Some(
                v.iter()
                    .zip(truth)
                    .map(|(a, b)| (a - b).powi(2))
                    .sum::<f64>()
                    / v.len() as f64,
            ),
            _ => None,
        }
    }

    #[test]
    fn two_complementary_models_are_averaged() {
        // Truth 0 everywhere; one model errs +1, the other -1: their mean is exact.
        let truth = vec![0.0; 4];
        let a = Outputs::Values(vec![1.0; 4]);
        let b = Outputs::Values(vec![-1.0; 4]);
        let c = Outputs::Values(vec![2.0; 4]);
        let selection = select(&[&a, &b, &c], 25, mse(&truth)).unwrap();
        assert_eq!(selection.loss, 0.0);
        assert_eq!(selection.members, vec![(0, 0.5), (1, 0.5)]);
    }

    #[test]
    fn a_dominant_model_stands_alone() {
        let truth = vec![1.0, 2.0, 3.0];
        let good = Outputs::Values(vec![1.0, 2.0, 3.0]);
        let bad = Outputs::Values(vec![0.0, 0.0, 0.0]);
        let selection = select(&[&bad, &good], 25, mse(&truth)).unwrap();
        assert_eq!(selection.members, vec![(1, 1.0)]);
    }

    #[test]
    fn nothing_to_select_from_is_none() {
        assert!(select(&[], 25, |_| Some(0.0)).is_none());
    }
}
