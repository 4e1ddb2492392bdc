//! Hellinger distance between binned distributions.
//!
//! # Formula
//!
//! With proportions `p_i` (reference) and `q_i` (current) over shared bins,
//! `H = sqrt( Σ_i (sqrt(p_i) - sqrt(q_i))² ) / sqrt(2)`, Evidently's form.
//! `0 <= H <= 1`; `H = 1` for disjoint supports. Empty bins need no epsilon.
//!
//! # Bins
//!
//! Categorical: the aligned category counts. Numeric: the ten
//! reference-decile bins of [`super::quantile_edges`], the same bins as
//! [`super::Psi`] and [`super::JensenShannon`]. (Evidently bins numeric
//! columns for Hellinger with Sturges' rule on the unique values instead, so
//! its numeric values differ from Smelt's.)
//!
//! Drift when `H >= threshold`, default 0.1.

use super::{
    DriftResult, DriftTest, Result, check_counts, check_numeric, distance_result, proportions,
    quantile_bin_counts,
};

/// The Hellinger distance test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hellinger {
    /// Drift when the distance is at least this.
    pub threshold: f64,
}

impl Default for Hellinger {
    fn default() -> Self {
        Self { threshold: 0.1 }
    }
}

impl DriftTest for Hellinger {
    fn name(&self) -> &'static str {
        "hellinger"
    }

    fn compute(&self, reference: &[f64], current: &[f64]) -> Result<DriftResult> {
        check_numeric(self.name(), reference, current, 2)?;
        let (reference_counts, current_counts) = quantile_bin_counts(reference, current);
        self.compute_categorical(&reference_counts, &current_counts)
    }

    fn compute_categorical(&self, reference: &[u64], current: &[u64]) -> Result<DriftResult> {
        let (reference, current) = check_counts(self.name(), reference, current, 1)?;
        let distance = hellinger(&proportions(&reference), &proportions(&current));
        Ok(distance_result(distance, self.threshold))
    }
}

/// Hellinger distance of two proportion vectors of equal length.
pub(crate) fn hellinger(p: &[f64], q: &[f64]) -> f64 {
    let squares: f64 = p
        .iter()
        .zip(q)
        .map(|(p_i, q_i)| (p_i.sqrt() - q_i.sqrt()).powi(2))
        .sum();
    squares.sqrt() / std::f64::consts::SQRT_2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_a_hand_value() {
        let test = Hellinger::default();
        let disjoint = test.compute_categorical(&[1, 0], &[0, 1]).expect("valid");
        assert!((disjoint.statistic - 1.0).abs() < 1e-15);
        let same = test.compute_categorical(&[1, 3], &[2, 6]).expect("valid");
        assert_eq!(same.statistic, 0.0);
        // p = (1/2, 1/2), q = (1/4, 3/4): H² = 1 - (sqrt(1/8) + sqrt(3/8)).
        let result = test.compute_categorical(&[1, 1], &[1, 3]).expect("valid");
        let expected = (1.0 - (0.125f64.sqrt() + 0.375f64.sqrt())).sqrt();
        assert!((result.statistic - expected).abs() < 1e-15);
    }
}
