//! `--compute`: where the drift sums run, for `smelt monitor compare`,
//! `smelt monitor mmd` and the monitors of `smelt server`.

use smelt_monitor::{Compute, Preference};

use crate::error::hinted;

/// `--compute`, for the commands whose drift sums can run on a GPU.
#[derive(Debug, Clone, clap::Args)]
pub struct ComputeArg {
    /// Where the heavy sums (MMD kernel sums, histograms) run: auto (a
    /// hardware GPU when present, else the CPU), cpu, or gpu (any adapter,
    /// software ones such as lavapipe included); reports say which
    #[arg(
        long = "compute",
        env = "SMELT_COMPUTE",
        default_value = "auto",
        value_name = "WHERE"
    )]
    pub preference: Preference,
}

/// The [`Compute`] for `preference`, with a clear error when `gpu` cannot be
/// honoured; logs which one was chosen.
pub fn open_compute(preference: Preference) -> anyhow::Result<Compute> {
    let compute = Compute::select(preference).map_err(|error| {
        hinted(
            format!("--compute {preference}: {error}"),
            "use --compute auto or --compute cpu",
        )
    })?;
    tracing::info!(compute = %compute.description(), "drift statistics");
    Ok(compute)
}
