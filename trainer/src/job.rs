//! One training job from spec to registered model:
//!
//! 1. check everything that can be checked without a run (spec, device,
//!    data, preprocessing): bad input ends here, with no run created;
//! 2. create (or resume) the run and log params, system tags and datasets;
//! 3. train (the Burn loop, a linfa fit or boosted trees), logging metrics
//!    and checkpoints;
//! 4. evaluate the final model, save its folder (weights, preprocessing,
//!    profile, metrics), log it as an MLflow logged model and as run
//!    artifacts, with a confusion matrix or residual plot;
//! 5. register a version and move the alias when asked;
//! 6. close the run FINISHED — or FAILED (error recorded) / KILLED.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use burn::module::Module;
use smelt_models::flavor::{self, ModelBundle, ModelDescriptor, RuntimeSpec};
use smelt_models::gbdt::{GbdtModel, GbdtRuntime};
use smelt_models::linfa_models::{LinfaModel, Target};
use smelt_models::nets::Architecture;
use smelt_models::{
    BurnRuntime, EncodedTarget, Features, LinfaRuntime, Predictions, Predictor, Preprocessor,
    SMELT_VERSION, TabularModel, Task,
};
use smelt_monitor::profile::{Profile, ProfileOptions};
use smelt_tracking::entities::{Dataset, DatasetInput, Tag};

use crate::dataset::{PreparedData, Split, prepare};
use crate::error::{TrainError, TrainResult};
use crate::net_training::{NetTraining, train_net};
use crate::observer::{JobObserver, load_checkpoint};
use crate::progress::{ProgressMode, reporter};
use crate::publish::{Published, publish_model};
use crate::spec::{JobSpec, ModelSpec, TaskKind};
use crate::tracker::{RunTracker, Tracking, run_closing};
use crate::{device, metrics, plots};
use smelt_tracking::artifacts::DataRoots;

pub use crate::publish::MODEL_ARTIFACT_PATH;
/// The resolved spec, saved with the run so `--resume RUN_ID` needs nothing else.
pub const SPEC_ARTIFACT: &str = "smelt/job.toml";

/// Told the run id once the run exists.
pub type RunCallback = Arc<dyn Fn(&str) + Send + Sync>;

/// How to run a job (beyond its spec).
pub struct JobOptions {
    /// Relative data paths resolve against this folder (the spec's folder).
    pub base_dir: PathBuf,
    /// Continue this run from its last checkpoint.
    pub resume: Option<String>,
    pub progress: ProgressMode,
    /// Set to stop the job at the next batch; the run ends KILLED.
    pub cancel: Arc<AtomicBool>,
    /// Extra run tags (the server's job id, for example).
    pub tags: Vec<Tag>,
    /// Called with the run id as soon as the run exists (before training).
    pub on_run: Option<RunCallback>,
    /// Where the data may come from ([`DataRoots::anywhere`] by default:
    /// the user's own process; a server's executor limits it).
    pub data_roots: DataRoots,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            base_dir: PathBuf::from("."),
            resume: None,
            progress: ProgressMode::Auto,
            cancel: Arc::new(AtomicBool::new(false)),
            tags: Vec::new(),
            on_run: None,
            data_roots: DataRoots::anywhere(),
        }
    }
}

/// What a finished job produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobOutcome {
    pub run_id: String,
    pub experiment_id: String,
    /// `runs:/RUN_ID/model`
    pub model_uri: String,
    pub logged_model_id: Option<String>,
    pub registered_model: Option<String>,
    pub registered_version: Option<String>,
    pub task: String,
    /// Final metrics of the kept model (validation `val_*`, training `train_*`).
    pub metrics: BTreeMap<String, f64>,
    pub best_epoch: Option<usize>,
    pub stopped_early: bool,
}

