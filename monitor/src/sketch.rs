//! The quantile sketch stored with each numeric column of a profile: the
//! exact quantiles at `levels + 1` evenly spaced levels (`0, 1/levels, …,
//! 1`), NumPy's `linear` definition.
//!
//! # Error bound
//!
//! [`QuantileSketch::cdf`] reconstructs the empirical distribution function
//! by linear interpolation between the stored quantiles. For any `x`, it is
//! within `1/levels + 1/count` of the exact empirical CDF of the profiled
//! values (`count` finite values): `x` lies between two stored quantiles
//! whose levels differ by `1/levels`, the exact CDF there lies between those
//! levels up to the `1/count` the interpolated quantile definition adds, and
//! so does the reconstruction. With the default 100 levels the rank error is
//! at most 1 % plus one row. [`QuantileSketch::quantile`] at a stored level
//! is exact; between levels it interpolates, so its value lies between the
//! neighbouring stored quantiles.

use serde::{Deserialize, Serialize};

/// Default number of intervals between stored quantiles.
pub const DEFAULT_SKETCH_LEVELS: usize = 100;

/// Quantiles at evenly spaced levels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantileSketch {
    /// Intervals: `values[i]` is the quantile at level `i / levels`.
    pub levels: usize,
    /// `levels + 1` non-decreasing quantiles, from the minimum to the maximum.
    pub values: Vec<f64>,
}

impl QuantileSketch {
    /// Sketches sorted finite values; `None` for an empty sample.
    pub fn from_sorted(sorted: &[f64], levels: usize) -> Option<QuantileSketch> {
        if sorted.is_empty() {
            return None;
        }
        let levels = levels.max(1);
        let values = (0..=levels)
            .map(|i| crate::binning::quantile_of_sorted(sorted, i as f64 / levels as f64))
            .collect();
        Some(QuantileSketch { levels, values })
    }

    /// The empirical CDF at `x`, within `1/levels + 1/count` (see the
    /// module docs).
    pub fn cdf(&self, x: f64) -> f64 {
        let values = &self.values;
        let (Some(&first), Some(&last)) = (values.first(), values.last()) else {
            return 0.0;
        };
        if x < first {
            return 0.0;
        }
        if x >= last {
            return 1.0;
        }
        // The last stored quantile not above x.
        let i = values.partition_point(|&v| v <= x).saturating_sub(1);
        let (lo, hi) = (values[i], values[(i + 1).min(values.len() - 1)]);
        let within = if hi > lo { (x - lo) / (hi - lo) } else { 1.0 };
        (i as f64 + within) / self.levels as f64
    }

    /// The quantile at `level` (clamped to `[0, 1]`).
    pub fn quantile(&self, level: f64) -> f64 {
        let position = level.clamp(0.0, 1.0) * self.levels as f64;
        let lo = position.floor() as usize;
        let hi = (lo + 1).min(self.values.len() - 1);
        let t = position - lo as f64;
        self.values[lo] + (self.values[hi] - self.values[lo]) * t
    }

    /// Checks the shape a reader relies on.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.levels == 0 || self.values.len() != self.levels + 1 {
            return Err(format!(
                "the quantile sketch has {} values for {} levels (needs levels + 1)",
                self.values.len(),
                self.levels
            ));
        }
        if self.values.iter().any(|v| !v.is_finite()) || self.values.windows(2).any(|w| w[0] > w[1])
        {
            return Err("the quantile sketch's values must be finite and non-decreasing".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact_cdf(sorted: &[f64], x: f64) -> f64 {
        sorted.partition_point(|&v| v <= x) as f64 / sorted.len() as f64
    }

    #[test]
    fn the_reconstructed_cdf_stays_within_the_documented_bound() {
        // A skewed sample with ties: squares of a scrambled sequence.
        let mut values: Vec<f64> = (0..5_000u64)
            .map(|i| ((i * 7919 % 5_003) as f64 / 50.0).powi(2).round())
            .collect();
        values.sort_by(f64::total_cmp);
        let sketch = QuantileSketch::from_sorted(&values, 100).unwrap();
        let bound = 1.0 / 100.0 + 1.0 / values.len() as f64;
        let mut worst: f64 = 0.0;
        for &x in values.iter().step_by(7) {
            worst = worst.max((sketch.cdf(x) - exact_cdf(&values, x)).abs());
        }
        assert!(worst <= bound, "worst rank error {worst} > {bound}");
        assert_eq!(sketch.cdf(values[0] - 1.0), 0.0);
        assert_eq!(sketch.cdf(values[values.len() - 1]), 1.0);
    }

    #[test]
    fn stored_levels_are_exact_quantiles() {
        let values: Vec<f64> = (0..101).map(f64::from).collect();
        let sketch = QuantileSketch::from_sorted(&values, 10).unwrap();
        assert_eq!(sketch.values.len(), 11);
        assert_eq!(sketch.quantile(0.3), 30.0);
        assert_eq!(sketch.quantile(0.35), 35.0);
        assert!(sketch.check().is_ok());
        assert!(QuantileSketch::from_sorted(&[], 10).is_none());
    }
}
