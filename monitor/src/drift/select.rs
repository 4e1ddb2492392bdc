//! The default drift test of a column, Evidently's rule, with per-column
//! overrides; and dataset-level drift as the share of drifted columns.
//!
//! # The rule
//!
//! Evidently's `registry.py::_get_default_stattest(reference_data,
//! current_data, feature_type)`, as `shared/reference/serving-monitoring.md`
//! (§B4) documents it:
//!
//! > `n_values = pd.concat([reference, current]).nunique()`; branch on
//! > **reference row count** (`reference_data.shape[0]`):
//! >
//! > | Column type | reference rows ≤ 1000 | reference rows > 1000 |
//! > |---|---|---|
//! > | Numerical, n_unique ≤ 5 | chi-square if n_unique > 2 else Z-test (p-value, threshold 0.05) | Jensen-Shannon distance (threshold 0.1) |
//! > | Numerical, n_unique > 5 | two-sample KS (`ks_2samp` p-value ≤ 0.05 ⇒ drift) | Wasserstein distance normed (threshold 0.1) |
//! > | Categorical | chi-square if n_unique > 2 else Z-test (p < 0.05) | Jensen-Shannon distance (0.1) |
//!
//! `n_unique` counts distinct non-missing values over both samples together
//! (see [`unique_count`]); the reference row count includes missing values,
//! as `shape[0]` does. So a binary (or ≤ 5-valued) numeric column is tested
//! like a categorical one, on per-value counts. Text columns are not
//! supported.
//!
//! # Dataset drift
//!
//! Evidently's `get_dataset_drift(drift_metrics, drift_share=0.5)`:
//! `dataset_drift = share_drifted_columns >= drift_share`. Here the share is
//! over the columns that were tested; skipped columns (missing, all-missing,
//! constant, too small) count in neither numerator nor denominator, and a
//! dataset with no tested column is not drifted.

use std::collections::BTreeMap;

use smelt_gpu_kernels::Compute;

use super::outcome::ColumnOutcome;
use super::{
    ChiSquare, DriftTest, Hellinger, JensenShannon, KolmogorovSmirnov, Mmd, Psi, Wasserstein, ZTest,
};

/// Largest reference row count that counts as "small" (tests with p-values).
pub const SMALL_REFERENCE_ROWS: usize = 1000;

/// Largest number of distinct values for which a numeric column is tested
/// like a categorical one.
pub const FEW_UNIQUE_VALUES: usize = 5;

/// Evidently's default share of drifted columns for dataset drift (also a
/// monitor spec's default, hence defined with the wire types).
pub use smelt_api::monitors::DEFAULT_DRIFT_SHARE;

/// The type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Numbers.
    Numeric,
    /// Labels.
    Categorical,
}

/// The drift tests a column can be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestKind {
    /// [`KolmogorovSmirnov`].
    Ks,
    /// [`ChiSquare`].
    ChiSquare,
    /// [`ZTest`].
    ZTest,
    /// [`Wasserstein`], normed.
    WassersteinNormed,
    /// [`JensenShannon`].
    JensenShannon,
    /// [`Psi`].
    Psi,
    /// [`Hellinger`].
    Hellinger,
    /// [`Mmd`] (1-D).
    Mmd,
}

/// The names [`TestKind::parse`] accepts, for messages.
pub const TEST_NAMES: &str = "ks, chisquare, z, wasserstein, jensenshannon, psi, hellinger or mmd";

