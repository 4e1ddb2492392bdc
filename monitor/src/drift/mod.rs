//! Drift tests: one [`DriftTest`] trait and its implementations.
//!
//! A drift test compares a *reference* sample of one column (the training
//! data, or a profile of it) with a *current* sample (a window of live
//! traffic) and returns a [`DriftResult`]. Numeric columns go through
//! [`DriftTest::compute`] with raw values; categorical columns go through
//! [`DriftTest::compute_categorical`] with per-category counts, aligned so
//! that index `i` of both slices is the same category.
//!
//! # Verdict rules
//!
//! Each test documents its own rule; they follow Evidently's registry so that
//! a Smelt report and an Evidently report on the same data agree:
//!
//! | test | value compared | drift when | default threshold |
//! |---|---|---|---|
//! | [`KolmogorovSmirnov`] | p-value | `p <= threshold` | 0.05 |
//! | [`ChiSquare`] | p-value | `p < threshold` | 0.05 |
//! | [`Wasserstein`] (normed) | distance | `distance >= threshold` | 0.1 |
//! | [`JensenShannon`] | distance | `distance >= threshold` | 0.1 |
//! | [`Psi`] | index | `psi >= threshold` | 0.1 |
//! | [`Hellinger`] | distance | `distance >= threshold` | 0.1 |
//! | [`Mmd`] | permutation p-value | `p < threshold` | 0.05 |
//! | [`ZTest`] | p-value | `p < threshold` | 0.05 |
//!
//! # Bad input
//!
//! Empty samples, NaN or infinite values, and samples smaller than a test
//! needs are reported as an [`Error`]; no test panics on input or returns a
//! NaN verdict. Per column, [`test_numeric_column`] and
//! [`test_categorical_column`] drop missing values, pick the test
//! ([`TestPlan`], Evidently's default rule in `select.rs`) and turn a
//! missing column, an all-missing or constant column, a too-small window or
//! a refused input into a [`ColumnOutcome::Skipped`] with its
//! [`SkipReason`]; [`dataset_drift`] aggregates the outcomes.

mod chisquare;
mod hellinger;
mod jensen_shannon;
mod ks;
mod mmd;
mod outcome;
mod pairwise;
mod psi;
mod select;
mod wasserstein;
mod ztest;

pub use crate::binning::{QUANTILE_BIN_COUNT, quantile_bin_counts, quantile_edges};
pub use chisquare::ChiSquare;
pub use hellinger::Hellinger;
pub use jensen_shannon::JensenShannon;
pub use ks::{KolmogorovSmirnov, KsMethod, MAX_EXACT_SAMPLE_SIZE};
pub use mmd::{DEFAULT_PERMUTATIONS, Mmd, MmdReport};
pub use outcome::{
    ColumnOutcome, SkipReason, test_categorical_column, test_category_counts, test_numeric_column,
};
pub use psi::{PSI_EPSILON, Psi};
pub use select::{
    ColumnKind, DEFAULT_DRIFT_SHARE, DatasetDrift, FEW_UNIQUE_VALUES, SMALL_REFERENCE_ROWS,
    TEST_NAMES, TestKind, TestPlan, dataset_drift, default_test, unique_count, unique_count_up_to,
};
pub use wasserstein::Wasserstein;
pub use ztest::ZTest;

/// Errors from the drift tests.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// One side has no values (or, for counts, a zero total).
    #[error("{side} sample is empty")]
    Empty {
        /// `"reference"` or `"current"`.
        side: &'static str,
    },
    /// A value is NaN or infinite; drop missing values before testing.
    #[error("{side} sample has a non-finite value at index {index}")]
    NonFinite {
        /// `"reference"` or `"current"`.
        side: &'static str,
        /// Position of the first offending value.
        index: usize,
    },
    /// A side has fewer values than the test needs.
    #[error("{test} needs at least {needed} values in the {side} sample, got {got}")]
    TooSmall {
        /// The test's name.
        test: &'static str,
        /// `"reference"` or `"current"`.
        side: &'static str,
        /// The minimum.
        needed: usize,
        /// What was given.
        got: usize,
    },
    /// Category counts of the two sides are not aligned.
    #[error("category counts differ in length: reference {reference}, current {current}")]
    MisalignedCategories {
        /// Number of reference categories.
        reference: usize,
        /// Number of current categories.
        current: usize,
    },
    /// Too few categories carry any count for the test.
    #[error("{test} needs at least {needed} non-empty categories, got {got}")]
    TooFewCategories {
        /// The test's name.
        test: &'static str,
        /// The minimum.
        needed: usize,
        /// Categories with a non-zero count on either side.
        got: usize,
    },
    /// A row-major sample whose length is not a multiple of its column count
    /// (or a column count of 0).
    #[error("{side} sample of {len} values does not split into rows of {columns} columns")]
    Shape {
        /// `"reference"` or `"current"`.
        side: &'static str,
        /// Number of values given.
        len: usize,
        /// Columns per row.
        columns: usize,
    },
    /// The test does not apply to this column type.
    #[error("{test} does not support {kind} columns")]
    Unsupported {
        /// The test's name.
        test: &'static str,
        /// `"numeric"` or `"categorical"`.
        kind: &'static str,
    },
}

