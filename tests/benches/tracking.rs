//! Tracking speed against a real MLflow server, in one run on one machine.
//!
//! Both servers get the same HTTP calls from the same client (reqwest, one
//! connection, sequential), on SQLite. Prints p50/p95 per call and the ratio.
//! Then Smelt alone at scale: a metric-filtered, ordered search over 100,000
//! runs with 10 metrics each, and a 1,000,000-point history read in pages.
//!
//! Run: `SMELT_TEST_MLFLOW=$HOME/.cache/smelt/venv/bin/mlflow cargo bench -p smelt-e2e --bench tracking`
//! (`scripts/test.sh` creates that venv). Without SMELT_TEST_MLFLOW only
//! Smelt is measured. `SMELT_BENCH_SCALE_RUNS` changes the 100,000.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn post(&self, path: &str, body: &Value) -> Value {
        let response = self
            .http
            .post(format!("{}/api/2.0/mlflow/{path}", self.base))
            .json(body)
            .send()
            .await
            .expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        assert!(status.is_success(), "{path} answered {status}: {text}");
        serde_json::from_str(&text).unwrap_or(json!({}))
    }

    /// Sends a pre-encoded body and returns the raw answer: what is timed is
    /// the server's work and the wire, not the client's JSON handling.
    async fn post_raw(&self, path: &str, body: bytes::Bytes) -> bytes::Bytes {
        let response = self
            .http
            .post(format!("{}/api/2.0/mlflow/{path}", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        let status = response.status();
        let bytes = response.bytes().await.expect("body");
        assert!(
            status.is_success(),
            "{path} answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        bytes
    }

    async fn get_raw(&self, url: &reqwest::Url) -> bytes::Bytes {
        let response = self.http.get(url.clone()).send().await.expect("request");
        let status = response.status();
        let bytes = response.bytes().await.expect("body");
        assert!(status.is_success(), "GET {url} answered {status}");
        bytes
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> Value {
        let url =
            reqwest::Url::parse_with_params(&format!("{}/api/2.0/mlflow/{path}", self.base), query)
                .expect("url");
        let response = self.http.get(url).send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        assert!(status.is_success(), "{path} answered {status}: {text}");
        serde_json::from_str(&text).unwrap_or(json!({}))
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

async fn time_calls<F, Fut>(n: usize, mut call: F) -> (Duration, Duration)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        call(i).await;
        samples.push(start.elapsed());
    }
    (
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.95),
    )
}

fn now_ms() -> i64 {
    smelt_tracking::wire::now_ms()
}

/// The four calls the issue names, against one server; returns p50 and p95 per call.
async fn measure(client: &Client, label: &str) -> Vec<(&'static str, Duration, Duration)> {
    let name = format!("bench-{label}-{}", uuid::Uuid::new_v4().simple());
    let experiment_id = client
        .post("experiments/create", &json!({ "name": name }))
        .await["experiment_id"]
        .as_str()
        .expect("experiment id")
        .to_string();
    let create_run = |i: usize| json!({ "experiment_id": experiment_id, "run_name": format!("run-{i}"), "start_time": now_ms() });
    let run = client.post("runs/create", &create_run(0)).await;
    let run_id = run["run"]["info"]["run_id"]
        .as_str()
        .expect("run id")
        .to_string();
    let mut results = Vec::new();

    // The floor: one loopback round trip to a route that does no work.
    let health = reqwest::Url::parse(&format!("{}/health", client.base)).expect("url");
    let (p50, p95) = time_calls(300, |_| {
        let url = health.clone();
        async move {
            client
                .http
                .get(url)
                .send()
                .await
                .expect("health")
                .bytes()
                .await
                .expect("body");
        }
    })
    .await;
    results.push(("GET /health (HTTP round trip, no work)", p50, p95));

    let bodies: Vec<bytes::Bytes> = (0..300)
        .map(|i| {
            let body = json!({ "run_id": run_id, "key": "loss", "value": 1.0 / (i + 1) as f64, "timestamp": now_ms(), "step": i });
            bytes::Bytes::from(body.to_string())
        })
        .collect();
    let (p50, p95) = time_calls(300, |i| {
        let body = bodies[i].clone();
        async move {
            client.post_raw("runs/log-metric", body).await;
        }
    })
    .await;
    results.push(("runs/log-metric", p50, p95));

    let bodies: Vec<bytes::Bytes> = (0..30)
        .map(|i| {
            let metrics: Vec<Value> = (0..1000)
                .map(|j| json!({ "key": format!("m{}", j % 10), "value": j as f64, "timestamp": now_ms(), "step": i * 1000 + j }))
                .collect();
            bytes::Bytes::from(json!({ "run_id": run_id, "metrics": metrics }).to_string())
        })
        .collect();
    let (p50, p95) = time_calls(30, |i| {
        let body = bodies[i].clone();
        async move {
            client.post_raw("runs/log-batch", body).await;
        }
    })
    .await;
    results.push(("runs/log-batch (1000 metrics)", p50, p95));

    // 100 runs with a metric and a param, then a filtered, ordered search.
    for i in 0..100 {
        let run = client.post("runs/create", &create_run(i)).await;
        let id = run["run"]["info"]["run_id"]
            .as_str()
            .expect("run id")
            .to_string();
        client
            .post(
                "runs/log-batch",
                &json!({ "run_id": id, "metrics": [{ "key": "acc", "value": i as f64 / 100.0, "timestamp": now_ms(), "step": 0 }],
                         "params": [{ "key": "lr", "value": (i % 4).to_string() }] }),
            )
            .await;
    }
    let search = json!({ "experiment_ids": [experiment_id], "filter": "metrics.acc > 0.2 and params.lr != '3'",
                          "order_by": ["metrics.acc DESC"], "max_results": 100 });
    let answer = client.post("runs/search", &search).await;
    assert_eq!(answer["runs"].as_array().map(Vec::len), Some(59));
    let search_body = bytes::Bytes::from(search.to_string());
    let (p50, p95) = time_calls(100, |_| {
        let body = search_body.clone();
        async move {
            client.post_raw("runs/search", body).await;
        }
    })
    .await;
    results.push(("runs/search (100 runs, filter+order)", p50, p95));

    // 2,000 points of one metric.
    let metrics: Vec<Value> = (0..1000)
        .map(|j| json!({ "key": "hist", "value": j as f64, "timestamp": now_ms(), "step": j }))
        .collect();
    client
        .post(
            "runs/log-batch",
            &json!({ "run_id": run_id, "metrics": metrics }),
        )
        .await;
    let metrics: Vec<Value> = (1000..2000)
        .map(|j| json!({ "key": "hist", "value": j as f64, "timestamp": now_ms(), "step": j }))
        .collect();
    client
        .post(
            "runs/log-batch",
            &json!({ "run_id": run_id, "metrics": metrics }),
        )
        .await;
    let query = vec![
        ("run_id", run_id.clone()),
        ("metric_key", "hist".to_string()),
        ("max_results", "25000".to_string()),
    ];
    let answer = client.get("metrics/get-history", &query).await;
    assert_eq!(answer["metrics"].as_array().map(Vec::len), Some(2000));
    let url = reqwest::Url::parse_with_params(
        &format!("{}/api/2.0/mlflow/metrics/get-history", client.base),
        &query,
    )
    .expect("url");
    let (p50, p95) = time_calls(100, |_| {
        let url = url.clone();
        async move {
            client.get_raw(&url).await;
        }
    })
    .await;
    results.push(("metrics/get-history (2000 points)", p50, p95));
    results
}

async fn scale(client: &Client, n_runs: usize) {
    let experiment_id = client
        .post(
            "experiments/create",
            &json!({ "name": format!("scale-{}", uuid::Uuid::new_v4().simple()) }),
        )
        .await["experiment_id"]
        .as_str()
        .expect("experiment id")
        .to_string();
    let started = Instant::now();
    let mut state: u64 = 42;
    let mut next = || {
        // xorshift: deterministic values without another dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 1_000_000) as f64 / 1_000_000.0
    };
    for i in 0..n_runs {
        let run = client
            .post("runs/create", &json!({ "experiment_id": experiment_id, "run_name": format!("r{i}"), "start_time": now_ms() }))
            .await;
        let id = run["run"]["info"]["run_id"]
            .as_str()
            .expect("run id")
            .to_string();
        let metrics: Vec<Value> =
            (0..10).map(|k| json!({ "key": format!("m{k}"), "value": next(), "timestamp": now_ms(), "step": 0 })).collect();
        client
            .post(
                "runs/log-batch",
                &json!({ "run_id": id, "metrics": metrics }),
            )
            .await;
    }
    println!(
        "populated {n_runs} runs x 10 metrics in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let body = json!({ "experiment_ids": [experiment_id], "filter": "metrics.m0 > 0.5 and metrics.m3 < 0.9",
                       "order_by": ["metrics.m1 DESC"], "max_results": 100 });
    let answer = client.post("runs/search", &body).await;
    assert_eq!(answer["runs"].as_array().map(Vec::len), Some(100));
    let body = bytes::Bytes::from(body.to_string());
    let (p50, p95) = time_calls(30, |_| {
        let body = body.clone();
        async move {
            client.post_raw("runs/search", body).await;
        }
    })
    .await;
    println!(
        "runs/search over {n_runs} runs (2 metric filters, metric order, 100 results): p50 {:.2} ms, p95 {:.2} ms",
        ms(p50),
        ms(p95)
    );

    let run = client
        .post(
            "runs/create",
            &json!({ "experiment_id": experiment_id, "run_name": "long" }),
        )
        .await;
    let run_id = run["run"]["info"]["run_id"]
        .as_str()
        .expect("run id")
        .to_string();
    let started = Instant::now();
    for batch in 0..1000 {
        let metrics: Vec<Value> = (0..1000)
            .map(|j| json!({ "key": "long", "value": j as f64, "timestamp": now_ms(), "step": batch * 1000 + j }))
            .collect();
        client
            .post(
                "runs/log-batch",
                &json!({ "run_id": run_id, "metrics": metrics }),
            )
            .await;
    }
    println!(
        "logged 1,000,000 points in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let mut token: Option<String> = None;
    let mut n_points = 0;
    let mut n_pages = 0;
    let mut page_times = Vec::new();
    loop {
        let mut query = vec![
            ("run_id", run_id.clone()),
            ("metric_key", "long".to_string()),
            ("max_results", "25000".to_string()),
        ];
        if let Some(token) = &token {
            query.push(("page_token", token.clone()));
        }
        let page_start = Instant::now();
        let answer = client.get("metrics/get-history", &query).await;
        page_times.push(page_start.elapsed());
        n_points += answer["metrics"].as_array().map_or(0, Vec::len);
        n_pages += 1;
        match answer["next_page_token"].as_str() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => break,
        }
    }
    assert_eq!(n_points, 1_000_000);
    println!(
        "1,000,000-point history in {n_pages} pages of 25,000: total {:.2} s, p50 page {:.1} ms, last page {:.1} ms",
        started.elapsed().as_secs_f64(),
        ms(percentile(&mut page_times.clone(), 0.5)),
        ms(*page_times.last().unwrap_or(&Duration::ZERO))
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn main() {
    // The server gets its own runtime (two workers, like the machine's cores)
    // so the client and server do not share one scheduler.
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let smelt_url = server_runtime.block_on(support::smelt_server(dir.path()));
    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .expect("client");

    client_runtime.block_on(async {
        let smelt = measure(
            &Client {
                http: http.clone(),
                base: smelt_url.clone(),
            },
            "smelt",
        )
        .await;
        // MLflow starts only now: its workers busy the CPU for a while after
        // start, which must not slow Smelt's turn.
        let peer = match std::env::var("SMELT_TEST_MLFLOW") {
            Ok(bin) => {
                let server =
                    tokio::task::spawn_blocking(move || support::MlflowServer::start(&bin))
                        .await
                        .expect("start");
                tokio::time::sleep(Duration::from_secs(10)).await;
                let results = measure(
                    &Client {
                        http: http.clone(),
                        base: server.url.clone(),
                    },
                    "mlflow",
                )
                .await;
                drop(server);
                Some(results)
            }
            Err(_) => None,
        };
        println!(
            "\n{:<40} {:>12} {:>12} {:>12} {:>12} {:>9}",
            "call", "smelt p50", "smelt p95", "mlflow p50", "mlflow p95", "ratio"
        );
        for (idx, (call, p50, p95)) in smelt.iter().enumerate() {
            match &peer {
                Some(peer) => {
                    let (_, m50, m95) = peer[idx];
                    println!(
                        "{call:<40} {:>10.3}ms {:>10.3}ms {:>10.1}ms {:>10.1}ms {:>8.0}x",
                        ms(*p50),
                        ms(*p95),
                        ms(m50),
                        ms(m95),
                        ms(m50) / ms(*p50)
                    );
                }
                None => println!("{call:<40} {:>10.3}ms {:>10.3}ms", ms(*p50), ms(*p95)),
            }
        }
        println!();
        let n_runs = std::env::var("SMELT_BENCH_SCALE_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000);
        if n_runs > 0 {
            scale(
                &Client {
                    http,
                    base: smelt_url,
                },
                n_runs,
            )
            .await;
        }
    });
    drop(server_runtime);
}