impl TestKind {
    /// A test by name (as the tests report themselves, or common aliases);
    /// `None` for an unknown name.
    pub fn parse(name: &str) -> Option<TestKind> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "ks" => Self::Ks,
            "chisquare" | "chi2" => Self::ChiSquare,
            "z" | "ztest" => Self::ZTest,
            "wasserstein" | "wasserstein_normed" => Self::WassersteinNormed,
            "jensenshannon" | "js" => Self::JensenShannon,
            "psi" => Self::Psi,
            "hellinger" => Self::Hellinger,
            "mmd" => Self::Mmd,
            _ => return None,
        })
    }

    /// The test with its default threshold (and the plain code for MMD).
    pub fn build(self) -> Box<dyn DriftTest + Send + Sync> {
        self.build_on(&Compute::plain())
    }

    /// The test with its default threshold, its heavy sums on `compute`.
    pub fn build_on(self, compute: &Compute) -> Box<dyn DriftTest + Send + Sync> {
        match self {
            Self::Ks => Box::new(KolmogorovSmirnov::default()),
            Self::ChiSquare => Box::new(ChiSquare::default()),
            Self::ZTest => Box::new(ZTest::default()),
            Self::WassersteinNormed => Box::new(Wasserstein::default()),
            Self::JensenShannon => Box::new(JensenShannon::default()),
            Self::Psi => Box::new(Psi::default()),
            Self::Hellinger => Box::new(Hellinger::default()),
            Self::Mmd => Box::new(Mmd {
                compute: compute.clone(),
                ..Mmd::default()
            }),
        }
    }

    /// Whether the test runs on per-category counts of a column with few
    /// distinct values rather than on raw numbers.
    pub fn counts_few_values(self) -> bool {
        matches!(
            self,
            Self::ChiSquare | Self::ZTest | Self::JensenShannon | Self::Psi | Self::Hellinger
        )
    }
}

/// Evidently's default test for a column of `kind` with `reference_rows`
/// reference rows and `unique_values` distinct values over both samples.
pub fn default_test(kind: ColumnKind, reference_rows: usize, unique_values: usize) -> TestKind {
    let small = reference_rows <= SMALL_REFERENCE_ROWS;
    let categorical = kind == ColumnKind::Categorical || unique_values <= FEW_UNIQUE_VALUES;
    match (categorical, small) {
        (true, true) if unique_values > 2 => TestKind::ChiSquare,
        (true, true) => TestKind::ZTest,
        (true, false) => TestKind::JensenShannon,
        (false, true) => TestKind::Ks,
        (false, false) => TestKind::WassersteinNormed,
    }
}

/// [`unique_count`], but stops counting above `cap`: the test choice only
/// asks whether a column has 1, 2, at most [`FEW_UNIQUE_VALUES`] or at most
/// 20 distinct values, and a continuous column answers that within its
/// first few values instead of a sort of both samples.
pub fn unique_count_up_to(reference: &[f64], current: &[f64], cap: usize) -> usize {
    let mut seen: Vec<f64> = Vec::with_capacity(cap + 1);
    for &value in reference.iter().chain(current) {
        // `==` makes -0.0 and 0.0 one value, as in `unique_count`.
        if value.is_finite() && !seen.contains(&value) {
            seen.push(value);
            if seen.len() > cap {
                break;
            }
        }
    }
    seen.len()
}

/// Distinct finite values over both samples (pandas `nunique`, which drops
/// missing values; infinities count as missing, Evidently's hygiene).
pub fn unique_count(reference: &[f64], current: &[f64]) -> usize {
    let mut values: Vec<f64> = reference
        .iter()
        .chain(current)
        .copied()
        .filter(|value| value.is_finite())
        .collect();
    radsort::sort(&mut values);
    // -0.0 and 0.0 are one value.
    values.dedup_by(|a, b| a == b);
    values.len()
}

/// Per-column test choices: Evidently's default unless overridden.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TestPlan {
    overrides: BTreeMap<String, TestKind>,
    compute: Compute,
}

impl TestPlan {
    /// Runs the heavy sums (MMD, report histograms) on `compute`.
    pub fn with_compute(mut self, compute: Compute) -> Self {
        self.compute = compute;
        self
    }

    /// Where the heavy sums run.
    pub fn compute(&self) -> &Compute {
        &self.compute
    }

    /// Uses `test` for `column` whatever the default would be.
    pub fn with_override(mut self, column: impl Into<String>, test: TestKind) -> Self {
        self.overrides.insert(column.into(), test);
        self
    }

    /// The test for `column`: its override, else [`default_test`].
    pub fn test_for(
        &self,
        column: &str,
        kind: ColumnKind,
        reference_rows: usize,
        unique_values: usize,
    ) -> TestKind {
        self.overrides
            .get(column)
            .copied()
            .unwrap_or_else(|| default_test(kind, reference_rows, unique_values))
    }
}

/// Dataset-level drift over per-column outcomes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DatasetDrift {
    /// Columns that were tested.
    pub tested: usize,
    /// Tested columns that drifted.
    pub drifted: usize,
    /// Columns skipped (missing, all-missing, constant, too small, invalid).
    pub skipped: usize,
    /// `drifted / tested`, 0 when nothing was tested.
    pub share: f64,
    /// `share >= share_threshold` (and at least one column tested).
    pub dataset_drifted: bool,
}

