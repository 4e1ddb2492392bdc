//! [`RestStore`]: the tracking traits spoken over HTTP to a Smelt server or a
//! real MLflow 3 server, exactly as MLflow's Python client speaks them.
//!
//! Every call is one request to `{tracking_uri}/api/2.0/mlflow/...`. GET calls
//! carry their fields in the query string (lists as repeated keys), and every
//! other verb carries a JSON body with `Content-Type: application/json`, which
//! MLflow's server insists on. Answers follow MLflow's conventions: fields left
//! at their default are omitted, so an empty body or `{}` is a valid answer and
//! every response struct here defaults each field. Errors come back as
//! `{"error_code", "message"}` and become an [`Error`] with the same code.

use std::time::Duration;

use async_trait::async_trait;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use reqwest::header;
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{Map, Value, json};

use super::{
    CreateLoggedModel, CreateModelVersion, CreateRun, DefinitionStore, ExperimentStore,
    LoggedModelStore, ModelRegistry, RunStore, SearchExperiments, SearchLoggedModels, SearchModels,
    SearchRuns, UpdateRun,
};
use crate::entities::*;
use crate::error::{Error, ErrorCode, Result};

pub mod client;

pub use client::Credentials;

/// The connect timeout: long enough for a TLS handshake to a far region.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole-request timeout, MLflow's `MLFLOW_HTTP_REQUEST_TIMEOUT` default.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How long an idle keep-alive connection is kept for the next call.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// The page size the Python client asks `metrics/get-history` for.
const METRIC_HISTORY_PAGE: i64 = 25_000;

/// Characters escaped in an id or key placed in a URL path segment: all but
/// RFC 3986's unreserved set, so `/`, `?`, `#` and spaces cannot change the route.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A tracking store that lives behind a Smelt or MLflow server.
///
/// Cloning is cheap: the HTTP client is a shared keep-alive connection pool.
#[derive(Debug, Clone)]
pub struct RestStore {
    /// The tracking URI without a trailing slash, e.g. `http://host:5000`.
    base: String,
    /// Keep-alive client carrying the credentials from the environment.
    client: reqwest::Client,
    /// Which login the client sends, to explain a 401 or 403.
    credentials: Credentials,
}

impl RestStore {
    /// Builds a client for `tracking_uri` (`http://…` or `https://…`).
    ///
    /// Credentials, workspace and TLS trust come from the environment as
    /// MLflow's client reads them ([`client::configure`]): `MLFLOW_TRACKING_USERNAME`
    /// and `MLFLOW_TRACKING_PASSWORD` (HTTP Basic), else `MLFLOW_TRACKING_TOKEN`
    /// (Bearer). No request is made here.
    pub fn new(tracking_uri: &str) -> Result<RestStore> {
        let base = tracking_uri.trim().trim_end_matches('/').to_string();
        let parsed = url::Url::parse(&base).map_err(|error| {
            Error::invalid(format!("invalid tracking URI '{tracking_uri}': {error}"))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::invalid(format!(
                "invalid tracking URI '{tracking_uri}': a REST store needs an http:// or https:// URI"
            )));
        }
        let builder = reqwest::Client::builder()
            .user_agent(concat!("smelt-tracking/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .tcp_keepalive(Duration::from_secs(60));
        let client = client::configure(builder)?
            .build()
            .map_err(|error| Error::internal(format!("cannot build the HTTP client: {error}")))?;
        Ok(RestStore {
            base,
            client,
            credentials: Credentials::from_env(),
        })
    }

    /// The tracking URI this store talks to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The shared HTTP client. It sends the tracking credentials on every
    /// request, so use it only for URLs on this server (not presigned URLs).
    pub fn http_client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends one call and decodes its answer.
    ///
    /// `body` is a JSON object: GET sends its members as query parameters, the
    /// other verbs send it as JSON. Null members are dropped first, because
    /// MLflow's client omits unset fields rather than sending `null`.
    async fn call<Resp: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Value,
    ) -> Result<Resp> {
        let body = drop_nulls(body);
        let url = format!("{}{}", self.base, path);
        let request = if method == Method::GET {
            let url = with_query(&url, &body)?;
            self.client.get(url)
        } else {
            let bytes = serde_json::to_vec(&body).map_err(|error| {
                Error::internal(format!("cannot encode the request to {url}: {error}"))
            })?;
            self.client
                .request(method.clone(), &url)
                .header(header::CONTENT_TYPE, "application/json")
                .body(bytes)
        };
        let response = request
            .send()
            .await
            .map_err(|error| network_error(&url, &error))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| network_error(&url, &error))?;
        if (200..300).contains(&status) {
            decode_answer(&bytes, &url)
        } else if let Some(refused) = self.credentials.refusal(status, &refusal_detail(&bytes)) {
            Err(refused)
        } else {
            Err(error_from_answer(status, &bytes, &method, &url))
        }
    }

