//! The `TrackingStore` seam: everything MLflow's tracking and registry APIs do,
//! as one object-safe async trait.
//!
//! Two implementations sit behind it: [`sql::SqlStore`] (SQLite by default,
//! PostgreSQL when scaled out) and [`rest::RestStore`] (a Smelt or an MLflow
//! server over HTTP). [`open_store`] picks one from a tracking URI, as MLflow
//! does. Method names and arguments follow MLflow's REST calls one for one, so
//! the HTTP API is a thin layer and the REST client a faithful mirror.

pub mod identity;
pub mod rest;
pub mod sql;

use std::sync::Arc;

use async_trait::async_trait;

use crate::entities::*;
use crate::error::{Error, Result};

/// Arguments of `runs/create`.
#[derive(Debug, Clone, Default)]
pub struct CreateRun {
    /// Experiment to create the run in (`"0"` is the default experiment).
    pub experiment_id: String,
    /// Who starts it.
    pub user_id: Option<String>,
    /// Display name; generated when absent.
    pub run_name: Option<String>,
    /// Start time, ms; now when absent.
    pub start_time: Option<i64>,
    /// Initial tags.
    pub tags: Vec<Tag>,
}

/// Arguments of `runs/update`.
#[derive(Debug, Clone, Default)]
pub struct UpdateRun {
    /// The run.
    pub run_id: String,
    /// New status.
    pub status: Option<RunStatus>,
    /// End time, ms.
    pub end_time: Option<i64>,
    /// New display name.
    pub run_name: Option<String>,
}

/// Arguments of `runs/search`.
#[derive(Debug, Clone, Default)]
pub struct SearchRuns {
    /// Experiments to search in.
    pub experiment_ids: Vec<String>,
    /// Filter in MLflow's grammar.
    pub filter: Option<String>,
    /// Active, deleted or all runs.
    pub run_view_type: ViewType,
    /// Page size (default 1000, at most 50000).
    pub max_results: Option<i64>,
    /// `order_by` clauses.
    pub order_by: Vec<String>,
    /// Token from the previous page.
    pub page_token: Option<String>,
}

/// Arguments of `experiments/search`.
#[derive(Debug, Clone, Default)]
pub struct SearchExperiments {
    /// Filter in MLflow's grammar.
    pub filter: Option<String>,
    /// Active, deleted or all.
    pub view_type: ViewType,
    /// Page size (default 1000, at most 50000).
    pub max_results: Option<i64>,
    /// `order_by` clauses.
    pub order_by: Vec<String>,
    /// Token from the previous page.
    pub page_token: Option<String>,
}

/// Arguments of registered-model and model-version searches.
#[derive(Debug, Clone, Default)]
pub struct SearchModels {
    /// Filter in MLflow's grammar.
    pub filter: Option<String>,
    /// Page size.
    pub max_results: Option<i64>,
    /// `order_by` clauses.
    pub order_by: Vec<String>,
    /// Token from the previous page.
    pub page_token: Option<String>,
}

