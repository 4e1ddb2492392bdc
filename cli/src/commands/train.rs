//! `smelt train`: run a training job from a spec file, from flags, or both
//! (flags override the file), tracked in the tracking store; or continue a
//! killed job with `--resume RUN_ID`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use smelt_trainer::job::SPEC_ARTIFACT;
use smelt_trainer::spec::{EarlyStopping, ModelSpec, Optimizer, RegisterSpec};
use smelt_trainer::{JobOptions, JobOutcome, JobSpec, ProgressMode, TrainError};

use crate::config::{Context, GlobalArgs, env_var};
use crate::error::{failure, hinted};
use crate::output::print_json;
use crate::shared::artifacts::{DestinationArgs, read_run_artifact};
use crate::shared::jobs::{job_error, tracking_for};
use crate::shared::signals::cancel_on_ctrl_c;

pub const LONG_ABOUT: &str = "\
Train a model and track the run: params, per-epoch metrics, system tags, the
dataset, checkpoints, the model folder (MLmodel, weights, preprocessing,
baseline profile) and a confusion matrix or residual plot.

From a job spec (examples/ has one per dataset; examples/README.md documents it):
  smelt train examples/breast_cancer.toml
From flags:
  smelt train --data datasets/wine.train.csv --validation datasets/wine.test.csv \\
      --target target --model mlp --epochs 40 --register wine --alias champion
Continue a killed job in the same run, from its last checkpoint:
  smelt train --resume RUN_ID

Ctrl-C stops the job; its run ends KILLED.";

/// The long help: [`LONG_ABOUT`] and the model kinds of the trainer's
/// family registry, so the list cannot fall behind what trains.
pub fn long_about() -> String {
    format!("{LONG_ABOUT}\n\n{}", smelt_trainer::families::help())
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Job spec (TOML); flags below override its values
    #[arg(value_name = "JOB.toml")]
    spec: Option<PathBuf>,
    /// Training data: CSV or Parquet path, or an artifact URI (runs:/RUN_ID/data.csv)
    #[arg(long, value_name = "PATH|URI", help_heading = "Data")]
    data: Option<String>,
    /// Validation data (default: hold out --validation-fraction of --data)
    #[arg(long, value_name = "PATH|URI", help_heading = "Data")]
    validation: Option<String>,
    /// Share of --data held out for validation when --validation is not given
    #[arg(long, value_name = "FRACTION", help_heading = "Data")]
    validation_fraction: Option<f64>,
    /// The column to predict
    #[arg(long, help_heading = "Data")]
    target: Option<String>,
    /// Feature columns (comma-separated; default: all but the target)
    #[arg(long, value_delimiter = ',', help_heading = "Data")]
    features: Option<Vec<String>>,
    /// Columns to read as categories even when they hold numbers
    #[arg(long, value_delimiter = ',', help_heading = "Data")]
    categorical: Option<Vec<String>>,
    /// Seed for the split, shuffling and initial weights
    #[arg(long, help_heading = "Data")]
    seed: Option<u64>,
    /// Model kind (mlp, logistic_regression, gbdt, ...; all listed below)
    #[arg(long, value_name = "KIND", help_heading = "Model")]
    model: Option<String>,
    /// A model hyperparameter as TOML, e.g. --param hidden=[128,64] --param dropout=0.1
    #[arg(long = "param", value_name = "KEY=VALUE", help_heading = "Model")]
    params: Vec<String>,
    #[arg(long, help_heading = "Training")]
    epochs: Option<usize>,
    #[arg(long, help_heading = "Training")]
    batch_size: Option<usize>,
    #[arg(long, help_heading = "Training")]
    learning_rate: Option<f64>,
    /// adam, adamw or sgd
    #[arg(long, help_heading = "Training")]
    optimizer: Option<String>,
    /// Stop when val_loss has not improved for this many epochs
    #[arg(long, value_name = "EPOCHS", help_heading = "Training")]
    patience: Option<usize>,
    /// cpu (default), or gpu / vulkan / wgpu in builds with the gpu feature
    #[arg(long, env = "SMELT_DEVICE", help_heading = "Training")]
    device: Option<String>,
    /// Experiment to log the run in (created if missing)
    #[arg(long, help_heading = "Tracking")]
    experiment: Option<String>,
    #[arg(long, help_heading = "Tracking")]
    run_name: Option<String>,
    /// Register the model under this name
    #[arg(long, value_name = "NAME", help_heading = "Tracking")]
    register: Option<String>,
    /// Point this alias of the registered model at the new version
    #[arg(long, requires = "register", help_heading = "Tracking")]
    alias: Option<String>,
    /// Continue this run from its last checkpoint (the spec is read from the run)
    #[arg(long, value_name = "RUN_ID", help_heading = "Tracking")]
    resume: Option<String>,
    /// No progress bar or log lines
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    destination: DestinationArgs,
}