    /// A call whose answer carries nothing (`{}`), so any body is accepted.
    async fn call_empty(&self, method: Method, path: &str, body: Value) -> Result<()> {
        self.call::<IgnoredAny>(method, path, body)
            .await
            .map(|_| ())
    }
}

/// Removes null members (recursively), as MLflow's client omits unset fields.
fn drop_nulls(value: Value) -> Value {
    match value {
        Value::Object(members) => Value::Object(
            members
                .into_iter()
                .filter(|(_, member)| !member.is_null())
                .map(|(key, member)| (key, drop_nulls(member)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(drop_nulls).collect()),
        other => other,
    }
}

/// The query parameters of a GET call: one pair per scalar member and one per
/// list item, so `{"run_ids": ["a", "b"]}` becomes `run_ids=a&run_ids=b`, as
/// Python's `requests` encodes MLflow's GET calls.
fn query_pairs(body: &Value) -> Vec<(String, String)> {
    fn scalar(value: &Value) -> Option<String> {
        match value {
            Value::Null => None,
            Value::String(text) => Some(text.clone()),
            Value::Bool(flag) => Some(flag.to_string()),
            Value::Number(number) => Some(number.to_string()),
            // No GET call has nested messages; JSON text is the least surprising fallback.
            other => Some(other.to_string()),
        }
    }
    let mut pairs = Vec::new();
    if let Value::Object(members) = body {
        for (key, value) in members {
            match value {
                Value::Array(items) => {
                    pairs.extend(
                        items
                            .iter()
                            .filter_map(scalar)
                            .map(|item| (key.clone(), item)),
                    );
                }
                other => pairs.extend(scalar(other).map(|item| (key.clone(), item))),
            }
        }
    }
    pairs
}

/// `url` with the query string of a GET call appended.
fn with_query(url: &str, body: &Value) -> Result<url::Url> {
    let mut parsed = url::Url::parse(url)
        .map_err(|error| Error::invalid(format!("invalid request URL '{url}': {error}")))?;
    let pairs = query_pairs(body);
    if !pairs.is_empty() {
        parsed.query_pairs_mut().extend_pairs(pairs);
    }
    Ok(parsed)
}

/// Decodes a 2xx answer; an empty body means `{}`, as MLflow's client reads it.
fn decode_answer<Resp: DeserializeOwned>(bytes: &[u8], url: &str) -> Result<Resp> {
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        bytes
    };
    serde_json::from_slice(bytes).map_err(|error| {
        Error::internal(format!(
            "{url} answered with JSON this client cannot read ({error}); is it a Smelt or MLflow 3 server?"
        ))
    })
}

/// The error body MLflow's server sends (`MlflowException.serialize_as_json`).
#[derive(Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    /// FastAPI's own errors (`{"detail": "Not Found"}`) use this instead.
    #[serde(default)]
    detail: Option<Value>,
}

/// The server's words in a 401 or 403: its JSON `message` (MLflow's and
/// Smelt's routes), else the body's text (MLflow's auth plugin answers
/// plain text).
fn refusal_detail(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorAnswer>(body) {
        Ok(ErrorAnswer {
            message: Some(message),
            ..
        }) => message,
        _ => body_excerpt(body),
    }
}

