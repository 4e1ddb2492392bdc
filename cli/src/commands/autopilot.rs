//! `smelt autopilot`: AutoML over a table and a target, tracked as a parent
//! run with one child run per trial; `smelt autopilot leaderboard RUN_ID`
//! prints a finished job's leaderboard.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use smelt_api::jobs::{JOBS_PATH, JobResponse, SubmitJob};
use smelt_autopilot::candidates::Learner;
use smelt_autopilot::job::LEADERBOARD_JSON;
use smelt_autopilot::spec::parse_duration;
use smelt_autopilot::{
    AutopilotOptions, AutopilotOutcome, AutopilotSpec, Leaderboard, Metric, ProblemType,
};
use smelt_trainer::spec::RegisterSpec;
use smelt_trainer::{ProgressMode, TrainError};

use crate::config::{Context, GlobalArgs};
use crate::error::{failure, hinted};
use crate::output::{self, print_json, print_table};
use crate::remote::{ServerArg, call};
use crate::shared::artifacts::{DestinationArgs, read_run_artifact};
use crate::shared::jobs::{job_error, tracking_for};
use crate::shared::signals::cancel_on_ctrl_c;

pub const LONG_ABOUT: &str = "\
Search for the best model of a table within a time budget, and register it.

The problem type (binary, multiclass, regression) is inferred from the target
unless given; the objective defaults to F1 (binary), accuracy (multiclass) or
MSE (regression). Candidates are linfa models (logistic regression, ridge /
lasso / elastic net, decision tree, random forest, Gaussian naive Bayes, SVM),
gradient-boosted trees (perpetual) and Burn MLPs, each with its own search
space and preprocessing variants. Cheap configurations go first, then TPE
proposals; successive halving stops poor trials after a cheap fit. Scores are
5-fold stratified cross-validation up to 50,000 rows, a 20 % hold-out above.
The best candidates are combined by greedy ensemble selection, refitted on all
rows, and logged as the parent run's model.

  smelt autopilot --data datasets/wine.train.csv --target target --time-budget 30s
  smelt autopilot --data train.csv --target churn --metric roc_auc --register churn --alias champion
  smelt autopilot leaderboard RUN_ID

Every trial is a child run (mlflow.parentRunId) with its parameters and
cross-validated metrics; the parent holds the leaderboard (CSV, JSON and an
SVG of score against time) and the model. With --server URL the job is queued
on a running `smelt server` instead. Ctrl-C stops the search; the run ends KILLED.";

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AutopilotArgs {
    #[command(subcommand)]
    command: Option<AutopilotCommand>,
    #[command(flatten)]
    job: JobArgs,
}

#[derive(Debug, Subcommand)]
enum AutopilotCommand {
    /// Print the leaderboard of a finished autopilot run
    Leaderboard {
        /// The autopilot's (parent) run id
        run_id: String,
        #[command(flatten)]
        destination: DestinationArgs,
    },
}

#[derive(Debug, Args)]
struct JobArgs {
    /// An autopilot spec (TOML with an [autopilot] table); flags override it
    #[arg(long, value_name = "AUTOPILOT.toml")]
    spec: Option<PathBuf>,
    /// Training data: CSV or Parquet path, or an artifact URI
    #[arg(long, value_name = "PATH|URI", help_heading = "Data")]
    data: Option<String>,
    /// The column to predict
    #[arg(long, help_heading = "Data")]
    target: Option<String>,
    /// Rows scored once by the final model (test_* metrics on the run)
    #[arg(long, value_name = "PATH|URI", help_heading = "Data")]
    test: Option<String>,
    /// Columns to leave out (comma-separated)
    #[arg(long, value_delimiter = ',', help_heading = "Data")]
    exclude: Vec<String>,
    /// Columns to read as categories even when they hold numbers
    #[arg(long, value_delimiter = ',', help_heading = "Data")]
    categorical: Vec<String>,
    /// binary, multiclass or regression (default: inferred from the target)
    #[arg(long, value_enum, help_heading = "Search")]
    problem_type: Option<ProblemType>,
    /// The objective (default: f1 binary, accuracy multiclass, mse regression)
    #[arg(long, value_enum, help_heading = "Search")]
    metric: Option<Metric>,
    /// Wall-clock budget for the whole job: 90, 90s, 2m, 1h [default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Search")]
    time_budget: Option<f64>,
    /// Stop after this many trials (with a seed, gives the same leaderboard every time)
    #[arg(long, value_name = "N", help_heading = "Search")]
    max_trials: Option<usize>,
    /// Learners to search (comma-separated): gaussian_nb, logistic_regression,
    /// linear, decision_tree, random_forest, gbdt, svm, mlp [default: all that fit]
    #[arg(long, value_delimiter = ',', value_parser = parse_learner, help_heading = "Search")]
    learners: Option<Vec<Learner>>,
    /// Cross-validation folds [default: 5]
    #[arg(long, help_heading = "Search")]
    folds: Option<usize>,
    /// Trials run at once [default: one per core]
    #[arg(long, help_heading = "Search")]
    workers: Option<usize>,
    #[arg(long, help_heading = "Search")]
    seed: Option<u64>,
    /// Labels a `smelt worker` must carry to run the job, when --server sends
    /// jobs to workers (comma-separated, e.g. highmem)
    #[arg(long, value_delimiter = ',', help_heading = "Search")]
    labels: Vec<String>,
    /// Experiment for the runs (created if missing)
    #[arg(long, help_heading = "Tracking")]
    experiment: Option<String>,
    #[arg(long, help_heading = "Tracking")]
    run_name: Option<String>,
    /// Register the best model under this name
    #[arg(long, value_name = "NAME", help_heading = "Tracking")]
    register: Option<String>,
    /// Point this alias of the registered model at the new version
    #[arg(long, requires = "register", help_heading = "Tracking")]
    alias: Option<String>,
    /// No progress bar or log lines
    #[arg(short, long)]
    quiet: bool,
    /// Queue the job on this smelt server instead of running it here
    #[command(flatten)]
    server: ServerArg,
    #[command(flatten)]
    destination: DestinationArgs,
}

