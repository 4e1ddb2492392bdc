//! `smelt train` and `smelt predict` end to end on the real binary: a job
//! spec to a registered model to predictions, resume after SIGKILL, and bad
//! input that ends with a clear error and no run.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn dataset(name: &str) -> String {
    repo().join("datasets").join(name).display().to_string()
}

#[test]
fn train_register_and_predict() {
    let home = tempfile::tempdir().unwrap();
    let out = smelt_ok(
        home.path(),
        &[
            "train",
            "--data",
            &dataset("wine.train.csv"),
            "--validation",
            &dataset("wine.test.csv"),
            "--target",
            "target",
            "--model",
            "mlp",
            "--param",
            "hidden=[32]",
            "--epochs",
            "60",
            "--experiment",
            "wine",
            "--register",
            "wine",
            "--alias",
            "champion",
            "--quiet",
        ],
    );
    assert!(out.contains("registered models:/wine/1"), "{out}");
    assert!(out.contains("val_accuracy"), "{out}");

    let preds = home.path().join("preds.csv");
    let output = smelt(
        home.path(),
        &[
            "predict",
            "--model",
            "models:/wine@champion",
            "--input",
            &dataset("wine.test.csv"),
            "--output",
            preds.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = std::fs::read_to_string(&preds).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("prediction,probability_class_0,probability_class_1,probability_class_2")
    );
    let predicted: Vec<String> = lines
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    let truth: Vec<String> = std::fs::read_to_string(dataset("wine.test.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().to_string())
        .collect();
    assert_eq!(predicted.len(), truth.len());
    let correct = predicted.iter().zip(&truth).filter(|(p, t)| p == t).count();
    assert!(
        correct as f64 / truth.len() as f64 >= 0.9,
        "{correct}/{}",
        truth.len()
    );

    // The same model by run URI and as a downloaded folder, as JSON.
    let runs = smelt_json(home.path(), &["runs", "list", "--experiment", "wine"]);
    let run_id = runs[0]["info"]["run_id"]
        .as_str()
        .or(runs[0]["run_id"].as_str())
        .unwrap()
        .to_string();
    let json = smelt_json(
        home.path(),
        &[
            "predict",
            "--model",
            &format!("runs:/{run_id}/model"),
            "--input",
            &dataset("wine.test.csv"),
        ],
    );
    assert_eq!(json.as_array().unwrap().len(), truth.len());
    assert!(json[0]["probabilities"]["class_0"].is_number());

    // A downloaded model folder predicts the same, with no tracking store at all.
    let folder = home.path().join("wine-model");
    smelt_ok(
        home.path(),
        &[
            "artifacts",
            "download",
            "--uri",
            "models:/wine@champion",
            "--dst",
            folder.to_str().unwrap(),
        ],
    );
    let offline = tempfile::tempdir().unwrap();
    let again = smelt_json(
        offline.path(),
        &[
            "predict",
            "--model",
            folder.to_str().unwrap(),
            "--input",
            &dataset("wine.test.csv"),
        ],
    );
    assert_eq!(again, json);
}

/// `smelt train --help` lists every registered family, and a family's
/// synonym and the autopilot's boosted trees train from the flags.
#[test]
fn help_lists_every_family_and_synonyms_and_gbdt_train() {
    let home = tempfile::tempdir().unwrap();
    let help = smelt_ok(home.path(), &["train", "--help"]);
    for kind in smelt_trainer::families::kinds() {
        assert!(help.contains(kind), "{kind} missing from:\n{help}");
    }
    for (kind, saved) in [("logistic", "logistic_regression"), ("gbdt", "gbdt")] {
        let home = tempfile::tempdir().unwrap();
        let out = smelt_ok(
            home.path(),
            &[
                "train",
                "--data",
                &dataset("iris.train.csv"),
                "--validation",
                &dataset("iris.test.csv"),
                "--target",
                "target",
                "--model",
                kind,
                "--experiment",
                kind,
                "--quiet",
                "--json",
            ],
        );
        let outcome: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(
            outcome["metrics"]["val_accuracy"].as_f64().unwrap() > 0.8,
            "{out}"
        );
        let descriptors = model_descriptors(home.path());
        assert!(!descriptors.is_empty(), "no model.json under the home");
        for descriptor in descriptors {
            assert_eq!(descriptor["model_type"], saved, "{descriptor}");
        }
    }
}

/// Every `model.json` under `dir`, parsed.
fn model_descriptors(dir: &Path) -> Vec<serde_json::Value> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(model_descriptors(&path));
        } else if path.file_name().is_some_and(|n| n == "model.json") {
            let text = std::fs::read_to_string(&path).unwrap();
            found.push(serde_json::from_str(&text).unwrap());
        }
    }
    found
}

