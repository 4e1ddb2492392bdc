//! CPU inference of one MLP through burn-flex and through candle-core, from
//! the same safetensors file:
//!
//!     cargo bench -p smelt-models --features candle --bench inference
//!
//! The MLP of the training benchmark (50 inputs, 64-64 ReLU, 2 classes with
//! softmax); 1 row and 1,000 rows per call; the time includes building the
//! input tensor and reading the probabilities back, as serving does.
//! candle's matmul uses a rayon pool: RAYON_NUM_THREADS sets its size.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use smelt_models::candle_runtime::CandleRuntime;
use smelt_models::flavor::save_weights;
use smelt_models::nets::{Architecture, MlpSpec, NetSpec};
use smelt_models::{BurnRuntime, Features, RawOutput, Runtime, Task};

fn features(rows: usize, cols: usize, seed: u64) -> Features {
    let mut rng = rand_chacha_08::ChaCha8Rng::seed_from_u64(seed);
    Features {
        rows,
        cols,
        values: (0..rows * cols).map(|_| rng.gen_range(-2.0..2.0)).collect(),
    }
}

fn values(output: RawOutput) -> Vec<f64> {
    match output {
        RawOutput::Probabilities { values, .. } | RawOutput::Values(values) => values,
    }
}

/// Median microseconds per call over `calls` calls (after a warm-up).
fn time(runtime: &dyn Runtime, input: &Features, calls: usize) -> f64 {
    for _ in 0..calls.min(50) {
        runtime.forward(input).unwrap();
    }
    let mut samples: Vec<f64> = (0..calls)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(runtime.forward(input).unwrap());
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let architecture = Architecture {
        spec: NetSpec::Mlp(MlpSpec {
            hidden: vec![64, 64],
            ..MlpSpec::default()
        }),
        inputs: 50,
        outputs: 2,
    };
    let task = Task::Classification {
        classes: vec!["0".into(), "1".into()],
    };
    let device = burn::tensor::Device::flex();
    device.seed(0);
    let net = architecture.build(&device).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weights.safetensors");
    save_weights(&net, &path).unwrap();

    let burn = BurnRuntime::load(&architecture, &path, device, &task, None).unwrap();
    let candle = CandleRuntime::load(&architecture, &path, &task, None).unwrap();
    println!("MLP 50 → 64 → 64 → 2 (softmax), same weights.safetensors, median per call");
    for (rows, calls) in [(1usize, 20_000usize), (1000, 2_000)] {
        let input = features(rows, 50, rows as u64);
        let a = values(burn.forward(&input).unwrap());
        let b = values(candle.forward(&input).unwrap());
        let diff = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        let burn_us = time(&burn, &input, calls);
        let candle_us = time(&candle, &input, calls);
        println!(
            "{rows:>5} rows: burn-flex {burn_us:>9.1} µs ({:>10.0} rows/s)  candle {candle_us:>9.1} µs ({:>10.0} rows/s)  candle/burn {:.2}×  max |Δp| {diff:.1e}",
            rows as f64 / burn_us * 1e6,
            rows as f64 / candle_us * 1e6,
            candle_us / burn_us,
        );
    }
}
