//! Chi-square goodness-of-fit test on category counts, as Evidently runs it:
//! SciPy `chisquare(f_obs=current, f_exp=reference · (n_cur / n_ref))`.
//!
//! # Formula
//!
//! With reference counts `r_i` (total `n_ref`) and current counts `c_i`
//! (total `n_cur`) over the `k` categories seen on either side,
//! `e_i = r_i · (n_cur / n_ref)` and `χ² = Σ_i (c_i - e_i)² / e_i`. The
//! p-value is the chi-square survival function with `k - 1` degrees of
//! freedom, `Q((k-1)/2, χ²/2)` (SciPy `chi2.sf`).
//!
//! This is a goodness-of-fit test of the current window against the
//! reference proportions, **not** the contingency test of `chi2_contingency`
//! (which nannyml uses); the two disagree on small samples.
//!
//! # Edge cases
//!
//! * A category seen only in the current sample has `e_i = 0`, so
//!   `χ² = +inf` and `p = 0`: drift. SciPy gives the same.
//! * Categories empty on both sides are dropped before counting `k`.
//! * Fewer than two remaining categories, or a zero total on either side, is
//!   an [`Error`].
//!
//! Drift when `p < threshold` (Evidently's rule), default 0.05.

use super::{DriftResult, DriftTest, Error, Result, check_counts};
use crate::special::chi2_sf;

/// The chi-square goodness-of-fit test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChiSquare {
    /// Drift when the p-value is below this.
    pub threshold: f64,
}

impl Default for ChiSquare {
    fn default() -> Self {
        Self { threshold: 0.05 }
    }
}

impl DriftTest for ChiSquare {
    fn name(&self) -> &'static str {
        "chisquare"
    }

    fn compute(&self, _: &[f64], _: &[f64]) -> Result<DriftResult> {
        Err(Error::Unsupported {
            test: self.name(),
            kind: "numeric",
        })
    }

    fn compute_categorical(&self, reference: &[u64], current: &[u64]) -> Result<DriftResult> {
        let (reference, current) = check_counts(self.name(), reference, current, 2)?;
        let n_reference = reference.iter().sum::<u64>() as f64;
        let n_current = current.iter().sum::<u64>() as f64;
        // Same operation order as Evidently, so the expected counts match to
        // the bit.
        let scale = n_current / n_reference;
        let statistic: f64 = reference
            .iter()
            .zip(&current)
            .map(|(r, c)| {
                let expected = *r as f64 * scale;
                let observed = *c as f64;
                if expected == 0.0 {
                    // `check_counts` dropped categories empty on both sides,
                    // so `observed > 0` here.
                    f64::INFINITY
                } else {
                    (observed - expected).powi(2) / expected
                }
            })
            .sum();
        let dof = (reference.len() - 1) as f64;
        let p_value = chi2_sf(dof, statistic);
        Ok(DriftResult {
            statistic,
            p_value: Some(p_value),
            threshold: self.threshold,
            drifted: p_value < self.threshold,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hand_computed_two_categories() {
        // Expected 50/50 of 100, observed 60/40: χ² = 100/50 + 100/50 = 4,
        // dof 1, p = erfc(sqrt(2)) = 0.04550026389635842.
        let result = ChiSquare::default()
            .compute_categorical(&[10, 10], &[60, 40])
            .expect("valid counts");
        assert!((result.statistic - 4.0).abs() < 1e-12);
        let p_value = result.p_value.expect("p");
        assert!((p_value - 0.045_500_263_896_358_42).abs() < 1e-12);
        assert!(result.drifted);
    }

    #[test]
    fn new_category_is_infinite_drift() {
        let result = ChiSquare::default()
            .compute_categorical(&[5, 5, 0], &[5, 5, 1])
            .expect("valid counts");
        assert_eq!(result.statistic, f64::INFINITY);
        assert_eq!(result.p_value, Some(0.0));
        assert!(result.drifted);
    }

    #[test]
    fn numeric_input_is_unsupported() {
        assert!(ChiSquare::default().compute(&[1.0], &[1.0]).is_err());
    }
}
