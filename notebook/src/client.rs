//! The notebook's client of a `smelt server`: MLflow's REST API for runs,
//! metrics, models and artifacts; Smelt's API for jobs (training and
//! autopilot), endpoints and monitors. Blocking calls: a notebook cell waits
//! for its answer anyway.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use smelt_api::ErrorBody;
use smelt_api::endpoints::{ENDPOINTS_PATH, EndpointList, invocations_path};
use smelt_api::jobs::{JOBS_PATH, JobResponse, JobStatus, SubmitJob, job_path};
use smelt_api::monitors::{MonitorReports, metrics, monitor_reports_path};
use smelt_charts::{LineChart, Series};

use crate::display::{Chart, DriftView, LeaderboardView, RunView, Table, number};

const MLFLOW: &str = "/api/2.0/mlflow";
/// Severity (threshold / p-value) reaches 1e12 for a clear shift; charts
/// stop at this so the other features stay readable.
const SEVERITY_CAP: f64 = 10.0;
/// Longest a `train` or `autopilot` call waits for its job.
const JOB_TIMEOUT: Duration = Duration::from_secs(3600);

/// What went wrong, in words (the server's message when it sent one).
#[derive(Debug, Clone, PartialEq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

type Result<T> = std::result::Result<T, Error>;

/// A connection to a smelt server.
pub struct Smelt {
    base: String,
    agent: ureq::Agent,
    /// The `Authorization` header sent with every call, if any.
    authorization: Option<String>,
}

/// A finished job: its run and, when it registered one, its model version.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub job_id: String,
    pub status: JobStatus,
    pub run_id: String,
    pub model_version: Option<String>,
}

/// The `Authorization` header MLflow's client sends, from the same variables
/// by the same rule: Basic when MLFLOW_TRACKING_USERNAME and
/// MLFLOW_TRACKING_PASSWORD are both set, else Bearer MLFLOW_TRACKING_TOKEN.
///
/// The CLI and the tracking store share one reader of these variables in
/// `smelt-tracking`; the notebook keeps its own few lines because depending on
/// `smelt-tracking` would make evcxr rebuild sqlx, object_store and axum in
/// every notebook.
fn authorization(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    use base64::Engine;
    let var = |name: &str| var(name).filter(|value| !value.is_empty());
    match (
        var("MLFLOW_TRACKING_USERNAME"),
        var("MLFLOW_TRACKING_PASSWORD"),
        var("MLFLOW_TRACKING_TOKEN"),
    ) {
        (Some(username), Some(password), _) => Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
        )),
        (_, _, Some(token)) => Some(format!("Bearer {token}")),
        _ => None,
    }
}

