//! Reference-quantile binning shared by the binned tests on numeric columns.
//!
//! The edges are `e1..e9 = np.quantile(reference, [0.1, ..., 0.9])` with
//! NumPy's default `linear` method: for quantile `q` over the sorted
//! reference `x` of length `n`, the virtual index is `v = (n - 1)·q`,
//! `lo = floor(v)`, `t = v - lo`, and the edge is NumPy's `_lerp`:
//! `x[lo] + (x[lo+1] - x[lo])·t` when `t < 0.5`, else
//! `x[lo+1] - (x[lo+1] - x[lo])·(1 - t)` (the two forms keep the result
//! inside `[x[lo], x[lo+1]]` and reproduce NumPy to the bit).
//!
//! A value goes to bin `searchsorted(edges, value, side='right')`, the number
//! of edges `<= value`, giving bins `(-inf, e1), [e1, e2), ..., [e9, +inf)`.
//! These are the bins of ../shared/reference/drift-peers.md §3. With a
//! constant reference all edges coincide, so every value equal to the constant
//! lands in the last bin; the binned tests still return finite values.

/// Number of bins the quantile edges make.
pub const QUANTILE_BIN_COUNT: usize = 10;

/// The nine inner decile edges of `reference` (NumPy `linear` quantiles).
///
/// Returns an empty vector for an empty reference; callers validate first.
pub fn quantile_edges(reference: &[f64]) -> Vec<f64> {
    let mut sorted = reference.to_vec();
    radsort::sort(&mut sorted);
    let n = sorted.len();
    if n == 0 {
        return Vec::new();
    }
    (1..QUANTILE_BIN_COUNT)
        .map(|decile| {
            // `decile / 10` is correctly rounded, so it equals the literals
            // 0.1, 0.2, ... that the SciPy side passes to `np.quantile`.
            let quantile = decile as f64 / QUANTILE_BIN_COUNT as f64;
            let virtual_index = (n - 1) as f64 * quantile;
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
        })
        .collect()
}

/// Counts of `values` in the bins made by `edges` (`side='right'`).
pub fn bin_counts(edges: &[f64], values: &[f64]) -> Vec<u64> {
    let mut counts = vec![0u64; edges.len() + 1];
    for value in values {
        let bin_idx = edges.partition_point(|edge| edge <= value);
        counts[bin_idx] += 1;
    }
    counts
}

/// Reference and current counts in the reference-decile bins.
pub fn quantile_bin_counts(reference: &[f64], current: &[f64]) -> (Vec<u64>, Vec<u64>) {
    let edges = quantile_edges(reference);
    (bin_counts(&edges, reference), bin_counts(&edges, current))
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
        assert_eq!(bin_counts(&edges, &[0.5, 1.0, 9.0, 42.0])[..2], [1, 1]);
        assert_eq!(bin_counts(&edges, &[0.5, 1.0, 9.0, 42.0])[9], 2);
    }

    #[test]
    fn constant_reference_puts_everything_in_the_last_bin() {
        let (reference, current) = quantile_bin_counts(&[3.0; 5], &[3.0, 2.0]);
        assert_eq!(reference[9], 5);
        assert_eq!((current[0], current[9]), (1, 1));
    }
}
