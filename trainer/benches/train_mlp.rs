//! Training speed of a Burn MLP against scikit-learn's MLPClassifier (or
//! PyTorch), both in this run, on the same synthetic data:
//!
//!     cargo bench -p smelt-trainer --bench train_mlp
//!
//! 100,000 rows × 50 features, binary; MLP 64-64, ReLU, Adam (lr 1e-3),
//! batch 256, 3 epochs, no validation. Prints samples/s for each and the
//! ratio. The peer runs from the test venv (`SMELT_VENV`, default
//! ~/.cache/smelt/venv, which `./scripts/test.sh` creates) or `BENCH_PYTHON`.
//!
//! Knobs: BENCH_ROWS, BENCH_EPOCHS; BENCH_DEVICE=gpu (a build with
//! `--features gpu`) trains on that Burn backend and also on the CPU, and
//! checks that the accuracies agree; BENCH_PEER=torch compares with PyTorch
//! (`scripts/bench_torch_mlp.py`, on CUDA when available) instead of
//! scikit-learn. `scripts/gpu-bench.sh` packs and runs this on a GPU machine.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use rand::Rng;
use smelt_models::nets::{Architecture, MlpSpec, NetSpec};
use smelt_models::{EncodedTarget, Features, Task};
use smelt_trainer::TrainResult;
use smelt_trainer::net_training::{Checkpoint, LoopObserver, NetTraining, predict_raw, train_net};
use smelt_trainer::spec::TrainingSpec;

const FEATURES: usize = 50;
const BATCH: usize = 256;

struct Quiet;

impl LoopObserver for Quiet {
    fn iteration(&mut self, _: usize, _: usize, _: u64, _: f64) -> TrainResult<()> {
        Ok(())
    }
    fn epoch(&mut self, _: usize, _: &BTreeMap<String, f64>) -> TrainResult<()> {
        Ok(())
    }
    fn checkpoint(&mut self, _: usize, _: Checkpoint) -> TrainResult<()> {
        Ok(())
    }
    fn cancelled(&self) -> bool {
        false
    }
    fn start(&mut self, _: usize, _: usize) {}
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let rows = env_or("BENCH_ROWS", 100_000);
    let epochs = env_or("BENCH_EPOCHS", 3);
    let (features, y) = synthetic(rows);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("synthetic.csv");
    write_csv(&csv, &features, &y);

    let device = std::env::var("BENCH_DEVICE").unwrap_or_else(|_| "cpu".into());
    let (rate, accuracy) = train(&features, &y, epochs, &device);
    if device != "cpu" {
        let (cpu_rate, cpu_accuracy) = train(&features, &y, epochs, "cpu");
        let agree = (accuracy - cpu_accuracy).abs() <= 0.01;
        println!(
            "check      {device} accuracy {accuracy:.4} vs cpu {cpu_accuracy:.4}: {}; {device}/cpu speed {:.3}×",
            if agree { "match" } else { "MISMATCH" },
            rate / cpu_rate
        );
    }
    let peer = std::env::var("BENCH_PEER").unwrap_or_else(|_| "sklearn".into());
    run_peer(&peer, &csv, epochs, rate);
}

/// y = 1 when a fixed random projection plus noise is positive.
fn synthetic(rows: usize) -> (Features, Vec<usize>) {
    let mut rng = smelt_data::seeded_rng(0);
    let weights: Vec<f64> = (0..FEATURES).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut x = Vec::with_capacity(rows * FEATURES);
    let mut y = Vec::with_capacity(rows);
    for _ in 0..rows {
        let row: Vec<f64> = (0..FEATURES).map(|_| rng.random_range(-1.0..1.0)).collect();
        let score: f64 =
            row.iter().zip(&weights).map(|(a, b)| a * b).sum::<f64>() + rng.random_range(-0.5..0.5);
        y.push(usize::from(score > 0.0));
        x.extend(row);
    }
    (
        Features {
            rows,
            cols: FEATURES,
            values: x,
        },
        y,
    )
}

