//! Unit tests of `mmd.rs`.

use super::*;
use smelt_gpu_kernels::squared_distance;

/// A deterministic spread of values in [0, 1).
fn uniform(count: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    (0..count)
        .map(|_| (splitmix64(&mut state) >> 11) as f64 / (1u64 << 53) as f64)
        .collect()
}

/// Brute-force U-statistic with an explicit bandwidth scale `med`.
fn brute(x: &[f64], y: &[f64], columns: usize, med: f64) -> f64 {
    let pooled = standardise(x, y, columns);
    let rows: Vec<&[f64]> = pooled.chunks_exact(columns).collect();
    let (m, n) = (x.len() / columns, y.len() / columns);
    let k = |i: usize, j: usize| (-squared_distance(rows[i], rows[j]) / med).exp();
    let (mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0);
    for i in 0..m + n {
        for j in 0..m + n {
            match (i < m, j < m) {
                (true, true) if i != j => xx += k(i, j),
                (false, false) if i != j => yy += k(i, j),
                (true, false) => xy += k(i, j),
                _ => {}
            }
        }
    }
    let (m, n) = (m as f64, n as f64);
    xx / (m * (m - 1.0)) + yy / (n * (n - 1.0)) - 2.0 * xy / (m * n)
}

#[test]
fn statistic_matches_the_definition() {
    let (x, y) = (uniform(60, 1), uniform(45, 2));
    let y: Vec<f64> = y.iter().map(|v| v + 0.3).collect();
    let report = Mmd::default().compute_rows(&x, &y, 3).expect("valid");
    let pooled = standardise(&x, &y, 3);
    let med = median_squared_distance(&pooled, 3).0;
    let expected = brute(&x, &y, 3, med);
    assert!((report.mmd2 - expected).abs() <= 1e-12 * expected.abs());
    assert!((report.sigma - (med / 2.0).sqrt()).abs() < 1e-15);
}

#[test]
fn same_distribution_passes_and_a_shift_drifts() {
    let test = Mmd::default();
    let (x, y) = (uniform(400, 3), uniform(400, 4));
    let same = test.compute_rows(&x, &y, 2).expect("valid");
    assert!(same.p_value > 0.1, "p = {}", same.p_value);
    let shifted: Vec<f64> = y.iter().map(|v| v + 0.5).collect();
    let moved = test.compute_rows(&x, &shifted, 2).expect("valid");
    assert_eq!(moved.p_value, 1.0 / 101.0);
    assert!(test.result(&moved).drifted && !test.result(&same).drifted);
}

#[test]
fn same_seed_same_p_value_other_seed_may_differ() {
    let (x, y) = (uniform(200, 5), uniform(150, 6));
    let first = Mmd::default().compute(&x, &y).expect("valid");
    let again = Mmd::default().compute(&x, &y).expect("valid");
    assert_eq!(first, again);
    let other = Mmd {
        seed: 9,
        ..Mmd::default()
    };
    let third = other.compute(&x, &y).expect("valid");
    assert_eq!(third.statistic, first.statistic);
}

#[test]
fn degenerate_inputs_are_errors_or_zero() {
    let test = Mmd::default();
    assert_eq!(
        test.compute(&[1.0], &[1.0, 2.0]),
        Err(Error::TooSmall {
            test: "mmd",
            side: "reference",
            needed: 2,
            got: 1
        })
    );
    assert!(matches!(
        test.compute_rows(&[1.0; 5], &[1.0; 4], 2),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        test.compute(&[1.0, f64::NAN], &[1.0, 2.0]),
        Err(Error::NonFinite { .. })
    ));
    // Every row identical: no discrepancy, no NaN.
    let same = test.compute(&[2.0; 4], &[2.0; 3]).expect("valid");
    assert_eq!(
        (same.statistic, same.p_value, same.drifted),
        (0.0, Some(1.0), false)
    );
    // Constant reference, moved current: centred only, still finite.
    let moved = test.compute(&[2.0; 30], &[3.0; 30]).expect("valid");
    assert!(moved.statistic.is_finite() && moved.drifted);
    assert!(test.compute_categorical(&[1], &[1]).is_err());
}
