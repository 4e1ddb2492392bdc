//! Per-column outcomes: a test result, or the reason a column was not
//! tested. Bad input never panics and never yields a NaN verdict.
//!
//! # What is skipped, and why
//!
//! | input | outcome |
//! |---|---|
//! | column absent from one side | [`SkipReason::MissingColumn`] |
//! | no non-missing value on one side (NaN, ±inf and `None` are missing, dropped first, as Evidently does) | [`SkipReason::AllMissing`] |
//! | one and the same value on both sides | [`SkipReason::Constant`]: nothing can drift |
//! | fewer values than the test needs | [`SkipReason::TooSmall`] |
//! | any other error of the test, or a NaN statistic | [`SkipReason::Invalid`] |
//!
//! A column constant in the reference but not in the current window is
//! tested (every test handles it: KS, chi-square and the distances directly,
//! normed Wasserstein and MMD through their documented floors). A category
//! seen only in the current window is tested too (chi-square reports an
//! infinite statistic and drift).

use std::collections::BTreeMap;

use super::select::{ColumnKind, TestKind, TestPlan, unique_count_up_to};
use super::{DriftResult, Error};

/// Why a column was not tested.
#[derive(Debug, Clone, PartialEq)]
pub enum SkipReason {
    /// The column is absent from one side.
    MissingColumn {
        /// `"reference"` or `"current"`.
        side: &'static str,
    },
    /// Every value on one side is missing.
    AllMissing {
        /// `"reference"` or `"current"`.
        side: &'static str,
    },
    /// Both sides hold only this one value (for categories, its index in
    /// the sorted labels is not kept: `value` is 0).
    Constant {
        /// The value.
        value: f64,
    },
    /// One side is smaller than the test needs.
    TooSmall {
        /// `"reference"` or `"current"`.
        side: &'static str,
        /// The minimum.
        needed: usize,
        /// What was left after dropping missing values.
        got: usize,
    },
    /// The test refused the input for another reason.
    Invalid(Error),
}

/// What happened to one column.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnOutcome {
    /// The column was tested.
    Tested {
        /// The test's name ([`super::DriftTest::name`]).
        test: &'static str,
        /// Its result.
        result: DriftResult,
    },
    /// The column was not tested.
    Skipped {
        /// Why.
        reason: SkipReason,
    },
}

impl ColumnOutcome {
    /// The result, when the column was tested.
    pub fn result(&self) -> Option<&DriftResult> {
        match self {
            Self::Tested { result, .. } => Some(result),
            Self::Skipped { .. } => None,
        }
    }

    /// Whether the column was tested and drifted.
    pub fn drifted(&self) -> bool {
        self.result().is_some_and(|result| result.drifted)
    }

    pub(crate) fn skipped(reason: SkipReason) -> Self {
        Self::Skipped { reason }
    }

    fn from_result(test: &'static str, outcome: Result<DriftResult, Error>) -> Self {
        match outcome {
            Ok(result) if result.statistic.is_nan() || result.p_value.is_some_and(f64::is_nan) => {
                Self::skipped(SkipReason::Invalid(Error::NonFinite {
                    side: "statistic",
                    index: 0,
                }))
            }
            Ok(result) => Self::Tested { test, result },
            Err(Error::TooSmall {
                side, needed, got, ..
            }) => Self::skipped(SkipReason::TooSmall { side, needed, got }),
            Err(Error::Empty { side }) => Self::skipped(SkipReason::AllMissing { side }),
            Err(error) => Self::skipped(SkipReason::Invalid(error)),
        }
    }
}

