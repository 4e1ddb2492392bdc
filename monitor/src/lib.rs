//! Smelt's monitor: drift statistics that compare a reference sample of a
//! column with a current one.
//!
//! # Brief overview
//!
//! [`drift::DriftTest`] is the seam: one statistical test, returning a
//! [`drift::DriftResult`] with the statistic, the p-value where the test has
//! one, the threshold and the verdict. The implementations live in
//! [`drift`]: [`drift::KolmogorovSmirnov`], [`drift::ChiSquare`],
//! [`drift::Wasserstein`], [`drift::JensenShannon`], [`drift::Psi`],
//! [`drift::Hellinger`], [`drift::ZTest`] and the multivariate
//! [`drift::Mmd`]. Each module's docs give the exact formula and its
//! edge cases; the SciPy parity tests in `tests/scipy_parity.rs` hold them
//! to SciPy's numbers, and `tests/mmd_parity.rs` holds MMD² to a NumPy
//! transcription of its formula.
//!
//! [`drift::TestPlan`] picks each column's test by Evidently's default rule
//! (overridable per column), [`drift::test_numeric_column`] and
//! [`drift::test_categorical_column`] turn bad input into a
//! [`drift::ColumnOutcome::Skipped`] reason, and [`drift::dataset_drift`]
//! is the share of drifted columns.
//!
//! [`profile::Profile`] is the baseline profile of the training data
//! (`profile.json`, documented in the crate's README): per-column counts,
//! moments, quantiles, histograms and category frequencies, and a summary of
//! the model's predictions, with the stored bins that live data is binned on
//! later ([`profile::NumericProfile::bin_counts`],
//! [`profile::CategoricalProfile::counts_for`]).
//!
//! [`binning`] is the crate's one binning: every histogram edge (equal-width,
//! reference deciles, NumPy's quantiles), counted by `smelt-gpu-kernels`'
//! counter, for profiles, the binned tests and reports alike.
//!
//! [`report::DriftReport`] tests every column of two tables (on all cores)
//! and [`report_html`] renders it; [`live`] cuts captured traffic into
//! windows and [`service::Monitors`] runs monitors on a server (history in
//! the tracking store, gauges, alerts), reading reference profiles and
//! writing reports through [`tracked_io::TrackedIo`].
//!
//! The quadratic MMD sums and the report histograms run on a
//! [`Compute`] from `smelt-gpu-kernels`: the plain code, or CubeCL kernels
//! on a GPU adapter; each report says which (`compute`).
#![deny(missing_docs)]

pub mod binning;
pub mod drift;
mod kstwo;
pub mod live;
pub mod profile;
pub mod report;
pub mod report_html;
pub mod sample;
pub mod service;
pub mod sketch;
mod special;
pub mod tracked_io;

pub use profile::{
    CategoricalProfile, FeatureProfile, FeatureStats, NumericProfile, PredictionProfile, Profile,
    ProfileError, ProfileOptions,
};
pub use report::{ColumnHistogram, ColumnReport, DriftReport};
/// Where the heavy sums run (plain code or CubeCL kernels on a GPU).
pub use smelt_gpu_kernels::{Compute, Preference, Unavailable as ComputeUnavailable};