/// Turns a non-2xx answer into an [`Error`] with MLflow's code.
///
/// A JSON body's `error_code` wins. A code this build does not know becomes
/// [`ErrorCode::Unknown`] (with the original name kept in the message), except
/// on a 404, which always means "no such thing". A body that is not MLflow's
/// error JSON (HTML from a proxy, an empty 404 from an unknown route) gets a code
/// from the HTTP status.
fn error_from_answer(status: u16, body: &[u8], method: &Method, url: &str) -> Error {
    let answer = serde_json::from_slice::<ErrorAnswer>(body).ok();
    if let Some(ErrorAnswer {
        error_code: Some(name),
        message,
        ..
    }) = &answer
    {
        let message = message.clone().unwrap_or_default();
        let code = serde_json::from_value::<ErrorCode>(Value::String(name.clone()))
            .unwrap_or(ErrorCode::Unknown);
        return match code {
            ErrorCode::Unknown => {
                let code = if status == 404 {
                    ErrorCode::ResourceDoesNotExist
                } else {
                    ErrorCode::Unknown
                };
                Error::new(code, format!("{name} (HTTP {status}): {message}"))
            }
            known => Error::new(known, message),
        };
    }
    let code = match status {
        400 => ErrorCode::BadRequest,
        404 => ErrorCode::ResourceDoesNotExist,
        413 | 429 => ErrorCode::RequestLimitExceeded,
        503 => ErrorCode::TemporarilyUnavailable,
        500..=599 => ErrorCode::InternalError,
        _ => ErrorCode::Unknown,
    };
    let detail = match answer.as_ref().and_then(|answer| answer.detail.as_ref()) {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => body_excerpt(body),
    };
    let mut message = format!("{method} {url} failed with HTTP {status}");
    if status == 404 {
        message.push_str(
            " (the server has no such endpoint or entity; is it a Smelt or MLflow 3 server?)",
        );
    }
    if !detail.is_empty() {
        message.push_str(": ");
        message.push_str(&detail);
    }
    Error::new(code, message)
}

/// A short plain-text excerpt of an error body; HTML pages are left out, as
/// their markup says nothing a person needs.
fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.starts_with('<') {
        return String::new();
    }
    text.chars().take(300).collect()
}

/// The error for a request that got no HTTP answer at all.
fn network_error(url: &str, error: &reqwest::Error) -> Error {
    // reqwest's own message is terse ("error sending request"); the causes
    // ("connection refused", "dns error") are what a person needs.
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    let what = if error.is_timeout() {
        format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())
    } else if causes.is_empty() {
        error.to_string()
    } else {
        causes.join(": ")
    };
    Error::new(
        ErrorCode::TemporarilyUnavailable,
        format!(
            "cannot reach the tracking server at {url} ({what}); check that the server is running and the tracking URI is right"
        ),
    )
}

/// An entity a successful answer must carry.
fn required<T>(value: Option<T>, what: &str, path: &str) -> Result<T> {
    value.ok_or_else(|| Error::internal(format!("the server's answer to {path} carries no {what}")))
}

/// A page of results; MLflow ends paging with an absent or empty token.
fn page<T>(items: Vec<T>, next_page_token: Option<String>) -> Page<T> {
    Page {
        items,
        next_page_token: next_page_token.filter(|token| !token.is_empty()),
    }
}

/// `/api/2.0/mlflow/logged-models/{id}` with the id escaped for a path segment.
fn logged_model_path(model_id: &str) -> String {
    format!(
        "/api/2.0/mlflow/logged-models/{}",
        utf8_percent_encode(model_id, PATH_SEGMENT)
    )
}

/// Our `field [ASC|DESC]` order_by strings in `logged-models/search`'s shape,
/// `{field_name, ascending}`; ascending is the proto's default.
fn logged_model_order_by(clauses: &[String]) -> Vec<Value> {
    clauses
        .iter()
        .filter_map(|clause| {
            let clause = clause.trim();
            let (field, ascending) = match clause.rsplit_once(char::is_whitespace) {
                Some((field, direction)) if direction.eq_ignore_ascii_case("asc") => {
                    (field.trim_end(), true)
                }
                Some((field, direction)) if direction.eq_ignore_ascii_case("desc") => {
                    (field.trim_end(), false)
                }
                _ => (clause, true),
            };
            (!field.is_empty()).then(|| json!({"field_name": field, "ascending": ascending}))
        })
        .collect()
}

/// A missing alias is `400 INVALID_PARAMETER_VALUE "Registered model alias … not
/// found."` on MLflow's server; callers of the trait expect "not found".
fn alias_not_found(error: Error) -> Error {
    if error.code == ErrorCode::InvalidParameterValue
        && error.message.to_ascii_lowercase().contains("not found")
    {
        Error::not_found(error.message)
    } else {
        error
    }
}

/// A JSON value from an entity; entities always encode, but the error is kept
/// rather than unwrapped because this is library code.
fn to_json<T: serde::Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value)
        .map_err(|error| Error::internal(format!("cannot encode a request: {error}")))
}

