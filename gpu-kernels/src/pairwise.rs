//! Pairwise Gaussian (RBF) kernel sums over a pooled sample, weighted by
//! many labellings at once: the quadratic part of the MMD permutation test.
//!
//! For rows `z_1 … z_N` (row-major, `d` columns), `k_ij = exp(−γ‖z_i − z_j‖²)`
//! and a label matrix `L` (`N × W`, one column per labelling, usually 0/1
//! membership of the first sample), [`PairSums`] holds
//!
//! - `within[b] = Σ_{i<j} k_ij · L_ib · L_jb` (pairs inside labelling `b`),
//! - `row_sums[i] = Σ_{j≠i} k_ij`,
//! - `total = Σ_{i<j} k_ij`,
//!
//! from which every MMD² estimate of every labelling follows in `O(N·W)`.
//!
//! The plain path evaluates each kernel entry once (pairs `i < j`, rows in
//! blocks so that label rows stay in cache) on all cores, in `f64`, and
//! never holds the `N²` kernel matrix. The GPU path (`cube/pairwise.rs`)
//! computes a block of kernel rows, then the label-weighted row sums
//! `S_ib = Σ_{j≠i} k_ij · L_jb` as a matrix product, in `f32`; then
//! `within[b] = ½ Σ_i L_ib · S_ib`.

use crate::parallel::{for_each_row, squared_distance, thread_count};

/// Rows per block of the plain kernel pass.
const ROW_BLOCK: usize = 32;

/// Partner rows per block of the plain kernel pass (their labels stay in cache).
const COLUMN_BLOCK: usize = 128;

/// `N × W` label weights, row-major: row `i` holds row `i`'s weight in each
/// of the `W` labellings.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelMatrix {
    rows: usize,
    width: usize,
    values: Vec<f64>,
}

impl LabelMatrix {
    /// `values.len()` must be `rows × width`.
    pub fn new(rows: usize, width: usize, values: Vec<f64>) -> Self {
        assert_eq!(values.len(), rows * width, "label matrix shape");
        Self {
            rows,
            width,
            values,
        }
    }

    /// Number of rows `N`.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of labellings `W`.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Row `i`'s weights, one per labelling.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.width..(i + 1) * self.width]
    }

    /// All weights, row-major.
    pub fn values(&self) -> &[f64] {
        &self.values
    }
}

/// The kernel sums of a pooled sample under every labelling.
#[derive(Debug, Clone, PartialEq)]
pub struct PairSums {
    /// `Σ_{i<j} k_ij · L_ib · L_jb`, one per labelling.
    pub within: Vec<f64>,
    /// `Σ_{j≠i} k_ij`, one per row.
    pub row_sums: Vec<f64>,
    /// `Σ_{i<j} k_ij`.
    pub total: f64,
}

/// Per-thread sums of the plain pass.
struct Partial {
    within: Vec<f64>,
    row_sums: Vec<f64>,
    total: f64,
}

/// The plain path: one blocked pass over the pairs `i < j`.
pub(crate) fn pair_sums_plain(
    rows: &[f64],
    columns: usize,
    gamma: f64,
    labels: &LabelMatrix,
) -> PairSums {
    let count = labels.rows();
    let width = labels.width();
    let blocks = count.div_ceil(ROW_BLOCK);
    let partials = for_each_row(
        blocks,
        thread_count(count),
        || Partial {
            within: vec![0.0; width],
            row_sums: vec![0.0; count],
            total: 0.0,
        },
        |sums, block| {
            let first = block * ROW_BLOCK;
            let last = ((block + 1) * ROW_BLOCK).min(count);
            // accumulated[(i - first) * width + b] = Σ_{j>i} k_ij · L_jb,
            // filled column block by column block so the label rows stay in cache.
            let mut accumulated = vec![0.0; (last - first) * width];
            let mut start = first + 1;
            while start < count {
                let end = (start + COLUMN_BLOCK).min(count);
                for i in first..last {
                    let row = &rows[i * columns..(i + 1) * columns];
                    let slot = &mut accumulated[(i - first) * width..(i - first + 1) * width];
                    let mut row_sum = 0.0;
                    for j in start.max(i + 1)..end {
                        let other = &rows[j * columns..(j + 1) * columns];
                        let k = (-squared_distance(row, other) * gamma).exp();
                        row_sum += k;
                        sums.row_sums[j] += k;
                        for (a, z) in slot.iter_mut().zip(labels.row(j)) {
                            *a += k * z;
                        }
                    }
                    sums.row_sums[i] += row_sum;
                    sums.total += row_sum;
                }
                start = end;
            }
            for i in first..last {
                let slot = &accumulated[(i - first) * width..(i - first + 1) * width];
                for ((w, a), z) in sums.within.iter_mut().zip(slot).zip(labels.row(i)) {
                    *w += a * z;
                }
            }
        },
    );
    let mut sums = PairSums {
        within: vec![0.0; width],
        row_sums: vec![0.0; count],
        total: 0.0,
    };
    for partial in partials {
        add_into(&mut sums.within, &partial.within);
        add_into(&mut sums.row_sums, &partial.row_sums);
        sums.total += partial.total;
    }
    sums
}

