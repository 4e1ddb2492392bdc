//! Training jobs on a running `smelt server`: submit and follow, cancel
//! (run ends KILLED), and a job that survives the server being SIGKILLed
//! (re-queued on restart and resumed from its checkpoint, in the same run).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn dataset(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../datasets")
        .join(name)
        .display()
        .to_string()
}

fn write_spec(dir: &Path, name: &str, epochs: usize, hidden: &str, register: bool) -> PathBuf {
    let path = dir.join(name);
    let register = if register {
        "[register]\nname = \"wine\"\nalias = \"champion\"\n"
    } else {
        ""
    };
    // Data paths relative to the spec's folder: the server (another working
    // directory) reads them only if `jobs submit` sends them absolute.
    for file in ["wine.train.csv", "wine.test.csv"] {
        std::fs::copy(dataset(file), dir.join(file)).unwrap();
    }
    std::fs::write(
        &path,
        format!(
            "[data]\ntrain = \"wine.train.csv\"\nvalidation_fraction = 0.25\ntest = \"wine.test.csv\"\ntarget = \"target\"\n[model]\nkind = \"mlp\"\nhidden = {hidden}\n[training]\nepochs = {epochs}\nbatch_size = 8\n[tracking]\nexperiment = \"jobs\"\n{register}",
        ),
    )
    .unwrap();
    path
}

/// The server reads job data only under `--data-roots`: the test's folder,
/// where `write_spec` puts the files.
fn data_root(dir: &tempfile::TempDir) -> String {
    dir.path().display().to_string()
}

fn run_status(home: &Path, run_id: &str) -> String {
    let run = smelt_json(home, &["runs", "show", run_id]);
    run["info"]["status"].as_str().unwrap().to_string()
}

#[test]
fn jobs_run_on_the_server_and_can_be_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let server = Server::start(
        &home,
        &["--job-workers", "1", "--data-roots", &data_root(&dir)],
    );

    let spec = write_spec(dir.path(), "small.toml", 5, "[16]", true);
    let out = smelt(
        &home,
        &[
            "jobs",
            "submit",
            spec.to_str().unwrap(),
            "--wait",
            "--server",
            &server.uri(),
        ],
    );
    assert!(
        out.status.success(),
        "{}\n{}",
        stderr(&out),
        server.log_text()
    );
    let printed = stdout(&out);
    assert!(printed.contains("SUCCEEDED"), "{printed}");
    assert!(printed.contains("models:/wine/1"), "{printed}");
    assert!(
        stderr(&out).contains("epoch 5/5"),
        "the log is followed: {}",
        stderr(&out)
    );

    let jobs = smelt_json(&home, &["jobs", "list", "--server", &server.uri()]);
    assert_eq!(jobs.as_array().unwrap().len(), 1);
    let run_id = jobs[0]["run_id"].as_str().unwrap().to_string();
    assert_eq!(run_status(&home, &run_id), "FINISHED");
    let run = smelt_json(&home, &["runs", "show", &run_id]);
    let metrics = run["data"]["metrics"].as_array().unwrap();
    assert!(metrics.iter().any(|m| m["key"] == "test_accuracy"), "{run}");

    // A long job, cancelled while it runs.
    let long = write_spec(dir.path(), "long.toml", 5000, "[256, 256]", false);
    let id = smelt_ok(
        &home,
        &[
            "jobs",
            "submit",
            long.to_str().unwrap(),
            "--server",
            &server.uri(),
        ],
    )
    .trim()
    .to_string();
    wait_for_job(&home, &server, &id, |j| {
        j["status"] == "RUNNING" && j["run_id"].is_string()
    });
    smelt_ok(&home, &["jobs", "cancel", &id, "--server", &server.uri()]);
    let record = wait_for_job(&home, &server, &id, |j| j["status"] == "CANCELLED");
    assert_eq!(
        run_status(&home, record["run_id"].as_str().unwrap()),
        "KILLED"
    );
    let logs = smelt_ok(&home, &["jobs", "logs", &id, "--server", &server.uri()]);
    assert!(logs.contains("cancelled"), "{logs}");

    // The API describes itself.
    let (status, body) = http(server.port, "GET", "/api/2.0/smelt/openapi.json", None).unwrap();
    assert_eq!(status, 200);
    let spec: Value = serde_json::from_str(&body).unwrap();
    assert!(spec["paths"]["/api/2.0/smelt/jobs/{id}/cancel"]["post"].is_object());

    // Bad specs and unknown jobs are clear errors.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[data]\ntrain = \"x.csv\"\n").unwrap();
    let out = smelt(
        &home,
        &[
            "jobs",
            "submit",
            bad.to_str().unwrap(),
            "--server",
            &server.uri(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing field"), "{}", stderr(&out));
    // The server refuses it too, MLflow-style.
    let body = serde_json::json!({ "spec": "[data]\ntrain = \"x.csv\"\n" }).to_string();
    let (status, reply) = http(
        server.port,
        "POST",
        "/api/2.0/smelt/jobs",
        Some(body.as_bytes()),
    )
    .unwrap();
    assert_eq!(status, 400, "{reply}");
    let reply: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply["error_code"], "INVALID_PARAMETER_VALUE");
    let out = smelt(
        &home,
        &["jobs", "status", "ffff", "--server", &server.uri()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no job 'ffff'"), "{}", stderr(&out));
}

#[test]
fn a_running_job_survives_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut server = Server::start(
        &home,
        &["--job-workers", "1", "--data-roots", &data_root(&dir)],
    );
    let spec = write_spec(dir.path(), "job.toml", 40, "[256, 256]", false);
    let id = smelt_ok(
        &home,
        &[
            "jobs",
            "submit",
            spec.to_str().unwrap(),
            "--server",
            &server.uri(),
        ],
    )
    .trim()
    .to_string();
    let record = wait_for_job(&home, &server, &id, |j| {
        j["status"] == "RUNNING" && j["run_id"].is_string()
    });
    let run_id = record["run_id"].as_str().unwrap().to_string();
    // Wait for a checkpoint, then kill the server without warning.
    let deadline = Instant::now() + Duration::from_secs(300);
    while smelt_json(&home, &["runs", "history", &run_id, "val_accuracy"])
        .as_array()
        .unwrap()
        .len()
        < 3
    {
        assert!(
            Instant::now() < deadline,
            "no epochs logged:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill();

    let server = Server::start(
        &home,
        &["--job-workers", "1", "--data-roots", &data_root(&dir)],
    );
    let record = wait_for_job(&home, &server, &id, |j| j["status"] == "SUCCEEDED");
    assert_eq!(
        record["run_id"].as_str(),
        Some(run_id.as_str()),
        "the same run continues"
    );
    assert_eq!(record["attempts"], 2);
    assert_eq!(run_status(&home, &run_id), "FINISHED");
    let steps: Vec<i64> = smelt_json(&home, &["runs", "history", &run_id, "val_accuracy"])
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["step"].as_i64().unwrap())
        .collect();
    let mut distinct = steps.clone();
    distinct.dedup();
    assert_eq!(distinct, (1..=40).collect::<Vec<i64>>(), "{steps:?}");
    let logs = smelt_ok(&home, &["jobs", "logs", &id, "--server", &server.uri()]);
    assert!(logs.contains("resuming after epoch"), "{logs}");
}
