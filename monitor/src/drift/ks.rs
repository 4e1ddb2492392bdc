//! Two-sample Kolmogorov–Smirnov test, two-sided, as SciPy's
//! `ks_2samp(reference, current, method='auto')`.
//!
//! # Statistic
//!
//! `D = max_x |F_ref(x) - F_cur(x)|` over every value `x` of either sample,
//! with `F(x) = #{values <= x} / n` (SciPy's `searchsorted(side='right')`,
//! so ties are handled). `0 <= D <= 1`.
//!
//! # p-value
//!
//! SciPy's `auto` rule: **exact** when both sizes are at most
//! [`MAX_EXACT_SAMPLE_SIZE`] (10,000), otherwise **asymptotic**.
//!
//! * Exact: with `g = gcd(n1, n2)` and `lcm = n1·n2/g`, `h = round(D·lcm)`
//!   (half to even) and `D` is snapped to `h/lcm`. `h = 0` gives `p = 1`.
//!   For `n1 = n2 = n`, `p = 2·A0·(1 - A1·(1 - A2·(1 - ...)))` with
//!   `Ak = Π_{j<h} (n - kh - j)/(n + kh + j + 1)` (the alternating binomial
//!   sum evaluated Horner-style, SciPy's `_compute_prob_outside_square`).
//!   Otherwise the lattice-path recursion of Hodges' "inside method" in the
//!   form that yields `p` directly (Viehmann 2021, SciPy's
//!   `_compute_outer_prob_inside_method`).
//! * Asymptotic: the finite-`n` one-sample Kolmogorov distribution
//!   `kstwo.sf(D, round(en))` with `en = n1·n2/(n1 + n2)` (rounded half to
//!   even), as SciPy; see `crate::kstwo` for its regimes.
//!
//! Drift when `p <= threshold` (Evidently's rule for KS), default 0.05.

use super::{DriftResult, DriftTest, Error, Result, check_numeric};
use crate::kstwo::kstwo_sf;

/// Largest sample size for which `auto` computes the exact p-value (SciPy's
/// `MAX_AUTO_N`).
pub const MAX_EXACT_SAMPLE_SIZE: usize = 10_000;

/// How the p-value is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KsMethod {
    /// Exact up to [`MAX_EXACT_SAMPLE_SIZE`] per side, asymptotic above.
    #[default]
    Auto,
    /// Exact whenever `lcm(n1, n2) < 2^31` (SciPy's limit), asymptotic
    /// beyond; slow (O(n1·n2/g)) for large samples.
    Exact,
    /// Always the asymptotic `kstwo` p-value.
    Asymptotic,
}

/// The two-sample Kolmogorov–Smirnov test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KolmogorovSmirnov {
    /// Drift when the p-value is at most this.
    pub threshold: f64,
    /// How the p-value is computed.
    pub method: KsMethod,
}

impl Default for KolmogorovSmirnov {
    fn default() -> Self {
        Self {
            threshold: 0.05,
            method: KsMethod::Auto,
        }
    }
}

impl DriftTest for KolmogorovSmirnov {
    fn name(&self) -> &'static str {
        "ks"
    }

    fn compute(&self, reference: &[f64], current: &[f64]) -> Result<DriftResult> {
        check_numeric(self.name(), reference, current, 1)?;
        let mut reference_sorted = reference.to_vec();
        let mut current_sorted = current.to_vec();
        radsort::sort(&mut reference_sorted);
        radsort::sort(&mut current_sorted);
        let statistic = ks_statistic(&reference_sorted, &current_sorted);
        let (n1, n2) = (reference.len(), current.len());
        let exact = match self.method {
            KsMethod::Auto => n1.max(n2) <= MAX_EXACT_SAMPLE_SIZE,
            // SciPy's guard: a lattice of more than i32::MAX steps is out of
            // reach of the exact recursion, so it goes asymptotic.
            KsMethod::Exact => {
                let g = gcd(n1 as u64, n2 as u64) as f64;
                (n1 as f64 / g) < f64::from(i32::MAX) / (n2 as f64 / g)
            }
            KsMethod::Asymptotic => false,
        };
        let (statistic, p_value) = if exact {
            exact_p_value(n1 as u64, n2 as u64, statistic)
        } else {
            let (m, n) = (n1 as f64, n2 as f64);
            let effective_n = (m * n / (m + n)).round_ties_even().max(1.0);
            (statistic, kstwo_sf(effective_n as u64, statistic))
        };
        let p_value = p_value.clamp(0.0, 1.0);
        Ok(DriftResult {
            statistic,
            p_value: Some(p_value),
            threshold: self.threshold,
            drifted: p_value <= self.threshold,
        })
    }

    fn compute_categorical(&self, _: &[u64], _: &[u64]) -> Result<DriftResult> {
        Err(Error::Unsupported {
            test: self.name(),
            kind: "categorical",
        })
    }
}

