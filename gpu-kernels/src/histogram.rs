//! Counting the values of many columns into their bins in one pass.
//!
//! A column comes with increasing `edges`; each value's *rank* is the number
//! of edges `<= value` (NumPy's `searchsorted(edges, value, side='right')`),
//! so rank 0 is below the first edge and rank `E` at or above the last.
//! [`HistogramCounts::by_rank`] counts values per rank and `missing` counts
//! NaN; [`HistogramCounts::clamped`] folds the ranks into `np.histogram`'s
//! bins `[e_i, e_{i+1})` (the last closed, values outside clamped to the
//! first or last bin).
//!
//! This is the one histogram counter of Smelt: the monitor's profiles, its
//! binned drift tests and its reports all count through it (their edges come
//! from `smelt-monitor`'s `binning` module).
//!
//! The GPU path ranks values by comparing order-preserving 64-bit keys of
//! the `f64` bit patterns ([`order_key`]), so both paths give identical
//! counts.

use crate::parallel::{for_each_row, thread_count};

/// One column to bin.
#[derive(Debug, Clone, Copy)]
pub struct BinnedColumn<'a> {
    /// The values; NaN is missing.
    pub values: &'a [f64],
    /// Increasing, finite edges.
    pub edges: &'a [f64],
}

/// The counts of one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramCounts {
    /// `by_rank[r]`: values with exactly `r` edges `<= value`
    /// (`edges.len() + 1` entries).
    pub by_rank: Vec<u64>,
    /// NaN values.
    pub missing: u64,
}

impl HistogramCounts {
    /// The counts of one column on this thread: a binary search per value.
    /// The plain path of [`crate::Compute::histograms`] runs it per column;
    /// the monitor calls it directly for the single columns of a profile or
    /// a binned drift test, where a thread pool or a GPU launch costs more
    /// than the count.
    pub fn of(column: &BinnedColumn<'_>) -> HistogramCounts {
        let mut counts = HistogramCounts {
            by_rank: vec![0; column.edges.len() + 1],
            missing: 0,
        };
        for value in column.values {
            if value.is_nan() {
                counts.missing += 1;
            } else {
                counts.by_rank[column.edges.partition_point(|edge| edge <= value)] += 1;
            }
        }
        counts
    }

    /// Counts in the bins `[e_i, e_{i+1})` of `E >= 2` edges (`E − 1` bins, the
    /// last closed), values below the first edge in the first bin and above
    /// the last in the last, as `np.histogram` on the value range; with one
    /// edge or none, everything in one bin.
    pub fn clamped(&self) -> Vec<u64> {
        let ranks = self.by_rank.len();
        if ranks <= 2 {
            return vec![self.by_rank.iter().sum()];
        }
        let bins = ranks - 2;
        let mut counts = self.by_rank[1..=bins].to_vec();
        counts[0] += self.by_rank[0];
        counts[bins - 1] += self.by_rank[ranks - 1];
        counts
    }
}

/// A key whose unsigned order is the numeric order of finite and infinite
/// `f64` (with `-0.0 = 0.0`); NaN maps to `u64::MAX`, above every number.
#[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
pub(crate) fn order_key(value: f64) -> u64 {
    if value.is_nan() {
        return u64::MAX;
    }
    // `+ 0.0` turns -0.0 into 0.0, which compares equal to it as f64 does.
    let bits = (value + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// The plain path: columns spread over the cores, a binary search per value.
pub(crate) fn histograms_plain(columns: &[BinnedColumn<'_>]) -> Vec<HistogramCounts> {
    let rows: usize = columns.iter().map(|c| c.values.len()).sum();
    let threads = thread_count(rows).min(columns.len().max(1));
    let mut done: Vec<(usize, HistogramCounts)> =
        for_each_row(columns.len(), threads, Vec::new, |out, index| {
            out.push((index, HistogramCounts::of(&columns[index])));
        })
        .into_iter()
        .flatten()
        .collect();
    done.sort_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, counts)| counts).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_like_numbers() {
        let values = [
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -f64::MIN_POSITIVE,
            0.0,
            f64::MIN_POSITIVE,
            1.0,
            1.0 + f64::EPSILON,
            f64::INFINITY,
        ];
        for pair in values.windows(2) {
            assert!(order_key(pair[0]) < order_key(pair[1]), "{pair:?}");
        }
        assert_eq!(order_key(-0.0), order_key(0.0));
        assert!(order_key(f64::INFINITY) < order_key(f64::NAN));
    }

    #[test]
    fn ranks_follow_searchsorted_right_and_clamp_like_np_histogram() {
        // np.histogram(np.arange(11.0), bins=5) -> [2 2 2 2 3], edges 0,2,...,10.
        let values: Vec<f64> = (0..=10)
            .map(f64::from)
            .chain([f64::NAN, -3.0, 99.0])
            .collect();
        let edges = [0.0, 2.0, 4.0, 6.0, 8.0, 10.0];
        let counts = histograms_plain(&[BinnedColumn {
            values: &values,
            edges: &edges,
        }]);
        assert_eq!(counts[0].by_rank, [1, 2, 2, 2, 2, 2, 2]);
        assert_eq!(counts[0].missing, 1);
        assert_eq!(counts[0].clamped(), [3, 2, 2, 2, 4]);
    }

    #[test]
    fn a_constant_column_has_one_bin() {
        let counts = histograms_plain(&[BinnedColumn {
            values: &[3.0, 3.0, 2.0],
            edges: &[3.0, 3.0],
        }]);
        assert_eq!(counts[0].by_rank, [1, 0, 2]);
        assert_eq!(counts[0].clamped(), [3]);
    }
}