#[derive(Deserialize)]
struct CreateExperimentAnswer {
    #[serde(default)]
    experiment_id: Option<String>,
}

#[derive(Deserialize)]
struct ExperimentAnswer {
    #[serde(default)]
    experiment: Option<Experiment>,
}

#[derive(Deserialize)]
struct SearchExperimentsAnswer {
    #[serde(default)]
    experiments: Vec<Experiment>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct RunAnswer {
    #[serde(default)]
    run: Option<Run>,
}

#[derive(Deserialize)]
struct UpdateRunAnswer {
    #[serde(default)]
    run_info: Option<RunInfo>,
}

#[derive(Deserialize)]
struct SearchRunsAnswer {
    #[serde(default)]
    runs: Vec<Run>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct MetricHistoryAnswer {
    #[serde(default)]
    metrics: Vec<Metric>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct LoggedModelAnswer {
    #[serde(default)]
    model: Option<LoggedModel>,
}

#[derive(Deserialize)]
struct SearchLoggedModelsAnswer {
    #[serde(default)]
    models: Vec<LoggedModel>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct RegisteredModelAnswer {
    #[serde(default)]
    registered_model: Option<RegisteredModel>,
}

#[derive(Deserialize)]
struct SearchRegisteredModelsAnswer {
    #[serde(default)]
    registered_models: Vec<RegisteredModel>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct ModelVersionAnswer {
    #[serde(default)]
    model_version: Option<ModelVersion>,
}

#[derive(Deserialize)]
struct ModelVersionsAnswer {
    #[serde(default)]
    model_versions: Vec<ModelVersion>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct DownloadUriAnswer {
    #[serde(default)]
    artifact_uri: Option<String>,
}

const EXPERIMENTS: &str = "/api/2.0/mlflow/experiments";
const RUNS: &str = "/api/2.0/mlflow/runs";
const REGISTERED_MODELS: &str = "/api/2.0/mlflow/registered-models";
const MODEL_VERSIONS: &str = "/api/2.0/mlflow/model-versions";

#[async_trait]
impl ExperimentStore for RestStore {
    async fn ping(&self) -> Result<()> {
        // MLflow's server and Smelt's both answer `/health` with 200 "OK".
        let url = format!("{}/health", self.base);
        let response = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|error| network_error(&url, &error))?;
        let status = response.status().as_u16();
        if status == 200 {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::TemporarilyUnavailable,
                format!("{url} answered HTTP {status}"),
            ))
        }
    }

    async fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> Result<String> {
        let path = format!("{EXPERIMENTS}/create");
        let body = json!({"name": name, "artifact_location": artifact_location, "tags": tags});
        let answer: CreateExperimentAnswer = self.call(Method::POST, &path, body).await?;
        required(
            answer.experiment_id.filter(|id| !id.is_empty()),
            "experiment_id",
            &path,
        )
    }

    async fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        let path = format!("{EXPERIMENTS}/get");
        let answer: ExperimentAnswer = self
            .call(Method::GET, &path, json!({"experiment_id": experiment_id}))
            .await?;
        required(answer.experiment, "experiment", &path)
    }

    async fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        let path = format!("{EXPERIMENTS}/get-by-name");
        // MLflow answers 404 RESOURCE_DOES_NOT_EXIST for an unknown name; its
        // client turns that into None so `set_experiment` can create it.
        match self
            .call::<ExperimentAnswer>(Method::GET, &path, json!({"experiment_name": name}))
            .await
        {
            Ok(answer) => required(answer.experiment, "experiment", &path).map(Some),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn search_experiments(&self, query: &SearchExperiments) -> Result<Page<Experiment>> {
        // The Python client searches experiments with POST (GET exists too).
        let body = json!({
            "max_results": query.max_results.unwrap_or(1000),
            "page_token": query.page_token,
            "filter": query.filter,
            "order_by": query.order_by,
            "view_type": query.view_type.as_str(),
        });
        let answer: SearchExperimentsAnswer = self
            .call(Method::POST, &format!("{EXPERIMENTS}/search"), body)
            .await?;
        Ok(page(answer.experiments, answer.next_page_token))
    }

    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        let body = json!({"experiment_id": experiment_id, "new_name": new_name});
        self.call_empty(Method::POST, &format!("{EXPERIMENTS}/update"), body)
            .await
    }

    async fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        let body = json!({"experiment_id": experiment_id});
        self.call_empty(Method::POST, &format!("{EXPERIMENTS}/delete"), body)
            .await
    }