/// Dataset drift: the share of drifted columns among the tested ones,
/// compared with `share_threshold` ([`DEFAULT_DRIFT_SHARE`] in Evidently).
pub fn dataset_drift(results: &[ColumnOutcome], share_threshold: f64) -> DatasetDrift {
    let tested = results
        .iter()
        .filter(|outcome| outcome.result().is_some())
        .count();
    let drifted = results.iter().filter(|outcome| outcome.drifted()).count();
    DatasetDrift::from_counts(tested, drifted, results.len() - tested, share_threshold)
}

impl DatasetDrift {
    /// The verdict from column counts: `tested` columns of which `drifted`
    /// drifted, `skipped` not tested.
    pub fn from_counts(
        tested: usize,
        drifted: usize,
        skipped: usize,
        share_threshold: f64,
    ) -> DatasetDrift {
        let share = if tested == 0 {
            0.0
        } else {
            drifted as f64 / tested as f64
        };
        DatasetDrift {
            tested,
            drifted,
            skipped,
            share,
            dataset_drifted: tested > 0 && share >= share_threshold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::DriftResult;
    use super::super::outcome::SkipReason;
    use super::*;
    use ColumnKind::{Categorical, Numeric};

    #[test]
    fn every_branch_of_the_rule() {
        // Numeric, many values: KS up to 1000 reference rows, then Wasserstein.
        assert_eq!(default_test(Numeric, 1000, 6), TestKind::Ks);
        assert_eq!(default_test(Numeric, 1001, 6), TestKind::WassersteinNormed);
        // Numeric, ≤ 5 values: like categorical.
        assert_eq!(default_test(Numeric, 1000, 5), TestKind::ChiSquare);
        assert_eq!(default_test(Numeric, 1000, 3), TestKind::ChiSquare);
        assert_eq!(default_test(Numeric, 1000, 2), TestKind::ZTest);
        assert_eq!(default_test(Numeric, 1001, 5), TestKind::JensenShannon);
        assert_eq!(default_test(Numeric, 5000, 2), TestKind::JensenShannon);
        // Categorical, whatever the number of values.
        assert_eq!(default_test(Categorical, 10, 40), TestKind::ChiSquare);
        assert_eq!(default_test(Categorical, 10, 2), TestKind::ZTest);
        assert_eq!(default_test(Categorical, 1001, 40), TestKind::JensenShannon);
        assert_eq!(default_test(Categorical, 1001, 2), TestKind::JensenShannon);
    }

    #[test]
    fn overrides_win_and_unique_counts_drop_missing() {
        let plan = TestPlan::default().with_override("age", TestKind::Mmd);
        assert_eq!(plan.test_for("age", Numeric, 10, 100), TestKind::Mmd);
        assert_eq!(plan.test_for("income", Numeric, 10, 100), TestKind::Ks);
        assert_eq!(
            unique_count(&[1.0, f64::NAN, 0.0], &[-0.0, f64::INFINITY, 1.0, 2.0]),
            3
        );
        assert_eq!(
            unique_count_up_to(&[1.0, f64::NAN, 0.0], &[-0.0, f64::INFINITY, 1.0, 2.0], 21),
            3
        );
        let many: Vec<f64> = (0..1000).map(f64::from).collect();
        assert_eq!(unique_count_up_to(&many, &many, 21), 22);
        assert_eq!(TestKind::Psi.build().name(), "psi");
    }

    #[test]
    fn dataset_drift_is_the_share_of_tested_columns() {
        let tested = |drifted| ColumnOutcome::Tested {
            test: "ks",
            result: DriftResult {
                statistic: 0.5,
                p_value: Some(0.01),
                threshold: 0.05,
                drifted,
            },
        };
        let skipped = ColumnOutcome::Skipped {
            reason: SkipReason::Constant { value: 1.0 },
        };
        let half = dataset_drift(&[tested(true), tested(false), skipped.clone()], 0.5);
        assert_eq!((half.tested, half.drifted, half.skipped), (2, 1, 1));
        assert!(half.dataset_drifted && half.share == 0.5);
        assert!(!dataset_drift(&[tested(true), tested(false), tested(false)], 0.5).dataset_drifted);
        let none = dataset_drift(&[skipped], 0.0);
        assert!(!none.dataset_drifted && none.share == 0.0);
    }
}
