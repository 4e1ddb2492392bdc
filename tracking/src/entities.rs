//! MLflow's entities as they travel on the wire (snake_case proto field names).
//!
//! These types are the vocabulary of the whole crate: the store returns them,
//! the REST API serialises them, and the REST client parses them from a Smelt or
//! an MLflow server. Ids are strings and timestamps are milliseconds, as MLflow
//! sends them; empty lists are omitted when written and default when absent.

use serde::{Deserialize, Serialize};

use crate::wire;

fn is_empty<T>(v: &[T]) -> bool {
    v.is_empty()
}

/// A key/value tag on an experiment, run, model or version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// Tag name, at most 250 characters.
    pub key: String,
    /// Tag value, at most 8000 characters.
    #[serde(default)]
    pub value: String,
}

impl Tag {
    /// Builds a tag.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// A run parameter; once logged its value cannot change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    /// Parameter name.
    pub key: String,
    /// Parameter value, at most 6000 characters.
    #[serde(default)]
    pub value: String,
}

impl Param {
    /// Builds a parameter.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Param {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// One metric observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Metric name.
    pub key: String,
    /// The value; NaN and ±Infinity are allowed.
    #[serde(with = "wire::double")]
    pub value: f64,
    /// When it was measured, ms since the epoch.
    #[serde(with = "wire::int64", default)]
    pub timestamp: i64,
    /// Training step (0 when not given).
    #[serde(with = "wire::int64", default)]
    pub step: i64,
    /// The run it belongs to, only in bulk-interval answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The logged model it describes, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// The dataset it was computed on, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_name: Option<String>,
    /// That dataset's digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_digest: Option<String>,
}

impl Metric {
    /// A metric at `step` measured now.
    pub fn new(key: impl Into<String>, value: f64, step: i64) -> Self {
        Metric {
            key: key.into(),
            value,
            timestamp: wire::now_ms(),
            step,
            run_id: None,
            model_id: None,
            dataset_name: None,
            dataset_digest: None,
        }
    }
}

/// Whether an entity is live or in the trash.
pub const LIFECYCLE_ACTIVE: &str = "active";
/// The lifecycle stage of a soft-deleted entity.
pub const LIFECYCLE_DELETED: &str = "deleted";

/// An experiment: a named group of runs sharing an artifact location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// Numeric id, as a string.
    pub experiment_id: String,
    /// Unique name.
    pub name: String,
    /// Where its runs' artifacts go (`mlflow-artifacts:/<id>` when proxied).
    #[serde(default)]
    pub artifact_location: String,
    /// `active` or `deleted`.
    #[serde(default = "active")]
    pub lifecycle_stage: String,
    /// Last change, ms.
    #[serde(
        with = "wire::opt_int64",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_update_time: Option<i64>,
    /// Creation, ms.
    #[serde(
        with = "wire::opt_int64",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub creation_time: Option<i64>,
    /// Experiment tags.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub tags: Vec<Tag>,
}

fn active() -> String {
    LIFECYCLE_ACTIVE.to_string()
}

/// The status of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    /// Still running (the default MLflow decodes when absent).
    #[default]
    Running,
    /// Queued.
    Scheduled,
    /// Ended well.
    Finished,
    /// Ended with an error.
    Failed,
    /// Stopped by a person or a scheduler.
    Killed,
}

impl RunStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<RunStatus> {
        Some(match text {
            "RUNNING" => RunStatus::Running,
            "SCHEDULED" => RunStatus::Scheduled,
            "FINISHED" => RunStatus::Finished,
            "FAILED" => RunStatus::Failed,
            "KILLED" => RunStatus::Killed,
            _ => return None,
        })
    }
}

/// A run's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// 32 hex characters.
    pub run_id: String,
    /// The same id under its deprecated name, which old clients read.
    #[serde(default)]
    pub run_uuid: String,
    /// Human name (generated when not given).
    #[serde(default)]
    pub run_name: String,
    /// Owning experiment.
    pub experiment_id: String,
    /// Who started it.
    #[serde(default)]
    pub user_id: String,
    /// Current status.
    #[serde(default)]
    pub status: RunStatus,
    /// Start, ms.
    #[serde(
        with = "wire::opt_int64",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub start_time: Option<i64>,
    /// End, ms, once ended.
    #[serde(
        with = "wire::opt_int64",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub end_time: Option<i64>,
    /// Root of its artifacts.
    #[serde(default)]
    pub artifact_uri: String,
    /// `active` or `deleted`.
    #[serde(default = "active")]
    pub lifecycle_stage: String,
}