/// Arguments of `logged-models` (create).
#[derive(Debug, Clone, Default)]
pub struct CreateLoggedModel {
    /// Owning experiment.
    pub experiment_id: String,
    /// Name (usually the artifact path, `model`).
    pub name: Option<String>,
    /// Free-text type.
    pub model_type: Option<String>,
    /// The run that produces it.
    pub source_run_id: Option<String>,
    /// Params.
    pub params: Vec<Param>,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// Arguments of `logged-models/search`.
#[derive(Debug, Clone, Default)]
pub struct SearchLoggedModels {
    /// Experiments to search in.
    pub experiment_ids: Vec<String>,
    /// Filter in MLflow's grammar.
    pub filter: Option<String>,
    /// Page size.
    pub max_results: Option<i64>,
    /// `order_by` clauses as `field [ASC|DESC]`.
    pub order_by: Vec<String>,
    /// Token from the previous page.
    pub page_token: Option<String>,
}

/// Arguments of `model-versions/create`.
#[derive(Debug, Clone, Default)]
pub struct CreateModelVersion {
    /// Registered model name.
    pub name: String,
    /// Where the files are.
    pub source: String,
    /// The producing run.
    pub run_id: Option<String>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Link to the run.
    pub run_link: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// The logged model it was made from.
    pub model_id: Option<String>,
}

/// Experiments: named groups of runs.
#[async_trait]
pub trait ExperimentStore: Send + Sync {
    /// One round trip to the database or server behind the store: `Ok` when
    /// it answers. What `/ready` asks; it reads and writes nothing.
    async fn ping(&self) -> Result<()>;
    /// Creates an experiment and returns its id.
    async fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> Result<String>;
    /// Reads an experiment.
    async fn get_experiment(&self, experiment_id: &str) -> Result<Experiment>;
    /// Reads an experiment by name; `None` when there is none (active or deleted).
    async fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>>;
    /// Searches experiments.
    async fn search_experiments(&self, query: &SearchExperiments) -> Result<Page<Experiment>>;
    /// Renames an experiment.
    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()>;
    /// Moves an experiment (and its runs) to the trash.
    async fn delete_experiment(&self, experiment_id: &str) -> Result<()>;
    /// Brings an experiment (and its runs) back from the trash.
    async fn restore_experiment(&self, experiment_id: &str) -> Result<()>;
    /// Sets an experiment tag.
    async fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> Result<()>;
    /// Removes an experiment tag.
    async fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()>;
}

/// Runs: params, metrics, tags, inputs and outputs.
#[async_trait]
pub trait RunStore: Send + Sync {
    /// Starts a run.
    async fn create_run(&self, request: &CreateRun) -> Result<Run>;
    /// Reads a whole run.
    async fn get_run(&self, run_id: &str) -> Result<Run>;
    /// Changes status, end time or name.
    async fn update_run(&self, request: &UpdateRun) -> Result<RunInfo>;
    /// Moves a run to the trash.
    async fn delete_run(&self, run_id: &str) -> Result<()>;
    /// Brings a run back from the trash.
    async fn restore_run(&self, run_id: &str) -> Result<()>;
    /// Searches runs.
    async fn search_runs(&self, query: &SearchRuns) -> Result<Page<Run>>;
    /// Logs one metric value.
    async fn log_metric(&self, run_id: &str, metric: &Metric) -> Result<()>;
    /// Logs one param; re-logging a different value is an error.
    async fn log_param(&self, run_id: &str, param: &Param) -> Result<()>;
    /// Sets a run tag.
    async fn set_tag(&self, run_id: &str, tag: &Tag) -> Result<()>;
    /// Removes a run tag.
    async fn delete_tag(&self, run_id: &str, key: &str) -> Result<()>;
    /// Logs many metrics, params and tags atomically.
    async fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()>;
    /// Records datasets and models the run used.
    async fn log_inputs(
        &self,
        run_id: &str,
        datasets: &[DatasetInput],
        models: &[ModelInput],
    ) -> Result<()>;
    /// Records models the run produced.
    async fn log_outputs(&self, run_id: &str, models: &[ModelOutput]) -> Result<()>;
    /// One page of a metric's history, ordered by step then timestamp.
    async fn get_metric_history(
        &self,
        run_id: &str,
        metric_key: &str,
        page_token: Option<&str>,
        max_results: Option<i64>,
    ) -> Result<Page<Metric>>;
}

/// MLflow 3 logged models.
#[async_trait]
pub trait LoggedModelStore: Send + Sync {
    /// Creates a logged model in PENDING state.
    async fn create_logged_model(&self, request: &CreateLoggedModel) -> Result<LoggedModel>;
    /// Reads a logged model.
    async fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel>;
    /// Sets a logged model's status (READY when its files are uploaded).
    async fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel>;
    /// Sets logged model tags.
    async fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag]) -> Result<()>;
    /// Removes a logged model tag.
    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()>;
    /// Deletes a logged model.
    async fn delete_logged_model(&self, model_id: &str) -> Result<()>;
    /// Searches logged models.
    async fn search_logged_models(&self, query: &SearchLoggedModels) -> Result<Page<LoggedModel>>;
}

