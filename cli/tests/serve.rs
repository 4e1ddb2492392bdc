//! Serving end to end on the real binary: `smelt serve` over MLflow's
//! scoring protocol and the Open Inference Protocol, validation errors,
//! metrics; endpoints inside `smelt server` with traffic split, shadow,
//! capture and restarts; and hot swap under continuous load.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// Trains a linfa model on a dataset and registers it (a new version).
fn train_registered(home: &Path, data: &str, target: &str, model: &str, name: &str) {
    smelt_ok(
        home,
        &[
            "train",
            "--data",
            &dataset(&format!("{data}.train.csv")),
            "--target",
            target,
            "--model",
            model,
            "--register",
            name,
            "--quiet",
        ],
    );
}

/// The feature columns of a dataset's test rows, as (columns, rows of JSON values).
fn test_rows(data: &str, target: &str) -> (Vec<String>, Vec<Vec<Value>>) {
    let mut reader = csv::Reader::from_path(dataset(&format!("{data}.test.csv"))).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let keep: Vec<usize> = (0..header.len()).filter(|&i| header[i] != target).collect();
    let rows = reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            keep.iter()
                .map(|&i| {
                    let field = &record[i];
                    if field.is_empty() {
                        Value::Null
                    } else if let Ok(x) = field.parse::<f64>() {
                        json!(x)
                    } else {
                        json!(field)
                    }
                })
                .collect()
        })
        .collect();
    (keep.iter().map(|&i| header[i].clone()).collect(), rows)
}

