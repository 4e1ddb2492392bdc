//! `smelt quickstart`: the whole lifecycle on the embedded default, in one
//! command — a server with the web UI, a model trained as a job and
//! registered, an endpoint serving it, a monitor on its traffic, sample
//! traffic with a drifted batch, and the addresses to look at.
//!
//! It runs `smelt server` in this process and drives it over its own HTTP
//! API, as any client would; Ctrl-C stops the server. Everything goes to
//! `$SMELT_HOME`, so a second run trains a second version, moves the alias
//! (the endpoint swaps to it) and keeps the endpoint and monitor.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use serde_json::{Value, json};
use smelt_api::endpoints::{
    CaptureConfig, ENDPOINTS_PATH, EndpointSpec, VariantSpec, invocations_path,
};
use smelt_api::jobs::{JOBS_PATH, JobRecord, JobResponse, JobStatus, SubmitJob, job_path};
use smelt_api::monitors::{
    AlertSpec, MONITORS_PATH, MonitorReports, MonitorSpec, MonitorWindows, WindowSize,
    WindowSummary, monitor_reports_path, monitor_run_path,
};

use crate::commands::server::{self, ServerArgs};
use crate::config::smelt_home;
use crate::error::{failure, hinted};

/// `smelt quickstart --help`.
pub const LONG_ABOUT: &str = "\
Run the whole lifecycle on this machine, with nothing to install:

  1. start `smelt server` (web UI, MLflow API, jobs, endpoints, monitors)
     with its data in $SMELT_HOME (default ./.smelt);
  2. train a Burn MLP on the wine dataset (shipped inside the binary) as a
     job, tracked as a run, registered as `quickstart-wine@champion`;
  3. serve it on the endpoint `quickstart`, capturing every request;
  4. watch that traffic with the drift monitor `quickstart`;
  5. send the test rows, then a batch with shifted features;
  6. print where to look: the UI, the endpoint, the drift report.

The server keeps running until Ctrl-C. Running it again trains version 2,
moves the alias (the endpoint swaps to it) and adds two more windows.

  smelt quickstart
  smelt quickstart --port 8080";

const TRAIN_CSV: &str = include_str!("../../../datasets/wine.train.csv");
const TEST_CSV: &str = include_str!("../../../datasets/wine.test.csv");
const MODEL: &str = "quickstart-wine";
const ENDPOINT: &str = "quickstart";
const MONITOR: &str = "quickstart";
/// Rows per monitored window, and rows sent per request (a window closes
/// on a request boundary, so 8 requests of 5 rows fill one exactly).
const WINDOW_ROWS: usize = 40;
const ROWS_PER_REQUEST: usize = 5;
/// How long a step may take before the quickstart gives up on it.
const STEP_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Args)]
pub struct QuickstartArgs {
    #[command(flatten)]
    server: ServerArgs,
}

pub async fn run(args: QuickstartArgs) -> anyhow::Result<()> {
    let base = format!(
        "http://{}:{}",
        connect_host(args.server.host()),
        args.server.port()
    );
    if let Some(flag) = args.server.secured_by() {
        return Err(hinted(
            format!(
                "the quickstart does not take {flag}: it drives its own server over plain HTTP, without a login"
            ),
            format!(
                "run the quickstart on this machine as it is, and `smelt server {flag} …` for a server others share"
            ),
        ));
    }
    if args.server.port() == 0 {
        return Err(hinted(
            "the quickstart needs a known port",
            "give --port N (default 5000)",
        ));
    }
    // The job reads the wine files the quickstart writes to its folder, so
    // the server allows that folder as a data root (it must exist first).
    let folder = smelt_home().join("quickstart");
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let mut server_args = args.server.clone();
    server_args.allow_data_root(folder);
    // Both futures run on this task: the server, and the steps as its client.
    let serving = server::run(&server_args);
    tokio::pin!(serving);
    let steps = lifecycle(&base);
    tokio::pin!(steps);
    tokio::select! {
        // The server ended before the steps did: it could not start, or Ctrl-C.
        result = &mut serving => return result,
        result = &mut steps => result?,
    }
    println!("\nThe server keeps running; Ctrl-C stops it.");
    serving.await
}