/// The model registry: registered models, versions, stages and aliases.
#[async_trait]
pub trait ModelRegistry: Send + Sync {
    /// Creates a registered model.
    async fn create_registered_model(
        &self,
        name: &str,
        tags: &[Tag],
        description: Option<&str>,
    ) -> Result<RegisteredModel>;
    /// Reads a registered model with its aliases and latest versions.
    async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel>;
    /// Renames a registered model (its versions follow).
    async fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel>;
    /// Changes a registered model's description.
    async fn update_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> Result<RegisteredModel>;
    /// Deletes a registered model with its versions, tags and aliases.
    async fn delete_registered_model(&self, name: &str) -> Result<()>;
    /// Searches registered models.
    async fn search_registered_models(&self, query: &SearchModels)
    -> Result<Page<RegisteredModel>>;
    /// The latest version per stage (all stages when `stages` is empty).
    async fn get_latest_versions(&self, name: &str, stages: &[String])
    -> Result<Vec<ModelVersion>>;
    /// Sets a registered model tag.
    async fn set_registered_model_tag(&self, name: &str, key: &str, value: &str) -> Result<()>;
    /// Removes a registered model tag.
    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()>;
    /// Points an alias at a version (moving it if it exists).
    async fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
    ) -> Result<()>;
    /// Removes an alias.
    async fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()>;
    /// The version an alias points at.
    async fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion>;
    /// Registers a new version (READY at once).
    async fn create_model_version(&self, request: &CreateModelVersion) -> Result<ModelVersion>;
    /// Reads a version.
    async fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion>;
    /// Changes a version's description.
    async fn update_model_version(
        &self,
        name: &str,
        version: &str,
        description: Option<&str>,
    ) -> Result<ModelVersion>;
    /// Deletes a version (and aliases pointing at it).
    async fn delete_model_version(&self, name: &str, version: &str) -> Result<()>;
    /// Searches versions.
    async fn search_model_versions(&self, query: &SearchModels) -> Result<Page<ModelVersion>>;
    /// Moves a version to a stage, optionally archiving the others in it.
    async fn transition_model_version_stage(
        &self,
        name: &str,
        version: &str,
        stage: &str,
        archive_existing_versions: bool,
    ) -> Result<ModelVersion>;
    /// Where a version's files can be downloaded from.
    async fn get_model_version_download_uri(&self, name: &str, version: &str) -> Result<String>;
    /// Sets a version tag.
    async fn set_model_version_tag(
        &self,
        name: &str,
        version: &str,
        key: &str,
        value: &str,
    ) -> Result<()>;
    /// Removes a version tag.
    async fn delete_model_version_tag(&self, name: &str, version: &str, key: &str) -> Result<()>;
}

/// A whole tracking backend: experiments, runs, logged models and the registry.
///
/// Implementations are shared between tasks (`Arc<dyn TrackingStore>`), so every
/// method takes `&self`. Errors carry MLflow's codes (see [`crate::error`]).
/// Named JSON documents describing Smelt's own resources (serving endpoints,
/// monitors), kept beside the runs they refer to so they survive restarts.
/// The store keeps bodies opaque: the owning crate defines and validates them.
#[async_trait]
pub trait DefinitionStore: Send + Sync {
    /// Creates a definition; `RESOURCE_ALREADY_EXISTS` if the name is taken.
    async fn create_definition(&self, kind: &str, name: &str, body: &str) -> Result<()>;
    /// Replaces a definition; `RESOURCE_DOES_NOT_EXIST` if there is none.
    async fn update_definition(&self, kind: &str, name: &str, body: &str) -> Result<()>;
    /// Reads one definition's body.
    async fn get_definition(&self, kind: &str, name: &str) -> Result<Option<String>>;
    /// Every definition of a kind, as (name, body), by name.
    async fn list_definitions(&self, kind: &str) -> Result<Vec<(String, String)>>;
    /// Deletes a definition; `RESOURCE_DOES_NOT_EXIST` if there is none.
    async fn delete_definition(&self, kind: &str, name: &str) -> Result<()>;
}

/// Anything that implements the five parts is a `TrackingStore`.
pub trait TrackingStore:
    ExperimentStore + RunStore + LoggedModelStore + ModelRegistry + DefinitionStore
{
}

impl<T: ExperimentStore + RunStore + LoggedModelStore + ModelRegistry + DefinitionStore>
    TrackingStore for T
{
}

/// Opens the store a tracking URI names: `sqlite:…` or `postgresql://…` (a SQL
/// store whose new experiments put artifacts under `default_artifact_root`), or
/// `http(s)://…` (a Smelt or MLflow server).
pub async fn open_store(
    tracking_uri: &str,
    default_artifact_root: &str,
) -> Result<Arc<dyn TrackingStore>> {
    if tracking_uri.starts_with("http://") || tracking_uri.starts_with("https://") {
        return Ok(Arc::new(rest::RestStore::new(tracking_uri)?));
    }
    if sql::SqlStore::handles(tracking_uri) {
        return Ok(Arc::new(
            sql::SqlStore::open(tracking_uri, default_artifact_root).await?,
        ));
    }
    Err(Error::invalid(format!(
        "unsupported tracking URI '{tracking_uri}': use sqlite:///path/to/smelt.db, postgresql://user@host:port/db or http(s)://host:port"
    )))
}
