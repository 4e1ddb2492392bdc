//! Live monitoring as `smelt server` runs it: monitors attached to
//! endpoints read captured traffic in windows, compare each window with the
//! reference profile, keep the history in the tracking store, expose
//! gauges, and alert.
//!
//! Everything a monitor is and has done lives in the tracking store: its
//! spec (definition kind `monitor`), its state (kind `monitor-state`: the
//! capture cursor, the open window's requests, a summary per window), and
//! one MLflow run per monitor in the experiment `smelt-monitors` whose
//! metrics, stepped by window, are the queryable history and whose
//! artifacts `reports/window-NNNNN.{json,html}` are the full reports. A
//! restart loses nothing: the cursor says what was read.

mod alert;
pub mod api;
pub mod egress;
pub mod feed;
mod gauges;
mod spec;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use smelt_api::monitors::{DriftAlert, metrics as keys};
use smelt_gpu_kernels::Compute;
use smelt_tracking::entities::{Metric, Tag};
use smelt_tracking::store::CreateRun;
use smelt_tracking::{ErrorCode, TrackingStore};

pub use egress::WebhookPolicy;
pub use feed::{CaptureFeed, CaptureFiles, PassLease};
pub use gauges::Gauges;
/// The API's bodies are `smelt-api`'s; re-exported where they always were.
pub use smelt_api::monitors::{MonitorStatus, WindowSummary};
pub use spec::{AlertSpec, MonitorSpec, MonitorSpecExt};

use crate::live::{CaptureCursor, CapturedRequest, PREDICTION_COLUMN, Windower, reference_frame};
use crate::profile::Profile;
use crate::report::DriftReport;

/// Definition kind of monitor specs.
pub const MONITOR_KIND: &str = "monitor";
/// Definition kind of monitor state.
pub const STATE_KIND: &str = "monitor-state";
/// The experiment monitors log their windows to.
pub const EXPERIMENT: &str = "smelt-monitors";
/// Window summaries kept in a monitor's state (older ones stay in the
/// run's metrics and artifacts).
const HISTORY: usize = 1_000;

/// What the monitor needs from outside: the reference profile of a model
/// reference, and a place for report files.
#[async_trait]
pub trait MonitorIo: Send + Sync {
    /// The `profile.json` a reference names (a model reference or a path).
    async fn reference_profile(&self, reference: &str) -> Result<Profile, String>;
    /// Writes `bytes` at `path` under a run's artifact location.
    async fn save_artifact(
        &self,
        artifact_uri: &str,
        path: &str,
        bytes: Vec<u8>,
    ) -> Result<(), String>;
}

/// What a monitor remembers between passes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MonitorState {
    /// How far the capture files were read.
    pub cursor: CaptureCursor,
    /// The last stream sequence read, when traffic comes from a stream.
    #[serde(default)]
    pub stream_sequence: u64,
    /// Requests of the window still open (at most
    /// [`crate::live::MAX_WINDOW_ROWS`] rows of it).
    pub pending: Vec<CapturedRequest>,
    /// Rows that entered the open window (more than `pending` holds when it
    /// is sampled).
    #[serde(default)]
    pub pending_seen: usize,
    /// Windows evaluated so far.
    pub windows: u64,
    /// The MLflow run holding this monitor's history.
    pub run_id: Option<String>,
    /// The latest windows, oldest first.
    pub history: Vec<WindowSummary>,
}

/// Errors of monitor operations, by kind. Each has one error code
/// ([`MonitorError::code`]); the API answers through tracking's
/// `SmeltError`, which takes the status from the code.
#[derive(Debug, Clone, PartialEq)]
pub enum MonitorError {
    /// A bad spec or request.
    Invalid(String),
    /// No such monitor.
    NotFound(String),
    /// The name is taken.
    Exists(String),
    /// The files or the reference failed.
    Failed(String),
    /// The tracking store failed otherwise; its code is kept (a store that
    /// is down stays `TEMPORARILY_UNAVAILABLE`).
    Store {
        /// The store's error code.
        code: ErrorCode,
        /// The store's message.
        message: String,
    },
}

