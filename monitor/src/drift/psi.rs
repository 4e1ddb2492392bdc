//! Population Stability Index on binned distributions.
//!
//! # Formula
//!
//! With reference proportions `p_i` and current proportions `q_i` over shared
//! bins, `p'_i = max(p_i, ε)`, `q'_i = max(q_i, ε)` and `ε = 1e-4`
//! ([`PSI_EPSILON`]):
//! `PSI = Σ_i (q'_i - p'_i) · ln(q'_i / p'_i)`.
//!
//! Every term is `>= 0`, so `PSI >= 0`, and `PSI = 0` exactly when the
//! clipped proportions agree. This is the definition of drift-peers.md §3
//! (natural log, ε only lifts empty or near-empty bins, nothing is
//! renormalised after clipping). Evidently instead replaces zeros by
//! `min_nonzero / 1e6`, so its PSI is larger when a bin is empty on one side.
//!
//! # Bins and edge cases
//!
//! Categorical: the aligned category counts (a category new in the current
//! window contributes `(q - ε) ln(q/ε)`, finite). Numeric: the ten
//! reference-decile bins of [`super::quantile_edges`]; a constant reference
//! puts all its mass in the last bin, so any other current value shows as
//! drift.
//!
//! Drift when `PSI >= threshold`, default 0.1 (0.1–0.25 is the usual
//! "moderate shift" band, above 0.25 "significant").

use super::{
    DriftResult, DriftTest, Result, check_counts, check_numeric, distance_result, proportions,
    quantile_bin_counts,
};

/// Floor applied to each proportion before the logarithm.
pub const PSI_EPSILON: f64 = 1e-4;

/// The Population Stability Index test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Psi {
    /// Drift when the index is at least this.
    pub threshold: f64,
}

impl Default for Psi {
    fn default() -> Self {
        Self { threshold: 0.1 }
    }
}

impl DriftTest for Psi {
    fn name(&self) -> &'static str {
        "psi"
    }

    fn compute(&self, reference: &[f64], current: &[f64]) -> Result<DriftResult> {
        check_numeric(self.name(), reference, current, 2)?;
        let (reference_counts, current_counts) = quantile_bin_counts(reference, current);
        self.compute_categorical(&reference_counts, &current_counts)
    }

    fn compute_categorical(&self, reference: &[u64], current: &[u64]) -> Result<DriftResult> {
        let (reference, current) = check_counts(self.name(), reference, current, 1)?;
        let index = psi(&proportions(&reference), &proportions(&current));
        Ok(distance_result(index, self.threshold))
    }
}

/// PSI of two proportion vectors of equal length.
pub(crate) fn psi(p: &[f64], q: &[f64]) -> f64 {
    p.iter()
        .zip(q)
        .map(|(p_i, q_i)| {
            let (p_i, q_i) = (p_i.max(PSI_EPSILON), q_i.max(PSI_EPSILON));
            (q_i - p_i) * (q_i / p_i).ln()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_index() {
        // p = (0.5, 0.5), q = (0.25, 0.75):
        // (-0.25)·ln(0.5) + 0.25·ln(1.5) = 0.25·ln 3.
        let result = Psi::default()
            .compute_categorical(&[1, 1], &[1, 3])
            .expect("valid");
        assert!((result.statistic - 0.25 * 3f64.ln()).abs() < 1e-15);
        assert!(result.drifted);
    }

    #[test]
    fn constant_columns_are_stable_or_drifted_never_nan() {
        let test = Psi::default();
        let same = test.compute(&[2.0; 20], &[2.0; 30]).expect("valid");
        assert_eq!(same.statistic, 0.0);
        assert!(!same.drifted);
        let moved = test.compute(&[2.0; 20], &[1.0; 30]).expect("valid");
        assert!(moved.statistic.is_finite() && moved.drifted);
        assert!(test.compute(&[2.0], &[2.0, 3.0]).is_err());
    }

    #[test]
    fn empty_bin_uses_epsilon() {
        // p = (1, 0), q = (0.5, 0.5): (0.5-1)ln(0.5) + (0.5-1e-4)ln(0.5/1e-4).
        let result = Psi::default()
            .compute_categorical(&[2, 0], &[1, 1])
            .expect("valid");
        let expected = -0.5 * 0.5f64.ln() + (0.5 - 1e-4) * (0.5f64 / 1e-4).ln();
        assert!((result.statistic - expected).abs() < 1e-14);
        assert!(result.statistic.is_finite());
    }
}
