//! The GPU path of a build without the `wgpu` feature: a type with no
//! values, so `Compute` has one shape in every build and never holds one.

use std::sync::Arc;

use crate::histogram::{BinnedColumn, HistogramCounts};
use crate::pairwise::{LabelMatrix, PairSums};
use crate::select::{Adapter, Unavailable};

pub(crate) enum Gpu {}

impl Gpu {
    pub(crate) fn shared() -> Result<Arc<Gpu>, Unavailable> {
        Err(Unavailable::NotBuilt)
    }

    pub(crate) fn adapter(&self) -> &Adapter {
        match *self {}
    }

    pub(crate) fn pair_sums(
        &self,
        _: &[f64],
        _: usize,
        _: f64,
        _: &LabelMatrix,
    ) -> Result<PairSums, String> {
        match *self {}
    }

    pub(crate) fn histograms(
        &self,
        _: &[BinnedColumn<'_>],
    ) -> Result<Vec<HistogramCounts>, String> {
        match *self {}
    }
}