/// `smelt serve` as a child process; killed when dropped.
struct Serve {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Serve {
    fn start(home: &Path, args: &[&str]) -> Serve {
        let port = free_port();
        let log = home.with_extension(format!("serve-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = smelt_command(home)
            .args(["serve", "--port", &port.to_string()])
            .args(args)
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap();
        let mut serve = Serve { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(Some(status)) = serve.child.try_wait() {
                panic!("smelt serve exited with {status}:\n{}", serve.log_text());
            }
            if let Ok((200, _)) = http(port, "GET", "/ping", None) {
                return serve;
            }
            assert!(
                Instant::now() < deadline,
                "never ready:\n{}",
                serve.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn post(client: &reqwest::Client, url: &str, content_type: &str, body: Vec<u8>) -> Reply {
    let response = client
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Reply {
        status,
        headers,
        body,
    }
}

async fn post_json(client: &reqwest::Client, url: &str, body: &Value) -> Reply {
    post(
        client,
        url,
        "application/json",
        body.to_string().into_bytes(),
    )
    .await
}

async fn get(client: &reqwest::Client, url: &str) -> Reply {
    let response = client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Reply {
        status,
        headers,
        body,
    }
}

fn assert_error(reply: &Reply, status: u16, code: &str, mentions: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(reply.body["error_code"], code, "{:?}", reply.body);
    let message = reply.body["message"].as_str().unwrap_or_default();
    assert!(message.contains(mentions), "'{mentions}' not in: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_mlflow_and_oip_requests_and_refuses_bad_input() {
    let home = tempfile::tempdir().unwrap();
    train_registered(
        home.path(),
        "penguins",
        "species",
        "logistic_regression",
        "penguins",
    );
    let serve = Serve::start(
        home.path(),
        &["--model", "models:/penguins/1", "--max-body-bytes", "20000"],
    );
    let client = reqwest::Client::new();
    let invocations = serve.url("/invocations");

    // What `smelt predict` says for the test file is what serving must say.
    let predicted = smelt_json(
        home.path(),
        &[
            "predict",
            "--model",
            "models:/penguins/1",
            "--input",
            &dataset("penguins.test.csv"),
        ],
    );
    let expected: Vec<Value> = predicted
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["prediction"].clone())
        .collect();
    let (columns, rows) = test_rows("penguins", "species");
    let split = json!({ "dataframe_split": { "columns": columns, "data": rows } });
    let reply = post_json(&client, &invocations, &split).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["predictions"].as_array().unwrap(), &expected);
    assert_eq!(reply.header("smelt-model-version"), "penguins/1");
    assert_eq!(reply.header("smelt-variant"), "v1");
    assert!(!reply.header("smelt-inference-id").is_empty());

    // The other body shapes give the same answers.
    let records: Vec<Value> = rows
        .iter()
        .map(|row| Value::Object(columns.iter().cloned().zip(row.iter().cloned()).collect()))
        .collect();
    for body in [
        json!({ "dataframe_records": records }),
        json!({ "instances": records }),
        json!({ "inputs": rows }),
    ] {
        let reply = post_json(&client, &invocations, &body).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        assert_eq!(reply.body["predictions"].as_array().unwrap(), &expected);
    }
    let csv_body = std::fs::read_to_string(dataset("penguins.test.csv")).unwrap();
    let csv_body: String = csv_body
        .lines()
        .map(|line| line.split(',').skip(1).collect::<Vec<_>>().join(","))
        .collect::<Vec<_>>()
        .join("\n");
    let reply = post(&client, &invocations, "text/csv", csv_body.into_bytes()).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["predictions"].as_array().unwrap(), &expected);

    let proba = json!({ "dataframe_split": { "columns": columns, "data": &rows[..2] },
                        "params": { "predict_method": "predict_proba" } });
    let reply = post_json(&client, &invocations, &proba).await;
    let first = reply.body["predictions"][0].as_array().unwrap();
    assert_eq!(first.len(), 3);
    let total: f64 = first.iter().map(|p| p.as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-6);

    // Input that does not fit the signature: 400 naming the column.
    let mut missing = records[0].clone();
    missing.as_object_mut().unwrap().remove("island");
    let reply = post_json(
        &client,
        &invocations,
        &json!({ "dataframe_records": [missing] }),
    )
    .await;
    assert_error(&reply, 400, "INVALID_PARAMETER_VALUE", "island");
    let mut extra = records[0].clone();
    extra["colour"] = json!("blue");
    let reply = post_json(
        &client,
        &invocations,
        &json!({ "dataframe_records": [extra] }),
    )
    .await;
    assert_error(&reply, 400, "INVALID_PARAMETER_VALUE", "colour");
    let mut wrong = records[0].clone();
    wrong["bill_length_mm"] = json!("long");
    let reply = post_json(
        &client,
        &invocations,
        &json!({ "dataframe_records": [wrong] }),
    )
    .await;
    assert_error(&reply, 400, "INVALID_PARAMETER_VALUE", "bill_length_mm");
    let reply = post(
        &client,
        &invocations,
        "application/json",
        b"{\"dataframe_split\": [".to_vec(),
    )
    .await;
    assert_error(&reply, 400, "BAD_REQUEST", "JSON");
    let reply = post_json(
        &client,
        &invocations,
        &json!({ "instances": [], "inputs": [] }),
    )
    .await;
    assert_error(&reply, 400, "BAD_REQUEST", "exactly one of");
    let reply = post(&client, &invocations, "text/plain", b"x".to_vec()).await;
    assert_eq!(reply.status, 415);
    let huge = json!({ "dataframe_records": vec![records[0].clone(); 400] });
    let reply = post_json(&client, &invocations, &huge).await;
    assert_error(&reply, 413, "REQUEST_LIMIT_EXCEEDED", "limit");
    // Answered before the body was read: the connection is not reusable, and
    // the client is told so instead of pooling it.
    assert_eq!(reply.header("connection"), "close");

    // Open Inference Protocol.
    assert_eq!(get(&client, &serve.url("/v2")).await.body["name"], "smelt");
    assert_eq!(
        get(&client, &serve.url("/v2/health/live")).await.status,
        200
    );
    assert_eq!(
        get(&client, &serve.url("/v2/health/ready")).await.status,
        200
    );
    let metadata = get(&client, &serve.url("/v2/models/penguins")).await.body;
    assert_eq!(metadata["versions"], json!(["1"]));
    let inputs = metadata["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), columns.len());
    let island = inputs.iter().find(|i| i["name"] == "island").unwrap();
    assert_eq!(island["datatype"], "BYTES");
    assert_eq!(
        get(&client, &serve.url("/v2/models/penguins/versions/1/ready"))
            .await
            .status,
        200
    );
    let tensors: Vec<Value> = columns
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let numeric = rows.iter().any(|r| r[i].is_number());
            json!({
                "name": name,
                "shape": [rows.len()],
                "datatype": if numeric { "FP64" } else { "BYTES" },
                "data": rows.iter().map(|r| r[i].clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let infer = serve.url("/v2/models/penguins/versions/1/infer");
    let reply = post_json(
        &client,
        &infer,
        &json!({ "id": "req-7", "inputs": tensors }),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["id"], "req-7");
    assert_eq!(reply.body["model_version"], "1");
    let outputs = reply.body["outputs"].as_array().unwrap();
    let labels = outputs.iter().find(|o| o["name"] == "predict").unwrap();
    assert_eq!(labels["data"].as_array().unwrap(), &expected);
    let mut short = tensors.clone();
    short[0]["shape"] = json!([rows.len() + 1]);
    let reply = post_json(&client, &infer, &json!({ "inputs": short })).await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.body["error"].as_str().unwrap().contains("shape"),
        "{:?}",
        reply.body
    );
    let reply = post_json(&client, &serve.url("/v2/models/nope/infer"), &json!({})).await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        get(&client, &serve.url("/v2/models/penguins/versions/9"))
            .await
            .status,
        404
    );

    // Still answering after every bad request, and it all shows in /metrics.
    let reply = post_json(&client, &invocations, &split).await;
    assert_eq!(reply.status, 200);
    let metrics = get(&client, &serve.url("/metrics")).await.body;
    let metrics = metrics.as_str().unwrap();
    for needle in [
        r#"smelt_serving_requests_total{endpoint="penguins",variant="v1",status="200"}"#,
        r#"smelt_serving_errors_total{endpoint="penguins",variant="v1",status="400"}"#,
        r#"smelt_serving_loaded_model_versions{endpoint="penguins",variant="v1",model="penguins",version="1"} 1"#,
        r#"smelt_serving_batch_rows_bucket"#,
        r#"smelt_serving_queue_seconds_bucket"#,
        r#"smelt_serving_inference_seconds_bucket"#,
    ] {
        assert!(metrics.contains(needle), "missing {needle}:\n{metrics}");
    }
    assert_eq!(get(&client, &serve.url("/ping")).await.status, 200);
    assert_eq!(
        get(&client, &serve.url("/version")).await.body,
        Value::String(env!("CARGO_PKG_VERSION").into())
    );
}

#[test]
fn serving_an_unknown_model_fails_with_a_clear_error() {
    let home = tempfile::tempdir().unwrap();
    let output = smelt(
        home.path(),
        &["serve", "--model", "models:/nope@champion", "--port", "0"],
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("nope"), "{err}");
    let output = smelt(
        home.path(),
        &["serve", "--model", "models:/nope", "--port", "0"],
    );
    assert!(
        stderr(&output).contains("models:/NAME@ALIAS"),
        "{}",
        stderr(&output)
    );
}

fn capture_records(root: &Path) -> Vec<Value> {
    let mut records = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "jsonl") {
                for line in std::fs::read_to_string(&path).unwrap().lines() {
                    records.push(serde_json::from_str(line).unwrap());
                }
            }
        }
    }
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_split_traffic_feed_a_shadow_capture_and_survive_restarts() {
    let home = tempfile::tempdir().unwrap();
    train_registered(home.path(), "iris", "target", "logistic_regression", "iris");
    train_registered(home.path(), "iris", "target", "decision_tree", "iris");
    smelt_ok(
        home.path(),
        &["models", "alias", "set", "iris", "champion", "1"],
    );
    smelt_ok(
        home.path(),
        &["models", "alias", "set", "iris", "challenger", "2"],
    );
    let mut server = Server::start(home.path(), &[]);
    let url = server.uri();

    let created = smelt_ok(
        home.path(),
        &[
            "endpoints",
            "create",
            "flowers",
            "--variant",
            "models:/iris@champion=80",
            "--variant",
            "models:/iris@challenger=20",
            "--shadow",
            "models:/iris/1",
            "--capture-percent",
            "100",
            "--server",
            &url,
        ],
    );
    assert!(
        created.contains("champion") && created.contains("iris/2"),
        "{created}"
    );

    let client = reqwest::Client::new();
    let (columns, rows) = test_rows("iris", "target");
    let body = json!({ "dataframe_split": { "columns": columns, "data": &rows[..1] } });
    let invocations = format!("{url}/endpoints/flowers/invocations");
    let mut champion = 0;
    let requests = 300;
    for _ in 0..requests {
        let reply = post_json(&client, &invocations, &body).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        match reply.header("smelt-variant") {
            "champion" => {
                champion += 1;
                assert_eq!(reply.header("smelt-model-version"), "iris/1");
            }
            "challenger" => assert_eq!(reply.header("smelt-model-version"), "iris/2"),
            other => panic!("answered by '{other}'"),
        }
    }
    // 80 % of 300 = 240; five standard deviations is ±35.
    assert!(
        (205..=275).contains(&champion),
        "champion answered {champion} of {requests}"
    );
    let pinned = client
        .post(&invocations)
        .header("smelt-target-variant", "challenger")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(pinned.headers()["smelt-variant"], "challenger");

    // Every request is captured, and the shadow's answers too, marked.
    let capture = home.path().join("capture/flowers");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut records = capture_records(&capture);
    while records.len() < 2 * (requests + 1) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        records = capture_records(&capture);
    }
    let shadow: Vec<&Value> = records.iter().filter(|r| r["shadow"] == true).collect();
    assert_eq!(records.len() - shadow.len(), requests + 1);
    assert_eq!(shadow.len(), requests + 1);
    assert!(
        shadow
            .iter()
            .all(|r| r["model_version"] == "1" && r["variant"] == "v1")
    );
    let first = records.iter().find(|r| r["shadow"] == false).unwrap();
    assert_eq!(first["endpoint"], "flowers");
    assert_eq!(first["input"]["columns"], json!(columns));
    assert_eq!(first["input"]["data"][0], json!(rows[0]));
    assert!(first["output"]["predictions"][0].is_string());
    assert!(first["latency_ms"].as_f64().unwrap() > 0.0);

    // Refused changes leave nothing behind.
    let again = smelt(
        home.path(),
        &[
            "endpoints",
            "create",
            "flowers",
            "--variant",
            "models:/iris/1",
            "--server",
            &url,
        ],
    );
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    let unknown = smelt(
        home.path(),
        &[
            "endpoints",
            "create",
            "ghost",
            "--variant",
            "models:/iris/9",
            "--server",
            &url,
        ],
    );
    assert!(!unknown.status.success());
    assert!(stderr(&unknown).contains("iris"), "{}", stderr(&unknown));

    // Definitions outlive the server.
    server.kill();
    let server = Server::start(home.path(), &[]);
    let url = server.uri();
    let listed = smelt_json(home.path(), &["endpoints", "list", "--server", &url]);
    let names: Vec<&str> = listed["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["flowers"]);
    let invocations = format!("{url}/endpoints/flowers/invocations");
    assert_eq!(post_json(&client, &invocations, &body).await.status, 200);
    let oip = get(&client, &format!("{url}/v2/models/flowers")).await;
    assert_eq!(oip.body["versions"], json!(["1", "2"]));

    // One OpenAPI document describes jobs and endpoints.
    let openapi = get(&client, &format!("{url}/api/2.0/smelt/openapi.json"))
        .await
        .body;
    assert!(openapi["paths"]["/api/2.0/smelt/endpoints/{name}"]["put"].is_object());
    assert!(openapi["paths"]["/api/2.0/smelt/jobs"]["post"].is_object());

    smelt_ok(
        home.path(),
        &["endpoints", "delete", "flowers", "--server", &url],
    );
    let gone = post_json(&client, &invocations, &body).await;
    assert_error(&gone, 404, "RESOURCE_DOES_NOT_EXIST", "flowers");
}

/// One request's start time and the version that answered it.
struct Answered {
    started: Instant,
    status: u16,
    version: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_an_alias_under_load_swaps_versions_without_failing_a_request() {
    let home = tempfile::tempdir().unwrap();
    train_registered(home.path(), "iris", "target", "logistic_regression", "iris");
    train_registered(home.path(), "iris", "target", "decision_tree", "iris");
    smelt_ok(
        home.path(),
        &["models", "alias", "set", "iris", "champion", "1"],
    );
    let server = Server::start(home.path(), &["--poll-interval-ms", "100"]);
    let url = server.uri();
    smelt_ok(
        home.path(),
        &[
            "endpoints",
            "create",
            "live",
            "--variant",
            "models:/iris@champion",
            "--server",
            &url,
        ],
    );

    let (columns, rows) = test_rows("iris", "target");
    let body = Arc::new(json!({ "dataframe_split": { "columns": columns, "data": &rows[..3] } }));
    let invocations = Arc::new(format!("{url}/endpoints/live/invocations"));
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (body, invocations, stop) = (body.clone(), invocations.clone(), stop.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut answered = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let reply = post_json(&client, &invocations, &body).await;
                    answered.push(Answered {
                        started,
                        status: reply.status,
                        version: reply.header("smelt-model-version").to_string(),
                    });
                }
                answered
            })
        })
        .collect();

    // Move the alias back and forth; note when the endpoint reports each swap.
    let client = reqwest::Client::new();
    let mut swaps: Vec<(Instant, String)> = Vec::new();
    let mut moves: Vec<Instant> = Vec::new();
    for version in ["2", "1", "2", "1"] {
        moves.push(Instant::now());
        let home = home.path().to_path_buf();
        let version_arg = version.to_string();
        tokio::task::spawn_blocking(move || {
            smelt_ok(
                &home,
                &["models", "alias", "set", "iris", "champion", &version_arg],
            )
        })
        .await
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let shown = get(&client, &format!("{url}/api/2.0/smelt/endpoints/live")).await;
            if shown.body["endpoint"]["variants"][0]["serving"]["version"] == version {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the endpoint never swapped to {version}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        swaps.push((Instant::now(), format!("iris/{version}")));
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut answered = Vec::new();
    for task in load {
        answered.extend(task.await.unwrap());
    }

    let failed = answered.iter().filter(|a| a.status != 200).count();
    assert_eq!(failed, 0, "{failed} of {} requests failed", answered.len());
    assert!(answered.len() > 100, "too little load: {}", answered.len());
    // Every request that started after a swap was reported (and before the
    // next alias move) was answered by the new version.
    for (i, (swapped, version)) in swaps.iter().enumerate() {
        let next_move = moves.get(i + 1).copied();
        let window: Vec<&Answered> = answered
            .iter()
            .filter(|a| a.started > *swapped && next_move.is_none_or(|end| a.started < end))
            .collect();
        assert!(!window.is_empty(), "no requests after swap {i}");
        let stale = window.iter().filter(|a| &a.version != version).count();
        assert_eq!(
            stale, 0,
            "{stale} requests after swap {i} answered by the old version"
        );
    }
}
