//! Live monitoring end to end: an endpoint captures traffic, a monitor
//! reads it in windows against the model's training profile, logs each
//! window to the tracking store, sets gauges, alerts a webhook (retrying a
//! failure), and keeps its place across a server restart.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

fn dataset(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../datasets")
        .join(name)
        .display()
        .to_string()
}

/// A webhook that answers 500 to its first POST and 200 after; keeps bodies.
fn webhook() -> (u16, Arc<Mutex<Vec<Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut bodies = seen.lock().unwrap();
            bodies.push(serde_json::from_slice(&body).unwrap_or(Value::Null));
            let status = if bodies.len() == 1 {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (port, bodies)
}

/// The feature rows of the training split, each scaled by `factor`.
fn rows(factor: f64, count: usize) -> (Vec<String>, Vec<Vec<f64>>) {
    let mut reader = csv::Reader::from_path(dataset("breast_cancer.train.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let features: Vec<usize> = (0..header.len())
        .filter(|&i| header[i] != "target")
        .collect();
    let rows = reader
        .records()
        .take(count)
        .map(|r| {
            let r = r.unwrap();
            features
                .iter()
                .map(|&i| r[i].parse::<f64>().unwrap() * factor)
                .collect()
        })
        .collect();
    (features.iter().map(|&i| header[i].clone()).collect(), rows)
}

fn run_until(home: &std::path::Path, url: &str, windows: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut closed = Vec::new();
    while closed.len() < windows {
        let answer = smelt_json(home, &["monitor", "run", "live", "--server", url]);
        closed.extend(answer["windows"].as_array().unwrap().iter().cloned());
        assert!(
            Instant::now() < deadline,
            "only {} windows closed",
            closed.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    closed
}

#[test]
fn a_monitor_windows_captured_traffic_logs_alerts_and_resumes() {
    let home = tempfile::tempdir().unwrap();
    smelt_ok(
        home.path(),
        &[
            "train",
            "--data",
            &dataset("breast_cancer.train.csv"),
            "--target",
            "target",
            "--model",
            "logistic_regression",
            "--register",
            "bc",
            "--quiet",
        ],
    );
    let server = Server::start(home.path(), &["--allow-webhook-hosts", "127.0.0.1"]);
    let url = server.uri();
    smelt_ok(
        home.path(),
        &[
            "endpoints",
            "create",
            "bc",
            "--variant",
            "models:/bc/1",
            "--capture-percent",
            "100",
            "--server",
            &url,
        ],
    );
    let (hook_port, hook_bodies) = webhook();
    let hook = format!("http://127.0.0.1:{hook_port}/hook");
    smelt_ok(
        home.path(),
        &[
            "monitor",
            "create",
            "live",
            "--endpoint",
            "bc",
            "--reference",
            "models:/bc/1",
            "--window-rows",
            "60",
            "--test",
            "mean_radius=psi",
            "--every-seconds",
            "3600",
            "--webhook",
            &hook,
            "--server",
            &url,
        ],
    );

    // 60 requests like the training data, then 60 with every feature tripled.
    for factor in [1.0, 3.0] {
        let (columns, rows) = rows(factor, 60);
        for row in rows {
            let body = json!({ "dataframe_split": { "columns": columns, "data": [row] } });
            let (status, reply) = http(
                server.port,
                "POST",
                "/endpoints/bc/invocations",
                Some(body.to_string().as_bytes()),
            )
            .unwrap();
            assert_eq!(status, 200, "{reply}");
        }
    }
    let windows = run_until(home.path(), &url, 2);
    assert_eq!(windows[0]["window"], 1);
    assert_eq!(windows[0]["rows"], 60);
    assert_eq!(windows[0]["dataset_drifted"], false, "{}", windows[0]);
    assert_eq!(windows[1]["dataset_drifted"], true, "{}", windows[1]);
    let drifted: Vec<&str> = windows[1]["drifted_columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(drifted.contains(&"mean_radius"), "{drifted:?}");
    assert_eq!(windows[1]["versions"], json!(["bc/1"]));
    assert_eq!(windows[1]["alert"], "sent to the webhook (attempt 2)");
    let bodies = hook_bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2, "one refused POST, one accepted");
    assert_eq!(bodies[1]["monitor"], "live");
    assert_eq!(bodies[1]["window"]["window"], 2);

    // The history is in the tracking store, the gauges on /metrics.
    let status = smelt_json(
        home.path(),
        &["monitor", "status", "live", "--server", &url],
    );
    assert_eq!(status["status"]["windows"], 2);
    let run_id = status["status"]["run_id"].as_str().unwrap().to_string();
    let (_, history) = http(
        server.port,
        "GET",
        &format!("/api/2.0/mlflow/metrics/get-history?run_id={run_id}&metric_key=dataset_drift"),
        None,
    )
    .unwrap();
    let history: Value = serde_json::from_str(&history).unwrap();
    let values: Vec<f64> = history["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, [0.0, 1.0]);
    let (_, metrics) = http(server.port, "GET", "/metrics", None).unwrap();
    assert!(
        metrics.contains(r#"smelt_monitor_dataset_drift{monitor="live"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics
            .contains(r#"smelt_monitor_feature_drifted{monitor="live",feature="mean_radius"} 1"#)
    );
    assert!(metrics.contains(r#"smelt_monitor_alerts_total{monitor="live",outcome="sent"} 1"#));
    assert!(metrics.contains("smelt_serving_requests_total"));
    assert_eq!(metrics.matches("# EOF").count(), 1);

    let page = home.path().join("window2.html");
    smelt_ok(
        home.path(),
        &[
            "monitor",
            "report",
            "live",
            "--window",
            "2",
            "--html",
            page.to_str().unwrap(),
            "--server",
            &url,
        ],
    );
    assert!(
        std::fs::read_to_string(&page)
            .unwrap()
            .contains("Dataset drift detected")
    );
    let report = home.path().join("window2.json");
    smelt_ok(
        home.path(),
        &[
            "monitor",
            "report",
            "live",
            "--window",
            "2",
            "--json-report",
            report.to_str().unwrap(),
            "--server",
            &url,
        ],
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let column = |name: &str| {
        report["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["column"] == name)
            .cloned()
    };
    assert_eq!(
        column("mean_radius").unwrap()["test"],
        "psi",
        "the per-column override is used"
    );
    assert!(
        column("prediction").is_some(),
        "predictions are compared too"
    );

    // A restart resumes from the cursor: nothing is evaluated twice.
    drop(server);
    let server = Server::start(home.path(), &["--allow-webhook-hosts", "127.0.0.1"]);
    let url = server.uri();
    let again = smelt_json(home.path(), &["monitor", "run", "live", "--server", &url]);
    assert_eq!(again["windows"], json!([]));
    let listed = smelt_json(home.path(), &["monitor", "list", "--server", &url]);
    assert_eq!(listed["monitors"][0]["status"]["windows"], 2);

    // Bad monitors are refused with the reason.
    let bad = smelt(
        home.path(),
        &[
            "monitor",
            "create",
            "ghost",
            "--endpoint",
            "bc",
            "--reference",
            "models:/nope/1",
            "--server",
            &url,
        ],
    );
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("nope"), "{}", stderr(&bad));
    smelt_ok(
        home.path(),
        &["monitor", "delete", "live", "--server", &url],
    );
    let gone = smelt(
        home.path(),
        &["monitor", "status", "live", "--server", &url],
    );
    assert!(
        stderr(&gone).contains("does not exist"),
        "{}",
        stderr(&gone)
    );
}
