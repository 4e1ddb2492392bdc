//! The GPU path: a wgpu adapter opened once per process through CubeCL, and
//! the host side of each kernel (upload, launch, read back).

mod kernels;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock};

use cubecl::prelude::*;
use cubecl::wgpu::{
    AutoGraphicsApi, RuntimeOptions, WgpuDevice, WgpuDeviceKind, try_init_setup, wgpu::DeviceType,
};

use crate::histogram::{BinnedColumn, HistogramCounts, order_key};
use crate::pairwise::{LabelMatrix, PairSums, pair_sums_from_weighted};
use crate::select::{Adapter, Unavailable};

/// Units per cube (workgroup) of the 1-D launches.
const UNITS: u32 = 256;

/// Most cubes in one dimension of a dispatch (WebGPU's guaranteed limit).
const MAX_CUBES: u32 = 65_535;

/// Most kernel-matrix entries held at once (32 MiB of `f32`).
const MAX_BLOCK_ENTRIES: usize = 8 << 20;

/// An opened adapter and its CubeCL client.
pub(crate) struct Gpu {
    client: Client,
    adapter: Adapter,
}

type KernelResult<T> = Result<T, String>;

impl Gpu {
    /// The process's adapter, opened on first use: the first of a discrete,
    /// integrated, virtual GPU or a software adapter that answers.
    pub(crate) fn shared() -> Result<Arc<Gpu>, Unavailable> {
        static SHARED: OnceLock<Result<Arc<Gpu>, Unavailable>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                // wgpu and drivers panic on some broken set-ups; that means "none".
                match catch_unwind(Self::open) {
                    Ok(result) => result.map(Arc::new),
                    Err(_) => Err(Unavailable::NoAdapter(
                        "the graphics driver panicked while opening it".into(),
                    )),
                }
            })
            .clone()
    }

    fn open() -> Result<Gpu, Unavailable> {
        let mut tried = Vec::new();
        for kind in [
            WgpuDeviceKind::DiscreteGpu(0),
            WgpuDeviceKind::IntegratedGpu(0),
            WgpuDeviceKind::VirtualGpu(0),
            WgpuDeviceKind::Cpu,
        ] {
            let device = WgpuDevice::new(kind);
            let options =
                RuntimeOptions::try_default().map_err(|e| Unavailable::NoAdapter(e.to_string()))?;
            match try_init_setup::<AutoGraphicsApi>(&device, options) {
                Ok(setup) => {
                    let info = setup.adapter.get_info();
                    let (kind, hardware) = match info.device_type {
                        DeviceType::DiscreteGpu => ("discrete", true),
                        DeviceType::IntegratedGpu => ("integrated", true),
                        DeviceType::VirtualGpu => ("virtual", true),
                        DeviceType::Cpu => ("software", false),
                        DeviceType::Other => ("other", false),
                    };
                    let adapter = Adapter {
                        name: info.name.clone(),
                        api: format!("{:?}", info.backend),
                        kind,
                        hardware,
                    };
                    tracing::info!(%adapter, "GPU kernels: adapter opened");
                    let client = cubecl::Device::Wgpu(device).client();
                    return Ok(Gpu { client, adapter });
                }
                Err(error) => tried.push(error.to_string()),
            }
        }
        Err(Unavailable::NoAdapter(tried.join("; ")))
    }

    pub(crate) fn adapter(&self) -> &Adapter {
        &self.adapter
    }

    /// See `pairwise.rs`: kernel rows block by block, then their
    /// label-weighted sums, all on the device.
    pub(crate) fn pair_sums(
        &self,
        rows: &[f64],
        columns: usize,
        gamma: f64,
        labels: &LabelMatrix,
    ) -> KernelResult<PairSums> {
        let n = labels.rows();
        let width = labels.width() + 1;
        let z: Vec<f32> = rows.iter().map(|v| *v as f32).collect();
        // Column 0 of the weights is all ones: the plain row sums.
        let mut weights = Vec::with_capacity(n * width);
        for i in 0..n {
            weights.push(1.0f32);
            weights.extend(labels.row(i).iter().map(|v| *v as f32));
        }
        let weighted = guarded(|| {
            let client = &self.client;
            let z_handle = client.create_from_slice(f32::as_bytes(&z));
            let weights_handle = client.create_from_slice(f32::as_bytes(&weights));
            let out = client.empty(n * width * size_of::<f32>());
            let block_rows = (MAX_BLOCK_ENTRIES / n.max(1)).clamp(1, n.max(1));
            let kernel = client.empty(block_rows * n * size_of::<f32>());
            let mut first = 0;
            while first < n {
                let rows_here = block_rows.min(n - first);
                kernels::rbf_block::launch(
                    client,
                    cubes(rows_here * n)?,
                    CubeDim::new_1d(UNITS),
                    // SAFETY: `z_handle` was created from `z`, so it holds `z.len()` f32s.
                    unsafe { BufferArg::from_raw_parts(z_handle.clone(), z.len()) },
                    // SAFETY: `kernel` holds `block_rows * n` f32s and `rows_here <= block_rows`.
                    unsafe { BufferArg::from_raw_parts(kernel.clone(), rows_here * n) },
                    to_u32(first)?,
                    to_u32(rows_here)?,
                    to_u32(n)?,
                    to_u32(columns)?,
                    gamma as f32,
                );
                kernels::weighted_row_sums::launch(
                    client,
                    cubes(rows_here * width)?,
                    CubeDim::new_1d(UNITS),
                    // SAFETY: `kernel` holds `block_rows * n` f32s and `rows_here <= block_rows`.
                    unsafe { BufferArg::from_raw_parts(kernel.clone(), rows_here * n) },
                    // SAFETY: `weights_handle` was created from `weights`, so it holds `weights.len()` f32s.
                    unsafe { BufferArg::from_raw_parts(weights_handle.clone(), weights.len()) },
                    // SAFETY: `out` was allocated for `n * width` f32s.
                    unsafe { BufferArg::from_raw_parts(out.clone(), n * width) },
                    to_u32(first)?,
                    to_u32(rows_here)?,
                    to_u32(n)?,
                    to_u32(width)?,
                );
                first += rows_here;
            }
            let bytes = client.read_one(out).map_err(|e| format!("{e:?}"))?;
            Ok(f32::from_bytes(&bytes).to_vec())
        })?;
        Ok(pair_sums_from_weighted(&weighted, labels))
    }

    /// See `histogram.rs`: every value of every column ranked in one launch.
    pub(crate) fn histograms(
        &self,
        columns: &[BinnedColumn<'_>],
    ) -> KernelResult<Vec<HistogramCounts>> {
        self.histograms_in_launches(columns, MAX_CUBES as usize * UNITS as usize)
    }

    /// [`Gpu::histograms`] with at most `per_launch` values per launch.
    pub(crate) fn histograms_in_launches(
        &self,
        columns: &[BinnedColumn<'_>],
        per_launch: usize,
    ) -> KernelResult<Vec<HistogramCounts>> {
        let total: usize = columns.iter().map(|c| c.values.len()).sum();
        if columns.is_empty() || total == 0 {
            return Ok(crate::histogram::histograms_plain(columns));
        }
        to_u32(total)?;
        let (mut keys_hi, mut keys_lo) = (Vec::with_capacity(total), Vec::with_capacity(total));
        let (mut edges_hi, mut edges_lo) = (Vec::new(), Vec::new());
        let (mut column_starts, mut edge_starts) = (vec![0u32], vec![0u32]);
        for column in columns {
            for value in column.values {
                let key = order_key(*value);
                keys_hi.push((key >> 32) as u32);
                keys_lo.push(key as u32);
            }
            for edge in column.edges {
                let key = order_key(*edge);
                edges_hi.push((key >> 32) as u32);
                edges_lo.push(key as u32);
            }
            column_starts.push(keys_hi.len() as u32);
            edge_starts.push(to_u32(edges_hi.len())?);
        }
        // WebGPU has no empty buffers; an absent edge list gets one unused slot.
        if edges_hi.is_empty() {
            edges_hi.push(0);
            edges_lo.push(0);
        }
        let slots = edges_hi.len() + 2 * columns.len() + 2;
        let counts = guarded(|| {
            let client = &self.client;
            let upload = |values: &[u32]| client.create_from_slice(u32::as_bytes(values));
            let handles = [
                upload(&keys_hi),
                upload(&keys_lo),
                upload(&column_starts),
                upload(&edges_hi),
                upload(&edges_lo),
                upload(&edge_starts),
            ];
            let out = upload(&vec![0u32; slots]);
            // Every call below passes the length of the slice `handles[index]`
            // was uploaded from.
            // SAFETY: a buffer argument's length must not exceed its buffer; see above.
            let arg = |index: usize, len: usize| unsafe {
                BufferArg::from_raw_parts(handles[index].clone(), len)
            };
            let mut offset = 0;
            while offset < total {
                let here = per_launch.min(total - offset);
                kernels::rank_counts::launch(
                    client,
                    cubes(here)?,
                    CubeDim::new_1d(UNITS),
                    arg(0, total),
                    arg(1, total),
                    arg(2, column_starts.len()),
                    arg(3, edges_hi.len()),
                    arg(4, edges_lo.len()),
                    arg(5, edge_starts.len()),
                    // SAFETY: `out` was uploaded from a vector of `slots` u32s.
                    unsafe { BufferArg::from_raw_parts(out.clone(), slots) },
                    to_u32(columns.len())?,
                    to_u32(offset)?,
                    to_u32(here)?,
                );
                offset += here;
            }
            let bytes = client.read_one(out).map_err(|e| format!("{e:?}"))?;
            Ok(u32::from_bytes(&bytes).to_vec())
        })?;
        Ok(columns
            .iter()
            .enumerate()
            .map(|(c, column)| {
                let base = edge_starts[c] as usize + 2 * c;
                let ranks = column.edges.len() + 1;
                HistogramCounts {
                    by_rank: counts[base..base + ranks]
                        .iter()
                        .map(|v| u64::from(*v))
                        .collect(),
                    missing: u64::from(counts[base + ranks]),
                }
            })
            .collect())
    }
}

/// Runs device work, turning a CubeCL or driver panic into an error so
/// that the caller can fall back to the plain code.
fn guarded<T>(work: impl FnOnce() -> KernelResult<T>) -> KernelResult<T> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(panic) => Err(panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the GPU kernel panicked".into())),
    }
}

/// A 1-D dispatch covering `units` units, or an error past the device limit.
fn cubes(units: usize) -> KernelResult<CubeCount> {
    let count = units.div_ceil(UNITS as usize).max(1);
    if count > MAX_CUBES as usize {
        return Err(format!(
            "{units} values exceed one dispatch ({} units)",
            MAX_CUBES as usize * UNITS as usize
        ));
    }
    Ok(CubeCount::Static(count as u32, 1, 1))
}

fn to_u32(value: usize) -> KernelResult<u32> {
    u32::try_from(value).map_err(|_| format!("{value} does not fit the kernel's 32-bit indices"))
}

#[cfg(test)]
mod tests;