/// A run's params, latest metrics and tags.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunData {
    /// The latest value of each metric key.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub metrics: Vec<Metric>,
    /// All params.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub params: Vec<Param>,
    /// All tags.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub tags: Vec<Tag>,
}

/// A dataset described for a run input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dataset {
    /// Dataset name.
    pub name: String,
    /// Content digest.
    pub digest: String,
    /// Kind of source (`local`, `s3`, `http`, …).
    #[serde(default)]
    pub source_type: String,
    /// Source description (JSON text).
    #[serde(default)]
    pub source: String,
    /// Schema (JSON text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Profile (JSON text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// A dataset used by a run, with tags such as `mlflow.data.context`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInput {
    /// Input tags.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub tags: Vec<Tag>,
    /// The dataset.
    pub dataset: Dataset,
}

/// A logged model a run consumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInput {
    /// The model's id.
    pub model_id: String,
}

/// A logged model a run produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelOutput {
    /// The model's id.
    pub model_id: String,
    /// The step it was produced at.
    #[serde(with = "wire::int64", default)]
    pub step: i64,
}

/// A run's inputs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RunInputs {
    /// Datasets.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub dataset_inputs: Vec<DatasetInput>,
    /// Logged models.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub model_inputs: Vec<ModelInput>,
}

/// A run's outputs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RunOutputs {
    /// Logged models.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub model_outputs: Vec<ModelOutput>,
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Metadata.
    pub info: RunInfo,
    /// Params, latest metrics, tags.
    #[serde(default)]
    pub data: RunData,
    /// Datasets and models in.
    #[serde(default)]
    pub inputs: RunInputs,
    /// Models out.
    #[serde(default)]
    pub outputs: RunOutputs,
}

impl Run {
    /// The value of a tag, if set.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.data
            .tags
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.as_str())
    }

    /// The value of a param, if logged.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.data
            .params
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.value.as_str())
    }

    /// The latest value of a metric, if logged.
    pub fn metric(&self, key: &str) -> Option<f64> {
        self.data
            .metrics
            .iter()
            .find(|m| m.key == key)
            .map(|m| m.value)
    }
}

/// A logged model's lifecycle (MLflow 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LoggedModelStatus {
    /// Unknown.
    #[default]
    LoggedModelStatusUnspecified,
    /// Created, files still uploading.
    LoggedModelPending,
    /// Complete.
    LoggedModelReady,
    /// Upload failed.
    LoggedModelUploadFailed,
}

impl LoggedModelStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            LoggedModelStatus::LoggedModelStatusUnspecified => "LOGGED_MODEL_STATUS_UNSPECIFIED",
            LoggedModelStatus::LoggedModelPending => "LOGGED_MODEL_PENDING",
            LoggedModelStatus::LoggedModelReady => "LOGGED_MODEL_READY",
            LoggedModelStatus::LoggedModelUploadFailed => "LOGGED_MODEL_UPLOAD_FAILED",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "LOGGED_MODEL_STATUS_UNSPECIFIED" => LoggedModelStatus::LoggedModelStatusUnspecified,
            "LOGGED_MODEL_PENDING" => LoggedModelStatus::LoggedModelPending,
            "LOGGED_MODEL_READY" => LoggedModelStatus::LoggedModelReady,
            "LOGGED_MODEL_UPLOAD_FAILED" => LoggedModelStatus::LoggedModelUploadFailed,
            _ => return None,
        })
    }
}