#[test]
fn a_killed_job_resumes_in_the_same_run() {
    let home = tempfile::tempdir().unwrap();
    // Data paths relative to the spec's folder: the resumed job has no spec
    // file, so the run must have saved where they really are.
    let data = home.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for name in ["digits.train.csv", "digits.test.csv"] {
        std::fs::copy(dataset(name), data.join(name)).unwrap();
    }
    let spec = home.path().join("job.toml");
    std::fs::write(
        &spec,
        format!(
            r#"
            [data]
            train = {train:?}
            validation = {test:?}
            target = "target"
            [model]
            kind = "mlp"
            hidden = [256, 256]
            [training]
            epochs = 60
            batch_size = 16
            checkpoint_every = 1
            log_every = 20
            [tracking]
            experiment = "resume"
            "#,
            train = "data/digits.train.csv",
            test = "data/digits.test.csv",
        ),
    )
    .unwrap();
    let mut child = smelt_command(home.path())
        .args(["train", spec.to_str().unwrap(), "--quiet"])
        .spawn()
        .unwrap();
    // Wait for the second checkpoint, then kill without warning.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Some(state) = find_file(home.path(), "state.json") {
            let text = std::fs::read_to_string(&state).unwrap_or_default();
            if text.contains("\"epoch\": 2") || text.contains("\"epoch\": 3") {
                break;
            }
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "training ended before it could be killed"
        );
        assert!(Instant::now() < deadline, "no checkpoint appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let runs = smelt_json(home.path(), &["runs", "list", "--experiment", "resume"]);
    let run = &runs[0];
    let run_id = run["info"]["run_id"]
        .as_str()
        .or(run["run_id"].as_str())
        .unwrap()
        .to_string();
    let before = metric_steps(home.path(), &run_id, "val_accuracy");
    assert!(
        !before.is_empty() && *before.last().unwrap() < 60,
        "{before:?}"
    );

    let out = smelt_ok(
        home.path(),
        &["train", "--resume", &run_id, "--epochs", "6", "--quiet"],
    );
    assert!(out.contains(&run_id), "{out}");
    let after = metric_steps(home.path(), &run_id, "val_accuracy");
    let mut distinct = after.clone();
    distinct.dedup();
    assert_eq!(
        distinct,
        (1..=6).collect::<Vec<i64>>(),
        "steps after resume: {after:?}"
    );
    let shown = smelt_json(home.path(), &["runs", "show", &run_id]);
    let status = shown["info"]["status"]
        .as_str()
        .or(shown["status"].as_str())
        .unwrap();
    assert_eq!(status, "FINISHED");
}

#[test]
fn bad_input_fails_clearly_without_a_run() {
    let home = tempfile::tempdir().unwrap();
    let bad = home.path().join("bad.csv");
    std::fs::write(&bad, "a,b\n1,x\n2,y\n").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--data".into(),
                bad.display().to_string(),
                "--target".into(),
                "c".into(),
            ],
            "unknown column 'c'",
        ),
        (
            vec![
                "--data".into(),
                dataset("iris.csv"),
                "--target".into(),
                "target".into(),
                "--model".into(),
                "xgboost".into(),
            ],
            "unknown model kind 'xgboost'",
        ),
        (
            vec![
                "--data".into(),
                dataset("iris.csv"),
                "--target".into(),
                "target".into(),
                "--model".into(),
                "lasso".into(),
            ],
            "cannot do classification",
        ),
        (
            vec![
                "--data".into(),
                dataset("iris.csv"),
                "--target".into(),
                "target".into(),
                "--device".into(),
                "tpu".into(),
            ],
            "unknown device 'tpu'",
        ),
        (
            vec![home.path().join("missing.toml").display().to_string()],
            "cannot read the job spec",
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec!["train".to_string(), "--quiet".to_string()];
        all.extend(args);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let output = smelt(home.path(), &refs);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{all:?}: {err}");
        assert!(
            err.contains(expected),
            "{all:?}: expected '{expected}' in {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let experiments = smelt_json(home.path(), &["runs", "list", "--experiment", "Default"]);
    assert_eq!(
        experiments.as_array().map_or(0, Vec::len),
        0,
        "{experiments}"
    );

    let output = smelt(
        home.path(),
        &[
            "predict",
            "--model",
            home.path().to_str().unwrap(),
            "--input",
            &dataset("iris.csv"),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no MLmodel file"),
        "{}",
        stderr(&output)
    );
}

fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name)
            && path.parent().is_some_and(|p| p.ends_with("checkpoints"))
        {
            return Some(path);
        }
    }
    None
}

fn metric_steps(home: &Path, run_id: &str, key: &str) -> Vec<i64> {
    let history = smelt_json(home, &["runs", "history", run_id, key]);
    history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["step"].as_i64().unwrap())
        .collect()
}
