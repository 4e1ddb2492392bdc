//! Smelt's monitor: drift statistics that compare a reference sample of a
//! column with a current one.
//!
//! # Brief overview
//!
//! [`drift::DriftTest`] is the seam: one statistical test, returning a
//! [`drift::DriftResult`] with the statistic, the p-value where the test has
//! one, the threshold and the verdict. The implementations live in
//! [`drift`]: [`drift::KolmogorovSmirnov`], [`drift::ChiSquare`],
//! [`drift::Wasserstein`], [`drift::JensenShannon`], [`drift::Psi`] and
//! [`drift::Hellinger`]. Each module's docs give the exact formula and its
//! edge cases; the SciPy parity tests in `tests/scipy_parity.rs` hold them
//! to SciPy's numbers.
//!
//! Profiles, live windows, reports and MMD are not built yet (issue 6).
#![deny(missing_docs)]

pub mod drift;
mod kstwo;
mod special;