/// Steps 2–6 against a running server.
async fn lifecycle(base: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    wait_healthy(&client, base).await?;

    let folder = smelt_home().join("quickstart");
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let train = folder.join("wine.train.csv");
    let test = folder.join("wine.test.csv");
    std::fs::write(&train, TRAIN_CSV)?;
    std::fs::write(&test, TEST_CSV)?;

    println!("smelt quickstart: training a Burn MLP on wine as a job …");
    let spec = format!(
        r#"[data]
train = {train:?}
validation = {test:?}
target = "target"

[model]
kind = "mlp"
hidden = [32, 32]

[training]
epochs = 40
batch_size = 16
learning_rate = 0.005

[tracking]
experiment = "quickstart"
run_name = "quickstart-wine"

[register]
name = "{MODEL}"
alias = "champion"
"#,
        train = train.display().to_string(),
        test = test.display().to_string(),
    );
    let submitted: JobResponse = call(
        &client,
        reqwest::Method::POST,
        &format!("{base}{JOBS_PATH}"),
        Some(&SubmitJob { spec }),
    )
    .await?;
    let job = wait_for_job(&client, base, &submitted.job.job_id).await?;
    let version = job.model_version.unwrap_or_default();
    let run_id = job.run_id.unwrap_or_default();
    println!("  trained and registered {version} (run {run_id})");

    println!("smelt quickstart: serving it on the endpoint `{ENDPOINT}` …");
    let reference = format!("models:/{MODEL}@champion");
    let endpoint = EndpointSpec {
        name: ENDPOINT.into(),
        variants: vec![VariantSpec {
            name: "champion".into(),
            model: reference.clone(),
            weight: 1,
        }],
        shadow: None,
        batching: Default::default(),
        capture: CaptureConfig {
            sample_percent: 100.0,
        },
    };
    create_or_keep(&client, &format!("{base}{ENDPOINTS_PATH}"), &endpoint).await?;
    let monitor = MonitorSpec {
        name: MONITOR.into(),
        endpoint: ENDPOINT.into(),
        reference,
        window: WindowSize::Rows(WINDOW_ROWS),
        every_seconds: 5,
        // Five of the thirteen features are shifted below; a quarter is enough.
        drift_share: 0.25,
        alerts: AlertSpec::default(),
        tests: Default::default(),
    };
    create_or_keep(&client, &format!("{base}{MONITORS_PATH}"), &monitor).await?;
    let windows_before = windows(&client, base).await?;

    println!(
        "smelt quickstart: sending {WINDOW_ROWS} test rows, then {WINDOW_ROWS} shifted rows …"
    );
    let (columns, rows) = read_rows(TEST_CSV)?;
    let normal: Vec<Vec<Value>> = rows.iter().take(WINDOW_ROWS).cloned().collect();
    let drifted: Vec<Vec<Value>> = normal.iter().map(|row| shift(&columns, row)).collect();
    let invocations = format!("{base}{}", invocations_path(ENDPOINT));
    for batch in normal
        .chunks(ROWS_PER_REQUEST)
        .chain(drifted.chunks(ROWS_PER_REQUEST))
    {
        // MLflow's scoring protocol (its body is MLflow's, not one of Smelt's).
        let body = json!({ "dataframe_split": { "columns": columns, "data": batch } });
        let _: Value = call(&client, reqwest::Method::POST, &invocations, Some(&body)).await?;
    }

    // Capture is written in the background: evaluate until both windows are in.
    let deadline = Instant::now() + STEP_TIMEOUT;
    let history = loop {
        let _: MonitorWindows = call(
            &client,
            reqwest::Method::POST,
            &format!("{base}{}", monitor_run_path(MONITOR)),
            crate::remote::NO_BODY,
        )
        .await?;
        let history = windows(&client, base).await?;
        if history.len() >= windows_before.len() + 2 || Instant::now() > deadline {
            break history;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for window in history.iter().skip(windows_before.len()) {
        let verdict = if window.dataset_drifted {
            format!("DRIFT in {}", window.drifted_columns.join(", "))
        } else {
            "no drift".to_string()
        };
        println!(
            "  window {}: {} rows, {verdict}",
            window.window, window.rows
        );
    }

    println!(
        "\nSmelt is running:\n  web UI         {base}/\n  this run       {base}/ui/runs/{run_id}\n  endpoint       POST {invocations}\n                 (live traffic: {base}/ui/endpoints/{ENDPOINT})\n  drift report   {base}/ui/monitors/{MONITOR}\n  MLflow clients MLFLOW_TRACKING_URI={base}"
    );
    Ok(())
}

/// Where a client connects for a listening address (`0.0.0.0` is not one).
fn connect_host(host: &str) -> &str {
    match host {
        "0.0.0.0" | "" => "127.0.0.1",
        "::" => "[::1]",
        other => other,
    }
}

async fn wait_healthy(client: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = client.get(format!("{base}/health")).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(failure(format!(
                "the server at {base} never answered /health"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn call<R: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<&impl serde::Serialize>,
) -> anyhow::Result<R> {
    crate::remote::call(
        client,
        method,
        url,
        body,
        "is the quickstart's server running?",
    )
    .await
}

/// Creates a resource, or keeps the one a previous quickstart made (409
/// `RESOURCE_ALREADY_EXISTS`).
async fn create_or_keep(
    client: &reqwest::Client,
    url: &str,
    body: &impl serde::Serialize,
) -> anyhow::Result<()> {
    let response = client
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| crate::remote::unreachable(url, e))?;
    let status = response.status();
    if status.is_success() || status == reqwest::StatusCode::CONFLICT {
        return Ok(());
    }
    let text = response.text().await.unwrap_or_default();
    Err(failure(format!("POST {url} answered {status}: {text}")))
}

async fn wait_for_job(
    client: &reqwest::Client,
    base: &str,
    job_id: &str,
) -> anyhow::Result<JobRecord> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let reply: JobResponse = call(
            client,
            reqwest::Method::GET,
            &format!("{base}{}", job_path(job_id)),
            crate::remote::NO_BODY,
        )
        .await?;
        let job = reply.job;
        match job.status {
            JobStatus::Succeeded => return Ok(job),
            JobStatus::Failed | JobStatus::Cancelled => {
                return Err(failure(format!(
                    "the training job {job_id} ended {}: {}",
                    job.status,
                    job.error.as_deref().unwrap_or("no error recorded")
                )));
            }
            _ if Instant::now() > deadline => {
                return Err(failure(format!(
                    "the training job {job_id} did not finish in time"
                )));
            }
            _ => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

/// The monitor's evaluated windows so far.
async fn windows(client: &reqwest::Client, base: &str) -> anyhow::Result<Vec<WindowSummary>> {
    let reply: MonitorReports = call(
        client,
        reqwest::Method::GET,
        &format!("{base}{}", monitor_reports_path(MONITOR)),
        crate::remote::NO_BODY,
    )
    .await?;
    Ok(reply.windows)
}

/// The feature columns and rows of a CSV (the `target` column left out),
/// numbers as JSON numbers.
fn read_rows(text: &str) -> anyhow::Result<(Vec<String>, Vec<Vec<Value>>)> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers()?.clone();
    let keep: Vec<usize> = (0..headers.len())
        .filter(|&i| &headers[i] != "target")
        .collect();
    let columns = keep.iter().map(|&i| headers[i].to_string()).collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record?;
        rows.push(
            keep.iter()
                .map(|&i| {
                    record[i]
                        .parse::<f64>()
                        .map_or_else(|_| json!(&record[i]), |v| json!(v))
                })
                .collect(),
        );
    }
    Ok((columns, rows))
}

/// The same wine, from another vineyard: stronger, darker, less acidic in
/// taste, richer in proline and magnesium.
fn shift(columns: &[String], row: &[Value]) -> Vec<Value> {
    columns
        .iter()
        .zip(row)
        .map(|(column, value)| {
            let Some(x) = value.as_f64() else {
                return value.clone();
            };
            let shifted = match column.as_str() {
                "alcohol" => x + 1.5,
                "color_intensity" => x * 1.8,
                "proline" => x * 1.6,
                "magnesium" => x + 25.0,
                "hue" => x * 0.7,
                _ => x,
            };
            json!(shifted)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_rows_and_their_shift_are_what_the_endpoint_expects() {
        let (columns, rows) = read_rows(TEST_CSV).unwrap();
        assert_eq!(columns.len(), 13);
        assert!(!columns.iter().any(|c| c == "target"));
        assert!(rows.len() >= WINDOW_ROWS);
        let shifted = shift(&columns, &rows[0]);
        let alcohol = columns.iter().position(|c| c == "alcohol").unwrap();
        let ash = columns.iter().position(|c| c == "ash").unwrap();
        assert!(
            (shifted[alcohol].as_f64().unwrap() - rows[0][alcohol].as_f64().unwrap() - 1.5).abs()
                < 1e-9
        );
        assert_eq!(shifted[ash], rows[0][ash]);
        assert_eq!(connect_host("0.0.0.0"), "127.0.0.1");
    }
}