    async fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        let body = json!({"experiment_id": experiment_id});
        self.call_empty(Method::POST, &format!("{EXPERIMENTS}/restore"), body)
            .await
    }

    async fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> Result<()> {
        let body = json!({"experiment_id": experiment_id, "key": key, "value": value});
        self.call_empty(
            Method::POST,
            &format!("{EXPERIMENTS}/set-experiment-tag"),
            body,
        )
        .await
    }

    async fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()> {
        let body = json!({"experiment_id": experiment_id, "key": key});
        self.call_empty(
            Method::POST,
            &format!("{EXPERIMENTS}/delete-experiment-tag"),
            body,
        )
        .await
    }
}

#[async_trait]
impl RunStore for RestStore {
    async fn create_run(&self, request: &CreateRun) -> Result<Run> {
        let path = format!("{RUNS}/create");
        let body = json!({
            "experiment_id": request.experiment_id,
            "user_id": request.user_id,
            "run_name": request.run_name,
            "start_time": request.start_time,
            "tags": request.tags,
        });
        let answer: RunAnswer = self.call(Method::POST, &path, body).await?;
        required(answer.run, "run", &path)
    }

    async fn get_run(&self, run_id: &str) -> Result<Run> {
        let path = format!("{RUNS}/get");
        // `run_uuid` is the deprecated twin the Python client still sends.
        let answer: RunAnswer = self
            .call(
                Method::GET,
                &path,
                json!({"run_id": run_id, "run_uuid": run_id}),
            )
            .await?;
        required(answer.run, "run", &path)
    }

    async fn update_run(&self, request: &UpdateRun) -> Result<RunInfo> {
        let path = format!("{RUNS}/update");
        let body = json!({
            "run_id": request.run_id,
            "run_uuid": request.run_id,
            "status": request.status.map(RunStatus::as_str),
            "end_time": request.end_time,
            "run_name": request.run_name,
        });
        let answer: UpdateRunAnswer = self.call(Method::POST, &path, body).await?;
        required(answer.run_info, "run_info", &path)
    }

    async fn delete_run(&self, run_id: &str) -> Result<()> {
        self.call_empty(
            Method::POST,
            &format!("{RUNS}/delete"),
            json!({"run_id": run_id}),
        )
        .await
    }

    async fn restore_run(&self, run_id: &str) -> Result<()> {
        self.call_empty(
            Method::POST,
            &format!("{RUNS}/restore"),
            json!({"run_id": run_id}),
        )
        .await
    }

    async fn search_runs(&self, query: &SearchRuns) -> Result<Page<Run>> {
        // A JSON POST, as the Python client sends it: MLflow's server reads
        // `experiment_ids` and `max_results` from the body, not the query string.
        let body = json!({
            "experiment_ids": query.experiment_ids,
            "filter": query.filter,
            "run_view_type": query.run_view_type.as_str(),
            "max_results": query.max_results.unwrap_or(1000),
            "order_by": query.order_by,
            "page_token": query.page_token,
        });
        let answer: SearchRunsAnswer = self
            .call(Method::POST, &format!("{RUNS}/search"), body)
            .await?;
        Ok(page(answer.runs, answer.next_page_token))
    }

    async fn log_metric(&self, run_id: &str, metric: &Metric) -> Result<()> {
        // The entity's serde writes NaN and ±Infinity as MLflow's strings.
        let mut body = to_json(metric)?;
        if let Value::Object(members) = &mut body {
            members.insert("run_id".to_string(), json!(run_id));
            members.insert("run_uuid".to_string(), json!(run_id));
        }
        self.call_empty(Method::POST, &format!("{RUNS}/log-metric"), body)
            .await
    }

    async fn log_param(&self, run_id: &str, param: &Param) -> Result<()> {
        let body =
            json!({"run_id": run_id, "run_uuid": run_id, "key": param.key, "value": param.value});
        self.call_empty(Method::POST, &format!("{RUNS}/log-parameter"), body)
            .await
    }

    async fn set_tag(&self, run_id: &str, tag: &Tag) -> Result<()> {
        let body =
            json!({"run_id": run_id, "run_uuid": run_id, "key": tag.key, "value": tag.value});
        self.call_empty(Method::POST, &format!("{RUNS}/set-tag"), body)
            .await
    }