impl MonitorError {
    /// The error code clients see.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid(_) => ErrorCode::InvalidParameterValue,
            Self::NotFound(_) => ErrorCode::ResourceDoesNotExist,
            Self::Exists(_) => ErrorCode::ResourceAlreadyExists,
            Self::Failed(_) => ErrorCode::InternalError,
            Self::Store { code, .. } => *code,
        }
    }
}

impl std::fmt::Display for MonitorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(m)
            | Self::NotFound(m)
            | Self::Exists(m)
            | Self::Failed(m)
            | Self::Store { message: m, .. } => f.write_str(m),
        }
    }
}

impl std::error::Error for MonitorError {}

impl From<MonitorError> for smelt_tracking::Error {
    fn from(error: MonitorError) -> Self {
        smelt_tracking::Error::new(error.code(), error.to_string())
    }
}

impl From<MonitorError> for smelt_tracking::api::SmeltError {
    fn from(error: MonitorError) -> Self {
        smelt_tracking::api::SmeltError(error.into())
    }
}

/// A tracking error as a monitor error, keeping its code.
fn store_error(error: smelt_tracking::Error) -> MonitorError {
    match error.code {
        ErrorCode::ResourceDoesNotExist => MonitorError::NotFound(error.message),
        ErrorCode::ResourceAlreadyExists => MonitorError::Exists(error.message),
        ErrorCode::InvalidParameterValue | ErrorCode::BadRequest => {
            MonitorError::Invalid(error.message)
        }
        code => MonitorError::Store {
            code,
            message: error.message,
        },
    }
}

/// The monitors of one server.
pub struct Monitors {
    store: Arc<dyn TrackingStore>,
    io: Arc<dyn MonitorIo>,
    feed: Arc<dyn CaptureFeed>,
    /// Prometheus gauges.
    pub gauges: Gauges,
    /// Where webhooks may point (`smelt server --allow-webhook-hosts`).
    webhooks: WebhookPolicy,
    /// One pass at a time (the scheduler and `run` requests).
    pass: tokio::sync::Mutex<BTreeMap<String, Instant>>,
    /// Where the heavy drift sums run.
    compute: Compute,
}

impl Monitors {
    /// Monitors over `store`, reading captured traffic from `feed`, their
    /// heavy sums (MMD, histograms) on `compute`, alerting only webhooks
    /// that `webhooks` allows.
    pub fn new(
        store: Arc<dyn TrackingStore>,
        io: Arc<dyn MonitorIo>,
        feed: Arc<dyn CaptureFeed>,
        compute: Compute,
        webhooks: WebhookPolicy,
    ) -> Arc<Monitors> {
        Arc::new(Monitors {
            store,
            io,
            feed,
            gauges: Gauges::default(),
            webhooks,
            pass: tokio::sync::Mutex::new(BTreeMap::new()),
            compute,
        })
    }

