//! Choosing the Burn device a job trains on, at run time. `cpu` is Burn's
//! pure-Rust `flex` backend and always present. With the `gpu` feature,
//! `gpu` (= `wgpu`) is Burn's wgpu backend with WGSL shaders on the API
//! wgpu picks (Vulkan on Linux); with `gpu-spirv`, `vulkan` pins Vulkan with
//! Burn's SPIR-V compiler. GPU devices are probed once, so that a missing
//! driver is a clear error instead of a panic deep inside a training step.

use burn::prelude::*;

use crate::error::{TrainError, TrainResult};

/// The device named by a job spec.
pub fn select(name: &str) -> TrainResult<Device> {
    match name.trim().to_ascii_lowercase().as_str() {
        "cpu" | "flex" => Ok(Device::flex()),
        "gpu" | "wgpu" | "vulkan" => gpu(name),
        other => Err(TrainError::Device(format!(
            "unknown device '{other}': use `cpu` (always available) or `gpu` / `vulkan` / `wgpu` (builds with the `gpu` feature)"
        ))),
    }
}

/// A short description for the run's `smelt.device` tag.
pub fn describe(name: &str) -> String {
    match name.trim().to_ascii_lowercase().as_str() {
        "cpu" | "flex" => "cpu (burn-flex)".to_string(),
        "vulkan" => "gpu (burn vulkan, spir-v)".to_string(),
        _ => "gpu (burn wgpu)".to_string(),
    }
}

#[cfg(feature = "gpu")]
fn gpu(name: &str) -> TrainResult<Device> {
    let device = match name.trim().to_ascii_lowercase().as_str() {
        #[cfg(feature = "gpu-spirv")]
        "vulkan" => Device::vulkan(DeviceKind::DefaultDevice),
        #[cfg(not(feature = "gpu-spirv"))]
        "vulkan" => {
            return Err(TrainError::Device(
                "device 'vulkan' (Burn's SPIR-V path) needs a build with `--features gpu-spirv`; `gpu` uses Vulkan through WGSL".into(),
            ));
        }
        _ => Device::wgpu(DeviceKind::DefaultDevice),
    };
    // wgpu initialises lazily and panics when no adapter exists; run one tiny
    // operation now, where the failure can be caught and explained.
    let probe = device.clone();
    let result = std::panic::catch_unwind(move || {
        let t = Tensor::<1>::from_floats([1.0, 2.0], &probe);
        t.sum().into_scalar::<f32>()
    });
    match result {
        Ok(sum) if (sum - 3.0).abs() < 1e-6 => Ok(device),
        Ok(sum) => Err(TrainError::Device(format!(
            "the {name} device computed 1 + 2 = {sum}; its driver is broken"
        ))),
        Err(_) => Err(TrainError::Device(format!(
            "no {name} adapter: install the GPU's Vulkan driver (on Debian, a software one is in mesa-vulkan-drivers), or train with device = \"cpu\""
        ))),
    }
}

#[cfg(not(feature = "gpu"))]
fn gpu(name: &str) -> TrainResult<Device> {
    Err(TrainError::Device(format!(
        "device '{name}' needs a Smelt built with GPU support: `cargo build --release --features gpu`; or train with device = \"cpu\""
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_devices_are_named() {
        let error = select("tpu").unwrap_err().to_string();
        assert!(error.starts_with("unknown device 'tpu'"), "{error}");
        assert!(select("CPU").is_ok());
    }

    #[cfg(not(feature = "gpu"))]
    #[test]
    fn gpu_devices_need_the_gpu_feature() {
        let error = select("gpu").unwrap_err().to_string();
        assert!(error.contains("--features gpu"), "{error}");
    }
}