impl Smelt {
    /// Connects to `url` (`http://HOST:PORT`) and checks the server answers.
    /// A server started with `--auth` needs a login, read as MLflow's client
    /// reads it: MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or
    /// MLFLOW_TRACKING_TOKEN (`smelt tokens create`).
    pub fn connect(url: &str) -> Result<Smelt> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(120)))
            .http_status_as_error(false)
            .build()
            .into();
        let smelt = Smelt {
            base: url.trim_end_matches('/').to_string(),
            agent,
            authorization: authorization(|name| std::env::var(name).ok()),
        };
        smelt.get("/health").map_err(|e| {
            Error(format!(
                "no smelt server answers at {url} ({e}); start one with `smelt server`"
            ))
        })?;
        Ok(smelt)
    }

    /// The server's address.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn answer(&self, what: &str, response: ureq::http::Response<ureq::Body>) -> Result<Value> {
        let status = response.status();
        let text = response
            .into_body()
            .read_to_string()
            .map_err(|e| Error(format!("{what}: cannot read the answer: {e}")))?;
        if status.is_success() {
            return Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)));
        }
        // Smelt's and MLflow's routes both answer `{"error_code", "message"}`.
        let message = serde_json::from_str::<ErrorBody>(&text)
            .ok()
            .map(|body| body.message)
            .filter(|message| !message.is_empty())
            .unwrap_or(text);
        if status == 401 && self.authorization.is_none() {
            return Err(Error(format!(
                "{what}: the server requires a login: set MLFLOW_TRACKING_USERNAME and \
                 MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) before connecting"
            )));
        }
        if status == 403 {
            return Err(Error(format!("{what}: permission denied: {message}")));
        }
        Err(Error(format!("{what}: {status}: {message}")))
    }

    /// A call to Smelt's own API, in `smelt-api`'s types.
    fn smelt<R: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<R> {
        let what = format!("{method} {path}");
        let url = format!("{}{path}", self.base);
        let response = match (method, body) {
            ("GET", _) => self.login(self.agent.get(&url)).call(),
            (_, Some(body)) => self.login(self.agent.post(&url)).send_json(body),
            (_, None) => self.login(self.agent.post(&url)).send_empty(),
        }
        .map_err(|e| Error(format!("{what}: {e}")))?;
        let value = self.answer(&what, response)?;
        serde_json::from_value(value)
            .map_err(|e| Error(format!("{what}: an answer this client cannot read: {e}")))
    }

    /// Adds the login, when there is one.
    fn login<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.authorization {
            Some(value) => request.header("Authorization", value),
            None => request,
        }
    }

    fn get(&self, path: &str) -> Result<Value> {
        let response = self
            .login(self.agent.get(format!("{}{path}", self.base)))
            .call()
            .map_err(|e| Error(format!("GET {path}: {e}")))?;
        self.answer(&format!("GET {path}"), response)
    }

    fn post(&self, path: &str, body: Value) -> Result<Value> {
        let response = self
            .login(self.agent.post(format!("{}{path}", self.base)))
            .send_json(&body)
            .map_err(|e| Error(format!("POST {path}: {e}")))?;
        self.answer(&format!("POST {path}"), response)
    }

    /// Experiments, newest first.
    pub fn experiments(&self) -> Result<Table> {
        let found = self.post(
            &format!("{MLFLOW}/experiments/search"),
            json!({ "max_results": 1000, "order_by": ["last_update_time DESC"] }),
        )?;
        Ok(Table {
            title: "Experiments".into(),
            columns: vec!["experiment_id".into(), "name".into()],
            rows: list(&found["experiments"])
                .map(|e| vec![text(&e["experiment_id"]), text(&e["name"])])
                .collect(),
        })
    }

    /// An experiment's runs, newest first.
    pub fn runs(&self, experiment: &str) -> Result<Table> {
        self.search_runs(experiment, "", "attributes.start_time DESC")
    }

    /// Runs of an experiment matching a filter of MLflow's search grammar,
    /// sorted by `order_by` (`metrics.val_accuracy DESC`), at most 1,000.
    /// Columns: run id, name, status, then every metric and param.
    pub fn search_runs(&self, experiment: &str, filter: &str, order_by: &str) -> Result<Table> {
        let id = self.experiment_id(experiment)?;
        let found = self.post(
            &format!("{MLFLOW}/runs/search"),
            json!({ "experiment_ids": [id], "filter": filter, "max_results": 1000,
                    "order_by": if order_by.is_empty() { vec![] } else { vec![order_by] } }),
        )?;
        let runs: Vec<&Value> = list(&found["runs"]).collect();
        let keys = |field: &str| {
            let mut keys: Vec<String> = runs
                .iter()
                .flat_map(|r| list(&r["data"][field]).map(|m| text(&m["key"])))
                .collect();
            keys.sort();
            keys.dedup();
            keys
        };
        let (metrics, params) = (keys("metrics"), keys("params"));
        let mut columns: Vec<String> = vec!["run_id".into(), "name".into(), "status".into()];
        columns.extend(metrics.iter().cloned());
        columns.extend(params.iter().map(|p| format!("params.{p}")));
        let rows = runs
            .iter()
            .map(|run| {
                let view = RunView {
                    run: (*run).clone(),
                };
                let mut row = vec![
                    view.run_id().to_string(),
                    view.name().to_string(),
                    view.status().to_string(),
                ];
                row.extend(metrics.iter().map(|m| {
                    view.metric(m)
                        .map(smelt_charts::format_value)
                        .unwrap_or_default()
                }));
                row.extend(
                    params
                        .iter()
                        .map(|p| view.param(p).unwrap_or_default().to_string()),
                );
                row
            })
            .collect();
        Ok(Table {
            title: format!("Runs of {experiment}"),
            columns,
            rows,
        })
    }

    fn experiment_id(&self, name: &str) -> Result<String> {
        let found = self.get(&format!(
            "{MLFLOW}/experiments/get-by-name?experiment_name={}",
            encode(name)
        ))?;
        Ok(text(&found["experiment"]["experiment_id"]))
    }

    /// One run.
    pub fn run(&self, run_id: &str) -> Result<RunView> {
        let found = self.get(&format!("{MLFLOW}/runs/get?run_id={}", encode(run_id)))?;
        Ok(RunView {
            run: found["run"].clone(),
        })
    }

    /// A metric's whole history as (step, value), oldest first.
    pub fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<(i64, f64)>> {
        let mut points = Vec::new();
        let mut token = String::new();
        loop {
            let page = self.get(&format!(
                "{MLFLOW}/metrics/get-history?run_id={}&metric_key={}&max_results=25000&page_token={}",
                encode(run_id),
                encode(key),
                encode(&token)
            ))?;
            for metric in list(&page["metrics"]) {
                let step = text(&metric["step"]).parse().unwrap_or(0);
                if let Some(value) = number(&metric["value"]) {
                    points.push((step, value));
                }
            }
            token = text(&page["next_page_token"]);
            if token.is_empty() {
                return Ok(points);
            }
        }
    }

    /// A chart of metrics of a run over steps, a line per metric.
    pub fn chart(&self, run_id: &str, keys: &[&str]) -> Result<Chart> {
        let mut chart = LineChart::new(keys.join(", "));
        for key in keys {
            let points = self
                .metric_history(run_id, key)?
                .into_iter()
                .map(|(step, value)| (step as f64, value))
                .collect();
            chart = chart.series(Series::new(*key, points));
        }
        Ok(Chart { chart })
    }

    /// Uploads a local file into the artifact store, in the folder `datasets`
    /// of `experiment` (made when missing), and returns the URI a job spec
    /// names it by (`mlflow-artifacts:/ID/datasets/NAME`). A server runs jobs
    /// for its callers, so it reads their data from its artifact store, not
    /// from its own disk; this is how a notebook's data gets there.
    pub fn upload(&self, experiment: &str, file: impl AsRef<std::path::Path>) -> Result<String> {
        let file = file.as_ref();
        let name = file
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| Error(format!("{} names no file to upload", file.display())))?;
        let bytes = std::fs::read(file)
            .map_err(|e| Error(format!("cannot read {}: {e}", file.display())))?;
        let id = match self.experiment_id(experiment) {
            Ok(id) => id,
            Err(_) => {
                let created = self.post(
                    &format!("{MLFLOW}/experiments/create"),
                    json!({ "name": experiment }),
                )?;
                text(&created["experiment_id"])
            }
        };
        let what = format!("upload {}", file.display());
        let url = format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{id}/datasets/{}",
            self.base,
            encode(name)
        );
        let response = self
            .login(self.agent.put(url))
            .send(&bytes[..])
            .map_err(|e| Error(format!("{what}: {e}")))?;
        self.answer(&what, response)?;
        Ok(format!("mlflow-artifacts:/{id}/datasets/{name}"))
    }

    /// Trains a model on the server from a job spec (the TOML of `smelt
    /// train`; data as artifact URIs, see [`Smelt::upload`], or paths as the
    /// server sees them under its `--data-roots`) and waits for the job.
    pub fn train(&self, spec_toml: &str) -> Result<Job> {
        let submitted: JobResponse = self.smelt(
            "POST",
            JOBS_PATH,
            Some(&SubmitJob {
                spec: spec_toml.to_string(),
            }),
        )?;
        self.wait(&submitted.job.job_id)
    }

    /// Runs an autopilot search on the server (an `[autopilot]` spec) and
    /// waits for it; [`Smelt::leaderboard`] shows what it found.
    pub fn autopilot(&self, spec_toml: &str) -> Result<Job> {
        self.train(spec_toml)
    }

    fn wait(&self, job_id: &str) -> Result<Job> {
        let deadline = Instant::now() + JOB_TIMEOUT;
        loop {
            let job = self
                .smelt::<JobResponse>("GET", &job_path(&encode(job_id)), NO_BODY)?
                .job;
            match job.status {
                JobStatus::Succeeded => {
                    return Ok(Job {
                        job_id: job_id.to_string(),
                        status: job.status,
                        run_id: job.run_id.unwrap_or_default(),
                        model_version: job.model_version,
                    });
                }
                JobStatus::Failed | JobStatus::Cancelled => {
                    return Err(Error(format!(
                        "job {job_id} ended {}: {}",
                        job.status,
                        job.error.as_deref().unwrap_or("no error recorded")
                    )));
                }
                status if Instant::now() > deadline => {
                    return Err(Error(format!("job {job_id} is still {status}")));
                }
                _ => std::thread::sleep(Duration::from_millis(300)),
            }
        }
    }

    /// A file of a run's artifacts, as text.
    pub fn artifact_text(&self, run_id: &str, path: &str) -> Result<String> {
        let run = self.run(run_id)?;
        let location = text(&run.run["info"]["artifact_uri"]);
        let Some(root) = location.strip_prefix("mlflow-artifacts:") else {
            return Err(Error(format!(
                "the run's artifacts are at {location}, which this server does not proxy"
            )));
        };
        let root = root.trim_start_matches("//").trim_start_matches('/');
        let url = format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{root}/{path}",
            self.base
        );
        let response = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| Error(format!("GET {url}: {e}")))?;
        if !response.status().is_success() {
            return Err(Error(format!(
                "the run {run_id} has no artifact {path} ({})",
                response.status()
            )));
        }
        response
            .into_body()
            .read_to_string()
            .map_err(|e| Error(format!("GET {url}: {e}")))
    }

    /// The leaderboard of an autopilot run.
    pub fn leaderboard(&self, run_id: &str) -> Result<LeaderboardView> {
        let text = self.artifact_text(run_id, "leaderboard/leaderboard.json")?;
        let leaderboard = serde_json::from_str(&text)
            .map_err(|e| Error(format!("unreadable leaderboard: {e}")))?;
        Ok(LeaderboardView { leaderboard })
    }

    /// Registered models with their aliases.
    pub fn models(&self) -> Result<Table> {
        let found = self.get(&format!(
            "{MLFLOW}/registered-models/search?max_results=1000"
        ))?;
        Ok(Table {
            title: "Registered models".into(),
            columns: vec!["name".into(), "aliases".into()],
            rows: list(&found["registered_models"])
                .map(|m| {
                    let aliases = list(&m["aliases"])
                        .map(|a| format!("@{} → {}", text(&a["alias"]), text(&a["version"])))
                        .collect::<Vec<_>>()
                        .join(", ");
                    vec![text(&m["name"]), aliases]
                })
                .collect(),
        })
    }

    /// Points `alias` of `model` at `version` (endpoints following it swap).
    pub fn set_alias(&self, model: &str, alias: &str, version: &str) -> Result<()> {
        self.post(
            &format!("{MLFLOW}/registered-models/alias"),
            json!({ "name": model, "alias": alias, "version": version }),
        )?;
        Ok(())
    }

    /// The server's endpoints and their variants.
    pub fn endpoints(&self) -> Result<Table> {
        let found: EndpointList = self.smelt("GET", ENDPOINTS_PATH, NO_BODY)?;
        Ok(Table {
            title: "Endpoints".into(),
            columns: vec!["name".into(), "variants".into()],
            rows: found
                .endpoints
                .iter()
                .map(|e| {
                    let variants = e
                        .variants
                        .iter()
                        .map(|v| format!("{} ({}, weight {})", v.name, v.model, v.weight))
                        .collect::<Vec<_>>()
                        .join("; ");
                    vec![e.name.clone(), variants]
                })
                .collect(),
        })
    }

    /// Predictions of an endpoint for rows written as a JSON array of
    /// objects (`[{"alcohol": 13.2, …}]`; text, so a notebook needs no JSON
    /// macro).
    pub fn predict(&self, endpoint: &str, records_json: &str) -> Result<Value> {
        let records: Value = serde_json::from_str(records_json)
            .map_err(|e| Error(format!("the rows are not JSON: {e}")))?;
        let answer = self.post(
            &invocations_path(&encode(endpoint)),
            json!({ "dataframe_records": records }),
        )?;
        Ok(answer["predictions"].clone())
    }

    /// A monitor's windows, severity per feature over them, and its latest report.
    pub fn drift(&self, monitor: &str) -> Result<DriftView> {
        let reports: MonitorReports =
            self.smelt("GET", &monitor_reports_path(&encode(monitor)), NO_BODY)?;
        let windows = reports.windows;
        let mut chart = LineChart::new(format!("Drift severity of {monitor} (above 1 = drift)"))
            .x_label("window")
            .y_label(format!("severity (drawn up to {SEVERITY_CAP})"))
            .threshold(1.0, "drift");
        let mut report_html = None;
        if let Some(run_id) = reports.run_id.as_deref() {
            let run = self.run(run_id)?;
            for key in run.metric_keys() {
                if let Some(feature) = metrics::severity_column(&key) {
                    let points = self
                        .metric_history(run_id, &key)?
                        .into_iter()
                        .map(|(step, value)| (step as f64, value.min(SEVERITY_CAP)))
                        .collect();
                    chart = chart.series(Series::new(feature, points));
                }
            }
            if let Some(window) = windows.last() {
                report_html = self.artifact_text(run_id, &window.report).ok();
            }
        }
        Ok(DriftView {
            monitor: monitor.to_string(),
            windows,
            severity: Chart { chart },
            report_html,
        })
    }
}