pub async fn run(global: &GlobalArgs, args: TrainArgs) -> anyhow::Result<()> {
    let (mut spec, base_dir) = match &args.spec {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                hinted(
                    format!("cannot read the job spec {}: {e}", path.display()),
                    "examples/ has one per dataset",
                )
            })?;
            let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let base = if base.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                base
            };
            (
                Some(JobSpec::from_toml(&text, &path.display().to_string()).map_err(spec_error)?),
                base,
            )
        }
        None => (None, PathBuf::from(".")),
    };
    // The spec's tracking URI applies when neither the flag nor the
    // environment names one.
    let mut global = global.clone();
    if global.tracking_uri.is_none() && env_var("MLFLOW_TRACKING_URI").is_none() {
        global.tracking_uri = spec.as_ref().and_then(|s| s.tracking.uri.clone());
    }
    let ctx = Context::open(&global).await?;
    if let (None, Some(run_id)) = (&spec, &args.resume) {
        spec = Some(spec_of_run(&ctx, &args.destination.resolve(), run_id).await?);
    }
    apply_flags(&mut spec, &args)?;
    let spec = spec.expect("apply_flags builds a spec or fails");
    spec.validate()
        .map_err(|m| spec_error(TrainError::Spec(m)))?;

    let tracking = tracking_for(&ctx, &args.destination.resolve());
    let cancel = cancel_on_ctrl_c("stopping at the next batch (Ctrl-C again to abort)…");
    let options = JobOptions {
        base_dir,
        resume: args.resume.clone(),
        progress: if args.quiet {
            ProgressMode::Quiet
        } else {
            ProgressMode::Auto
        },
        cancel: cancel.clone(),
        tags: Vec::new(),
        // The user's own process reads what the user can.
        data_roots: smelt_trainer::DataRoots::anywhere(),
        // Say the run id at once: it is what `--resume` needs if the job dies.
        on_run: (!args.quiet).then(|| -> smelt_trainer::job::RunCallback {
            Arc::new(|run_id: &str| {
                eprintln!("run {run_id} started (resume with: smelt train --resume {run_id})")
            })
        }),
    };
    let job =
        tokio::task::spawn_blocking(move || smelt_trainer::run_job(&spec, &tracking, &options));
    let outcome = job
        .await
        .map_err(|e| failure(format!("the training job crashed: {e}")))?;
    let outcome = outcome.map_err(train_error)?;
    report(&ctx, &outcome)
}

fn report(ctx: &Context, outcome: &JobOutcome) -> anyhow::Result<()> {
    if ctx.json {
        return print_json(serde_json::to_value(outcome)?);
    }
    println!("run        {}", outcome.run_id);
    println!("model      {}", outcome.model_uri);
    if let (Some(name), Some(version)) = (&outcome.registered_model, &outcome.registered_version) {
        println!("registered models:/{name}/{version}");
    }
    if let Some(epoch) = outcome.best_epoch {
        let note = if outcome.stopped_early {
            " (stopped early)"
        } else {
            ""
        };
        println!("best epoch {epoch}{note}");
    }
    for (key, value) in &outcome.metrics {
        println!("  {key:<18} {value:.4}");
    }
    Ok(())
}

/// The spec a run was started with (saved as an artifact by the trainer).
async fn spec_of_run(ctx: &Context, destination: &str, run_id: &str) -> anyhow::Result<JobSpec> {
    let bytes = read_run_artifact(
        ctx,
        destination,
        run_id,
        SPEC_ARTIFACT,
        "`smelt runs list` shows the runs; --resume takes a run id",
        (
            &format!("run {run_id} has no {SPEC_ARTIFACT}: it was not started by `smelt train`"),
            "give the job spec file too: smelt train JOB.toml --resume RUN_ID",
        ),
    )
    .await?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    JobSpec::from_toml(&text, &format!("{SPEC_ARTIFACT} of run {run_id}")).map_err(spec_error)
}

