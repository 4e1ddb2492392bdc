//! Maximum mean discrepancy (MMD) with a Gaussian RBF kernel and a
//! permutation p-value, on multivariate rows.
//!
//! # Standardisation
//!
//! Every column of both samples is first standardised with the
//! **reference** mean and population standard deviation (`ddof = 0`):
//! `z = (x − mean_ref) / std_ref`; a column constant in the reference
//! (`std_ref = 0`) is only centred (divided by 1). Without this, one wide
//! column sets the bandwidth and shifts in narrow columns go unseen.
//!
//! # Bandwidth (median heuristic)
//!
//! On the pooled standardised sample `z_1 … z_N` (`N = m + n`, reference rows
//! first) let `med` be the exact median of `‖z_i − z_j‖²` over all unordered
//! pairs `i < j` (NumPy `np.median`, so the mean of the two middle values
//! when the pair count is even). Then `σ² = med / 2` (Alibi Detect's
//! `sigma_median`) and the kernel is
//!
//! `k(a, b) = exp(−‖a − b‖² / (2σ²)) = exp(−‖a − b‖² / med)`.
//!
//! If more than half of the pairs coincide (`med = 0`), the mean of the
//! pairwise squared distances stands in for `med`; if every row is the same
//! (mean 0) the samples are identical: MMD² = 0 and p = 1.
//!
//! # Estimator: the unbiased U-statistic
//!
//! With reference rows `x_1 … x_m` and current rows `y_1 … y_n` (`m, n ≥ 2`):
//!
//! `MMD²_u = Σ_{i≠j} k(x_i,x_j) / (m(m−1)) + Σ_{i≠j} k(y_i,y_j) / (n(n−1))
//!          − 2 Σ_{i,j} k(x_i,y_j) / (mn)`
//!
//! (the diagonal is left out, so the estimate can be slightly negative when
//! the distributions agree).
//!
//! # Permutation p-value
//!
//! The pooled rows are relabelled by `P` seeded Fisher–Yates shuffles
//! (splitmix64 seeded with [`Mmd::seed`], so the same seed gives the same
//! p-value on every machine and thread count) and
//!
//! `p = (1 + #{b : MMD²_b ≥ MMD²_observed}) / (1 + P)`,
//!
//! counting the observed labelling as one of the permutations (unlike
//! Alibi Detect's `k / P`). Drift when `p < threshold` (default 0.05, as
//! Alibi Detect's `p_val`); with the default `P = 100` the smallest p-value
//! is `1/101`.
//!
//! # Cost
//!
//! The bandwidth takes two or three passes over the pairs without storing
//! them (see `pairwise.rs`). Then one pass of kernel sums
//! (`smelt_gpu_kernels::Compute::pair_sums`: the plain code evaluates each
//! kernel entry once on all cores; with a GPU, CubeCL kernels do it in
//! `f32`) accumulates, for the observed labelling and all `P`
//! permutations at once, `A_b = Σ_{i<j, both labelled reference} k_ij`, the
//! kernel row sums `r_i` and the total `T = Σ_{i<j} k_ij`. For a labelling
//! with reference set `X`, `R = Σ_{i∈X} r_i`, the cross sum is
//! `C = R − 2A`, the current-current sum `B = T − A − C`, and
//! `MMD²_u = 2A/(m(m−1)) + 2B/(n(n−1)) − 2C/(mn)`. The plain code's memory is
//! `O(N·P)`, never the `N²` kernel matrix; the GPU holds at most 32 MiB of it
//! at a time.

use smelt_gpu_kernels::{Compute, LabelMatrix};

use super::pairwise::median_squared_distance;
use super::{DriftResult, DriftTest, Error, Result};

/// Default number of permutations.
pub const DEFAULT_PERMUTATIONS: usize = 100;

/// The MMD permutation test.
#[derive(Debug, Clone, PartialEq)]
pub struct Mmd {
    /// Drift when the p-value is below this.
    pub threshold: f64,
    /// Number of permutations `P`.
    pub permutations: usize,
    /// Seed of the permutation generator.
    pub seed: u64,
    /// Where the kernel sums run (the plain code by default).
    pub compute: Compute,
}

impl Default for Mmd {
    fn default() -> Self {
        Self {
            threshold: 0.05,
            permutations: DEFAULT_PERMUTATIONS,
            seed: 0,
            compute: Compute::plain(),
        }
    }
}

/// Everything [`Mmd::compute_rows`] measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmdReport {
    /// The unbiased `MMD²_u` of the observed labelling.
    pub mmd2: f64,
    /// The permutation p-value.
    pub p_value: f64,
    /// The kernel bandwidth `σ` in standardised units.
    pub sigma: f64,
}

impl Mmd {
    /// Runs the test on row-major samples of `columns` columns each
    /// (`reference.len() = m · columns`, `current.len() = n · columns`),
    /// both with at least 2 rows and finite values.
    pub fn compute_rows(
        &self,
        reference: &[f64],
        current: &[f64],
        columns: usize,
    ) -> Result<MmdReport> {
        let (m, n) = check_rows(reference, current, columns)?;
        let pooled = standardise(reference, current, columns);
        let (median, mean) = median_squared_distance(&pooled, columns);
        let scale = if median > 0.0 { median } else { mean };
        if scale <= 0.0 {
            return Ok(MmdReport {
                mmd2: 0.0,
                p_value: 1.0,
                sigma: 0.0,
            });
        }
        let labels = Labels::new(m, n, self.permutations, self.seed);
        let statistics = kernel_statistics(&self.compute, &pooled, columns, 1.0 / scale, &labels);
        let observed = statistics[0];
        let exceeding = statistics[1..].iter().filter(|s| **s >= observed).count();
        Ok(MmdReport {
            mmd2: observed,
            p_value: (1 + exceeding) as f64 / (1 + self.permutations) as f64,
            sigma: (0.5 * scale).sqrt(),
        })
    }

