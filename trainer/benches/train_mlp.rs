//! Training speed of a Burn MLP on CPU against scikit-learn's MLPClassifier,
//! both in this run, on the same synthetic data:
//!
//!     cargo bench -p smelt-trainer --bench train_mlp
//!
//! 100,000 rows × 50 features, binary; MLP 64-64, ReLU, Adam (lr 1e-3),
//! batch 256, 3 epochs, no validation. Prints samples/s for each and the
//! ratio. scikit-learn runs from the test venv (`SMELT_VENV`, default
//! ~/.cache/smelt/venv; `./scripts/test.sh` creates it); set BENCH_EPOCHS or
//! BENCH_ROWS to change the size.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use smelt_models::nets::{Architecture, MlpSpec, NetSpec};
use smelt_models::{EncodedTarget, Features, Task};
use smelt_trainer::TrainResult;
use smelt_trainer::net_training::{Checkpoint, LoopObserver, NetTraining, predict_raw, train_net};
use smelt_trainer::spec::TrainingSpec;

const FEATURES: usize = 50;

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
    let batch = 256;

    // y = 1 when a fixed random projection plus noise is positive.
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
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
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("synthetic.csv");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
        let header: Vec<String> = (0..FEATURES)
            .map(|i| format!("x{i}"))
            .chain(["y".into()])
            .collect();
        writeln!(file, "{}", header.join(",")).unwrap();
        for (r, label) in y.iter().enumerate() {
            let cells: Vec<String> = x[r * FEATURES..(r + 1) * FEATURES]
                .iter()
                .map(|v| format!("{v:.6}"))
                .collect();
            writeln!(file, "{},{label}", cells.join(",")).unwrap();
        }
    }

    let features = Features {
        rows,
        cols: FEATURES,
        values: x,
    };
    let task = Task::Classification {
        classes: vec!["0".into(), "1".into()],
    };
    let target = EncodedTarget::Classes(y.clone());
    let empty = Features {
        rows: 0,
        cols: FEATURES,
        values: Vec::new(),
    };
    let training = TrainingSpec {
        epochs,
        batch_size: batch,
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
            train_x: &features,
            train_y: &target,
            valid_x: &empty,
            valid_y: &EncodedTarget::Classes(Vec::new()),
            spec: &training,
            seed: 0,
            device: burn::tensor::Device::flex(),
            resume: None,
        },
        &mut Quiet,
    )
    .unwrap();
    let burn_seconds = start.elapsed().as_secs_f64();
    let probabilities = predict_raw(
        &trained.net,
        &features,
        &task,
        None,
        &burn::tensor::Device::flex(),
    );
    let correct = y
        .iter()
        .enumerate()
        .filter(|(r, label)| (probabilities[r * 2 + 1] > 0.5) == (**label == 1))
        .count();
    let burn_rate = (rows * epochs) as f64 / burn_seconds;
    println!(
        "burn-flex  MLP 64-64 relu adam batch {batch}: {rows} rows × {epochs} epochs in {burn_seconds:.2} s = {burn_rate:.0} samples/s (train accuracy {:.4})",
        correct as f64 / rows as f64
    );

    let venv = std::env::var("SMELT_VENV").unwrap_or_else(|_| {
        format!(
            "{}/.cache/smelt/venv",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/bench_sklearn_mlp.py"
    );
    let output = std::process::Command::new(format!("{venv}/bin/python"))
        .args([
            script,
            csv.to_str().unwrap(),
            &epochs.to_string(),
            &batch.to_string(),
        ])
        .output();
    match output {
        Ok(out) if out.status.success() => {
            let line = String::from_utf8_lossy(&out.stdout);
            let result: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
            let sk_rate = result["samples_per_s"].as_f64().unwrap();
            println!(
                "sklearn    MLPClassifier (64, 64) adam batch {batch}: {:.2} s = {sk_rate:.0} samples/s (train accuracy {:.4})",
                result["seconds"].as_f64().unwrap(),
                result["train_accuracy"].as_f64().unwrap()
            );
            println!("ratio      burn / sklearn = {:.2}×", burn_rate / sk_rate);
        }
        Ok(out) => println!(
            "sklearn run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => println!(
            "no sklearn peer ({venv}/bin/python: {e}); run ./scripts/test.sh once to create the venv"
        ),
    }
}
