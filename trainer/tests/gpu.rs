//! The GPU code path: a small job trained on Burn's wgpu backend (Vulkan on
//! Linux). On a
//! machine with a GPU this is the GPU; in CI it is Mesa's software Vulkan
//! driver (lavapipe), which proves the same code path without one. Built only
//! with the `gpu` feature; skipped when no Vulkan driver is installed unless
//! SMELT_REQUIRE_GPU_PATH=1 (set by scripts/test.sh), where that fails.

#![cfg(feature = "gpu")]

mod common;

use common::Home;

#[test]
fn a_job_trains_on_the_gpu_device_and_serves_on_cpu() {
    if let Err(error) = smelt_trainer::device::select("gpu") {
        assert!(
            std::env::var("SMELT_REQUIRE_GPU_PATH").is_err(),
            "SMELT_REQUIRE_GPU_PATH is set but the Vulkan device is unavailable: {error}"
        );
        eprintln!("skipping: {error}");
        return;
    }
    let home = Home::new();
    let spec = r#"
        [data]
        train = "iris.train.csv"
        validation = "iris.test.csv"
        target = "target"
        [model]
        kind = "mlp"
        hidden = [16]
        [training]
        epochs = 40
        batch_size = 16
        learning_rate = 0.01
        device = "gpu"
    "#;
    let outcome = home.train(spec).unwrap();
    // The final metrics come from the saved model evaluated on the CPU
    // (burn-flex): weights trained on the GPU load and predict there.
    assert!(
        outcome.metrics["val_accuracy"] >= 0.9,
        "{:?}",
        outcome.metrics
    );
    let run = home
        .runtime
        .block_on(home.tracking.store.get_run(&outcome.run_id))
        .unwrap();
    let device = run
        .data
        .tags
        .iter()
        .find(|t| t.key == "smelt.device")
        .unwrap();
    assert_eq!(device.value, "gpu (burn wgpu)");
    // The last epoch's validation accuracy was measured on the GPU device; the
    // two may differ by a borderline row (float rounding), not more.
    let history = home
        .runtime
        .block_on(home.tracking.store.get_metric_history(
            &outcome.run_id,
            "val_accuracy",
            None,
            None,
        ))
        .unwrap();
    let on_gpu = history.items.last().unwrap().value;
    assert!(
        (on_gpu - outcome.metrics["val_accuracy"]).abs() <= 1.0 / 38.0 + 1e-9,
        "gpu {on_gpu} vs cpu {:?}",
        outcome.metrics
    );
}
