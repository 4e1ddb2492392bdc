//! End-to-end tests of the `smelt` binary: local-store commands, the server as
//! a child process driven by the CLI and by raw HTTP, and durability of
//! acknowledged writes across a SIGKILL.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;

use common::*;

#[test]
fn experiments_on_the_local_store() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");

    let created = smelt_ok(
        &home,
        &["experiments", "create", "iris-demo", "--tag", "team=ml"],
    );
    assert!(created.contains("iris-demo"), "{created}");
    assert!(
        home.join("smelt.db").exists(),
        "the local store lives in SMELT_HOME"
    );

    let table = smelt_ok(&home, &["experiments", "list"]);
    assert!(table.contains("iris-demo"), "{table}");
    assert!(table.contains("Default"), "{table}");

    let listed = smelt_json(&home, &["experiments", "list"]);
    let experiments = listed.as_array().expect("a JSON array");
    let iris = experiments
        .iter()
        .find(|e| e["name"] == "iris-demo")
        .expect("iris-demo is listed");
    let id = iris["experiment_id"].as_str().unwrap().to_string();
    assert_eq!(iris["lifecycle_stage"], "active");
    assert_eq!(iris["tags"][0]["key"], "team");

    // show by name and by id
    let shown = smelt_json(&home, &["experiments", "show", "iris-demo"]);
    assert_eq!(shown["experiment_id"], id.as_str());
    let shown = smelt_ok(&home, &["experiments", "show", &id]);
    assert!(
        shown.contains("iris-demo") && shown.contains("team"),
        "{shown}"
    );

    // rename, delete, restore
    smelt_ok(&home, &["experiments", "rename", "iris-demo", "iris"]);
    smelt_ok(&home, &["experiments", "delete", "iris"]);
    let active = smelt_json(&home, &["experiments", "list"]);
    assert!(
        !active
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "iris"),
        "{active}"
    );
    let deleted = smelt_json(&home, &["experiments", "list", "--view", "deleted"]);
    assert!(
        deleted
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "iris"),
        "{deleted}"
    );
    smelt_ok(&home, &["experiments", "restore", "iris"]);
    let active = smelt_json(&home, &["experiments", "list"]);
    assert!(
        active
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "iris"),
        "{active}"
    );

    // an empty experiment has no runs
    let runs = smelt_json(&home, &["runs", "list", "--experiment", "iris"]);
    assert_eq!(runs, json!([]));
}