/// Runs `spec` to the end. The run is closed whatever happens once created.
pub fn run_job(
    spec: &JobSpec,
    tracking: &Tracking,
    options: &JobOptions,
) -> TrainResult<JobOutcome> {
    spec.validate().map_err(TrainError::Spec)?;
    let device = device::select(&spec.training.device)?;
    let data = prepare(
        &spec.data,
        &options.base_dir,
        Some(tracking),
        &options.data_roots,
    )?;
    let preprocessor = Preprocessor::fit(&data.train.features)?;
    let train_x = preprocessor.transform(&data.train.features)?;
    let valid_x = preprocessor.transform(&data.validation.features)?;
    check_model_fits(spec, &data, train_x.cols)?;
    if let Some(stop) = &spec.training.early_stopping
        && stop.metric.starts_with("val_")
        && data.validation.features.rows() == 0
    {
        return Err(TrainError::Spec(format!(
            "early stopping on '{}' needs validation rows: set data.validation or a positive data.validation_fraction",
            stop.metric
        )));
    }

    let (run, resumed) = match &options.resume {
        Some(run_id) => {
            let run = RunTracker::resume(tracking, run_id)?.0;
            // Who runs it now (a job's new worker, say) replaces who did.
            run.set_tags(&options.tags)?;
            (run, true)
        }
        None => {
            let experiment = spec.tracking.experiment.as_deref().unwrap_or("Default");
            let experiment_id = tracking.experiment_id(experiment)?;
            let mut tags = system_tags(spec, &options.base_dir);
            tags.extend(options.tags.iter().cloned());
            (
                RunTracker::start(
                    tracking,
                    &experiment_id,
                    spec.tracking.run_name.clone(),
                    tags,
                )?,
                false,
            )
        }
    };
    if let Some(on_run) = &options.on_run {
        on_run(&run.run_id);
    }
    // A panic inside a library must still close the run (and not take a
    // server's job worker down with it).
    run_closing(&run, "Training", || {
        train_tracked(
            spec,
            options,
            &run,
            resumed,
            &data,
            &preprocessor,
            &train_x,
            &valid_x,
            device,
        )
    })
}

