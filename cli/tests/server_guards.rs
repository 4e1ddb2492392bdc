//! What a server refuses to do for its callers: jobs, endpoints and
//! monitors read files only from the artifact store or the operator's
//! `--data-roots`, and monitor webhooks reach only public addresses unless `--allow-webhook-hosts`
//! names them. Real servers, real HTTP on loopback.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const JOBS: &str = "/api/2.0/smelt/jobs";
const MONITORS: &str = "/api/2.0/smelt/monitors";

fn wine() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../datasets/wine.train.csv")
}

fn spec(train: &str) -> String {
    format!(
        "[data]\ntrain = {train:?}\ntarget = \"target\"\n[model]\nkind = \"mlp\"\nhidden = [4]\n\
         [training]\nepochs = 1\n[tracking]\nexperiment = \"guarded\"\n"
    )
}

/// POSTs `body` and returns the status and the parsed reply.
fn post(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    let (status, reply) = http(server.port, "POST", path, Some(body.to_string().as_bytes()))
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let reply = serde_json::from_str(&reply)
        .unwrap_or_else(|e| panic!("POST {path}: invalid JSON ({e}): {reply}"));
    (status, reply)
}

/// Submits a job that must be refused; returns the message.
fn refused_job(server: &Server, train: &str) -> String {
    let (status, reply) = post(server, JOBS, &json!({ "spec": spec(train) }));
    assert_eq!(status, 400, "{train}: {reply}");
    assert_eq!(reply["error_code"], "INVALID_PARAMETER_VALUE", "{reply}");
    reply["message"].as_str().unwrap().to_string()
}

fn job_status(server: &Server, id: &str) -> Value {
    http_json(server.port, "GET", &format!("{JOBS}/{id}"), Value::Null)["job"].clone()
}

#[test]
fn jobs_read_only_the_artifact_store_and_the_data_roots() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let root = dir.path().join("data");
    let secret = dir.path().join("secret");
    for folder in [&home, &root, &secret] {
        std::fs::create_dir_all(folder).unwrap();
    }
    std::fs::copy(wine(), root.join("wine.csv")).unwrap();
    // Readable data outside the root: refusals must not depend on the file
    // being unreadable.
    std::fs::copy(wine(), secret.join("wine.csv")).unwrap();
    let root_text = root.display().to_string();
    let server = Server::start(&home, &["--job-workers", "1", "--data-roots", &root_text]);

    let in_root = |name: &str| format!("{}/{name}", root.display());
    let mut refused = vec![
        "/etc/passwd".to_string(),
        // `..` out of the root.
        in_root("../secret/wine.csv"),
        // A file given directly from an object store the server does not own.
        "s3://someone-elses-bucket/wine.csv".to_string(),
    ];
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(secret.join("wine.csv"), root.join("link.csv")).unwrap();
        std::os::unix::fs::symlink(&secret, root.join("linked")).unwrap();
        refused.push(in_root("link.csv"));
        refused.push(in_root("linked/wine.csv"));
    }
    for train in &refused {
        let message = refused_job(&server, train);
        assert!(message.contains(&format!("'{train}'")), "{message}");
        assert!(
            message.contains("--data-roots") || message.contains("runs:/RUN_ID/path"),
            "{message}"
        );
        if train.contains("link") {
            assert!(
                !message.contains(&secret.display().to_string()),
                "the symlink's target stays hidden: {message}"
            );
        }
    }

    // A run whose artifacts a client put outside the store (an experiment's
    // artifact_location is the client's choice) is not a way out either.
    let experiment = http_json(
        server.port,
        "POST",
        "/api/2.0/mlflow/experiments/create",
        json!({ "name": "elsewhere", "artifact_location": secret.display().to_string() }),
    )["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let run = http_json(
        server.port,
        "POST",
        "/api/2.0/mlflow/runs/create",
        json!({ "experiment_id": experiment }),
    );
    let run_id = run["run"]["info"]["run_id"].as_str().unwrap();
    let train = format!("runs:/{run_id}/wine.csv");
    let message = refused_job(&server, &train);
    assert!(
        message.contains("outside this server's artifact store"),
        "{message}"
    );

    // Nothing was queued and no run was created for the refused jobs.
    let jobs = http_json(server.port, "GET", JOBS, Value::Null);
    assert_eq!(jobs["jobs"], json!([]), "{jobs}");
    let (status, reply) = http(
        server.port,
        "GET",
        "/api/2.0/mlflow/experiments/get-by-name?experiment_name=guarded",
        None,
    )
    .unwrap();
    assert_eq!(status, 404, "no run, so no experiment: {reply}");

    // A file under the root is read, and the job trains.
    let (status, reply) = post(
        &server,
        JOBS,
        &json!({ "spec": spec(&in_root("wine.csv")) }),
    );
    assert_eq!(status, 200, "{reply}");
    let id = reply["job"]["job_id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(300);
    let record = loop {
        let record = job_status(&server, &id);
        if ["SUCCEEDED", "FAILED"].contains(&record["status"].as_str().unwrap()) {
            break record;
        }
        assert!(Instant::now() < deadline, "{record}\n{}", server.log_text());
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(record["status"], "SUCCEEDED", "{record}");
}

#[test]
fn a_server_without_data_roots_reads_no_local_files() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let server = Server::start(&home, &[]);
    let wine = wine().display().to_string();
    let message = refused_job(&server, &wine);
    assert!(message.contains("--data-roots"), "{message}");
    // A root that does not exist stops the server with the reason.
    let out = smelt(
        &home,
        &["server", "--port", "0", "--data-roots", "/no/such/folder"],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("/no/such/folder"), "{}", stderr(&out));
}

