//! `smelt autopilot` as a user runs it: a search on a shipped dataset, its
//! leaderboard, the registered model predicting through `smelt predict`, the
//! same job queued on a server, and bad input.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;

fn dataset(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../datasets")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn autopilot_registers_a_model_that_predicts_and_prints_its_leaderboard() {
    let home = tempfile::tempdir().unwrap();
    let outcome = smelt_json(
        home.path(),
        &[
            "autopilot",
            "--data",
            &dataset("breast_cancer.train.csv"),
            "--test",
            &dataset("breast_cancer.test.csv"),
            "--target",
            "target",
            "--max-trials",
            "10",
            "--time-budget",
            "5m",
            "--register",
            "cancer",
            "--alias",
            "champion",
            "--quiet",
        ],
    );
    assert_eq!(outcome["problem_type"], "binary");
    assert_eq!(outcome["metric"], "f1");
    assert!(
        outcome["test_metrics"]["accuracy"].as_f64().unwrap() >= 0.93,
        "{outcome}"
    );
    let run_id = outcome["run_id"].as_str().unwrap();

    // The leaderboard command prints the saved leaderboard.
    let text = smelt_ok(home.path(), &["autopilot", "leaderboard", run_id]);
    assert!(text.contains("trials:"), "{text}");
    assert!(
        text.contains(outcome["best_model"].as_str().unwrap()),
        "{text}"
    );
    let board = smelt_json(home.path(), &["autopilot", "leaderboard", run_id]);
    assert_eq!(board, outcome["leaderboard"]);

    // The registered model predicts through the same path as any other.
    let predictions = home.path().join("predictions.csv");
    smelt_ok(
        home.path(),
        &[
            "predict",
            "--model",
            "models:/cancer@champion",
            "--input",
            &dataset("breast_cancer.test.csv"),
            "--output",
            predictions.to_str().unwrap(),
        ],
    );
    let written = std::fs::read_to_string(&predictions).unwrap();
    assert_eq!(written.lines().count(), 143 + 1, "one row per test row");
    assert!(written.lines().next().unwrap().contains("prediction"));
}

#[test]
fn autopilot_jobs_run_on_a_server() {
    let home = tempfile::tempdir().unwrap();
    // The job reads the shipped datasets, which the operator allows.
    let datasets = dataset("");
    let server = Server::start(home.path(), &["--data-roots", &datasets]);
    let job_id = smelt_ok(
        home.path(),
        &[
            "autopilot",
            "--data",
            &dataset("iris.train.csv"),
            "--target",
            "target",
            "--max-trials",
            "6",
            "--learners",
            "gaussian_nb,logistic_regression,decision_tree",
            "--server",
            &server.uri(),
            "--quiet",
        ],
    )
    .trim()
    .to_string();
    let deadline = Instant::now() + Duration::from_secs(300);
    let record = loop {
        let record = smelt_json(
            home.path(),
            &["jobs", "status", &job_id, "--server", &server.uri()],
        );
        let status = record["status"].as_str().unwrap_or_default().to_string();
        if status == "SUCCEEDED" || status == "FAILED" {
            break record;
        }
        assert!(Instant::now() < deadline, "{record}\n{}", server.log_text());
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(record["status"], "SUCCEEDED", "{record}");
    assert_eq!(record["model"], "autopilot");
    let logs = smelt_ok(
        home.path(),
        &["jobs", "logs", &job_id, "--server", &server.uri()],
    );
    assert!(logs.contains("trial 1 gaussian_nb finished"), "{logs}");
    let run_id = record["run_id"].as_str().unwrap();
    let board = smelt_json(
        home.path(),
        &[
            "autopilot",
            "leaderboard",
            run_id,
            "--tracking-uri",
            &server.uri(),
        ],
    );
    assert_eq!(board["trials_started"], 6);
}

#[test]
fn bad_autopilot_input_exits_non_zero_with_a_message() {
    let home = tempfile::tempdir().unwrap();
    let output = smelt(
        home.path(),
        &[
            "autopilot",
            "--data",
            &dataset("iris.train.csv"),
            "--target",
            "nope",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("nope"), "{err}");

    let output = smelt(
        home.path(),
        &[
            "autopilot",
            "--data",
            &dataset("iris.train.csv"),
            "--target",
            "target",
            "--time-budget",
            "soon",
        ],
    );
    assert_eq!(output.status.code(), Some(2), "a usage error");
    assert!(
        stderr(&output).contains("not a duration"),
        "{}",
        stderr(&output)
    );

    let output = smelt(
        home.path(),
        &[
            "autopilot",
            "--data",
            &dataset("iris.train.csv"),
            "--target",
            "target",
            "--learners",
            "xgboost",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("unknown learner 'xgboost'"),
        "{}",
        stderr(&output)
    );

    let output = smelt(
        home.path(),
        &["autopilot", "leaderboard", "0123456789abcdef"],
    );
    assert_eq!(output.status.code(), Some(1));
}