    async fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        self.call_empty(
            Method::POST,
            &format!("{RUNS}/delete-tag"),
            json!({"run_id": run_id, "key": key}),
        )
        .await
    }

    async fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()> {
        // Sent as one request: splitting into MLflow's per-request limits is
        // the caller's job, because splitting would break atomicity.
        let body = json!({"run_id": run_id, "metrics": to_json(&metrics)?, "params": params, "tags": tags});
        self.call_empty(Method::POST, &format!("{RUNS}/log-batch"), body)
            .await
    }

    async fn log_inputs(
        &self,
        run_id: &str,
        datasets: &[DatasetInput],
        models: &[ModelInput],
    ) -> Result<()> {
        let mut body = Map::new();
        body.insert("run_id".to_string(), json!(run_id));
        body.insert("datasets".to_string(), to_json(&datasets)?);
        // Only MLflow 3 knows `models`; leaving it out when empty keeps the
        // call acceptable to older servers.
        if !models.is_empty() {
            body.insert("models".to_string(), to_json(&models)?);
        }
        self.call_empty(
            Method::POST,
            &format!("{RUNS}/log-inputs"),
            Value::Object(body),
        )
        .await
    }

    async fn log_outputs(&self, run_id: &str, models: &[ModelOutput]) -> Result<()> {
        let body = json!({"run_id": run_id, "models": to_json(&models)?});
        self.call_empty(Method::POST, &format!("{RUNS}/outputs"), body)
            .await
    }

    async fn get_metric_history(
        &self,
        run_id: &str,
        metric_key: &str,
        page_token: Option<&str>,
        max_results: Option<i64>,
    ) -> Result<Page<Metric>> {
        let body = json!({
            "run_id": run_id,
            "run_uuid": run_id,
            "metric_key": metric_key,
            "page_token": page_token,
            "max_results": max_results.unwrap_or(METRIC_HISTORY_PAGE),
        });
        let answer: MetricHistoryAnswer = self
            .call(Method::GET, "/api/2.0/mlflow/metrics/get-history", body)
            .await?;
        Ok(page(answer.metrics, answer.next_page_token))
    }
}

#[async_trait]
impl LoggedModelStore for RestStore {
    async fn create_logged_model(&self, request: &CreateLoggedModel) -> Result<LoggedModel> {
        let path = "/api/2.0/mlflow/logged-models";
        let body = json!({
            "experiment_id": request.experiment_id,
            "name": request.name,
            "model_type": request.model_type,
            "source_run_id": request.source_run_id,
            "params": request.params,
            "tags": request.tags,
        });
        let answer: LoggedModelAnswer = self.call(Method::POST, path, body).await?;
        required(answer.model, "model", path)
    }

    async fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel> {
        let path = logged_model_path(model_id);
        let answer: LoggedModelAnswer = self.call(Method::GET, &path, json!({})).await?;
        required(answer.model, "model", &path)
    }

    async fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel> {
        let path = logged_model_path(model_id);
        let body = json!({"model_id": model_id, "status": status.as_str()});
        let answer: LoggedModelAnswer = self.call(Method::PATCH, &path, body).await?;
        required(answer.model, "model", &path)
    }

    async fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag]) -> Result<()> {
        let path = format!("{}/tags", logged_model_path(model_id));
        self.call_empty(
            Method::PATCH,
            &path,
            json!({"model_id": model_id, "tags": tags}),
        )
        .await
    }

    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()> {
        let path = format!(
            "{}/tags/{}",
            logged_model_path(model_id),
            utf8_percent_encode(key, PATH_SEGMENT)
        );
        self.call_empty(Method::DELETE, &path, json!({})).await
    }

    async fn delete_logged_model(&self, model_id: &str) -> Result<()> {
        self.call_empty(Method::DELETE, &logged_model_path(model_id), json!({}))
            .await
    }

    async fn search_logged_models(&self, query: &SearchLoggedModels) -> Result<Page<LoggedModel>> {
        let body = json!({
            "experiment_ids": query.experiment_ids,
            "filter": query.filter,
            "max_results": query.max_results.unwrap_or(100),
            "order_by": logged_model_order_by(&query.order_by),
            "page_token": query.page_token,
        });
        let answer: SearchLoggedModelsAnswer = self
            .call(Method::POST, "/api/2.0/mlflow/logged-models/search", body)
            .await?;
        Ok(page(answer.models, answer.next_page_token))
    }
}

