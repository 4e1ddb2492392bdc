//! Parity of the MMD² statistic with a NumPy transcription of its formula
//! (reference standardisation, median-heuristic bandwidth on the pooled
//! sample, unbiased U-statistic), to 1e-9 relative. The 5,000 vs 5,000 × 25
//! timing is a benchmark: `cargo bench -p smelt-monitor --bench mmd`.
//!
//! Without `SMELT_TEST_VENV` the parity test prints "skipped" and passes,
//! unless `SMELT_REQUIRE_PEERS=1`, when it fails.

use std::process::Command;

use serde_json::{Value, json};
use smelt_monitor::drift::Mmd;

mod common;
use common::Generator;

/// Largest relative error accepted against NumPy.
const TOLERANCE: f64 = 1e-9;

/// The NumPy side: the documented formula written out, no library MMD.
const NUMPY_SCRIPT: &str = r#"
import json, sys
import numpy as np

out = {}
for case in json.load(open(sys.argv[1])):
    d = case["columns"]
    ref = np.asarray(case["reference"], dtype=np.float64).reshape(-1, d)
    cur = np.asarray(case["current"], dtype=np.float64).reshape(-1, d)
    m, n = len(ref), len(cur)
    mu, sd = ref.mean(axis=0), ref.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    z = (np.vstack([ref, cur]) - mu) / sd
    d2 = ((z[:, None, :] - z[None, :, :]) ** 2).sum(axis=-1)
    med = np.median(d2[np.triu_indices(m + n, 1)])
    k = np.exp(-d2 / med)
    kxx, kyy, kxy = k[:m, :m], k[m:, m:], k[:m, m:]
    mmd2 = ((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
            + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2.0 * kxy.mean())
    out[case["name"]] = {"mmd2": float(mmd2), "sigma": float(np.sqrt(med / 2))}
json.dump(out, open(sys.argv[2], "w"))
"#;

/// xorshift64* with Box–Muller normals (as in `scipy_parity.rs`).
/// `(name, m, n, columns, shift of column 0, column scales)`.
type Spec = (&'static str, usize, usize, usize, f64, &'static [f64]);

#[test]
fn mmd_statistic_matches_numpy() {
    let venv = match std::env::var("SMELT_TEST_VENV") {
        Ok(value) if !value.is_empty() => value,
        _ => {
            assert!(
                std::env::var("SMELT_REQUIRE_PEERS").as_deref() != Ok("1"),
                "SMELT_TEST_VENV is not set but SMELT_REQUIRE_PEERS=1: run scripts/test.sh"
            );
            eprintln!("skipped: SMELT_TEST_VENV is not set (scripts/test.sh sets it)");
            return;
        }
    };
    let mut generator = Generator(0x5EED_0006);
    // (name, m, n, columns, shift, column scales): 1-D, mixed scales (where
    // standardising matters), unequal sizes, odd and even pair counts.
    let specs: [Spec; 4] = [
        ("one_column", 120, 90, 1, 0.4, &[1.0]),
        ("mixed_scales", 300, 300, 5, 0.3, &[1.0, 1000.0, 0.01]),
        ("unequal", 257, 140, 3, 0.8, &[2.0, 0.5]),
        ("wide", 400, 350, 25, 0.25, &[1.0, 50.0]),
    ];
    let cases: Vec<(&str, usize, Vec<f64>, Vec<f64>)> = specs
        .iter()
        .map(|(name, m, n, columns, shift, scales)| {
            let reference = generator.rows(*m, *columns, 0.0, scales);
            let current = generator.rows(*n, *columns, *shift, scales);
            (*name, *columns, reference, current)
        })
        .collect();
    let input: Vec<Value> = cases
        .iter()
        .map(|(name, columns, reference, current)| {
            json!({"name": name, "columns": columns, "reference": reference, "current": current})
        })
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let (script, input_path, output_path) = (
        dir.path().join("mmd_reference.py"),
        dir.path().join("cases.json"),
        dir.path().join("references.json"),
    );
    std::fs::write(&script, NUMPY_SCRIPT).expect("write script");
    std::fs::write(&input_path, Value::Array(input).to_string()).expect("write cases");
    let output = Command::new(format!("{venv}/bin/python"))
        .args([&script, &input_path, &output_path])
        .output()
        .expect("run the venv's python");
    assert!(
        output.status.success(),
        "NumPy reference script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let references: Value =
        serde_json::from_str(&std::fs::read_to_string(&output_path).expect("read references"))
            .expect("references are JSON");
    let mut worst = 0.0f64;
    for (name, columns, reference, current) in &cases {
        let report = Mmd::default()
            .compute_rows(reference, current, *columns)
            .expect("valid case");
        for (key, ours) in [("mmd2", report.mmd2), ("sigma", report.sigma)] {
            let theirs = references[*name][key].as_f64().expect("a float");
            let error = (ours - theirs).abs() / theirs.abs();
            eprintln!("{name} {key}: ours {ours:.17e} numpy {theirs:.17e} rel {error:.2e}");
            assert!(error <= TOLERANCE, "{name} {key}: relative error {error:e}");
            worst = worst.max(error);
        }
    }
    eprintln!("worst MMD relative error vs NumPy: {worst:.2e}");
}