/// No request body, for [`Smelt::smelt`].
const NO_BODY: Option<&()> = None;

fn list(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

/// A JSON string (or number) as text; empty when absent.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Percent-encodes a query value or path segment.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_encoded_and_read_as_text() {
        assert_eq!(encode("a b/c@d"), "a%20b%2Fc%40d");
        assert_eq!(text(&json!("x")), "x");
        assert_eq!(text(&json!(3)), "3");
        assert_eq!(text(&Value::Null), "");
    }

    #[test]
    fn the_login_follows_mlflow_variables() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_string())
            }
        };
        assert_eq!(
            authorization(vars(&[
                ("MLFLOW_TRACKING_USERNAME", "user"),
                ("MLFLOW_TRACKING_PASSWORD", "pass"),
                ("MLFLOW_TRACKING_TOKEN", "token"),
            ])),
            Some("Basic dXNlcjpwYXNz".into())
        );
        assert_eq!(
            authorization(vars(&[
                ("MLFLOW_TRACKING_USERNAME", "user"),
                ("MLFLOW_TRACKING_PASSWORD", ""),
                ("MLFLOW_TRACKING_TOKEN", "token"),
            ])),
            Some("Bearer token".into())
        );
        assert_eq!(authorization(vars(&[])), None);
    }

    #[test]
    fn a_missing_server_is_a_clear_error() {
        let error = Smelt::connect("http://127.0.0.1:9").err().unwrap();
        assert!(error.0.contains("no smelt server answers"), "{error}");
    }
}