#[async_trait]
impl ModelRegistry for RestStore {
    async fn create_registered_model(
        &self,
        name: &str,
        tags: &[Tag],
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        let path = format!("{REGISTERED_MODELS}/create");
        let body = json!({"name": name, "tags": tags, "description": description});
        let answer: RegisteredModelAnswer = self.call(Method::POST, &path, body).await?;
        required(answer.registered_model, "registered_model", &path)
    }

    async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        let path = format!("{REGISTERED_MODELS}/get");
        let answer: RegisteredModelAnswer =
            self.call(Method::GET, &path, json!({"name": name})).await?;
        required(answer.registered_model, "registered_model", &path)
    }

    async fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel> {
        let path = format!("{REGISTERED_MODELS}/rename");
        let body = json!({"name": name, "new_name": new_name});
        let answer: RegisteredModelAnswer = self.call(Method::POST, &path, body).await?;
        required(answer.registered_model, "registered_model", &path)
    }

    async fn update_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        let path = format!("{REGISTERED_MODELS}/update");
        let body = json!({"name": name, "description": description});
        let answer: RegisteredModelAnswer = self.call(Method::PATCH, &path, body).await?;
        required(answer.registered_model, "registered_model", &path)
    }

    async fn delete_registered_model(&self, name: &str) -> Result<()> {
        self.call_empty(
            Method::DELETE,
            &format!("{REGISTERED_MODELS}/delete"),
            json!({"name": name}),
        )
        .await
    }

    async fn search_registered_models(
        &self,
        query: &SearchModels,
    ) -> Result<Page<RegisteredModel>> {
        let body = json!({
            "filter": query.filter,
            "max_results": query.max_results.unwrap_or(100),
            "order_by": query.order_by,
            "page_token": query.page_token,
        });
        let answer: SearchRegisteredModelsAnswer = self
            .call(Method::GET, &format!("{REGISTERED_MODELS}/search"), body)
            .await?;
        Ok(page(answer.registered_models, answer.next_page_token))
    }

    async fn get_latest_versions(
        &self,
        name: &str,
        stages: &[String],
    ) -> Result<Vec<ModelVersion>> {
        let path = format!("{REGISTERED_MODELS}/get-latest-versions");
        let body = json!({"name": name, "stages": stages});
        // Like the Python client, fall back to GET on a server that only
        // routes the older GET form.
        let answer: ModelVersionsAnswer = match self.call(Method::POST, &path, body.clone()).await {
            Err(error) if error.code == ErrorCode::EndpointNotFound => {
                self.call(Method::GET, &path, body).await?
            }
            other => other?,
        };
        Ok(answer.model_versions)
    }

    async fn set_registered_model_tag(&self, name: &str, key: &str, value: &str) -> Result<()> {
        let body = json!({"name": name, "key": key, "value": value});
        self.call_empty(Method::POST, &format!("{REGISTERED_MODELS}/set-tag"), body)
            .await
    }

    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        let body = json!({"name": name, "key": key});
        self.call_empty(
            Method::DELETE,
            &format!("{REGISTERED_MODELS}/delete-tag"),
            body,
        )
        .await
    }

    async fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
    ) -> Result<()> {
        let body = json!({"name": name, "alias": alias, "version": version});
        self.call_empty(Method::POST, &format!("{REGISTERED_MODELS}/alias"), body)
            .await
    }

    async fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        let body = json!({"name": name, "alias": alias});
        self.call_empty(Method::DELETE, &format!("{REGISTERED_MODELS}/alias"), body)
            .await
    }

    async fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        let path = format!("{REGISTERED_MODELS}/alias");
        let answer: ModelVersionAnswer = self
            .call(Method::GET, &path, json!({"name": name, "alias": alias}))
            .await
            .map_err(alias_not_found)?;
        required(answer.model_version, "model_version", &path)
    }

    async fn create_model_version(&self, request: &CreateModelVersion) -> Result<ModelVersion> {
        let path = format!("{MODEL_VERSIONS}/create");
        let body = json!({
            "name": request.name,
            "source": request.source,
            "run_id": request.run_id,
            "tags": request.tags,
            "run_link": request.run_link,
            "description": request.description,
            "model_id": request.model_id,
        });
        let answer: ModelVersionAnswer = self.call(Method::POST, &path, body).await?;
        required(answer.model_version, "model_version", &path)
    }

    async fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion> {
        let path = format!("{MODEL_VERSIONS}/get");
        let answer: ModelVersionAnswer = self
            .call(
                Method::GET,
                &path,
                json!({"name": name, "version": version}),
            )
            .await?;
        required(answer.model_version, "model_version", &path)
    }

    async fn update_model_version(
        &self,
        name: &str,
        version: &str,
        description: Option<&str>,
    ) -> Result<ModelVersion> {
        let path = format!("{MODEL_VERSIONS}/update");
        let body = json!({"name": name, "version": version, "description": description});
        let answer: ModelVersionAnswer = self.call(Method::PATCH, &path, body).await?;
        required(answer.model_version, "model_version", &path)
    }

    async fn delete_model_version(&self, name: &str, version: &str) -> Result<()> {
        let body = json!({"name": name, "version": version});
        self.call_empty(Method::DELETE, &format!("{MODEL_VERSIONS}/delete"), body)
            .await
    }

    async fn search_model_versions(&self, query: &SearchModels) -> Result<Page<ModelVersion>> {
        let body = json!({
            "filter": query.filter,
            "max_results": query.max_results.unwrap_or(10_000),
            "order_by": query.order_by,
            "page_token": query.page_token,
        });
        let answer: ModelVersionsAnswer = self
            .call(Method::GET, &format!("{MODEL_VERSIONS}/search"), body)
            .await?;
        Ok(page(answer.model_versions, answer.next_page_token))
    }

    async fn transition_model_version_stage(
        &self,
        name: &str,
        version: &str,
        stage: &str,
        archive_existing_versions: bool,
    ) -> Result<ModelVersion> {
        let path = format!("{MODEL_VERSIONS}/transition-stage");
        let body = json!({
            "name": name,
            "version": version,
            "stage": stage,
            "archive_existing_versions": archive_existing_versions,
        });
        let answer: ModelVersionAnswer = self.call(Method::POST, &path, body).await?;
        required(answer.model_version, "model_version", &path)
    }

    async fn get_model_version_download_uri(&self, name: &str, version: &str) -> Result<String> {
        let path = format!("{MODEL_VERSIONS}/get-download-uri");
        let answer: DownloadUriAnswer = self
            .call(
                Method::GET,
                &path,
                json!({"name": name, "version": version}),
            )
            .await?;
        required(answer.artifact_uri, "artifact_uri", &path)
    }

    async fn set_model_version_tag(
        &self,
        name: &str,
        version: &str,
        key: &str,
        value: &str,
    ) -> Result<()> {
        let body = json!({"name": name, "version": version, "key": key, "value": value});
        self.call_empty(Method::POST, &format!("{MODEL_VERSIONS}/set-tag"), body)
            .await
    }

    async fn delete_model_version_tag(&self, name: &str, version: &str, key: &str) -> Result<()> {
        let body = json!({"name": name, "version": version, "key": key});
        self.call_empty(
            Method::DELETE,
            &format!("{MODEL_VERSIONS}/delete-tag"),
            body,
        )
        .await
    }
}

#[cfg(test)]
mod tests;

/// Definitions (endpoints, monitors) live in the database of the server that
/// runs them; a client reaches them through that server's Smelt API instead.
#[async_trait]
impl DefinitionStore for RestStore {
    async fn create_definition(&self, kind: &str, _name: &str, _body: &str) -> Result<()> {
        Err(remote_definitions(kind))
    }

    async fn update_definition(&self, kind: &str, _name: &str, _body: &str) -> Result<()> {
        Err(remote_definitions(kind))
    }

    async fn get_definition(&self, kind: &str, _name: &str) -> Result<Option<String>> {
        Err(remote_definitions(kind))
    }

    async fn list_definitions(&self, kind: &str) -> Result<Vec<(String, String)>> {
        Err(remote_definitions(kind))
    }

    async fn delete_definition(&self, kind: &str, _name: &str) -> Result<()> {
        Err(remote_definitions(kind))
    }
}

fn remote_definitions(kind: &str) -> Error {
    Error::invalid(format!(
        "{kind} definitions are kept by the server that runs them: use its /api/2.0/smelt API"
    ))
}
