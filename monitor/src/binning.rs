//! Every histogram bin of the monitor: where the edges lie, and the counts.
//!
//! Three kinds of edges, all here:
//!
//! - [`equal_width_edges`]: `np.linspace(min, max, bins + 1)`, the profile's
//!   stored histogram and the report's charts;
//! - [`quantile_edges`]: the nine inner reference deciles the binned drift
//!   tests (PSI, Jensen–Shannon, Hellinger) share;
//! - [`quantile_of_sorted`]: NumPy's default `linear` quantile, which both
//!   the decile edges and the profile's quantiles use.
//!
//! Counting is `smelt-gpu-kernels`' [`HistogramCounts`], the one counter the
//! report's batched [`crate::Compute::histograms`] also runs: a value's rank
//! is the number of edges `<= value` (`searchsorted(side='right')`), NaN
//! counted apart. [`rank_counts`] keeps the ranks as bins,
//! `(-inf, e1), [e1, e2), ..., [eE, +inf)`; [`clamped_counts`] folds them into
//! `np.histogram`'s bins `[e_i, e_{i+1})`, the last closed, values outside
//! clamped to the end bins.
//!
//! The quantile interpolation: for quantile `q` over the sorted values `x`
//! of length `n`, the virtual index is `v = (n - 1)·q`, `lo = floor(v)`,
//! `t = v - lo`, and the value is NumPy's `_lerp`: `x[lo] + (x[lo+1] -
//! x[lo])·t` when `t < 0.5`, else `x[lo+1] - (x[lo+1] - x[lo])·(1 - t)` (the
//! two forms keep the result inside `[x[lo], x[lo+1]]` and reproduce NumPy to
//! the bit). The decile bins are those of ../shared/reference/drift-peers.md
//! §3. With a constant reference all decile edges coincide, so every value
//! equal to the constant lands in the last bin; the binned tests still
//! return finite values.

use smelt_gpu_kernels::{BinnedColumn, HistogramCounts};

/// Number of bins the decile edges make.
pub const QUANTILE_BIN_COUNT: usize = 10;

/// NumPy's `linear` quantile at `level` of sorted, non-empty values.
pub fn quantile_of_sorted(sorted: &[f64], level: f64) -> f64 {
    let n = sorted.len();
    let virtual_index = (n - 1) as f64 * level;
    let lo = virtual_index.floor();
    let t = virtual_index - lo;
    let lo = lo as usize;
    let hi = (lo + 1).min(n - 1);
    let (a, b) = (sorted[lo], sorted[hi]);
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// The nine inner decile edges of `reference` (NumPy `linear` quantiles).
///
/// Returns an empty vector for an empty reference; callers validate first.
pub fn quantile_edges(reference: &[f64]) -> Vec<f64> {
    let mut sorted = reference.to_vec();
    radsort::sort(&mut sorted);
    if sorted.is_empty() {
        return Vec::new();
    }
    (1..QUANTILE_BIN_COUNT)
        // `decile / 10` is correctly rounded, so it equals the literals
        // 0.1, 0.2, ... that the SciPy side passes to `np.quantile`.
        .map(|decile| quantile_of_sorted(&sorted, decile as f64 / QUANTILE_BIN_COUNT as f64))
        .collect()
}

/// `np.linspace(min, max, bins + 1)` (at least one bin), or `[min, max]` for
/// a single value. When `max - min` overflows, the edges are interpolated
/// without forming it, so they stay finite.
pub fn equal_width_edges(min: f64, max: f64, bins: usize) -> Vec<f64> {
    if min == max {
        return vec![min, max];
    }
    let bins = bins.max(1);
    let width = max - min;
    let mut edges: Vec<f64> = (0..=bins)
        .map(|i| {
            if width.is_finite() {
                i as f64 * (width / bins as f64) + min
            } else {
                let t = i as f64 / bins as f64;
                min * (1.0 - t) + max * t
            }
        })
        .collect();
    edges[bins] = max;
    edges
}

fn counts(edges: &[f64], values: &[f64]) -> HistogramCounts {
    HistogramCounts::of(&BinnedColumn { values, edges })
}

/// Counts of the non-NaN `values` by rank on `edges`: `edges.len() + 1`
/// bins `(-inf, e1), [e1, e2), ..., [eE, +inf)`.
pub fn rank_counts(edges: &[f64], values: &[f64]) -> Vec<u64> {
    counts(edges, values).by_rank
}

/// Counts of the non-NaN `values` in `np.histogram`'s bins of `edges` (at
/// least two): bin `i` is `[edges[i], edges[i+1])`, the last closed,
/// out-of-range values (infinities included) clamped to the end bins.
pub fn clamped_counts(edges: &[f64], values: &[f64]) -> Vec<u64> {
    counts(edges, values).clamped()
}

/// Reference and current counts in the reference-decile bins.
pub fn quantile_bin_counts(reference: &[f64], current: &[f64]) -> (Vec<u64>, Vec<u64>) {
    let edges = quantile_edges(reference);
    (rank_counts(&edges, reference), rank_counts(&edges, current))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deciles_of_zero_to_ten_are_integers() {
        let reference: Vec<f64> = (0..=10).map(f64::from).collect();
        let edges = quantile_edges(&reference);
        assert_eq!(edges, (1..=9).map(f64::from).collect::<Vec<_>>());
        // Values equal to an edge go right, as with `side='right'`.
        let counts = rank_counts(&edges, &[0.5, 1.0, 9.0, 42.0, f64::NAN]);
        assert_eq!(counts[..2], [1, 1]);
        assert_eq!(counts[9], 2);
        assert_eq!(counts.iter().sum::<u64>(), 4, "NaN is not binned");
    }

    #[test]
    fn constant_reference_puts_everything_in_the_last_bin() {
        let (reference, current) = quantile_bin_counts(&[3.0; 5], &[3.0, 2.0]);
        assert_eq!(reference[9], 5);
        assert_eq!((current[0], current[9]), (1, 1));
    }

    #[test]
    fn equal_width_bins_are_np_histograms() {
        // np.histogram(np.arange(11.0), bins=5) -> [2 2 2 2 3], edges 0,2,...,10.
        let edges = equal_width_edges(0.0, 10.0, 5);
        assert_eq!(edges, [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let values: Vec<f64> = (0..=10).map(f64::from).collect();
        assert_eq!(clamped_counts(&edges, &values), [2, 2, 2, 2, 3]);
        assert_eq!(
            clamped_counts(&edges, &[-5.0, 99.0, f64::NAN, f64::INFINITY]),
            [1, 0, 0, 0, 2]
        );
        assert_eq!(equal_width_edges(4.0, 4.0, 20), [4.0, 4.0]);
        assert_eq!(clamped_counts(&[4.0, 4.0], &[4.0, 1.0, 9.0]), [3]);
        let wide = equal_width_edges(-f64::MAX, f64::MAX, 4);
        assert!(wide.iter().all(|e| e.is_finite()));
        assert!(wide.windows(2).all(|w| w[0] <= w[1]));
    }
}