fn parse_learner(text: &str) -> Result<Learner, String> {
    Learner::from_name(text).ok_or_else(|| {
        format!(
            "unknown learner '{text}'; use {}",
            Learner::ALL
                .iter()
                .map(|l| l.name())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

pub async fn run(global: &GlobalArgs, args: AutopilotArgs) -> anyhow::Result<()> {
    match args.command {
        Some(AutopilotCommand::Leaderboard {
            run_id,
            destination,
        }) => leaderboard(global, &run_id, &destination.resolve()).await,
        None => start(global, args.job).await,
    }
}

fn build_spec(args: &JobArgs) -> anyhow::Result<(AutopilotSpec, PathBuf)> {
    let (mut spec, base_dir) = match &args.spec {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| failure(format!("cannot read the spec {}: {e}", path.display())))?;
            let spec = AutopilotSpec::from_toml(&text, &path.display().to_string())
                .map_err(autopilot_error)?;
            let base = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), PathBuf::from);
            (spec, base)
        }
        None => {
            let (Some(data), Some(target)) = (&args.data, &args.target) else {
                return Err(hinted(
                    "nothing to search: give --data and --target (or --spec)",
                    "smelt autopilot --data datasets/wine.train.csv --target target --time-budget 30s",
                ));
            };
            (AutopilotSpec::new(data, target), PathBuf::from("."))
        }
    };
    if let Some(v) = &args.data {
        spec.train = v.clone();
    }
    if let Some(v) = &args.target {
        spec.target = v.clone();
    }
    if args.test.is_some() {
        spec.test = args.test.clone();
    }
    if !args.exclude.is_empty() {
        spec.exclude = args.exclude.clone();
    }
    if !args.categorical.is_empty() {
        spec.categorical = args.categorical.clone();
    }
    spec.problem_type = args.problem_type.or(spec.problem_type);
    spec.metric = args.metric.or(spec.metric);
    if let Some(v) = args.time_budget {
        spec.time_budget_s = v;
    }
    spec.max_trials = args.max_trials.or(spec.max_trials);
    if args.learners.is_some() {
        spec.learners = args.learners.clone();
    }
    if let Some(v) = args.folds {
        spec.folds = v;
    }
    spec.workers = args.workers.or(spec.workers);
    if let Some(v) = args.seed {
        spec.seed = v;
    }
    if !args.labels.is_empty() {
        spec.labels = args.labels.clone();
    }
    if args.experiment.is_some() {
        spec.experiment = args.experiment.clone();
    }
    if args.run_name.is_some() {
        spec.run_name = args.run_name.clone();
    }
    if let Some(name) = &args.register {
        spec.register = Some(RegisterSpec {
            name: name.clone(),
            alias: args.alias.clone(),
        });
    }
    spec.validate()
        .map_err(|m| autopilot_error(TrainError::Spec(m)))?;
    Ok((spec, base_dir))
}