/// Tests one numeric column: `None` when the column is absent on that side.
/// Missing values are dropped; the test is the plan's choice for `column`
/// (Evidently's default unless overridden). Columns with few distinct
/// values go to count-based tests as per-value counts.
pub fn test_numeric_column(
    plan: &TestPlan,
    column: &str,
    reference: Option<&[f64]>,
    current: Option<&[f64]>,
) -> ColumnOutcome {
    let (reference_all, current_all) = match (reference, current) {
        (None, _) => {
            return ColumnOutcome::skipped(SkipReason::MissingColumn { side: "reference" });
        }
        (_, None) => return ColumnOutcome::skipped(SkipReason::MissingColumn { side: "current" }),
        (Some(r), Some(c)) => (r, c),
    };
    // Copy only when something must be dropped: at a million rows a copy
    // per side and column is most of the memory traffic.
    let (reference, current) = (finite(reference_all), finite(current_all));
    for (side, values) in [("reference", &reference), ("current", &current)] {
        if values.is_empty() {
            return ColumnOutcome::skipped(SkipReason::AllMissing { side });
        }
    }
    // Every decision below compares the count with 20 or less.
    let unique = unique_count_up_to(&reference, &current, 21);
    if unique == 1 {
        return ColumnOutcome::skipped(SkipReason::Constant {
            value: reference[0],
        });
    }
    let kind = plan.test_for(column, ColumnKind::Numeric, reference_all.len(), unique);
    let test = kind.build_on(plan.compute());
    let outcome = if kind.counts_few_values() && (unique <= 20 || kind == TestKind::ChiSquare) {
        let (r, c) = value_counts(&reference, &current);
        test.compute_categorical(&r, &c)
    } else {
        test.compute(&reference, &current)
    };
    ColumnOutcome::from_result(test.name(), outcome)
}

/// The finite values, borrowed when there is nothing to drop.
fn finite(values: &[f64]) -> std::borrow::Cow<'_, [f64]> {
    if values.iter().all(|v| v.is_finite()) {
        std::borrow::Cow::Borrowed(values)
    } else {
        std::borrow::Cow::Owned(values.iter().copied().filter(|v| v.is_finite()).collect())
    }
}

/// Tests one categorical column of labels (`None` labels are missing).
pub fn test_categorical_column(
    plan: &TestPlan,
    column: &str,
    reference: Option<&[Option<&str>]>,
    current: Option<&[Option<&str>]>,
) -> ColumnOutcome {
    let (reference, current) = match (reference, current) {
        (None, _) => {
            return ColumnOutcome::skipped(SkipReason::MissingColumn { side: "reference" });
        }
        (_, None) => return ColumnOutcome::skipped(SkipReason::MissingColumn { side: "current" }),
        (Some(r), Some(c)) => (r, c),
    };
    let mut counts: BTreeMap<&str, [u64; 2]> = BTreeMap::new();
    for (slot, values) in [reference, current].into_iter().enumerate() {
        for label in values.iter().flatten() {
            counts.entry(label).or_default()[slot] += 1;
        }
    }
    test_category_counts(plan, column, reference.len(), &counts)
}

/// Tests one categorical column from its per-label counts
/// (`[reference, current]`, missing values left out) and the reference's
/// row count including missing values.
pub fn test_category_counts(
    plan: &TestPlan,
    column: &str,
    reference_rows: usize,
    counts: &BTreeMap<&str, [u64; 2]>,
) -> ColumnOutcome {
    for (slot, side) in ["reference", "current"].into_iter().enumerate() {
        if counts.values().all(|pair| pair[slot] == 0) {
            return ColumnOutcome::skipped(SkipReason::AllMissing { side });
        }
    }
    if counts.len() == 1 {
        return ColumnOutcome::skipped(SkipReason::Constant { value: 0.0 });
    }
    // A numeric-only override (KS, Wasserstein, MMD) is reported as invalid.
    let kind = plan.test_for(
        column,
        ColumnKind::Categorical,
        reference_rows,
        counts.len(),
    );
    let (r, c): (Vec<u64>, Vec<u64>) = counts.values().map(|pair| (pair[0], pair[1])).unzip();
    let test = kind.build_on(plan.compute());
    ColumnOutcome::from_result(test.name(), test.compute_categorical(&r, &c))
}

