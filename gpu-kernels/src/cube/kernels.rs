//! The CubeCL kernels. One unit per output element; sizes come in as
//! runtime scalars so one compiled kernel serves every input size.

use cubecl::prelude::*;

/// One block of rows of the RBF kernel matrix:
/// `kernel[l·n + j] = exp(−γ‖z_i − z_j‖²)` for `i = first_row + l`, and 0 on
/// the diagonal (`i = j`), for `l < block_rows`, `j < n`; `z` is `n × d`
/// row-major.
#[cube(launch)]
pub fn rbf_block(
    z: &[f32],
    kernel: &mut [f32],
    first_row: u32,
    block_rows: u32,
    n: u32,
    d: u32,
    gamma: f32,
) {
    let width = n as usize;
    let dims = d as usize;
    if ABSOLUTE_POS < block_rows as usize * width {
        let local = ABSOLUTE_POS / width;
        let j = ABSOLUTE_POS % width;
        let i = local + first_row as usize;
        let mut value = 0.0f32;
        if i != j {
            let mut sum = 0.0f32;
            for c in 0..dims {
                let diff = z[i * dims + c] - z[j * dims + c];
                sum += diff * diff;
            }
            value = (-gamma * sum).exp();
        }
        kernel[ABSOLUTE_POS] = value;
    }
}

/// Label-weighted row sums of one kernel block:
/// `out[(first_row + l)·w + b] = Σ_j kernel[l·n + j] · weights[j·w + b]`
/// (`weights` is `n × w` row-major), for `l < block_rows`, `b < w`.
#[cube(launch)]
pub fn weighted_row_sums(
    kernel: &[f32],
    weights: &[f32],
    out: &mut [f32],
    first_row: u32,
    block_rows: u32,
    n: u32,
    w: u32,
) {
    let width = w as usize;
    let count = n as usize;
    if ABSOLUTE_POS < block_rows as usize * width {
        let local = ABSOLUTE_POS / width;
        let b = ABSOLUTE_POS % width;
        let mut sum = 0.0f32;
        for j in 0..count {
            sum += kernel[local * count + j] * weights[j * width + b];
        }
        out[(local + first_row as usize) * width + b] = sum;
    }
}

/// Per-column rank counts of many columns at once. Value `v` (an
/// order-preserving 64-bit key split into `keys_hi`/`keys_lo`) belongs to
/// the column `c` with `column_starts[c] <= v < column_starts[c + 1]`; its
/// rank is the number of the column's edges (`edge_starts[c]..edge_starts[c
/// + 1]`) whose key is `<=` its own. Column `c` owns `E_c + 2` counters from
/// `edge_starts[c] + 2c`: ranks `0..=E_c`, then NaN (the all-ones key).
/// Unit `u < launch_len` takes value `offset + u`, so large inputs go in
/// several launches.
#[cube(launch)]
pub fn rank_counts(
    keys_hi: &[u32],
    keys_lo: &[u32],
    column_starts: &[u32],
    edges_hi: &[u32],
    edges_lo: &[u32],
    edge_starts: &[u32],
    counts: &mut [Atomic<u32>],
    columns: u32,
    offset: u32,
    launch_len: u32,
) {
    let index = ABSOLUTE_POS + offset as usize;
    if ABSOLUTE_POS < launch_len as usize && index < keys_hi.len() {
        let position = index as u32;
        // The column: the last start <= position (binary search).
        let mut low = 0u32;
        let mut high = columns;
        while high - low > 1 {
            let middle = (low + high) / 2;
            if column_starts[middle as usize] <= position {
                low = middle;
            } else {
                high = middle;
            }
        }
        let column = low;
        let first_edge = edge_starts[column as usize];
        let edge_count = edge_starts[column as usize + 1] - first_edge;
        let base = first_edge + 2 * column;
        let hi = keys_hi[index];
        let lo = keys_lo[index];
        if hi == u32::MAX && lo == u32::MAX {
            counts[(base + edge_count + 1) as usize].fetch_add(1u32);
        } else {
            // The rank: edges <= key (binary search over the sorted edges).
            let mut below = 0u32;
            let mut above = edge_count;
            while below < above {
                let middle = (below + above) / 2;
                let edge = (first_edge + middle) as usize;
                let edge_hi = edges_hi[edge];
                let at_most = edge_hi < hi || (edge_hi == hi && edges_lo[edge] <= lo);
                if at_most {
                    below = middle + 1;
                } else {
                    above = middle;
                }
            }
            counts[(base + below) as usize].fetch_add(1u32);
        }
    }
}