fn monitor(webhook: &str) -> Value {
    json!({
        "name": "guarded",
        "endpoint": "e",
        "reference": "models:/nothing/1",
        "window": { "rows": 10 },
        "alerts": { "webhook": webhook },
    })
}

#[test]
fn webhooks_reach_only_public_addresses_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let server = Server::start(&home, &[]);
    for (webhook, expected) in [
        (
            "http://127.0.0.1:9/hook",
            "the webhook address 127.0.0.1 is a loopback address",
        ),
        // A name is judged by what it resolves to.
        ("http://localhost:9/hook", "'localhost' resolves to"),
        (
            "http://169.254.169.254/latest/meta-data",
            "the cloud metadata address",
        ),
        ("http://10.0.0.5/hook", "a private address"),
        ("http://[::ffff:192.168.1.1]/hook", "a private address"),
        ("http://[::1]:9/hook", "a loopback address"),
    ] {
        let (status, reply) = post(&server, MONITORS, &monitor(webhook));
        assert_eq!(status, 400, "{webhook}: {reply}");
        assert_eq!(reply["error_code"], "INVALID_PARAMETER_VALUE", "{reply}");
        let message = reply["message"].as_str().unwrap();
        assert!(message.contains(expected), "{webhook}: {message}");
        assert!(message.contains("--allow-webhook-hosts"), "{message}");
    }
    let monitors = http_json(server.port, "GET", MONITORS, Value::Null);
    assert_eq!(monitors["monitors"], json!([]), "{monitors}");
    drop(server);

    // Allowed by the operator, the webhook passes; the monitor is then
    // refused only for its (missing) reference.
    let allowed = Server::start(
        &home,
        &["--allow-webhook-hosts", "127.0.0.1,::1,10.0.0.0/8"],
    );
    for webhook in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://10.0.0.5/hook",
    ] {
        let (status, reply) = post(&allowed, MONITORS, &monitor(webhook));
        assert_eq!(status, 400, "{reply}");
        let message = reply["message"].as_str().unwrap();
        assert!(!message.contains("webhook"), "{webhook}: {message}");
        assert!(message.contains("nothing"), "{webhook}: {message}");
    }
    drop(allowed);

    // A malformed allow list stops the server with the reason.
    let out = smelt(
        &home,
        &[
            "server",
            "--port",
            "0",
            "--allow-webhook-hosts",
            "10.0.0.0/99",
        ],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("10.0.0.0/99"), "{}", stderr(&out));
}

#[test]
fn endpoints_and_monitors_read_only_the_artifact_store_and_the_data_roots() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let root = dir.path().join("data");
    let secret = dir.path().join("secret");
    for folder in [&home, &root, &secret.join("model")] {
        std::fs::create_dir_all(folder).unwrap();
    }
    // Files a server must not open for a caller, whatever they look like.
    std::fs::write(secret.join("model/MLmodel"), "flavors: {}\n").unwrap();
    std::fs::write(secret.join("profile.json"), "{}").unwrap();
    let root_text = root.display().to_string();
    let server = Server::start(&home, &["--data-roots", &root_text]);
    let refused = |path: &str, body: Value, what: &str| {
        let (status, reply) = post(&server, path, &body);
        assert_eq!(status, 400, "{what}: {reply}");
        assert_eq!(reply["error_code"], "INVALID_PARAMETER_VALUE", "{reply}");
        let message = reply["message"].as_str().unwrap().to_string();
        assert!(message.contains("--data-roots"), "{what}: {message}");
        message
    };

    // An endpoint serving a folder outside the roots.
    let folder = secret.join("model").display().to_string();
    let message = refused(
        "/api/2.0/smelt/endpoints",
        json!({ "name": "leak", "variants": [{ "model": folder }] }),
        "a folder model",
    );
    assert!(message.contains(&folder), "{message}");

    // A registered version whose source a client pointed at that folder.
    http_json(
        server.port,
        "POST",
        "/api/2.0/mlflow/registered-models/create",
        json!({ "name": "leak" }),
    );
    let version = http_json(
        server.port,
        "POST",
        "/api/2.0/mlflow/model-versions/create",
        json!({ "name": "leak", "source": folder }),
    );
    assert_eq!(version["model_version"]["version"], "1", "{version}");
    refused(
        "/api/2.0/smelt/endpoints",
        json!({ "name": "leak", "variants": [{ "model": "models:/leak/1" }] }),
        "a version whose source is outside",
    );

    // A monitor whose reference profile lies outside.
    let profile = secret.join("profile.json").display().to_string();
    refused(
        MONITORS,
        json!({ "name": "leak", "endpoint": "e", "reference": profile, "window": { "rows": 10 } }),
        "a profile file",
    );
    refused(
        MONITORS,
        json!({ "name": "leak", "endpoint": "e", "reference": "models:/leak/1", "window": { "rows": 10 } }),
        "a version's profile",
    );

    let endpoints = http_json(server.port, "GET", "/api/2.0/smelt/endpoints", Value::Null);
    assert_eq!(endpoints["endpoints"], json!([]), "{endpoints}");
    let monitors = http_json(server.port, "GET", MONITORS, Value::Null);
    assert_eq!(monitors["monitors"], json!([]), "{monitors}");
}
