//! Two-proportion Z-test, Evidently's `z` test for columns with at most two
//! distinct values and a small reference.
//!
//! # Formula
//!
//! Let the first category (the smallest value for numeric input, index 0 of
//! the aligned counts otherwise) have share `p1 = a1 / n1` in the reference
//! and `p2 = a2 / n2` in the current sample, and `P = (a1 + a2) / (n1 + n2)`.
//! Then `z = (p1 − p2) / sqrt(P (1 − P) (1/n1 + 1/n2))` and the two-sided
//! p-value is `2 (1 − Φ(|z|)) = erfc(|z| / √2) = Q(1/2, z²/2)`.
//!
//! When both samples hold the one same value (`P ∈ {0, 1}`) there is nothing
//! to test and `p = 1`, Evidently's rule. Drift when `p < threshold`
//! (default 0.05).

use super::{DriftResult, DriftTest, Result, check_counts, check_numeric};
use crate::special::gamma_q;

/// The two-proportion Z-test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZTest {
    /// Drift when the p-value is below this.
    pub threshold: f64,
}

impl Default for ZTest {
    fn default() -> Self {
        Self { threshold: 0.05 }
    }
}

impl ZTest {
    fn verdict_on_shares(&self, first: [u64; 2], totals: [u64; 2]) -> DriftResult {
        let (n1, n2) = (totals[0] as f64, totals[1] as f64);
        let pooled = (first[0] + first[1]) as f64 / (n1 + n2);
        let spread = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2);
        let (statistic, p_value) = if spread > 0.0 {
            let z = (first[0] as f64 / n1 - first[1] as f64 / n2) / spread.sqrt();
            (z, gamma_q(0.5, 0.5 * z * z))
        } else {
            (0.0, 1.0)
        };
        DriftResult {
            statistic,
            p_value: Some(p_value),
            threshold: self.threshold,
            drifted: p_value < self.threshold,
        }
    }
}

impl DriftTest for ZTest {
    fn name(&self) -> &'static str {
        "z"
    }

    fn compute(&self, reference: &[f64], current: &[f64]) -> Result<DriftResult> {
        check_numeric(self.name(), reference, current, 1)?;
        let key = reference
            .iter()
            .chain(current)
            .copied()
            .fold(f64::INFINITY, f64::min);
        let count = |values: &[f64]| values.iter().filter(|value| **value == key).count() as u64;
        Ok(self.verdict_on_shares(
            [count(reference), count(current)],
            [reference.len() as u64, current.len() as u64],
        ))
    }

    fn compute_categorical(&self, reference: &[u64], current: &[u64]) -> Result<DriftResult> {
        let (reference, current) = check_counts(self.name(), reference, current, 1)?;
        Ok(self.verdict_on_shares(
            [reference[0], current[0]],
            [reference.iter().sum(), current.iter().sum()],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_p_value() {
        // p1 = 0.5, p2 = 0.3 with n = 100 each: P = 0.4,
        // z = 0.2 / sqrt(0.24 · 0.02) = 2.886751..., p = erfc(z/√2) = 0.0038924...
        let result = ZTest::default()
            .compute_categorical(&[50, 50], &[30, 70])
            .expect("valid");
        assert!((result.statistic - 2.886_751_345_948_129).abs() < 1e-12);
        assert!((result.p_value.unwrap_or(1.0) - 0.003_892_417_122_778_627).abs() < 1e-12);
        assert!(result.drifted);
    }

    #[test]
    fn one_shared_value_is_no_drift() {
        let result = ZTest::default()
            .compute(&[1.0; 5], &[1.0; 3])
            .expect("valid");
        assert_eq!((result.p_value, result.drifted), (Some(1.0), false));
        let numeric = ZTest::default()
            .compute(&[0.0, 1.0], &[0.0, 1.0])
            .expect("valid");
        assert_eq!(numeric.statistic, 0.0);
    }
}
