//! The heavy numeric work of Smelt's monitor, on a GPU when there is one.
//!
//! Two computations are quadratic or wide enough to be worth a GPU:
//!
//! - [`Compute::pair_sums`]: the pairwise Gaussian (RBF) kernel sums behind
//!   the MMD permutation test — `k(z_i, z_j) = exp(−γ‖z_i − z_j‖²)` over all
//!   pairs of the pooled sample, weighted by many labellings at once
//!   (`pairwise.rs`).
//! - [`Compute::histograms`]: counting the values of many columns into their
//!   bins in one pass (`histogram.rs`).
//!
//! Each has a plain-Rust implementation (multi-threaded, `f64`) and a CubeCL
//! kernel (`cube/`, built with the `wgpu` feature) that runs through
//! CubeCL's wgpu runtime: Vulkan on Linux, Metal on macOS, DX12 on Windows —
//! and Mesa's software Vulkan driver (lavapipe) in CI, which proves the same
//! kernels without a GPU.
//!
//! # Choosing where to run
//!
//! [`Compute::select`] takes a [`Preference`]:
//!
//! - `auto` (the default): the kernels when a hardware adapter (discrete,
//!   integrated or virtual GPU) is present, the plain code otherwise. A
//!   software adapter such as lavapipe is a CPU pretending to be a GPU and
//!   slower than the plain code, so `auto` never picks it.
//! - `gpu`: the kernels on any adapter, software ones included; an error
//!   when there is none or the build has no `wgpu` feature.
//! - `cpu`: the plain code.
//!
//! [`Compute::description`] says which was chosen ("cpu" or
//! "gpu: NVIDIA H100 (Vulkan, discrete)"), and reports carry it.
//!
//! # Same results
//!
//! Histogram counts are identical on both paths: the kernel compares values
//! and edges as order-preserving 64-bit keys, so it bins exactly as `f64`
//! comparisons do. Kernel sums are computed in `f32` on the GPU (GPU
//! adapters rarely offer `f64`), so they agree with the plain `f64` sums to
//! about `1e-5` relative; the tests in `tests/kernels.rs` pin both.

mod histogram;
mod pairwise;
mod parallel;
mod select;

// CubeCL hands kernels raw device buffers: building a buffer argument is
// `unsafe` (its length is trusted), so this module alone may use unsafe code,
// each block with a `// SAFETY:` comment.
#[cfg(feature = "wgpu")]
#[allow(unsafe_code)]
mod cube;
#[cfg(not(feature = "wgpu"))]
mod no_gpu;

pub use histogram::{BinnedColumn, HistogramCounts};
pub use pairwise::{LabelMatrix, PairSums};
pub use parallel::{for_each_row, squared_distance, thread_count};
pub use select::{Compute, Preference, Unavailable};