/// Result type of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The outcome of one drift test on one column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriftResult {
    /// The test statistic: D for KS, χ² for chi-square, the distance for
    /// distance tests. May be `f64::INFINITY` for chi-square when a category
    /// appears only in the current sample; never NaN.
    pub statistic: f64,
    /// The p-value for hypothesis tests, `None` for distances.
    pub p_value: Option<f64>,
    /// The threshold the verdict compared against.
    pub threshold: f64,
    /// Whether the column drifted, by the test's documented rule.
    pub drifted: bool,
}

/// One statistical test comparing a reference sample with a current sample
/// of one column.
pub trait DriftTest {
    /// A short stable name, as used in reports (`"ks"`, `"chisquare"`, ...).
    fn name(&self) -> &'static str;

    /// Compares raw numeric values. Both slices must be finite and non-empty.
    fn compute(&self, reference: &[f64], current: &[f64]) -> Result<DriftResult>;

    /// Compares category counts; `reference[i]` and `current[i]` count the
    /// same category. Categories empty on both sides are ignored.
    fn compute_categorical(&self, reference: &[u64], current: &[u64]) -> Result<DriftResult>;
}

/// Checks a numeric pair: non-empty, finite, and at least `needed` values each.
pub(crate) fn check_numeric(
    test: &'static str,
    reference: &[f64],
    current: &[f64],
    needed: usize,
) -> Result<()> {
    for (side, values) in [("reference", reference), ("current", current)] {
        if values.is_empty() {
            return Err(Error::Empty { side });
        }
        if let Some(index) = values.iter().position(|value| !value.is_finite()) {
            return Err(Error::NonFinite { side, index });
        }
        if values.len() < needed {
            return Err(Error::TooSmall {
                test,
                side,
                needed,
                got: values.len(),
            });
        }
    }
    Ok(())
}

/// Checks a pair of category counts and returns them with categories empty on
/// both sides removed; at least `min_categories` must remain (2 for a
/// chi-square test, which has `k - 1` degrees of freedom; 1 for distances,
/// where a single shared category is simply distance 0).
pub(crate) fn check_counts(
    test: &'static str,
    reference: &[u64],
    current: &[u64],
    min_categories: usize,
) -> Result<(Vec<u64>, Vec<u64>)> {
    if reference.len() != current.len() {
        return Err(Error::MisalignedCategories {
            reference: reference.len(),
            current: current.len(),
        });
    }
    let (kept_reference, kept_current): (Vec<u64>, Vec<u64>) = reference
        .iter()
        .zip(current)
        .filter(|(r, c)| **r > 0 || **c > 0)
        .map(|(r, c)| (*r, *c))
        .unzip();
    if kept_reference.iter().sum::<u64>() == 0 {
        return Err(Error::Empty { side: "reference" });
    }
    if kept_current.iter().sum::<u64>() == 0 {
        return Err(Error::Empty { side: "current" });
    }
    if kept_reference.len() < min_categories {
        return Err(Error::TooFewCategories {
            test,
            needed: min_categories,
            got: kept_reference.len(),
        });
    }
    Ok((kept_reference, kept_current))
}

/// Turns counts into proportions of their total.
pub(crate) fn proportions(counts: &[u64]) -> Vec<f64> {
    let total = counts.iter().sum::<u64>() as f64;
    counts.iter().map(|count| *count as f64 / total).collect()
}

/// Builds a distance test's result: drift when `distance >= threshold`.
pub(crate) fn distance_result(distance: f64, threshold: f64) -> DriftResult {
    DriftResult {
        statistic: distance,
        p_value: None,
        threshold,
        drifted: distance >= threshold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_checks_report_the_first_problem() {
        assert_eq!(
            check_numeric("t", &[], &[1.0], 1),
            Err(Error::Empty { side: "reference" })
        );
        assert_eq!(
            check_numeric("t", &[1.0], &[1.0, f64::NAN], 1),
            Err(Error::NonFinite {
                side: "current",
                index: 1
            })
        );
        assert_eq!(
            check_numeric("t", &[1.0, 2.0], &[1.0], 2),
            Err(Error::TooSmall {
                test: "t",
                side: "current",
                needed: 2,
                got: 1
            })
        );
    }

    #[test]
    fn count_checks_drop_categories_empty_on_both_sides() {
        let (r, c) = check_counts("t", &[1, 0, 2], &[0, 0, 3], 2).expect("valid counts");
        assert_eq!((r, c), (vec![1, 2], vec![0, 3]));
        assert_eq!(
            check_counts("t", &[1], &[1, 2], 2),
            Err(Error::MisalignedCategories {
                reference: 1,
                current: 2
            })
        );
        assert_eq!(
            check_counts("t", &[0, 0], &[1, 0], 2),
            Err(Error::Empty { side: "reference" })
        );
        assert_eq!(
            check_counts("t", &[4, 0], &[1, 0], 2),
            Err(Error::TooFewCategories {
                test: "t",
                needed: 2,
                got: 1
            })
        );
    }
}