/// `D` of two sorted samples, evaluated after each distinct value.
fn ks_statistic(first: &[f64], second: &[f64]) -> f64 {
    let (n1, n2) = (first.len() as f64, second.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut statistic: f64 = 0.0;
    while i < first.len() || j < second.len() {
        let next = match (first.get(i), second.get(j)) {
            (Some(a), Some(b)) => a.min(*b),
            (Some(a), None) => *a,
            (None, Some(b)) => *b,
            (None, None) => break,
        };
        // Consume every copy of `next` on both sides before comparing, so
        // ties count as SciPy's `searchsorted(side='right')` counts them.
        while i < first.len() && first[i] <= next {
            i += 1;
        }
        while j < second.len() && second[j] <= next {
            j += 1;
        }
        let difference = (i as f64 / n1 - j as f64 / n2).abs();
        statistic = statistic.max(difference);
    }
    statistic
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Exact two-sided p-value; returns `D` snapped to the lattice and `p`.
fn exact_p_value(n1: u64, n2: u64, statistic: f64) -> (f64, f64) {
    let g = gcd(n1, n2);
    let lcm = (n1 / g) * n2;
    let h = (statistic * lcm as f64).round_ties_even() as u64;
    let statistic = h as f64 / lcm as f64;
    if h == 0 {
        return (statistic, 1.0);
    }
    let p_value = if n1 == n2 {
        prob_outside_square(n1, h)
    } else {
        outer_prob_inside_method(n1, n2, g, h)
    };
    (statistic, p_value)
}

/// `P(D_{n,n} >= h/n)`, SciPy's `_compute_prob_outside_square`.
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let (n, h) = (n as f64, h as f64);
    let mut p = 0.0;
    let mut k = (n / h).floor();
    while k >= 0.0 {
        let mut term = 1.0;
        let mut j = 0.0;
        while j < h {
            term = (n - k * h - j) * term / (n + k * h + j + 1.0);
            j += 1.0;
        }
        p = term * (1.0 - p);
        k -= 1.0;
    }
    2.0 * p
}

/// Proportion of lattice paths from (0, 0) to (m, n) that leave the band
/// `|x/m - y/n| < h/lcm`, SciPy's `_compute_outer_prob_inside_method`.
fn outer_prob_inside_method(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (m, n, h) = (m as i64, n as i64, h as i64);
    let (mg, ng) = (m / g as i64, n / g as i64);
    let ceil_div = |a: i64, b: i64| -> i64 { -((-a).div_euclid(b)) };
    let mut minj: i64 = 0;
    let mut maxj: i64 = ceil_div(h, mg).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1) as usize;
    // Column entries are probabilities of having left the band, so they start
    // at 0 inside the first window and 1 outside it.
    let mut column = vec![1.0f64; len_a];
    for value in column.iter_mut().take(maxj as usize) {
        *value = 0.0;
    }
    for i in 1..=m {
        let (lastminj, lastlen) = (minj, curlen);
        minj = ((ng * i - h).div_euclid(mg) + 1).max(0).min(n);
        maxj = ceil_div(ng * i + h, mg).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut value = if minj == 0 { 0.0 } else { 1.0 };
        let (i_f, width) = (i as f64, maxj - minj);
        for jj in 0..width {
            let j = (jj + minj) as f64;
            let carried = column[(jj + minj - lastminj) as usize];
            value = (carried * i_f + value * j) / (i_f + j);
            column[jj as usize] = value;
        }
        curlen = width;
        if lastlen > curlen {
            for entry in &mut column[width as usize..(width + lastlen - curlen) as usize] {
                *entry = 1.0;
            }
        }
    }
    column[(maxj - minj - 1) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistic_handles_ties_and_disjoint_samples() {
        assert_eq!(ks_statistic(&[1.0, 2.0], &[3.0, 4.0]), 1.0);
        // 1 - 2/3 in floating point, exactly what SciPy's `cdf1 - cdf2` gives.
        assert_eq!(
            ks_statistic(&[1.0, 2.0, 2.0], &[2.0, 2.0, 3.0]),
            1.0 - 2.0 / 3.0
        );
        assert_eq!(ks_statistic(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
    }

    #[test]
    fn exact_matches_hand_counts() {
        // n = 2 vs 2, disjoint: 2 of the 6 orderings reach D = 1.
        let result = KolmogorovSmirnov::default()
            .compute(&[1.0, 2.0], &[3.0, 4.0])
            .expect("valid input");
        assert!((result.p_value.expect("p") - 1.0 / 3.0).abs() < 1e-15);
        // n = 1 vs 2, disjoint: D = 1 for 2 of the 3 orderings.
        let result = KolmogorovSmirnov::default()
            .compute(&[0.0], &[3.0, 4.0])
            .expect("valid input");
        assert!((result.p_value.expect("p") - 2.0 / 3.0).abs() < 1e-15);
        // Identical samples: D = 0, p = 1, no drift.
        let result = KolmogorovSmirnov::default()
            .compute(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0])
            .expect("valid input");
        assert_eq!((result.statistic, result.p_value), (0.0, Some(1.0)));
        assert!(!result.drifted);
    }

    #[test]
    fn rejects_bad_input_and_categories() {
        let test = KolmogorovSmirnov::default();
        assert!(test.compute(&[], &[1.0]).is_err());
        assert!(test.compute(&[f64::NAN], &[1.0]).is_err());
        assert!(test.compute_categorical(&[1, 2], &[2, 1]).is_err());
    }
}
