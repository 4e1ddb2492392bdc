//! Wasserstein-1 (earth mover's) distance between two numeric samples, raw
//! (SciPy `wasserstein_distance(reference, current)`) or normed by the
//! reference's spread (Evidently's `wasserstein` test).
//!
//! # Formula
//!
//! `W1 = ∫ |F_ref(x) - F_cur(x)| dx`. On the sorted union `z_0 <= ... <= z_N`
//! of both samples this is `Σ_{k<N} |F_ref(z_k) - F_cur(z_k)| · (z_{k+1} - z_k)`
//! with `F(z) = #{values <= z} / n`, SciPy's `_cdf_distance(1, u, v)`.
//!
//! Normed: `W1 / max(std(reference), 0.001)` with the population standard
//! deviation (`ddof = 0`); the floor keeps a constant reference from dividing
//! by zero (Evidently's rule).
//!
//! Drift when the (normed) distance is `>= threshold`, default 0.1.

use super::{DriftResult, DriftTest, Error, Result, check_numeric, distance_result};

/// Floor on the reference standard deviation in the normed distance.
const MIN_STD: f64 = 0.001;

/// The Wasserstein-1 distance test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wasserstein {
    /// Drift when the distance is at least this.
    pub threshold: f64,
    /// Divide by `max(std(reference), 0.001)` (Evidently's normed variant).
    pub normed: bool,
}

impl Default for Wasserstein {
    fn default() -> Self {
        Self {
            threshold: 0.1,
            normed: true,
        }
    }
}

impl DriftTest for Wasserstein {
    fn name(&self) -> &'static str {
        if self.normed {
            "wasserstein_normed"
        } else {
            "wasserstein"
        }
    }

    fn compute(&self, reference: &[f64], current: &[f64]) -> Result<DriftResult> {
        check_numeric(self.name(), reference, current, 1)?;
        let distance = wasserstein_1(reference, current);
        let distance = if self.normed {
            distance / population_std(reference).max(MIN_STD)
        } else {
            distance
        };
        Ok(distance_result(distance, self.threshold))
    }

    fn compute_categorical(&self, _: &[u64], _: &[u64]) -> Result<DriftResult> {
        Err(Error::Unsupported {
            test: self.name(),
            kind: "categorical",
        })
    }
}

/// Raw W1 between two finite, non-empty samples.
pub(crate) fn wasserstein_1(first: &[f64], second: &[f64]) -> f64 {
    let mut first_sorted = first.to_vec();
    let mut second_sorted = second.to_vec();
    radsort::sort(&mut first_sorted);
    radsort::sort(&mut second_sorted);
    let (a, b) = (&first_sorted, &second_sorted);
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    // Walk the two sorted samples as one merged sequence (what sorting
    // their union would give, without building it): between consecutive
    // distinct values both CDFs are flat.
    let (mut i, mut j) = (0usize, 0usize);
    let mut distance = 0.0;
    let mut value = f64::min(a[0], b[0]);
    while i < a.len() || j < b.len() {
        while i < a.len() && a[i] <= value {
            i += 1;
        }
        while j < b.len() && b[j] <= value {
            j += 1;
        }
        let next = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        distance += (i as f64 / n1 - j as f64 / n2).abs() * (next - value);
        value = next;
    }
    distance
}

/// Standard deviation with `ddof = 0`, two-pass for accuracy.
pub(crate) fn population_std(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let squares: f64 = values.iter().map(|value| (value - mean).powi(2)).sum();
    (squares / n).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_moves_the_distance_by_the_shift() {
        // SciPy docs: wasserstein_distance([0, 1, 3], [5, 6, 8]) == 5.
        assert!((wasserstein_1(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0]) - 5.0).abs() < 1e-15);
        // F = 1/2 on [0,1) and 1 on [1,2); G = 1/3 and 2/3 there, so
        // W1 = 1/6 + 1/3 = 0.5.
        assert!((wasserstein_1(&[0.0, 1.0], &[0.0, 1.0, 2.0]) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn normed_uses_the_reference_std_with_a_floor() {
        let test = Wasserstein::default();
        // std([0, 2]) = 1, W1 = 1.
        let result = test.compute(&[0.0, 2.0], &[1.0, 3.0]).expect("valid");
        assert!((result.statistic - 1.0).abs() < 1e-15);
        assert!(result.drifted);
        // Constant reference: divide by 0.001, not 0.
        let result = test.compute(&[1.0, 1.0], &[1.0, 1.001]).expect("valid");
        assert!((result.statistic - 0.5).abs() < 1e-9);
        assert!(test.compute_categorical(&[1], &[1]).is_err());
    }
}