/// A logged model's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedModelInfo {
    /// `m-<32 hex>`.
    pub model_id: String,
    /// Owning experiment.
    pub experiment_id: String,
    /// Name (the artifact path, e.g. `model`).
    #[serde(default)]
    pub name: String,
    /// Creation, ms.
    #[serde(
        with = "wire::opt_int64",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub creation_timestamp_ms: Option<i64>,
    /// Last change, ms.
    #[serde(
        with = "wire::opt_int64",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_updated_timestamp_ms: Option<i64>,
    /// Where its files are.
    #[serde(default)]
    pub artifact_uri: String,
    /// Lifecycle.
    #[serde(default)]
    pub status: LoggedModelStatus,
    /// Creator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_id: Option<String>,
    /// Model type (free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
    /// The run that produced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_run_id: Option<String>,
    /// Status detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub tags: Vec<Tag>,
}

/// A logged model's params and metrics.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LoggedModelData {
    /// Params.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub params: Vec<Param>,
    /// Metrics linked to the model.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub metrics: Vec<Metric>,
}

/// An MLflow 3 logged model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedModel {
    /// Metadata.
    pub info: LoggedModelInfo,
    /// Params and metrics.
    #[serde(default)]
    pub data: LoggedModelData,
}

/// An alias pointing at a model version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredModelAlias {
    /// Alias name, e.g. `champion`.
    pub alias: String,
    /// Version number, as a string.
    pub version: String,
}

/// A registered model: a name with numbered versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredModel {
    /// Unique name.
    pub name: String,
    /// Creation, ms.
    #[serde(
        with = "wire::opt_int64",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub creation_timestamp: Option<i64>,
    /// Last change, ms.
    #[serde(
        with = "wire::opt_int64",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_updated_timestamp: Option<i64>,
    /// Owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The latest version in each stage.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub latest_versions: Vec<ModelVersion>,
    /// Tags.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub tags: Vec<Tag>,
    /// Aliases.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub aliases: Vec<RegisteredModelAlias>,
}

/// The registration status of a version; Smelt registers synchronously, so READY.
pub const MODEL_VERSION_READY: &str = "READY";

/// One version of a registered model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    /// Registered model name.
    pub name: String,
    /// Version number, as a string.
    pub version: String,
    /// Creation, ms.
    #[serde(
        with = "wire::opt_int64",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub creation_timestamp: Option<i64>,
    /// Last change, ms.
    #[serde(
        with = "wire::opt_int64",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_updated_timestamp: Option<i64>,
    /// Owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// `None`, `Staging`, `Production` or `Archived`.
    #[serde(default = "stage_none")]
    pub current_stage: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where the files are (`runs:/…`, `models:/m-…`, `mlflow-artifacts:/…`).
    #[serde(default)]
    pub source: String,
    /// The producing run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Always READY here.
    #[serde(default = "ready")]
    pub status: String,
    /// Status detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub tags: Vec<Tag>,
    /// Link to the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_link: Option<String>,
    /// Aliases pointing at this version.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub aliases: Vec<String>,
    /// The logged model it was made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
}

fn stage_none() -> String {
    "None".to_string()
}

fn ready() -> String {
    MODEL_VERSION_READY.to_string()
}

/// The stages MLflow's deprecated stage API knows, in canonical spelling.
pub const MODEL_STAGES: [&str; 4] = ["None", "Staging", "Production", "Archived"];

/// Canonicalises a stage name case-insensitively, as MLflow does.
pub fn canonical_stage(stage: &str) -> Option<&'static str> {
    MODEL_STAGES
        .iter()
        .copied()
        .find(|s| s.eq_ignore_ascii_case(stage))
}

/// One file or folder in an artifact listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// Path relative to the listed folder's root.
    pub path: String,
    /// Whether it is a folder.
    #[serde(default)]
    pub is_dir: bool,
    /// Size in bytes, for files.
    #[serde(
        with = "wire::opt_int64",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub file_size: Option<i64>,
}

/// Which lifecycle stages a search returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ViewType {
    /// Only active entities.
    #[default]
    ActiveOnly,
    /// Only deleted ones.
    DeletedOnly,
    /// Both.
    All,
}

impl ViewType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ViewType::ActiveOnly => "ACTIVE_ONLY",
            ViewType::DeletedOnly => "DELETED_ONLY",
            ViewType::All => "ALL",
        }
    }
}

/// One page of results and the token for the next, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Opaque token for the next page; `None` on the last one.
    pub next_page_token: Option<String>,
}
