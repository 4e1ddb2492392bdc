//! Jensen–Shannon distance between binned distributions, as SciPy's
//! `scipy.spatial.distance.jensenshannon(p, q, base)`.
//!
//! # Formula
//!
//! With proportions `p_i` (reference) and `q_i` (current) over shared bins and
//! `m_i = (p_i + q_i)/2`,
//! `JS = sqrt( (Σ p_i ln(p_i/m_i) + Σ q_i ln(q_i/m_i)) / (2 ln b) )`,
//! where a term with `p_i = 0` (or `q_i = 0`) is 0 (SciPy's `rel_entr`). No
//! epsilon is added: JS is finite with empty bins.
//!
//! The base `b` is **e by default** (`base: None`), Evidently's choice, which
//! bounds JS by `sqrt(ln 2) ≈ 0.833`; `base: Some(2.0)` bounds it by 1 and is
//! what nannyml and drift-peers.md report.
//!
//! # Bins
//!
//! Categorical columns: the aligned category counts. Numeric columns: the ten
//! reference-decile bins of [`super::quantile_edges`], so both sides share
//! the bins the reference defines.
//!
//! Drift when `JS >= threshold`, default 0.1.

use super::{
    DriftResult, DriftTest, Result, check_counts, check_numeric, distance_result, proportions,
    quantile_bin_counts,
};

/// The Jensen–Shannon distance test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JensenShannon {
    /// Drift when the distance is at least this.
    pub threshold: f64,
    /// Logarithm base; `None` is the natural logarithm.
    pub base: Option<f64>,
}

impl Default for JensenShannon {
    fn default() -> Self {
        Self {
            threshold: 0.1,
            base: None,
        }
    }
}

impl DriftTest for JensenShannon {
    fn name(&self) -> &'static str {
        "jensenshannon"
    }

    fn compute(&self, reference: &[f64], current: &[f64]) -> Result<DriftResult> {
        check_numeric(self.name(), reference, current, 2)?;
        let (reference_counts, current_counts) = quantile_bin_counts(reference, current);
        self.compute_categorical(&reference_counts, &current_counts)
    }

    fn compute_categorical(&self, reference: &[u64], current: &[u64]) -> Result<DriftResult> {
        let (reference, current) = check_counts(self.name(), reference, current, 1)?;
        let distance = jensen_shannon(&proportions(&reference), &proportions(&current), self.base);
        Ok(distance_result(distance, self.threshold))
    }
}

/// `x ln(x/y)` with SciPy's `rel_entr` convention for zeros.
fn relative_entropy_term(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else {
        0.0
    }
}

/// JS distance of two proportion vectors of equal length.
pub(crate) fn jensen_shannon(p: &[f64], q: &[f64], base: Option<f64>) -> f64 {
    let (mut left, mut right) = (0.0, 0.0);
    for (p_i, q_i) in p.iter().zip(q) {
        let m_i = (p_i + q_i) / 2.0;
        left += relative_entropy_term(*p_i, m_i);
        right += relative_entropy_term(*q_i, m_i);
    }
    let mut divergence = left + right;
    if let Some(base) = base {
        divergence /= base.ln();
    }
    // Rounding can leave -1e-17 for identical inputs; the distance is 0 then.
    (divergence / 2.0).max(0.0).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disjoint_distributions_reach_the_bound() {
        let base_2 = JensenShannon {
            base: Some(2.0),
            ..JensenShannon::default()
        };
        let result = base_2.compute_categorical(&[1, 0], &[0, 1]).expect("valid");
        assert!((result.statistic - 1.0).abs() < 1e-15);
        let natural = JensenShannon::default()
            .compute_categorical(&[1, 0], &[0, 1])
            .expect("valid");
        assert!((natural.statistic - 2f64.ln().sqrt()).abs() < 1e-15);
    }

    #[test]
    fn identical_distributions_are_zero() {
        let result = JensenShannon::default()
            .compute_categorical(&[2, 4], &[1, 2])
            .expect("valid");
        assert_eq!(result.statistic, 0.0);
        assert!(!result.drifted);
        let reference: Vec<f64> = (0..100).map(f64::from).collect();
        let result = JensenShannon::default()
            .compute(&reference, &reference)
            .expect("valid");
        assert_eq!(result.statistic, 0.0);
    }
}