fn check_model_fits(spec: &JobSpec, data: &PreparedData, inputs: usize) -> TrainResult<()> {
    if let ModelSpec::Net(net) = &spec.model {
        let architecture = Architecture {
            spec: net.clone(),
            inputs,
            outputs: data.task.classes().len().max(1),
        };
        architecture
            .validate()
            .map_err(|e| TrainError::Spec(format!("[model] kind = \"{}\": {e}", net.name())))?;
    }
    let family = spec.model.family();
    let task = if data.task.is_classification() {
        TaskKind::Classification
    } else {
        TaskKind::Regression
    };
    if !family.tasks.supports(task) {
        return Err(TrainError::Spec(format!(
            "model kind '{}' cannot do {} (the target '{}' is {}); pick another model kind",
            family.kind,
            if data.task.is_classification() {
                "classification"
            } else {
                "regression"
            },
            data.target,
            if data.task.is_classification() {
                "a class label"
            } else {
                "a number"
            },
        )));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn train_tracked(
    spec: &JobSpec,
    options: &JobOptions,
    run: &RunTracker,
    resumed: bool,
    data: &PreparedData,
    preprocessor: &Preprocessor,
    train_x: &Features,
    valid_x: &Features,
    device: burn::tensor::Device,
) -> TrainResult<JobOutcome> {
    let mut progress = reporter(&options.progress);
    if !resumed {
        run.log_params(&params(spec, data, preprocessor))?;
        log_datasets(run, data)?;
        let saved = spec.with_absolute_data_paths(&options.base_dir);
        let spec_text =
            toml::to_string_pretty(&saved).map_err(|e| TrainError::Spec(e.to_string()))?;
        run.upload_bytes(SPEC_ARTIFACT, spec_text.into_bytes())?;
    }
    let (model, descriptor_runtime, best_epoch, stopped_early): (
        TabularModel,
        RuntimeSpec,
        Option<usize>,
        bool,
    ) = match &spec.model {
        ModelSpec::Net(net_spec) => {
            let architecture = Architecture {
                spec: net_spec.clone(),
                inputs: train_x.cols,
                outputs: data.task.classes().len().max(1),
            };
            let resume = if resumed { load_checkpoint(run)? } else { None };
            if let Some(checkpoint) = &resume {
                progress.message(&format!("resuming after epoch {}", checkpoint.state.epoch));
            }
            let mut observer = JobObserver {
                run,
                progress: progress.as_mut(),
                cancel: options.cancel.clone(),
                log_every: spec.training.log_every,
                epochs: spec.training.epochs,
            };
            let trained = train_net(
                NetTraining {
                    architecture: architecture.clone(),
                    task: &data.task,
                    train_x,
                    train_y: &data.train.encoded,
                    valid_x,
                    valid_y: &data.validation.encoded,
                    spec: &spec.training,
                    seed: spec.data.seed,
                    device,
                    resume,
                },
                &mut observer,
            )?;
            progress.finish();
            let cpu = burn::tensor::Device::flex();
            let net = trained.net.to_device(&cpu);
            let runtime = BurnRuntime::new(net, cpu, &data.task, trained.target_scale);
            (
                TabularModel {
                    preprocessor: preprocessor.clone(),
                    task: data.task.clone(),
                    runtime: Box::new(runtime),
                },
                RuntimeSpec::Burn {
                    architecture,
                    target_scale: trained.target_scale,
                },
                Some(trained.best_epoch),
                trained.stopped_early,
            )
        }
        ModelSpec::Linfa(linfa_spec) => {
            progress.message(&format!(
                "fitting {} on {} rows",
                linfa_spec.name(),
                train_x.rows
            ));
            let x = ndarray::ArrayView2::from_shape((train_x.rows, train_x.cols), &train_x.values)
                .map_err(|e| TrainError::Training(e.to_string()))?;
            let target = match &data.train.encoded {
                EncodedTarget::Classes(codes) => Target::Classes {
                    codes,
                    n_classes: data.task.classes().len(),
                },
                EncodedTarget::Values(values) => Target::Values(values),
            };
            let fitted = LinfaModel::fit(linfa_spec, x, target)?;
            (
                TabularModel {
                    preprocessor: preprocessor.clone(),
                    task: data.task.clone(),
                    runtime: Box::new(LinfaRuntime { model: fitted }),
                },
                RuntimeSpec::Linfa {
                    spec: linfa_spec.clone(),
                },
                None,
                false,
            )
        }
        ModelSpec::Gbdt(gbdt_spec) => {
            progress.message(&format!("fitting gbdt on {} rows", train_x.rows));
            // Boosting is the one fit here that uses every core; a job on a
            // server shares them with the other workers as the OS schedules.
            let threads = std::thread::available_parallelism().map_or(1, usize::from);
            let fitted = match &data.train.encoded {
                EncodedTarget::Classes(codes) => GbdtModel::fit_classifier(
                    gbdt_spec,
                    train_x,
                    codes,
                    data.task.classes().len(),
                    threads,
                    None,
                )?,
                EncodedTarget::Values(values) => {
                    GbdtModel::fit_regressor(gbdt_spec, train_x, values, threads, None)?
                }
            };
            (
                TabularModel {
                    preprocessor: preprocessor.clone(),
                    task: data.task.clone(),
                    runtime: Box::new(GbdtRuntime { model: fitted }),
                },
                RuntimeSpec::Gbdt {
                    spec: gbdt_spec.clone(),
                },
                None,
                false,
            )
        }
    };

    // Final evaluation of the kept model, through the same Predictor that serving uses.
    let train_predictions = model.predict(&data.train.features)?;
    let mut final_metrics = score(&train_predictions, &data.train, "train_");
    if let Some(test) = &data.test {
        let test_predictions = model.predict(&test.features)?;
        final_metrics.extend(score(&test_predictions, test, "test_"));
    }
    if data.validation.features.rows() > 0 {
        let valid_predictions = model.predict(&data.validation.features)?;
        final_metrics.extend(score(&valid_predictions, &data.validation, "val_"));
        log_plot(
            run,
            &data.task,
            &valid_predictions,
            &data.validation,
            "validation",
        )?;
    } else {
        log_plot(run, &data.task, &train_predictions, &data.train, "training")?;
    }
    match best_epoch {
        // linfa models and boosted trees have no epochs: their one evaluation is step 0.
        None => run.log_metrics(final_metrics.iter().map(|(k, v)| (k.as_str(), *v)), 0)?,
        Some(epoch) => {
            run.log_metrics([("best_epoch", epoch as f64)], 0)?;
            // The test split is scored once, by the kept model.
            let test = final_metrics.iter().filter(|(k, _)| k.starts_with("test_"));
            run.log_metrics(test.map(|(k, v)| (k.as_str(), *v)), epoch as i64)?;
        }
    }

    let profile = build_profile(&data.train.features, &train_predictions)?;
    let outcome_model = save_and_log(
        spec,
        run,
        data,
        preprocessor,
        &model,
        descriptor_runtime,
        &final_metrics,
        profile,
        best_epoch,
    )?;

    Ok(JobOutcome {
        run_id: run.run_id.clone(),
        experiment_id: run.experiment_id.clone(),
        model_uri: format!("runs:/{}/{MODEL_ARTIFACT_PATH}", run.run_id),
        logged_model_id: Some(outcome_model.logged_model_id),
        registered_model: outcome_model.registered.as_ref().map(|(n, _)| n.clone()),
        registered_version: outcome_model.registered.map(|(_, v)| v),
        task: if data.task.is_classification() {
            "classification".into()
        } else {
            "regression".into()
        },
        metrics: final_metrics,
        best_epoch,
        stopped_early,
    })
}

fn score(predictions: &Predictions, split: &Split, prefix: &str) -> BTreeMap<String, f64> {
    let scored = match (predictions, &split.encoded) {
        (
            Predictions::Classes {
                classes,
                probabilities,
                ..
            },
            EncodedTarget::Classes(codes),
        ) => {
            let flat: Vec<f64> = probabilities.iter().flatten().copied().collect();
            metrics::classification(codes, &flat, classes.len())
        }
        (Predictions::Values(values), EncodedTarget::Values(truth)) => {
            metrics::regression(truth, values)
        }
        _ => metrics::Scores::new(),
    };
    metrics::named(&scored, prefix)
}

fn log_plot(
    run: &RunTracker,
    task: &Task,
    predictions: &Predictions,
    split: &Split,
    which: &str,
) -> TrainResult<()> {
    match (predictions, &split.encoded, task) {
        (
            Predictions::Classes { labels, .. },
            EncodedTarget::Classes(codes),
            Task::Classification { classes },
        ) => {
            let predicted: Vec<usize> = labels
                .iter()
                .map(|l| classes.iter().position(|c| c == l).unwrap_or(0))
                .collect();
            let matrix = metrics::confusion(codes, &predicted, classes.len());
            let svg = plots::confusion_matrix_svg(
                &format!("Confusion matrix ({which} rows)"),
                classes,
                &matrix,
            );
            run.upload_bytes("plots/confusion_matrix.svg", svg.into_bytes())
        }
        (Predictions::Values(values), EncodedTarget::Values(truth), _) => {
            let svg = plots::residual_plot_svg(&format!("Residuals ({which} rows)"), truth, values);
            run.upload_bytes("plots/residuals.svg", svg.into_bytes())
        }
        _ => Ok(()),
    }
}

/// The baseline profile saved with a model: the training rows and the model's
/// predictions on them.
pub fn build_profile(
    features: &smelt_data::Frame,
    predictions: &Predictions,
) -> TrainResult<String> {
    let profile = Profile::from_frame(features, &ProfileOptions::default());
    let profile = match predictions {
        Predictions::Classes {
            classes,
            labels,
            probabilities,
        } => profile
            .with_classification_predictions(labels, probabilities, classes)
            .map_err(|e| TrainError::Training(format!("cannot profile the predictions: {e}")))?,
        Predictions::Values(values) => profile.with_regression_predictions(values),
    };
    Ok(profile.to_json())
}

#[allow(clippy::too_many_arguments)]
fn save_and_log(
    spec: &JobSpec,
    run: &RunTracker,
    data: &PreparedData,
    preprocessor: &Preprocessor,
    model: &TabularModel,
    runtime: RuntimeSpec,
    final_metrics: &BTreeMap<String, f64>,
    profile_json: String,
    best_epoch: Option<usize>,
) -> TrainResult<Published> {
    let example_rows: Vec<usize> = (0..data.train.features.rows().min(5)).collect();
    let write = |folder: &Path, model_id: &str| -> TrainResult<()> {
        let weights = model.runtime.weights().ok_or_else(|| {
            TrainError::Training("the trained model's runtime cannot be saved".into())
        })?;
        flavor::save_model(
            folder,
            &ModelBundle {
                descriptor: ModelDescriptor {
                    model_type: spec.model.name().to_string(),
                    runtime: runtime.clone(),
                    task: data.task.clone(),
                    target: data.target.clone(),
                    smelt_version: SMELT_VERSION.to_string(),
                },
                preprocessor,
                weights: flavor::Weights::Model(weights),
                profile_json: Some(profile_json.clone()),
                metrics: final_metrics.clone(),
                input_example: data.train.features.take(&example_rows),
                run_id: Some(run.run_id.clone()),
                model_id: Some(model_id.to_string()),
            },
        )?;
        Ok(())
    };
    publish_model(
        run,
        spec.model.name(),
        best_epoch.unwrap_or(0) as i64,
        spec.register.as_ref(),
        &write,
    )
}

fn params(
    spec: &JobSpec,
    data: &PreparedData,
    preprocessor: &Preprocessor,
) -> Vec<(String, String)> {
    let t = &spec.training;
    let mut params = vec![
        ("model".to_string(), spec.model.name().to_string()),
        (
            "task".to_string(),
            if data.task.is_classification() {
                "classification"
            } else {
                "regression"
            }
            .to_string(),
        ),
        ("target".to_string(), data.target.clone()),
        (
            "features".to_string(),
            preprocessor.input_names().len().to_string(),
        ),
        (
            "encoded_features".to_string(),
            preprocessor.output_width().to_string(),
        ),
        (
            "train_rows".to_string(),
            data.train.features.rows().to_string(),
        ),
        (
            "validation_rows".to_string(),
            data.validation.features.rows().to_string(),
        ),
        (
            "test_rows".to_string(),
            data.test
                .as_ref()
                .map_or(0, |t| t.features.rows())
                .to_string(),
        ),
        ("seed".to_string(), spec.data.seed.to_string()),
    ];
    if let Task::Classification { classes } = &data.task {
        params.push(("classes".to_string(), classes.len().to_string()));
    }
    match &spec.model {
        ModelSpec::Net(net) => {
            params.extend(net.params());
            params.extend([
                ("epochs".to_string(), t.epochs.to_string()),
                ("batch_size".to_string(), t.batch_size.to_string()),
                ("optimizer".to_string(), t.optimizer.name().to_string()),
                ("learning_rate".to_string(), t.learning_rate.to_string()),
                ("weight_decay".to_string(), t.weight_decay.to_string()),
                ("lr_schedule".to_string(), t.lr_schedule.name()),
                ("device".to_string(), t.device.clone()),
            ]);
            if t.optimizer == crate::spec::Optimizer::Sgd {
                params.push(("momentum".to_string(), t.momentum.to_string()));
            }
            if let Some(stop) = &t.early_stopping {
                params.push(("early_stopping_metric".to_string(), stop.metric.clone()));
                params.push((
                    "early_stopping_patience".to_string(),
                    stop.patience.to_string(),
                ));
            }
        }
        ModelSpec::Linfa(_) | ModelSpec::Gbdt(_) => params.extend(spec.model.params()),
    }
    params
}

fn system_tags(spec: &JobSpec, base_dir: &Path) -> Vec<Tag> {
    let mut tags = host_tags("smelt train", base_dir);
    tags.extend([
        Tag::new("smelt.device", device::describe(&spec.training.device)),
        Tag::new("smelt.model_type", spec.model.name()),
    ]);
    tags
}

/// Tags every Smelt run carries: the source command, Smelt's version, host,
/// user, and the git commit when `base_dir` is inside a checkout.
pub fn host_tags(source: &str, base_dir: &Path) -> Vec<Tag> {
    let mut tags = vec![
        Tag::new("mlflow.source.name", source),
        Tag::new("mlflow.source.type", "LOCAL"),
        Tag::new("smelt.version", SMELT_VERSION),
    ];
    if let Ok(host) = hostname::get() {
        tags.push(Tag::new("smelt.host", host.to_string_lossy()));
    }
    if let Ok(user) = std::env::var("USER") {
        tags.push(Tag::new("mlflow.user", user));
    }
    if let Some(commit) = git_commit(base_dir) {
        tags.push(Tag::new("mlflow.source.git.commit", commit));
    }
    tags
}

/// The commit of the git checkout holding `dir`, if any.
fn git_commit(dir: &Path) -> Option<String> {
    let output = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(dir)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let commit = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && commit.len() == 40).then_some(commit)
}

fn log_datasets(run: &RunTracker, data: &PreparedData) -> TrainResult<()> {
    let mut inputs = Vec::new();
    let splits = [
        Some((&data.train, "training")),
        Some((&data.validation, "validation")),
        data.test.as_ref().map(|t| (t, "testing")),
    ];
    for (split, context) in splits.into_iter().flatten() {
        if split.features.rows() == 0 {
            continue;
        }
        let name = Path::new(split.source.rsplit('/').next().unwrap_or(&split.source))
            .file_stem()
            .map_or_else(
                || "dataset".to_string(),
                |s| s.to_string_lossy().into_owned(),
            );
        let schema: Vec<serde_json::Value> = split
            .features
            .columns()
            .iter()
            .chain(std::iter::once(&split.target))
            .map(|c| {
                let kind = match c.kind() {
                    smelt_data::Kind::Numeric => "double",
                    smelt_data::Kind::Categorical => "string",
                };
                serde_json::json!({ "name": c.name, "type": kind })
            })
            .collect();
        inputs.push(DatasetInput {
            tags: vec![Tag::new("mlflow.data.context", context)],
            dataset: Dataset {
                name,
                digest: split.digest.clone(),
                source_type: if split.source.contains(":/") {
                    "uri"
                } else {
                    "local"
                }
                .to_string(),
                source: serde_json::json!({ "uri": split.source }).to_string(),
                schema: Some(serde_json::json!({ "mlflow_colspec": schema }).to_string()),
                profile: Some(serde_json::json!({ "num_rows": split.features.rows() }).to_string()),
            },
        });
    }
    run.tracking()
        .block(run.store().log_inputs(&run.run_id, &inputs, &[]))?;
    Ok(())
}