async fn start(global: &GlobalArgs, args: JobArgs) -> anyhow::Result<()> {
    let (spec, base_dir) = build_spec(&args)?;
    if let Some(base) = args.server.explicit() {
        // The data travels with the job (see `smelt jobs submit`).
        let mut spec = spec;
        let client = crate::remote::client()?;
        crate::shared::upload::send_autopilot_data(&mut spec, &base_dir, &client, &base).await?;
        return submit(global, &base, &spec).await;
    }
    let ctx = Context::open(global).await?;
    let tracking = tracking_for(&ctx, &args.destination.resolve());
    let cancel = cancel_on_ctrl_c("stopping the search (Ctrl-C again to abort)…");
    let options = AutopilotOptions {
        base_dir,
        progress: if args.quiet {
            ProgressMode::Quiet
        } else {
            ProgressMode::Auto
        },
        tags: Vec::new(),
        on_run: (!args.quiet).then(|| -> smelt_trainer::job::RunCallback {
            std::sync::Arc::new(|run_id: &str| eprintln!("autopilot run {run_id} started"))
        }),
        cancel,
        // The user's own process reads what the user can.
        data_roots: smelt_trainer::DataRoots::anywhere(),
        // Fold fits on this machine's cores.
        pool: None,
    };
    let job = tokio::task::spawn_blocking(move || {
        smelt_autopilot::run_autopilot(&spec, &tracking, &options)
    });
    let outcome = job
        .await
        .map_err(|e| failure(format!("the autopilot job crashed: {e}")))?
        .map_err(autopilot_error)?;
    report(&ctx, &outcome)
}

async fn submit(global: &GlobalArgs, base: &str, spec: &AutopilotSpec) -> anyhow::Result<()> {
    let client = crate::remote::client()?;
    let submitted: JobResponse = call(
        &client,
        reqwest::Method::POST,
        &format!("{base}{JOBS_PATH}"),
        Some(&SubmitJob {
            spec: spec.to_toml(),
        }),
        "`smelt jobs list` shows the server's jobs",
    )
    .await?;
    if global.json {
        return print_json(serde_json::to_value(&submitted)?);
    }
    let job_id = &submitted.job.job_id;
    eprintln!("autopilot job {job_id} queued; follow it with: smelt jobs logs --follow {job_id}");
    println!("{job_id}");
    Ok(())
}

fn report(ctx: &Context, outcome: &AutopilotOutcome) -> anyhow::Result<()> {
    if ctx.json {
        return print_json(serde_json::to_value(outcome)?);
    }
    for note in &outcome.notes {
        eprintln!("note: {note}");
    }
    print_leaderboard(&outcome.leaderboard, 10);
    println!();
    println!("run        {}", outcome.run_id);
    println!(
        "problem    {} ({})",
        outcome.problem_type.name(),
        outcome.validation
    );
    println!(
        "best       {} {} = {:.4}",
        outcome.best_model,
        outcome.metric.name(),
        outcome.best_score
    );
    println!("model      {}", outcome.model_uri);
    if let (Some(name), Some(version)) = (&outcome.registered_model, &outcome.registered_version) {
        println!("registered models:/{name}/{version}");
    }
    for (key, value) in &outcome.test_metrics {
        println!("  test_{key:<18} {value:.4}");
    }
    println!("took       {:.1} s", outcome.seconds);
    Ok(())
}

fn print_leaderboard(board: &Leaderboard, limit: usize) {
    println!(
        "{} trials: {} complete, {} stopped early, {} failed · {} · objective {}",
        board.trials_started,
        board.trials_complete,
        board.trials_pruned,
        board.trials_failed,
        board.validation,
        board.metric
    );
    let mut table = output::table([
        "rank",
        "model",
        "learner",
        board.metric.as_str(),
        "fit s",
        "params",
    ]);
    for entry in board.entries.iter().take(limit) {
        let params: Vec<String> = entry
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        table.add_row([
            entry.rank.to_string(),
            entry.model.clone(),
            entry.learner.clone(),
            format!("{:.4}", entry.score),
            format!("{:.2}", entry.fit_seconds),
            params.join(" "),
        ]);
    }
    print_table(&table);
    if board.entries.len() > limit {
        println!("… {} more (--json prints all)", board.entries.len() - limit);
    }
}

async fn leaderboard(global: &GlobalArgs, run_id: &str, destination: &str) -> anyhow::Result<()> {
    let ctx = Context::open(global).await?;
    let bytes = read_run_artifact(
        &ctx,
        destination,
        run_id,
        LEADERBOARD_JSON,
        "`smelt runs list` shows the runs",
        (
            &format!("run {run_id} has no {LEADERBOARD_JSON}"),
            "give the parent run of a finished `smelt autopilot` job",
        ),
    )
    .await?;
    let board: Leaderboard = serde_json::from_slice(&bytes).map_err(|e| {
        failure(format!(
            "{LEADERBOARD_JSON} of run {run_id} is unreadable: {e}"
        ))
    })?;
    if ctx.json {
        return print_json(serde_json::to_value(&board)?);
    }
    print_leaderboard(&board, usize::MAX);
    Ok(())
}

fn autopilot_error(error: TrainError) -> anyhow::Error {
    match &error {
        TrainError::Spec(_) => hinted(
            error.to_string(),
            "`smelt autopilot --help` lists every option",
        ),
        _ => job_error(error, "search"),
    }
}
