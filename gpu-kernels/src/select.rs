//! Where the kernels run: the plain code or a wgpu adapter, chosen once.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

#[cfg(feature = "wgpu")]
use crate::cube::Gpu;
use crate::histogram::{BinnedColumn, HistogramCounts, histograms_plain};
#[cfg(not(feature = "wgpu"))]
use crate::no_gpu::Gpu;
use crate::pairwise::{LabelMatrix, PairSums, pair_sums_plain};

/// What the caller asked for (`--compute`, `SMELT_COMPUTE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Preference {
    /// A hardware GPU when one is present, else the plain code.
    #[default]
    Auto,
    /// The plain code.
    Cpu,
    /// The kernels on any adapter (software ones included), or an error.
    Gpu,
}

impl FromStr for Preference {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "gpu" => Ok(Self::Gpu),
            _ => Err(format!("unknown compute `{text}`: use auto, cpu or gpu")),
        }
    }
}

impl fmt::Display for Preference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Cpu => "cpu",
            Self::Gpu => "gpu",
        })
    }
}

/// Why `gpu` could not be honoured.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unavailable {
    /// Built without the `wgpu` feature.
    #[error(
        "this smelt was built without GPU kernels: rebuild with `--features smelt/gpu`, or use --compute cpu"
    )]
    NotBuilt,
    /// No adapter answered.
    #[error("no GPU adapter is available ({0}); install a Vulkan driver or use --compute cpu")]
    NoAdapter(String),
}

/// What an opened adapter is, for reports and logs.
#[derive(Debug, Clone)]
pub(crate) struct Adapter {
    pub(crate) name: String,
    pub(crate) api: String,
    pub(crate) kind: &'static str,
    /// A discrete, integrated or virtual GPU rather than a software one.
    pub(crate) hardware: bool,
}

impl fmt::Display for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {})", self.name, self.api, self.kind)
    }
}

/// Where the kernels run. Cheap to clone; the GPU, once opened, is shared by
/// the whole process.
#[derive(Clone, Default)]
pub struct Compute {
    gpu: Option<Arc<Gpu>>,
}

impl fmt::Debug for Compute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description())
    }
}

impl PartialEq for Compute {
    fn eq(&self, other: &Self) -> bool {
        self.description() == other.description()
    }
}

impl Compute {
    /// The plain code.
    pub fn plain() -> Self {
        Self::default()
    }

    /// Chooses by `preference` (see the crate docs). `Auto` and `Cpu` never
    /// fail; `Gpu` fails when no adapter is available.
    pub fn select(preference: Preference) -> Result<Self, Unavailable> {
        match preference {
            Preference::Cpu => Ok(Self::plain()),
            Preference::Auto => Ok(Gpu::shared()
                .ok()
                .filter(|gpu| gpu.adapter().hardware)
                .map_or_else(Self::plain, Self::on)),
            Preference::Gpu => Gpu::shared().map(Self::on),
        }
    }

    /// "cpu", or "gpu: ADAPTER (API, TYPE)".
    pub fn description(&self) -> String {
        match &self.gpu {
            Some(gpu) => format!("gpu: {}", gpu.adapter()),
            None => "cpu".to_string(),
        }
    }

    /// Whether the kernels run on a GPU adapter.
    pub fn is_gpu(&self) -> bool {
        self.gpu.is_some()
    }

    /// The pairwise kernel sums of `rows` (row-major, `columns` columns,
    /// `labels.rows()` rows) under `k(a, b) = exp(−γ‖a − b‖²)`; see
    /// `pairwise.rs`.
    pub fn pair_sums(
        &self,
        rows: &[f64],
        columns: usize,
        gamma: f64,
        labels: &LabelMatrix,
    ) -> PairSums {
        assert_eq!(
            rows.len(),
            labels.rows() * columns,
            "rows and labels disagree"
        );
        if let Some(gpu) = &self.gpu {
            match gpu.pair_sums(rows, columns, gamma, labels) {
                Ok(sums) => return sums,
                Err(error) => tracing::warn!(%error, "GPU kernel failed; using the plain code"),
            }
        }
        pair_sums_plain(rows, columns, gamma, labels)
    }

    /// Counts of every column in its bins; see `histogram.rs`.
    pub fn histograms(&self, columns: &[BinnedColumn<'_>]) -> Vec<HistogramCounts> {
        if let Some(gpu) = &self.gpu {
            match gpu.histograms(columns) {
                Ok(counts) => return counts,
                Err(error) => tracing::warn!(%error, "GPU kernel failed; using the plain code"),
            }
        }
        histograms_plain(columns)
    }

    fn on(gpu: Arc<Gpu>) -> Self {
        Self { gpu: Some(gpu) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_parse_and_print() {
        for text in ["auto", "cpu", "gpu"] {
            assert_eq!(text.parse::<Preference>().unwrap().to_string(), text);
        }
        assert!(
            "cuda"
                .parse::<Preference>()
                .unwrap_err()
                .contains("auto, cpu or gpu")
        );
    }

    #[test]
    fn cpu_is_always_available() {
        let compute = Compute::select(Preference::Cpu).unwrap();
        assert_eq!(compute.description(), "cpu");
        assert!(!compute.is_gpu());
    }
}