#[test]
fn errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");

    let output = smelt(&home, &["experiments", "show", "no-such-experiment"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("no-such-experiment"), "{err}");
    assert!(err.contains("hint: `smelt experiments list`"), "{err}");
    assert!(
        stdout(&output).is_empty(),
        "nothing on stdout: {}",
        stdout(&output)
    );

    let output = smelt(&home, &["runs", "show", "0123456789abcdef0123456789abcdef"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("hint:"), "{}", stderr(&output));

    let output = smelt(&home, &["models", "show", "nope"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("smelt models list"),
        "{}",
        stderr(&output)
    );

    // creating twice is an error, not a panic
    smelt_ok(&home, &["experiments", "create", "twice"]);
    let output = smelt(&home, &["experiments", "create", "twice"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("already exists"),
        "{}",
        stderr(&output)
    );

    // usage errors are clap's: exit code 2
    let output = smelt(&home, &["experiments", "list", "--no-such-flag"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let output = smelt(&home, &["runs", "list"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "--experiment is required: {}",
        stderr(&output)
    );

    // no server there: a hint about `smelt server`
    let port = free_port();
    let uri = format!("http://127.0.0.1:{port}");
    let output = smelt(&home, &["--tracking-uri", &uri, "experiments", "list"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("error: "), "{err}");
    assert!(err.contains("hint: is `smelt server` running at"), "{err}");

    // MLFLOW_TRACKING_URI is honoured when SMELT_TRACKING_URI is unset
    let output = smelt_command(&home)
        .env("MLFLOW_TRACKING_URI", &uri)
        .args(["experiments", "list"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(&format!("127.0.0.1:{port}")),
        "{}",
        stderr(&output)
    );
}

#[test]
fn help_teaches_the_server_flags() {
    let dir = tempfile::tempdir().unwrap();
    let help = smelt_ok(dir.path(), &["server", "--help"]);
    for flag in [
        "--host",
        "--port",
        "--backend-store-uri",
        "--default-artifact-root",
        "--artifacts-destination",
        "--serve-artifacts",
        "--no-serve-artifacts",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    assert!(
        help.contains("postgresql://postgres@127.0.0.1:5432/test"),
        "{help}"
    );
    assert!(help.contains("s3://bucket/prefix"), "{help}");
}

#[test]
fn server_serves_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mut server = Server::start(&home, &[]);
    let uri = server.uri();
    let port = server.port;
    let banner = server.log_text();
    assert!(
        banner.contains(&format!(
            "smelt server listening on http://127.0.0.1:{port}"
        )),
        "{banner}"
    );
    assert!(
        banner.contains("smelt.db") && banner.contains("artifacts"),
        "{banner}"
    );

    // experiments through the server
    let created = smelt_ok(
        &home,
        &["--tracking-uri", &uri, "experiments", "create", "x"],
    );
    assert!(created.contains('x'), "{created}");
    let listed = smelt_json(&home, &["--tracking-uri", &uri, "experiments", "list"]);
    let x = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "x")
        .expect("x is listed")
        .clone();
    let experiment_id = x["experiment_id"].as_str().unwrap().to_string();
    assert!(
        x["artifact_location"]
            .as_str()
            .unwrap()
            .starts_with("mlflow-artifacts:"),
        "{x}"
    );

    // a run with params, metrics and an artifact, logged over HTTP as a client would
    let run = http_json(
        port,
        "POST",
        "/api/2.0/mlflow/runs/create",
        json!({"experiment_id": experiment_id, "run_name": "first"}),
    );
    let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_string();
    let artifact_uri = run["run"]["info"]["artifact_uri"]
        .as_str()
        .unwrap()
        .to_string();
    http_json(
        port,
        "POST",
        "/api/2.0/mlflow/runs/log-batch",
        json!({
            "run_id": run_id,
            "metrics": [
                {"key": "accuracy", "value": 0.875, "timestamp": 1_700_000_000_000i64, "step": 3},
                {"key": "loss", "value": 0.25, "timestamp": 1_700_000_000_000i64, "step": 3}
            ],
            "params": [{"key": "lr", "value": "0.01"}]
        }),
    );
    let prefix = artifact_uri
        .strip_prefix("mlflow-artifacts:")
        .expect("a proxied artifact location");
    let prefix = prefix.trim_start_matches('/');
    for (path, content) in [
        ("model/MLmodel", "flavors: {}\n"),
        ("model/weights/w.bin", "0123456789"),
        ("notes.txt", "hello"),
    ] {
        let (status, reply) = http(
            port,
            "PUT",
            &format!("/api/2.0/mlflow-artifacts/artifacts/{prefix}/{path}"),
            Some(content.as_bytes()),
        )
        .unwrap();
        assert_eq!(status, 200, "upload {path}: {reply}");
    }

    let runs = smelt_ok(
        &home,
        &["--tracking-uri", &uri, "runs", "list", "--experiment", "x"],
    );
    assert!(runs.contains(&run_id) && runs.contains("first"), "{runs}");
    assert!(
        runs.contains("accuracy") && runs.contains("0.875"),
        "{runs}"
    );
    let runs = smelt_json(
        &home,
        &[
            "--tracking-uri",
            &uri,
            "runs",
            "search",
            "-e",
            "x",
            "--filter",
            "metrics.accuracy > 0.5",
        ],
    );
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
    let runs = smelt_json(
        &home,
        &[
            "--tracking-uri",
            &uri,
            "runs",
            "search",
            "-e",
            "x",
            "--filter",
            "metrics.accuracy > 0.9",
        ],
    );
    assert_eq!(runs, json!([]));
    let shown = smelt_ok(&home, &["--tracking-uri", &uri, "runs", "show", &run_id]);
    assert!(
        shown.contains("lr") && shown.contains("0.01") && shown.contains("loss"),
        "{shown}"
    );
    let shown = smelt_json(&home, &["--tracking-uri", &uri, "runs", "show", &run_id]);
    assert_eq!(shown["info"]["run_id"], run_id.as_str());

    // artifacts through the proxy
    let listing = smelt_json(
        &home,
        &["--tracking-uri", &uri, "artifacts", "list", &run_id],
    );
    let paths: Vec<&str> = listing
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["model", "notes.txt"], "{listing}");
    let listing = smelt_json(
        &home,
        &[
            "--tracking-uri",
            &uri,
            "artifacts",
            "list",
            &run_id,
            "model",
        ],
    );
    let paths: Vec<&str> = listing
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["model/MLmodel", "model/weights"], "{listing}");

    let all = dir.path().join("all");
    smelt_ok(
        &home,
        &[
            "--tracking-uri",
            &uri,
            "artifacts",
            "download",
            "--run-id",
            &run_id,
            "--dst",
            all.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(all.join("notes.txt")).unwrap(),
        "hello"
    );
    assert_eq!(
        std::fs::read_to_string(all.join("model/weights/w.bin")).unwrap(),
        "0123456789"
    );

    let one = dir.path().join("one");
    let printed = smelt_ok(
        &home,
        &[
            "--tracking-uri",
            &uri,
            "artifacts",
            "download",
            "--uri",
            &format!("runs:/{run_id}/model"),
            "--dst",
            one.to_str().unwrap(),
        ],
    );
    assert!(printed.trim().ends_with("model"), "{printed}");
    assert_eq!(
        std::fs::read_to_string(one.join("model/MLmodel")).unwrap(),
        "flavors: {}\n"
    );

    // the registry: a version, an alias, a download by alias
    http_json(
        port,
        "POST",
        "/api/2.0/mlflow/registered-models/create",
        json!({"name": "iris"}),
    );
    let version = http_json(
        port,
        "POST",
        "/api/2.0/mlflow/model-versions/create",
        json!({"name": "iris", "source": format!("runs:/{run_id}/model"), "run_id": run_id}),
    );
    assert_eq!(version["model_version"]["version"], "1");
    smelt_ok(
        &home,
        &[
            "--tracking-uri",
            &uri,
            "models",
            "alias",
            "set",
            "iris",
            "champion",
            "1",
        ],
    );
    let models = smelt_ok(&home, &["--tracking-uri", &uri, "models", "list"]);
    assert!(
        models.contains("iris") && models.contains("champion"),
        "{models}"
    );
    let shown = smelt_json(&home, &["--tracking-uri", &uri, "models", "show", "iris"]);
    assert_eq!(
        shown["model_versions"][0]["aliases"],
        json!(["champion"]),
        "{shown}"
    );
    let shown = smelt_ok(&home, &["--tracking-uri", &uri, "models", "show", "iris"]);
    assert!(
        shown.contains("champion") && shown.contains(&run_id),
        "{shown}"
    );

    let by_alias = dir.path().join("by-alias");
    smelt_ok(
        &home,
        &[
            "--tracking-uri",
            &uri,
            "artifacts",
            "download",
            "--uri",
            "models:/iris@champion",
            "--dst",
            by_alias.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(by_alias.join("MLmodel")).unwrap(),
        "flavors: {}\n"
    );
    let by_version = dir.path().join("by-version");
    smelt_ok(
        &home,
        &[
            "--tracking-uri",
            &uri,
            "artifacts",
            "download",
            "--uri",
            "models:/iris/1",
            "--dst",
            by_version.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(by_version.join("weights/w.bin")).unwrap(),
        "0123456789"
    );

    let output = smelt(
        &home,
        &[
            "--tracking-uri",
            &uri,
            "models",
            "alias",
            "set",
            "iris",
            "champion",
            "7",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    smelt_ok(
        &home,
        &[
            "--tracking-uri",
            &uri,
            "models",
            "alias",
            "delete",
            "iris",
            "champion",
        ],
    );
    let output = smelt(
        &home,
        &[
            "--tracking-uri",
            &uri,
            "artifacts",
            "download",
            "--uri",
            "models:/iris@champion",
            "--dst",
            "unused",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));

    // Without the server, the same SMELT_HOME resolves mlflow-artifacts: locally.
    server.kill();
    let local = dir.path().join("local");
    smelt_ok(
        &home,
        &[
            "artifacts",
            "download",
            "--run-id",
            &run_id,
            "--artifact-path",
            "model",
            "--dst",
            local.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(local.join("model/MLmodel")).unwrap(),
        "flavors: {}\n"
    );
    let runs = smelt_ok(&home, &["runs", "list", "-e", "x"]);
    assert!(runs.contains(&run_id), "{runs}");
}

#[cfg(unix)]
#[test]
fn server_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mut server = Server::start(&home, &[]);
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit {exit:?}:\n{}", server.log_text());
}

/// The durability requirement: every metric the server acknowledged
/// survives a SIGKILL, and concurrent writers never see "database is locked".
#[test]
fn acknowledged_metrics_survive_sigkill() {
    const TASKS: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mut server = Server::start(&home, &[]);
    let port = server.port;

    let experiment = http_json(
        port,
        "POST",
        "/api/2.0/mlflow/experiments/create",
        json!({"name": "durability"}),
    );
    let experiment_id = experiment["experiment_id"].as_str().unwrap().to_string();
    let run = http_json(
        port,
        "POST",
        "/api/2.0/mlflow/runs/create",
        json!({"experiment_id": experiment_id}),
    );
    let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_string();

    let stop = Arc::new(AtomicBool::new(false));
    let acked_total = Arc::new(AtomicUsize::new(0));
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let (stop, acked_total, failures, run_id) = (
            stop.clone(),
            acked_total.clone(),
            failures.clone(),
            run_id.clone(),
        );
        tasks.push(std::thread::spawn(move || {
            let key = format!("m{task}");
            let mut acked = Vec::new();
            for step in 0i64.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let body = json!({
                    "run_id": run_id,
                    "key": key,
                    "value": step as f64 * 0.5,
                    "timestamp": 1_700_000_000_000i64 + step,
                    "step": step,
                })
                .to_string();
                match http(
                    port,
                    "POST",
                    "/api/2.0/mlflow/runs/log-metric",
                    Some(body.as_bytes()),
                ) {
                    Ok((200, _)) => {
                        acked.push(step);
                        acked_total.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok((status, reply)) => {
                        // A reply cut short by the kill is not an acknowledgement either way.
                        if !stop.load(Ordering::SeqCst) || reply.contains("locked") {
                            failures
                                .lock()
                                .unwrap()
                                .push(format!("{key} step {step}: HTTP {status}: {reply}"));
                        }
                    }
                    // The server is gone after the kill; a refused connection
                    // is no acknowledgement, so it needs no bookkeeping.
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
            (key, acked)
        }));
    }

    // Let the writers get going, then kill the server in the middle of it.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked_total.load(Ordering::SeqCst) < 2000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    server.kill();
    stop.store(true, Ordering::SeqCst);
    let acked: BTreeMap<String, Vec<i64>> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
    let total: usize = acked.values().map(Vec::len).sum();
    assert!(
        total > 0,
        "no metric was acknowledged:\n{}",
        server.log_text()
    );
    let failures = failures.lock().unwrap().clone();
    assert!(
        !failures.iter().any(|f| f.contains("database is locked")),
        "a writer saw 'database is locked': {failures:#?}"
    );
    assert!(
        failures.is_empty(),
        "writes failed while the server was up: {failures:#?}"
    );

    // Restart on the same SMELT_HOME and read everything back.
    let restarted = Server::start(&home, &[]);
    for (key, steps) in &acked {
        let mut stored = BTreeSet::new();
        let mut token: Option<String> = None;
        loop {
            let mut path = format!(
                "/api/2.0/mlflow/metrics/get-history?run_id={run_id}&metric_key={key}&max_results=25000"
            );
            if let Some(token) = &token {
                path.push_str(&format!("&page_token={}", encode(token)));
            }
            let page = http_json(restarted.port, "GET", &path, json!(null));
            for metric in page["metrics"].as_array().cloned().unwrap_or_default() {
                let step = match &metric["step"] {
                    Value::String(s) => s.parse::<i64>().unwrap(),
                    other => other.as_i64().unwrap_or(0),
                };
                stored.insert(step);
            }
            match page["next_page_token"].as_str() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
        let lost: Vec<i64> = steps
            .iter()
            .copied()
            .filter(|s| !stored.contains(s))
            .collect();
        assert!(
            lost.is_empty(),
            "{key}: {} acknowledged steps lost after SIGKILL: {lost:?}",
            lost.len()
        );
    }
    eprintln!("durability: {total} acknowledged metrics from {TASKS} writers all survived SIGKILL");
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