fn write_csv(path: &Path, features: &Features, y: &[usize]) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let header: Vec<String> = (0..FEATURES)
        .map(|i| format!("x{i}"))
        .chain(["y".into()])
        .collect();
    writeln!(file, "{}", header.join(",")).unwrap();
    for (r, label) in y.iter().enumerate() {
        let cells: Vec<String> = features.row(r).iter().map(|v| format!("{v:.6}")).collect();
        writeln!(file, "{},{label}", cells.join(",")).unwrap();
    }
}

/// Trains the benchmark MLP on `device`; returns (samples/s, train accuracy).
fn train(features: &Features, y: &[usize], epochs: usize, device_name: &str) -> (f64, f64) {
    let device = smelt_trainer::device::select(device_name).unwrap_or_else(|e| panic!("{e}"));
    let task = Task::Classification {
        classes: vec!["0".into(), "1".into()],
    };
    let target = EncodedTarget::Classes(y.to_vec());
    let empty = Features {
        rows: 0,
        cols: FEATURES,
        values: Vec::new(),
    };
    let training = TrainingSpec {
        epochs,
        batch_size: BATCH,
        learning_rate: 1e-3,
        checkpoint_every: 0,
        log_every: 0,
        ..TrainingSpec::default()
    };
    let start = Instant::now();
    let trained = train_net(
        NetTraining {
            architecture: Architecture {
                spec: NetSpec::Mlp(MlpSpec {
                    hidden: vec![64, 64],
                    ..MlpSpec::default()
                }),
                inputs: FEATURES,
                outputs: 2,
            },
            task: &task,
            train_x: features,
            train_y: &target,
            valid_x: &empty,
            valid_y: &EncodedTarget::Classes(Vec::new()),
            spec: &training,
            seed: 0,
            device: device.clone(),
            resume: None,
        },
        &mut Quiet,
    )
    .unwrap();
    let seconds = start.elapsed().as_secs_f64();
    let probabilities = predict_raw(&trained.net, features, &task, None, &device);
    let correct = y
        .iter()
        .enumerate()
        .filter(|(r, label)| (probabilities[r * 2 + 1] > 0.5) == (**label == 1))
        .count();
    let rows = features.rows;
    let rate = (rows * epochs) as f64 / seconds;
    let accuracy = correct as f64 / rows as f64;
    println!(
        "burn {device_name:<5} MLP 64-64 relu adam batch {BATCH}: {rows} rows × {epochs} epochs in {seconds:.2} s = {rate:.0} samples/s (train accuracy {accuracy:.4})"
    );
    (rate, accuracy)
}

/// Runs the peer on the same CSV and prints the ratio.
fn run_peer(peer: &str, csv: &Path, epochs: usize, burn_rate: f64) {
    let home = std::env::var("HOME").unwrap_or_default();
    let venv = std::env::var("SMELT_VENV").unwrap_or_else(|_| format!("{home}/.cache/smelt/venv"));
    let python = std::env::var("BENCH_PYTHON").unwrap_or_else(|_| format!("{venv}/bin/python"));
    let scripts = std::env::var("BENCH_SCRIPTS")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts").to_string());
    let script = format!("{scripts}/bench_{peer}_mlp.py");
    let output = std::process::Command::new(&python)
        .args([
            script.as_str(),
            csv.to_str().unwrap(),
            &epochs.to_string(),
            &BATCH.to_string(),
        ])
        .output();
    match output {
        Ok(out) if out.status.success() => {
            let line = String::from_utf8_lossy(&out.stdout);
            let result: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
            let peer_rate = result["samples_per_s"].as_f64().unwrap();
            println!(
                "{peer:<10} MLP (64, 64) adam batch {BATCH}{}: {:.2} s = {peer_rate:.0} samples/s (train accuracy {:.4})",
                result["device"]
                    .as_str()
                    .map(|d| format!(" on {d}"))
                    .unwrap_or_default(),
                result["seconds"].as_f64().unwrap(),
                result["train_accuracy"].as_f64().unwrap()
            );
            println!("ratio      burn / {peer} = {:.2}×", burn_rate / peer_rate);
        }
        Ok(out) => println!(
            "{peer} run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => println!(
            "no {peer} peer ({python}: {e}); for scikit-learn run ./scripts/test.sh once to create the venv"
        ),
    }
}