/// The GPU path's output turned into [`PairSums`]: `weighted` is `N × (1 + W)`
/// row-major, column 0 the plain row sums `Σ_{j≠i} k_ij` and column `1 + b`
/// the label-weighted ones `S_ib`.
#[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
pub(crate) fn pair_sums_from_weighted(weighted: &[f32], labels: &LabelMatrix) -> PairSums {
    let width = labels.width();
    let stride = width + 1;
    let mut sums = PairSums {
        within: vec![0.0; width],
        row_sums: Vec::with_capacity(labels.rows()),
        total: 0.0,
    };
    for (i, row) in weighted.chunks_exact(stride).enumerate() {
        let row_sum = f64::from(row[0]);
        sums.row_sums.push(row_sum);
        sums.total += row_sum;
        for ((w, s), l) in sums.within.iter_mut().zip(&row[1..]).zip(labels.row(i)) {
            *w += f64::from(*s) * l;
        }
    }
    // Each pair was counted from both of its rows.
    sums.total *= 0.5;
    sums.within.iter_mut().for_each(|w| *w *= 0.5);
    sums
}

fn add_into(into: &mut [f64], from: &[f64]) {
    into.iter_mut().zip(from).for_each(|(a, b)| *a += b);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over the full kernel matrix.
    fn brute(rows: &[f64], columns: usize, gamma: f64, labels: &LabelMatrix) -> PairSums {
        let n = labels.rows();
        let k = |i: usize, j: usize| {
            let (a, b) = (
                &rows[i * columns..(i + 1) * columns],
                &rows[j * columns..(j + 1) * columns],
            );
            (-squared_distance(a, b) * gamma).exp()
        };
        let mut sums = PairSums {
            within: vec![0.0; labels.width()],
            row_sums: vec![0.0; n],
            total: 0.0,
        };
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                sums.row_sums[i] += k(i, j);
                if i < j {
                    sums.total += k(i, j);
                    for b in 0..labels.width() {
                        sums.within[b] += k(i, j) * labels.row(i)[b] * labels.row(j)[b];
                    }
                }
            }
        }
        sums
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-12 * x.abs().max(1.0))
    }

    #[test]
    fn plain_pass_equals_brute_force() {
        let n = 70;
        let columns = 3;
        let rows: Vec<f64> = (0..n * columns)
            .map(|i| ((i * 7919) % 101) as f64 / 17.0)
            .collect();
        let labels = LabelMatrix::new(
            n,
            4,
            (0..n * 4)
                .map(|i| ((i * 31) % 3 == 0) as u8 as f64)
                .collect(),
        );
        let expected = brute(&rows, columns, 0.3, &labels);
        let got = pair_sums_plain(&rows, columns, 0.3, &labels);
        assert!(close(&got.within, &expected.within), "{got:?} {expected:?}");
        assert!(close(&got.row_sums, &expected.row_sums));
        assert!(close(&[got.total], &[expected.total]));
    }

    #[test]
    fn weighted_rows_fold_into_the_same_sums() {
        // Three rows on a line, unit spacing, gamma 1: k01 = k12 = e^-1, k02 = e^-4.
        let (a, b) = ((-1.0f64).exp(), (-4.0f64).exp());
        let labels = LabelMatrix::new(3, 1, vec![1.0, 1.0, 0.0]);
        // Row sums, then the label-weighted sums S_i = Σ_j k_ij L_j.
        let weighted = [
            (a + b) as f32,
            a as f32,
            (2.0 * a) as f32,
            a as f32,
            (a + b) as f32,
            (a + b) as f32,
        ];
        let sums = pair_sums_from_weighted(&weighted, &labels);
        let plain = pair_sums_plain(&[0.0, 1.0, 2.0], 1, 1.0, &labels);
        assert!((sums.total - plain.total).abs() < 1e-6);
        assert!((sums.within[0] - plain.within[0]).abs() < 1e-6);
        assert!((sums.within[0] - a).abs() < 1e-6);
    }
}