/// Per-value counts over the sorted distinct values of both samples.
fn value_counts(reference: &[f64], current: &[f64]) -> (Vec<u64>, Vec<u64>) {
    let mut keys: Vec<f64> = reference.iter().chain(current).copied().collect();
    keys.sort_by(f64::total_cmp);
    keys.dedup_by(|a, b| a == b);
    let count = |values: &[f64]| {
        let mut counts = vec![0u64; keys.len()];
        for value in values {
            let index = keys.partition_point(|key| key < value);
            if let Some(slot) = counts.get_mut(index) {
                *slot += 1;
            }
        }
        counts
    };
    (count(reference), count(current))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(reference: Option<&[f64]>, current: Option<&[f64]>) -> ColumnOutcome {
        test_numeric_column(&TestPlan::default(), "x", reference, current)
    }

    #[test]
    fn missing_columns_and_all_missing_values_are_skipped() {
        assert_eq!(
            numeric(Some(&[1.0, 2.0]), None),
            ColumnOutcome::skipped(SkipReason::MissingColumn { side: "current" })
        );
        assert_eq!(
            numeric(Some(&[1.0, 2.0]), Some(&[f64::NAN, f64::INFINITY])),
            ColumnOutcome::skipped(SkipReason::AllMissing { side: "current" })
        );
        let none: &[Option<&str>] = &[None, None];
        let outcome =
            test_categorical_column(&TestPlan::default(), "c", Some(none), Some(&[Some("a")]));
        assert_eq!(
            outcome,
            ColumnOutcome::skipped(SkipReason::AllMissing { side: "reference" })
        );
    }

    #[test]
    fn constant_columns_are_skipped_unless_the_value_moves() {
        let outcome = numeric(Some(&[3.0; 10]), Some(&[3.0, f64::NAN, 3.0]));
        assert_eq!(
            outcome,
            ColumnOutcome::skipped(SkipReason::Constant { value: 3.0 })
        );
        // Constant reference, other value in current: tested (Z-test), drifted.
        let moved = numeric(Some(&[3.0; 50]), Some(&[4.0; 50]));
        assert!(matches!(moved, ColumnOutcome::Tested { test: "z", .. }) && moved.drifted());
        let labels: &[Option<&str>] = &[Some("a"), Some("a")];
        let outcome =
            test_categorical_column(&TestPlan::default(), "c", Some(labels), Some(labels));
        assert_eq!(
            outcome,
            ColumnOutcome::skipped(SkipReason::Constant { value: 0.0 })
        );
    }

    #[test]
    fn small_windows_and_wrong_tests_are_reported() {
        let plan = TestPlan::default().with_override("x", TestKind::Mmd);
        let reference: Vec<f64> = (0..20).map(f64::from).collect();
        let outcome = test_numeric_column(&plan, "x", Some(&reference), Some(&[1.0]));
        assert_eq!(
            outcome,
            ColumnOutcome::skipped(SkipReason::TooSmall {
                side: "current",
                needed: 2,
                got: 1
            })
        );
        let plan = TestPlan::default().with_override("c", TestKind::Ks);
        let labels: &[Option<&str>] = &[Some("a"), Some("b")];
        let outcome = test_categorical_column(&plan, "c", Some(labels), Some(labels));
        assert!(matches!(
            outcome,
            ColumnOutcome::Skipped {
                reason: SkipReason::Invalid(Error::Unsupported { .. })
            }
        ));
    }

    #[test]
    fn defaults_route_columns_by_values_and_size() {
        let reference: Vec<f64> = (0..100).map(|i| f64::from(i % 7)).collect();
        let ks = numeric(Some(&reference), Some(&reference));
        assert!(matches!(ks, ColumnOutcome::Tested { test: "ks", .. }) && !ks.drifted());
        let few: Vec<f64> = (0..100).map(|i| f64::from(i % 3)).collect();
        let chi = numeric(Some(&few), Some(&few[..40]));
        assert!(matches!(
            chi,
            ColumnOutcome::Tested {
                test: "chisquare",
                ..
            }
        ));
        let big: Vec<Option<&str>> = (0..2000).map(|i| Some(["a", "b", "c"][i % 3])).collect();
        let new_category: Vec<Option<&str>> = (0..50).map(|i| Some(["a", "z"][i % 2])).collect();
        let js =
            test_categorical_column(&TestPlan::default(), "c", Some(&big), Some(&new_category));
        assert!(matches!(js, ColumnOutcome::Tested { .. }) && js.drifted());
        let result = js.result().map(|r| r.statistic).unwrap_or(f64::NAN);
        assert!(result.is_finite());
    }
}
