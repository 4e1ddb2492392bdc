//! The job spec: what `smelt train job.toml` reads (and what the flags of
//! `smelt train --data … --target … --model …` build). Documented for users
//! in `examples/README.md`; every field has a default except the data and
//! target. Unknown keys are errors, so a typo never silently trains the
//! wrong thing.

use serde::{Deserialize, Serialize};
use smelt_models::gbdt::GbdtSpec;
use smelt_models::linfa_models::LinfaSpec;
use smelt_models::nets::NetSpec;

use crate::error::{TrainError, TrainResult};
use crate::families::{self, Family};
use crate::metrics::Metric;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    pub data: DataSpec,
    pub model: ModelSpec,
    #[serde(default)]
    pub training: TrainingSpec,
    #[serde(default)]
    pub tracking: TrackingSpec,
    #[serde(default)]
    pub register: Option<RegisterSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// Training data: a CSV or Parquet path (relative to the spec file), or
    /// an artifact URI (`runs:/RUN_ID/path`, `s3://…`, `file://…`).
    pub train: String,
    /// Validation data; when absent, `validation_fraction` of `train` is held out.
    #[serde(default)]
    pub validation: Option<String>,
    #[serde(default = "default_validation_fraction")]
    pub validation_fraction: f64,
    /// Test data, scored once by the final model (`test_*` metrics); never
    /// seen by training or early stopping.
    #[serde(default)]
    pub test: Option<String>,
    pub target: String,
    /// Feature columns; default: every column but the target and `exclude`.
    #[serde(default)]
    pub features: Option<Vec<String>>,
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Columns to read as categories even when they hold numbers.
    #[serde(default)]
    pub categorical: Vec<String>,
    /// `classification` or `regression`; inferred from the target when absent.
    #[serde(default)]
    pub task: Option<TaskKind>,
    #[serde(default)]
    pub seed: u64,
}

impl DataSpec {
    /// Every file or URI the spec reads, as written.
    pub fn locations(&self) -> Vec<String> {
        std::iter::once(self.train.clone())
            .chain(self.validation.clone())
            .chain(self.test.clone())
            .collect()
    }
}

fn default_validation_fraction() -> f64 {
    0.2
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskKind {
    Classification,
    Regression,
}

/// Which model, told apart by `kind`: the families of [`crate::families`],
/// grouped by the library that fits them (training dispatches on this).
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSpec {
    Net(NetSpec),
    Linfa(LinfaSpec),
    /// Gradient-boosted trees (perpetual), `kind = "gbdt"`.
    Gbdt(GbdtSpec),
}

impl ModelSpec {
    /// The family's `kind`, e.g. `"random_forest"`.
    pub fn name(&self) -> &'static str {
        match self {
            ModelSpec::Net(net) => net.name(),
            ModelSpec::Linfa(linfa) => linfa.name(),
            ModelSpec::Gbdt(_) => "gbdt",
        }
    }

    /// The registered family of this spec.
    pub fn family(&self) -> &'static Family {
        families::find(self.name()).expect("every ModelSpec variant is a registered family")
    }

    /// Every hyperparameter, defaults included, as `(name, value)` for run tracking.
    pub fn params(&self) -> Vec<(String, String)> {
        match self {
            ModelSpec::Net(net) => net.params(),
            ModelSpec::Linfa(linfa) => linfa.params(),
            ModelSpec::Gbdt(gbdt) => gbdt.params(),
        }
    }

    /// A model of `kind` (a family's kind or synonym) with default hyperparameters.
    pub fn from_kind(kind: &str) -> TrainResult<Self> {
        let table = toml::Table::from_iter([("kind".to_string(), toml::Value::from(kind))]);
        Self::from_table(table)
    }

    fn from_table(mut table: toml::Table) -> TrainResult<Self> {
        let kind = table
            .get("kind")
            .and_then(toml::Value::as_str)
            .ok_or_else(|| {
                TrainError::Spec("[model] needs `kind`, for example kind = \"mlp\"".into())
            })?
            .to_string();
        let family = families::find(&kind).ok_or_else(|| {
            TrainError::Spec(format!(
                "unknown model kind '{kind}'; Smelt trains: {}",
                families::kinds().collect::<Vec<_>>().join(", ")
            ))
        })?;
        // A synonym is saved as the family's own kind.
        table.insert("kind".into(), toml::Value::from(family.kind));
        (family.parse)(table)
            .map_err(|e| TrainError::Spec(format!("[model] kind = \"{kind}\": {}", e.message())))
    }
}