    /// The verdict for a report: drift when `p < threshold`.
    pub fn result(&self, report: &MmdReport) -> DriftResult {
        DriftResult {
            statistic: report.mmd2,
            p_value: Some(report.p_value),
            threshold: self.threshold,
            drifted: report.p_value < self.threshold,
        }
    }
}

impl DriftTest for Mmd {
    fn name(&self) -> &'static str {
        "mmd"
    }

    fn compute(&self, reference: &[f64], current: &[f64]) -> Result<DriftResult> {
        let report = self.compute_rows(reference, current, 1)?;
        Ok(self.result(&report))
    }

    fn compute_categorical(&self, _: &[u64], _: &[u64]) -> Result<DriftResult> {
        Err(Error::Unsupported {
            test: "mmd",
            kind: "categorical",
        })
    }
}

/// Checks shapes and values; returns the row counts `(m, n)`.
fn check_rows(reference: &[f64], current: &[f64], columns: usize) -> Result<(usize, usize)> {
    let mut rows = [0usize; 2];
    for (slot, (side, values)) in [("reference", reference), ("current", current)]
        .into_iter()
        .enumerate()
    {
        if values.is_empty() {
            return Err(Error::Empty { side });
        }
        if columns == 0 || values.len() % columns != 0 {
            return Err(Error::Shape {
                side,
                len: values.len(),
                columns,
            });
        }
        if let Some(index) = values.iter().position(|value| !value.is_finite()) {
            return Err(Error::NonFinite { side, index });
        }
        rows[slot] = values.len() / columns;
        if rows[slot] < 2 {
            return Err(Error::TooSmall {
                test: "mmd",
                side,
                needed: 2,
                got: rows[slot],
            });
        }
    }
    Ok((rows[0], rows[1]))
}

/// The pooled sample, reference rows first, standardised column by column
/// with the reference mean and population std (1 where the std is 0).
fn standardise(reference: &[f64], current: &[f64], columns: usize) -> Vec<f64> {
    let m = (reference.len() / columns) as f64;
    let mut mean = vec![0.0; columns];
    for row in reference.chunks_exact(columns) {
        mean.iter_mut().zip(row).for_each(|(s, x)| *s += x);
    }
    mean.iter_mut().for_each(|s| *s /= m);
    let mut spread = vec![0.0; columns];
    for row in reference.chunks_exact(columns) {
        for ((s, x), mu) in spread.iter_mut().zip(row).zip(&mean) {
            *s += (x - mu) * (x - mu);
        }
    }
    let scale: Vec<f64> = spread
        .iter()
        .map(|s| (s / m).sqrt())
        .map(|std| if std > 0.0 { std } else { 1.0 })
        .collect();
    reference
        .chunks_exact(columns)
        .chain(current.chunks_exact(columns))
        .flat_map(|row| {
            row.iter()
                .zip(&mean)
                .zip(&scale)
                .map(|((x, mu), sd)| (x - mu) / sd)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Reference-membership indicators of the observed labelling (column 0) and
/// `P` permutations, `N × (1 + P)`.
struct Labels {
    m: usize,
    n: usize,
    matrix: LabelMatrix,
}

impl Labels {
    fn new(m: usize, n: usize, permutations: usize, seed: u64) -> Self {
        let total = m + n;
        let width = 1 + permutations;
        let mut values = vec![0.0; total * width];
        let mut state = seed;
        let mut order: Vec<usize> = (0..total).collect();
        for column in 0..width {
            if column > 0 {
                // Fisher–Yates on the pooled indices; the first m are "reference".
                for i in (1..total).rev() {
                    let j = (splitmix64(&mut state) % (i as u64 + 1)) as usize;
                    order.swap(i, j);
                }
            }
            for &row in &order[..m] {
                values[row * width + column] = 1.0;
            }
        }
        Self {
            m,
            n,
            matrix: LabelMatrix::new(total, width, values),
        }
    }
}

/// splitmix64: a small, well-mixed, seedable generator.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `MMD²_u` for every labelling (index 0 = observed), from one pass of
/// kernel sums (on the GPU when `compute` has one).
fn kernel_statistics(
    compute: &Compute,
    pooled: &[f64],
    columns: usize,
    gamma: f64,
    labels: &Labels,
) -> Vec<f64> {
    let sums = compute.pair_sums(pooled, columns, gamma, &labels.matrix);
    let rows = labels.m + labels.n;
    let (m, n) = (labels.m as f64, labels.n as f64);
    (0..labels.matrix.width())
        .map(|b| {
            let reference_rows: f64 = (0..rows)
                .map(|i| labels.matrix.row(i)[b] * sums.row_sums[i])
                .sum();
            let a = sums.within[b];
            let cross = reference_rows - 2.0 * a;
            let current_pairs = sums.total - a - cross;
            2.0 * a / (m * (m - 1.0)) + 2.0 * current_pairs / (n * (n - 1.0))
                - 2.0 * cross / (m * n)
        })
        .collect()
}

#[cfg(test)]
#[path = "mmd_tests.rs"]
mod tests;
