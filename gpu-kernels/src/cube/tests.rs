//! The kernels against the plain code, on whatever adapter this machine has
//! (Mesa's lavapipe in CI). Skipped without an adapter unless
//! SMELT_REQUIRE_GPU_PATH=1 (set by scripts/test.sh), where that fails.

use super::Gpu;
use crate::histogram::{BinnedColumn, histograms_plain};
use crate::pairwise::{LabelMatrix, pair_sums_plain};
use std::sync::Arc;

fn gpu() -> Option<Arc<Gpu>> {
    match Gpu::shared() {
        Ok(gpu) => {
            eprintln!("adapter: {}", gpu.adapter());
            Some(gpu)
        }
        Err(error) => {
            assert!(
                std::env::var("SMELT_REQUIRE_GPU_PATH").is_err(),
                "SMELT_REQUIRE_GPU_PATH is set but no adapter opened: {error}"
            );
            eprintln!("skipping: {error}");
            None
        }
    }
}

/// Seeded uniform numbers in [0, 1).
fn uniform(seed: u64, count: usize) -> Vec<f64> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

fn relative_gap(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-30)
}

#[test]
fn kernel_sums_equal_the_plain_code() {
    let Some(gpu) = gpu() else { return };
    let (n, columns, width) = (300, 4, 21);
    let rows: Vec<f64> = uniform(1, n * columns)
        .iter()
        .map(|u| 3.0 * u - 1.0)
        .collect();
    let labels = LabelMatrix::new(
        n,
        width,
        uniform(2, n * width)
            .iter()
            .map(|u| f64::from(u8::from(*u < 0.5)))
            .collect(),
    );
    let gamma = 0.7;
    let plain = pair_sums_plain(&rows, columns, gamma, &labels);
    let kernel = gpu.pair_sums(&rows, columns, gamma, &labels).unwrap();
    assert!(
        relative_gap(kernel.total, plain.total) < 1e-5,
        "{} {}",
        kernel.total,
        plain.total
    );
    for (k, p) in kernel.within.iter().zip(&plain.within) {
        assert!(relative_gap(*k, *p) < 1e-5, "within {k} vs {p}");
    }
    for (k, p) in kernel.row_sums.iter().zip(&plain.row_sums) {
        assert!(relative_gap(*k, *p) < 1e-5, "row sum {k} vs {p}");
    }
}

#[test]
fn kernel_sums_cover_every_block_when_the_matrix_is_split() {
    let Some(gpu) = gpu() else { return };
    // More rows than one block holds at this size would need 8M entries;
    // 3,000 rows make 9M, so the pass runs in two blocks.
    let (n, columns) = (3_000, 1);
    let rows = uniform(3, n);
    let labels = LabelMatrix::new(
        n,
        1,
        (0..n).map(|i| f64::from(u8::from(i < n / 2))).collect(),
    );
    let plain = pair_sums_plain(&rows, columns, 2.0, &labels);
    let kernel = gpu.pair_sums(&rows, columns, 2.0, &labels).unwrap();
    assert!(
        relative_gap(kernel.total, plain.total) < 1e-4,
        "{} {}",
        kernel.total,
        plain.total
    );
    assert!(relative_gap(kernel.within[0], plain.within[0]) < 1e-4);
    assert!(relative_gap(kernel.row_sums[n - 1], plain.row_sums[n - 1]) < 1e-4);
}

#[test]
fn histogram_counts_equal_the_plain_code_exactly() {
    let Some(gpu) = gpu() else { return };
    let mut first: Vec<f64> = uniform(4, 5_000).iter().map(|u| 10.0 * u - 5.0).collect();
    first[7] = f64::NAN;
    first[8] = -0.0;
    first[9] = 1.0; // exactly on an edge: goes right
    first[10] = f64::INFINITY;
    first[11] = f64::NEG_INFINITY;
    let edges_first: Vec<f64> = (-4..=4).map(f64::from).collect();
    // Neighbouring doubles straddle an edge: f32 would merge them.
    let edge = 0.1f64;
    let second = vec![
        f64::from_bits(edge.to_bits() - 1),
        edge,
        f64::from_bits(edge.to_bits() + 1),
        f64::NAN,
    ];
    let edges_second = [edge, edge, 0.5];
    let third = uniform(5, 333);
    let columns = [
        BinnedColumn {
            values: &first,
            edges: &edges_first,
        },
        BinnedColumn {
            values: &second,
            edges: &edges_second,
        },
        BinnedColumn {
            values: &third,
            edges: &[],
        },
        BinnedColumn {
            values: &[],
            edges: &[0.0, 1.0],
        },
    ];
    let plain = histograms_plain(&columns);
    assert_eq!(plain[1].by_rank, [1, 0, 2, 0]);
    assert_eq!(gpu.histograms(&columns).unwrap(), plain);
    // The same counts when the values go in launches of 7.
    assert_eq!(gpu.histograms_in_launches(&columns, 7).unwrap(), plain);
}