/// Written as the `[model]` table it was read from: `kind` beside the
/// hyperparameters (networks and linfa specs carry `kind` as their tag;
/// `GbdtSpec`, which `model.json` also records, does not).
impl Serialize for ModelSpec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ModelSpec::Net(net) => net.serialize(serializer),
            ModelSpec::Linfa(linfa) => linfa.serialize(serializer),
            ModelSpec::Gbdt(gbdt) => {
                // Through a TOML table, which leaves unset options out as a
                // spec file does.
                let mut table = toml::Table::try_from(gbdt).map_err(serde::ser::Error::custom)?;
                table.insert("kind".into(), toml::Value::from("gbdt"));
                table.serialize(serializer)
            }
        }
    }
}

impl<'de> Deserialize<'de> for ModelSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let table = toml::Table::deserialize(deserializer)?;
        ModelSpec::from_table(table).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSpec {
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    #[serde(default)]
    pub optimizer: Optimizer,
    #[serde(default = "default_learning_rate")]
    pub learning_rate: f64,
    /// SGD momentum (ignored by Adam and AdamW).
    #[serde(default = "default_momentum")]
    pub momentum: f64,
    #[serde(default)]
    pub weight_decay: f64,
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    #[serde(default)]
    pub early_stopping: Option<EarlyStopping>,
    /// Save a checkpoint every this many epochs (0: never).
    #[serde(default = "one")]
    pub checkpoint_every: usize,
    /// Log the training loss every this many iterations (0: only per epoch).
    #[serde(default = "default_log_every")]
    pub log_every: usize,
    /// `cpu` (Burn's pure-Rust flex backend), or `gpu` / `vulkan` / `wgpu`
    /// when built with the `gpu` feature.
    #[serde(default = "default_device")]
    pub device: String,
    /// Labels a `smelt worker` must carry to run this job when a server
    /// sends jobs to workers (`smelt worker --labels gpu,highmem`); a GPU
    /// `device` needs `gpu` without saying so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

fn default_epochs() -> usize {
    30
}
fn default_batch_size() -> usize {
    32
}
fn default_learning_rate() -> f64 {
    1e-3
}
fn default_momentum() -> f64 {
    0.9
}
fn one() -> usize {
    1
}
fn default_log_every() -> usize {
    10
}
fn default_device() -> String {
    "cpu".into()
}

impl TrainingSpec {
    /// The worker labels this job needs: its own, plus `gpu` for a GPU device.
    pub fn required_labels(&self) -> Vec<String> {
        let mut labels = self.labels.clone();
        if self.device != "cpu" {
            labels.push("gpu".into());
        }
        labels.sort();
        labels.dedup();
        labels
    }
}

impl Default for TrainingSpec {
    fn default() -> Self {
        TrainingSpec {
            epochs: default_epochs(),
            batch_size: default_batch_size(),
            optimizer: Optimizer::default(),
            learning_rate: default_learning_rate(),
            momentum: default_momentum(),
            weight_decay: 0.0,
            lr_schedule: LrSchedule::default(),
            early_stopping: None,
            checkpoint_every: 1,
            log_every: default_log_every(),
            device: default_device(),
            labels: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    #[default]
    Adam,
    AdamW,
    Sgd,
}

impl Optimizer {
    pub fn name(self) -> &'static str {
        match self {
            Optimizer::Adam => "adam",
            Optimizer::AdamW => "adamw",
            Optimizer::Sgd => "sgd",
        }
    }
}

/// How the learning rate changes per epoch.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum LrSchedule {
    #[default]
    Constant,
    /// Multiply by `gamma` every `step_size` epochs.
    Step { step_size: usize, gamma: f64 },
    /// Multiply by `gamma` every epoch.
    Exponential { gamma: f64 },
    /// Cosine decay from the initial rate to `min_lr` over all epochs.
    Cosine {
        #[serde(default)]
        min_lr: f64,
    },
}

impl LrSchedule {
    /// The learning rate for `epoch` (1-based) of `epochs`.
    pub fn rate(&self, initial: f64, epoch: usize, epochs: usize) -> f64 {
        let e = epoch.saturating_sub(1) as f64;
        match self {
            LrSchedule::Constant => initial,
            LrSchedule::Step { step_size, gamma } => {
                initial * gamma.powi((epoch.saturating_sub(1) / (*step_size).max(1)) as i32)
            }
            LrSchedule::Exponential { gamma } => initial * gamma.powf(e),
            LrSchedule::Cosine { min_lr } => {
                let progress = e / (epochs.max(2) - 1) as f64;
                min_lr + (initial - min_lr) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }

    pub fn name(&self) -> String {
        match self {
            LrSchedule::Constant => "constant".into(),
            LrSchedule::Step { step_size, gamma } => {
                format!("step(step_size={step_size},gamma={gamma})")
            }
            LrSchedule::Exponential { gamma } => format!("exponential(gamma={gamma})"),
            LrSchedule::Cosine { min_lr } => format!("cosine(min_lr={min_lr})"),
        }
    }
}

/// Stop when `metric` (a validation metric: `val_loss`, `val_accuracy`, …)
/// has not improved for `patience` epochs; the best epoch's weights are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStopping {
    #[serde(default = "default_stop_metric")]
    pub metric: String,
    #[serde(default = "default_patience")]
    pub patience: usize,
    /// Smallest change that counts as an improvement.
    #[serde(default)]
    pub min_delta: f64,
}

fn default_stop_metric() -> String {
    "val_loss".into()
}
fn default_patience() -> usize {
    5
}

impl EarlyStopping {
    /// Whether larger values of the metric are better (`val_loss` and
    /// `train_loss`, the one metric names that are not a [`Metric`], are losses).
    pub fn higher_is_better(&self) -> bool {
        Metric::from_name(self.metric.trim_start_matches("val_"))
            .is_some_and(Metric::higher_is_better)
    }

    /// The metrics early stopping can watch: the losses and every validation
    /// metric a training job logs.
    pub fn watchable() -> Vec<String> {
        let mut names = vec!["val_loss".to_string()];
        names.extend(
            Metric::TRAINED_CLASSIFICATION
                .iter()
                .chain(&Metric::TRAINED_REGRESSION)
                .map(|m| format!("val_{m}")),
        );
        names.push("train_loss".to_string());
        names
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackingSpec {
    /// Experiment name (created when missing); default "Default".
    #[serde(default)]
    pub experiment: Option<String>,
    #[serde(default)]
    pub run_name: Option<String>,
    /// Tracking URI; the command line and environment override it.
    #[serde(default)]
    pub uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterSpec {
    /// Registered model name (created when missing).
    pub name: String,
    /// Alias to point at the new version, e.g. "champion".
    #[serde(default)]
    pub alias: Option<String>,
}

impl JobSpec {
    /// Parses a spec; `source` names it in errors.
    pub fn from_toml(text: &str, source: &str) -> TrainResult<Self> {
        let spec: JobSpec = toml::from_str(text).map_err(|e| {
            let location = e
                .span()
                .map(|span| {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!(", line {line}")
                })
                .unwrap_or_default();
            TrainError::Spec(format!("{source}{location}: {}", e.message().trim()))
        })?;
        spec.validate()
            .map_err(|m| TrainError::Spec(format!("{source}: {m}")))?;
        Ok(spec)
    }

    /// This spec with its local data paths (relative to `base_dir`) made
    /// absolute; URIs and paths that do not exist are left as they are. What
    /// a run saves (so `--resume RUN_ID` needs no spec file) and what
    /// `smelt jobs submit` sends (so the server reads the same files).
    pub fn with_absolute_data_paths(&self, base_dir: &std::path::Path) -> JobSpec {
        let absolute = |location: &str| {
            let local = base_dir.join(location);
            if location.contains(":/") || !local.exists() {
                return location.to_string();
            }
            std::path::absolute(&local)
                .unwrap_or(local)
                .display()
                .to_string()
        };
        let mut spec = self.clone();
        spec.data.train = absolute(&self.data.train);
        spec.data.validation = self.data.validation.as_deref().map(absolute);
        spec.data.test = self.data.test.as_deref().map(absolute);
        spec
    }

    /// Checks the values serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        let t = &self.training;
        if t.epochs == 0 {
            return Err("training.epochs must be at least 1".into());
        }
        if t.batch_size == 0 {
            return Err("training.batch_size must be at least 1".into());
        }
        if !(t.learning_rate.is_finite() && t.learning_rate > 0.0) {
            return Err(format!(
                "training.learning_rate must be a positive number, got {}",
                t.learning_rate
            ));
        }
        if !(0.0..1.0).contains(&self.data.validation_fraction) {
            return Err(format!(
                "data.validation_fraction must be in [0, 1), got {}",
                self.data.validation_fraction
            ));
        }
        if self.data.target.trim().is_empty() {
            return Err("data.target must name the column to predict".into());
        }
        for label in &t.labels {
            crate::executor::check_label(label).map_err(|m| format!("training.labels: {m}"))?;
        }
        if let Some(stop) = &t.early_stopping {
            let known = EarlyStopping::watchable();
            if !known.contains(&stop.metric) {
                return Err(format!(
                    "training.early_stopping.metric '{}' is not one Smelt logs; use one of: {}",
                    stop.metric,
                    known.join(", ")
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_spec() {
        let spec = JobSpec::from_toml(
            r#"
            [data]
            train = "datasets/wine.train.csv"
            validation = "datasets/wine.test.csv"
            target = "target"
            [model]
            kind = "mlp"
            hidden = [32]
            dropout = 0.1
            [training]
            epochs = 5
            optimizer = "sgd"
            lr_schedule = { kind = "step", step_size = 2, gamma = 0.5 }
            early_stopping = { metric = "val_accuracy", patience = 3 }
            [register]
            name = "wine"
            alias = "champion"
            "#,
            "job.toml",
        )
        .unwrap();
        assert_eq!(spec.model.name(), "mlp");
        assert_eq!(spec.training.optimizer, Optimizer::Sgd);
        assert!(spec.training.early_stopping.unwrap().higher_is_better());
        assert_eq!(spec.training.lr_schedule.rate(1.0, 3, 5), 0.5);
    }

    #[test]
    fn typos_and_unknown_models_are_errors_with_lines() {
        let error = JobSpec::from_toml(
            "[data]\ntrain = \"a.csv\"\ntarget = \"y\"\n[model]\nkind = \"mlp\"\n[training]\nepocs = 3\n",
            "job.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("job.toml, line 7"), "{error}");
        assert!(error.contains("epocs"), "{error}");
        let error = JobSpec::from_toml(
            "[data]\ntrain = \"a.csv\"\ntarget = \"y\"\n[model]\nkind = \"xgboost\"\n",
            "job.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("unknown model kind 'xgboost'"), "{error}");
    }

    #[test]
    fn every_family_round_trips_through_its_saved_table() {
        for kind in families::kinds() {
            let spec = ModelSpec::from_kind(kind).unwrap();
            let text = toml::to_string(&spec).unwrap();
            let table: toml::Table = toml::from_str(&text).unwrap();
            assert_eq!(table["kind"].as_str(), Some(kind), "{text}");
            assert_eq!(
                ModelSpec::deserialize(toml::Value::Table(table)).unwrap(),
                spec
            );
        }
        let error = JobSpec::from_toml(
            "[data]\ntrain = \"a.csv\"\ntarget = \"y\"\n[model]\nkind = \"gbdt\"\nbudgett = 1.0\n",
            "job.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("budgett"), "{error}");
    }

    #[test]
    fn cosine_schedule_ends_at_min_lr() {
        let schedule = LrSchedule::Cosine { min_lr: 0.1 };
        assert!((schedule.rate(1.0, 1, 11) - 1.0).abs() < 1e-12);
        assert!((schedule.rate(1.0, 11, 11) - 0.1).abs() < 1e-12);
    }
}