    /// Runs every monitor when it is due, until the last `Arc` is gone.
    pub fn start_scheduler(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let Some(monitors) = weak.upgrade() else {
                    return;
                };
                monitors.run_due().await;
            }
        });
    }

    async fn run_due(&self) {
        let specs = match self.list().await {
            Ok(specs) => specs,
            Err(error) => {
                tracing::warn!(%error, "cannot list monitors");
                return;
            }
        };
        for spec in specs {
            let due = {
                let mut last = self.pass.lock().await;
                let now = Instant::now();
                let next = last
                    .entry(spec.name.clone())
                    .or_insert(now)
                    .checked_add(Duration::from_secs(spec.every_seconds));
                next.is_some_and(|next| next <= now)
            };
            if !due {
                continue;
            }
            match self.pass(&spec.name, Duration::ZERO).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    tracing::debug!(monitor = %spec.name, "another server runs this pass");
                }
                Err(error) => {
                    tracing::warn!(monitor = %spec.name, %error, "monitor pass failed; retrying at the next interval");
                }
            }
        }
    }

    /// Creates a monitor after checking its webhook is allowed and its
    /// reference loads.
    pub async fn create(&self, spec: MonitorSpec) -> Result<MonitorSpec, MonitorError> {
        spec.validate().map_err(MonitorError::Invalid)?;
        if let Some(url) = &spec.alerts.webhook {
            self.webhooks
                .vet(url)
                .await
                .map_err(MonitorError::Invalid)?;
        }
        let profile = self
            .io
            .reference_profile(&spec.reference)
            .await
            .map_err(MonitorError::Invalid)?;
        reference_frame(&profile).map_err(|e| {
            MonitorError::Invalid(format!(
                "the reference '{}' cannot be used: {e}",
                spec.reference
            ))
        })?;
        let body = serde_json::to_string(&spec).map_err(|e| MonitorError::Failed(e.to_string()))?;
        self.store
            .create_definition(MONITOR_KIND, &spec.name, &body)
            .await
            .map_err(store_error)?;
        Ok(spec)
    }

    /// Every monitor, by name.
    pub async fn list(&self) -> Result<Vec<MonitorSpec>, MonitorError> {
        let definitions = self
            .store
            .list_definitions(MONITOR_KIND)
            .await
            .map_err(store_error)?;
        Ok(definitions
            .into_iter()
            .filter_map(|(name, body)| match serde_json::from_str(&body) {
                Ok(spec) => Some(spec),
                Err(error) => {
                    tracing::error!(monitor = %name, %error, "skipping an unreadable monitor definition");
                    None
                }
            })
            .collect())
    }

    /// One monitor's spec.
    pub async fn get(&self, name: &str) -> Result<MonitorSpec, MonitorError> {
        let body = self
            .store
            .get_definition(MONITOR_KIND, name)
            .await
            .map_err(store_error)?
            .ok_or_else(|| MonitorError::NotFound(format!("monitor '{name}' does not exist")))?;
        serde_json::from_str(&body).map_err(|e| MonitorError::Failed(e.to_string()))
    }

    /// One monitor's state (empty before its first pass).
    pub async fn state(&self, name: &str) -> Result<MonitorState, MonitorError> {
        Ok(
            match self
                .store
                .get_definition(STATE_KIND, name)
                .await
                .map_err(store_error)?
            {
                Some(body) => {
                    serde_json::from_str(&body).map_err(|e| MonitorError::Failed(e.to_string()))?
                }
                None => MonitorState::default(),
            },
        )
    }

    /// Deletes a monitor and its state (its run stays, as history).
    pub async fn delete(&self, name: &str) -> Result<(), MonitorError> {
        let _pass = self.pass.lock().await;
        if let Ok(spec) = self.get(name).await {
            self.feed.forget(name, &spec.endpoint).await;
        }
        self.store
            .delete_definition(MONITOR_KIND, name)
            .await
            .map_err(store_error)?;
        match self.store.delete_definition(STATE_KIND, name).await {
            Ok(())
            | Err(smelt_tracking::Error {
                code: smelt_tracking::ErrorCode::ResourceDoesNotExist,
                ..
            }) => Ok(()),
            Err(error) => Err(store_error(error)),
        }
    }

    /// Reads new traffic and evaluates every window it closes. When another
    /// server replica is running this monitor's pass, waits a few seconds
    /// for it, then answers `TEMPORARILY_UNAVAILABLE`.
    pub async fn run(&self, name: &str) -> Result<Vec<WindowSummary>, MonitorError> {
        self.pass(name, Duration::from_secs(10))
            .await?
            .ok_or_else(|| MonitorError::Store {
                code: ErrorCode::TemporarilyUnavailable,
                message: format!(
                    "monitor '{name}' is being run by another server replica; try again shortly"
                ),
            })
    }

    /// One pass, if this server gets to hold it within `wait` (`None`
    /// otherwise).
    async fn pass(
        &self,
        name: &str,
        wait: Duration,
    ) -> Result<Option<Vec<WindowSummary>>, MonitorError> {
        let mut last = self.pass.lock().await;
        last.insert(name.to_string(), Instant::now());
        let spec = self.get(name).await?;
        let until = Instant::now() + wait;
        let _lease = loop {
            match self.feed.hold(name).await.map_err(MonitorError::Failed)? {
                Some(lease) => break lease,
                None if Instant::now() >= until => return Ok(None),
                None => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        };
        // Read after holding the pass: another replica may have moved it.
        let mut state = self.state(name).await?;
        let fresh = self
            .feed
            .read_new(name, &spec.endpoint, &mut state)
            .await
            .map_err(|e| {
                MonitorError::Failed(format!(
                    "cannot read the captured traffic of '{}': {e}",
                    spec.endpoint
                ))
            })?;
        let mut windower = Windower::resume(
            spec.window,
            std::mem::take(&mut state.pending),
            state.pending_seen,
        );
        let mut windows = windower.push(fresh);
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        windows.extend(windower.close_expired(&now));
        (state.pending, state.pending_seen) = windower.into_pending();

        let mut summaries = Vec::new();
        if !windows.is_empty() {
            let profile = self
                .io
                .reference_profile(&spec.reference)
                .await
                .map_err(MonitorError::Failed)?;
            let (reference, prediction_kind) =
                reference_frame(&profile).map_err(MonitorError::Failed)?;
            let kinds: Vec<(String, smelt_data::Kind)> = reference
                .columns()
                .iter()
                .filter(|c| c.name != PREDICTION_COLUMN)
                .map(|c| (c.name.clone(), c.kind()))
                .collect();
            for window in windows {
                let current = window
                    .to_frame(&kinds, prediction_kind)
                    .map_err(MonitorError::Failed)?;
                let plan = spec.plan().with_compute(self.compute.clone());
                let report = DriftReport::compare(&reference, &current, &plan, spec.drift_share);
                state.windows += 1;
                let summary = self.record(&spec, &mut state, &window, &report).await?;
                summaries.push(summary.clone());
                state.history.push(summary);
                if state.history.len() > HISTORY {
                    state.history.remove(0);
                }
            }
        }
        self.save_state(name, &state).await?;
        if let Err(error) = self.feed.saved(name, &spec.endpoint).await {
            // The saved position still skips these records if they come again.
            tracing::warn!(monitor = %name, %error, "cannot acknowledge the traffic read");
        }
        Ok(Some(summaries))
    }

    /// Logs a window to the monitor's run, updates gauges, alerts.
    async fn record(
        &self,
        spec: &MonitorSpec,
        state: &mut MonitorState,
        window: &crate::live::Window,
        report: &DriftReport,
    ) -> Result<WindowSummary, MonitorError> {
        let run_id = self.run_for(spec, state).await?;
        let step = i64::try_from(state.windows).unwrap_or(i64::MAX);
        let mut metrics = vec![
            Metric::new(
                keys::DATASET_DRIFT,
                f64::from(u8::from(report.dataset_drifted)),
                step,
            ),
            Metric::new(keys::DRIFTED_SHARE, report.drifted_share, step),
            Metric::new(keys::ROWS, window.rows() as f64, step),
            Metric::new(keys::ROWS_TESTED, window.rows_kept() as f64, step),
        ];
        for column in &report.columns {
            metrics.push(Metric::new(
                keys::severity(&column.column),
                column.severity.clamp(0.0, 1e12),
                step,
            ));
            metrics.push(Metric::new(
                keys::drifted(&column.column),
                f64::from(u8::from(column.drifted)),
                step,
            ));
        }
        for chunk in metrics.chunks(1000) {
            self.store
                .log_batch(&run_id, chunk, &[], &[])
                .await
                .map_err(store_error)?;
        }
        let run = self.store.get_run(&run_id).await.map_err(store_error)?;
        let stem = format!("reports/window-{:05}", state.windows);
        let title = format!(
            "Monitor {} — window {} ({} → {})",
            spec.name, state.windows, window.start, window.end
        );
        self.io
            .save_artifact(
                &run.info.artifact_uri,
                &format!("{stem}.json"),
                report.to_json().into_bytes(),
            )
            .await
            .map_err(MonitorError::Failed)?;
        self.io
            .save_artifact(
                &run.info.artifact_uri,
                &format!("{stem}.html"),
                crate::report_html::render(report, &title).into_bytes(),
            )
            .await
            .map_err(MonitorError::Failed)?;
        self.gauges.window(&spec.name, report);
        let mut summary = WindowSummary {
            window: state.windows,
            start: window.start.clone(),
            end: window.end.clone(),
            rows: window.rows(),
            rows_tested: window.rows_kept(),
            versions: window.versions.iter().cloned().collect(),
            dataset_drifted: report.dataset_drifted,
            drifted_share: report.drifted_share,
            drifted_columns: report
                .columns
                .iter()
                .filter(|c| c.drifted)
                .map(|c| c.column.clone())
                .collect(),
            skipped_columns: report.skipped,
            report: format!("{stem}.html"),
            alert: None,
        };
        if report.dataset_drifted {
            summary.alert = Some(self.alert(spec, &run_id, &summary).await);
        }
        Ok(summary)
    }

    /// The monitor's run, created on its first window.
    async fn run_for(
        &self,
        spec: &MonitorSpec,
        state: &mut MonitorState,
    ) -> Result<String, MonitorError> {
        if let Some(run_id) = &state.run_id {
            return Ok(run_id.clone());
        }
        let experiment_id = match self
            .store
            .get_experiment_by_name(EXPERIMENT)
            .await
            .map_err(store_error)?
        {
            Some(experiment) => experiment.experiment_id,
            None => match self.store.create_experiment(EXPERIMENT, None, &[]).await {
                Ok(id) => id,
                // Another monitor created it meanwhile.
                Err(_) => {
                    self.store
                        .get_experiment_by_name(EXPERIMENT)
                        .await
                        .map_err(store_error)?
                        .ok_or_else(|| {
                            MonitorError::Failed("cannot create the monitors' experiment".into())
                        })?
                        .experiment_id
                }
            },
        };
        let run = self
            .store
            .create_run(&CreateRun {
                experiment_id,
                run_name: Some(format!("monitor-{}", spec.name)),
                tags: vec![
                    Tag::new("smelt.monitor", &spec.name),
                    Tag::new("smelt.endpoint", &spec.endpoint),
                    Tag::new("smelt.reference", &spec.reference),
                ],
                ..CreateRun::default()
            })
            .await
            .map_err(store_error)?;
        state.run_id = Some(run.info.run_id.clone());
        Ok(run.info.run_id)
    }

    async fn alert(&self, spec: &MonitorSpec, run_id: &str, summary: &WindowSummary) -> String {
        tracing::warn!(monitor = %spec.name, endpoint = %spec.endpoint, window = summary.window,
            drifted_share = summary.drifted_share, columns = ?summary.drifted_columns,
            "data drift: the window's share of drifted columns crossed the threshold");
        let Some(url) = &spec.alerts.webhook else {
            self.gauges.alert(&spec.name, "logged");
            return "logged".into();
        };
        let body = DriftAlert {
            monitor: spec.name.clone(),
            endpoint: spec.endpoint.clone(),
            run_id: run_id.to_string(),
            window: summary.clone(),
        };
        let (attempts, sent) =
            alert::post_with_retries(&self.webhooks, url, &body, spec.alerts.retries).await;
        if sent {
            self.gauges.alert(&spec.name, "sent");
            format!("sent to the webhook (attempt {attempts})")
        } else {
            self.gauges.alert(&spec.name, "failed");
            format!("webhook failed after {attempts} attempts")
        }
    }

    async fn save_state(&self, name: &str, state: &MonitorState) -> Result<(), MonitorError> {
        let body = serde_json::to_string(state).map_err(|e| MonitorError::Failed(e.to_string()))?;
        match self.store.update_definition(STATE_KIND, name, &body).await {
            Ok(()) => Ok(()),
            Err(e) if e.code == smelt_tracking::ErrorCode::ResourceDoesNotExist => self
                .store
                .create_definition(STATE_KIND, name, &body)
                .await
                .map_err(store_error),
            Err(e) => Err(store_error(e)),
        }
    }
}