fn apply_flags(spec: &mut Option<JobSpec>, args: &TrainArgs) -> anyhow::Result<()> {
    if spec.is_none() {
        let (Some(data), Some(target)) = (&args.data, &args.target) else {
            return Err(hinted(
                "nothing to train: give a job spec, or --data and --target (and --model)",
                "smelt train --data datasets/iris.csv --target target --model mlp",
            ));
        };
        let text = format!(
            "[data]\ntrain = {}\ntarget = {}\n[model]\nkind = {}\n",
            toml_string(data),
            toml_string(target),
            toml_string(args.model.as_deref().unwrap_or("mlp"))
        );
        *spec = Some(JobSpec::from_toml(&text, "the command line").map_err(spec_error)?);
    }
    let spec = spec.as_mut().expect("set above");
    let d = &mut spec.data;
    if let Some(v) = &args.data {
        d.train = v.clone();
    }
    if let Some(v) = &args.validation {
        d.validation = Some(v.clone());
    }
    if let Some(v) = args.validation_fraction {
        d.validation_fraction = v;
    }
    if let Some(v) = &args.target {
        d.target = v.clone();
    }
    if let Some(v) = &args.features {
        d.features = Some(v.clone());
    }
    if let Some(v) = &args.categorical {
        d.categorical = v.clone();
    }
    if let Some(v) = args.seed {
        d.seed = v;
    }
    // A synonym (`logistic`) of the spec's own kind keeps its hyperparameters.
    let kind_changed = args.model.as_deref().is_some_and(|k| {
        smelt_trainer::families::find(k).map_or(k, |family| family.kind) != spec.model.name()
    });
    if kind_changed || !args.params.is_empty() {
        let mut table = match (&spec.model, kind_changed) {
            (_, true) => toml::Table::new(),
            (model, false) => toml::Table::try_from(model).map_err(|e| failure(e.to_string()))?,
        };
        let kind = args
            .model
            .clone()
            .unwrap_or_else(|| spec.model.name().to_string());
        table.insert("kind".into(), toml::Value::from(kind));
        for param in &args.params {
            let (key, value) = param.split_once('=').ok_or_else(|| {
                hinted(
                    format!("--param '{param}' is not KEY=VALUE"),
                    "for example --param hidden=[64,64]",
                )
            })?;
            let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {value}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or_else(|| toml::Value::from(value.to_string()));
            table.insert(key.trim().to_string(), value);
        }
        spec.model = <ModelSpec as serde::Deserialize>::deserialize(toml::Value::Table(table))
            .map_err(|e| spec_error(TrainError::Spec(e.to_string())))?;
    }
    let t = &mut spec.training;
    if let Some(v) = args.epochs {
        t.epochs = v;
    }
    if let Some(v) = args.batch_size {
        t.batch_size = v;
    }
    if let Some(v) = args.learning_rate {
        t.learning_rate = v;
    }
    if let Some(v) = &args.optimizer {
        t.optimizer = match v.to_ascii_lowercase().as_str() {
            "adam" => Optimizer::Adam,
            "adamw" => Optimizer::AdamW,
            "sgd" => Optimizer::Sgd,
            other => {
                return Err(hinted(
                    format!("unknown optimizer '{other}'"),
                    "use adam, adamw or sgd",
                ));
            }
        };
    }
    if let Some(patience) = args.patience {
        t.early_stopping = Some(EarlyStopping {
            metric: "val_loss".into(),
            patience,
            min_delta: 0.0,
        });
    }
    if let Some(v) = &args.device {
        t.device = v.clone();
    }
    if let Some(v) = &args.experiment {
        spec.tracking.experiment = Some(v.clone());
    }
    if let Some(v) = &args.run_name {
        spec.tracking.run_name = Some(v.clone());
    }
    if let Some(name) = &args.register {
        spec.register = Some(RegisterSpec {
            name: name.clone(),
            alias: args.alias.clone(),
        });
    }
    Ok(())
}

fn toml_string(text: &str) -> String {
    toml::Value::from(text.to_string()).to_string()
}

fn spec_error(error: TrainError) -> anyhow::Error {
    hinted(
        error.to_string(),
        "examples/README.md documents every field of a job spec",
    )
}

fn train_error(error: TrainError) -> anyhow::Error {
    match &error {
        TrainError::Spec(_) => spec_error(error),
        _ => job_error(error, "job"),
    }
}
