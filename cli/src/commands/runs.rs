//! `smelt runs …`: list and search runs, show one.

use std::collections::HashMap;

use clap::{Args, Subcommand};
use smelt_tracking::TrackingStore;
use smelt_tracking::entities::{Run, ViewType};
use smelt_tracking::store::{SearchExperiments, SearchRuns};

use super::{View, resolve_experiment};
use crate::config::{Context, GlobalArgs};
use crate::error::NotFoundHint;
use crate::output::{self, print_json, print_section, print_table};

/// How many metric columns a run listing shows.
const METRIC_COLUMNS: usize = 4;
/// Runs asked for per request.
const PAGE_SIZE: i64 = 1000;

/// The run commands.
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List the runs of an experiment (newest first)
    #[command(visible_alias = "ls")]
    List {
        /// Experiment name or id (repeatable)
        #[arg(short, long, value_name = "NAME_OR_ID", required = true)]
        experiment: Vec<String>,
        #[command(flatten)]
        query: QueryArgs,
    },
    /// Search runs with a filter, across experiments (all active ones when none is named)
    #[command(
        long_about = "Search runs with MLflow's filter grammar, across one or more experiments \
        (all active experiments when no --experiment is given).\n\n\
        Examples:\n  smelt runs search --experiment iris --filter \"metrics.accuracy > 0.9\" --order-by \"metrics.accuracy DESC\"\n  \
        smelt runs search --filter \"params.model = 'mlp' and attributes.status = 'FINISHED'\" --json"
    )]
    Search {
        /// Experiment name or id (repeatable; default: every active experiment)
        #[arg(short, long, value_name = "NAME_OR_ID")]
        experiment: Vec<String>,
        #[command(flatten)]
        query: QueryArgs,
    },
    /// Show a run: its info, params, latest metrics and tags
    Show {
        /// The run's id
        run_id: String,
    },
    /// A metric's full history (every step), oldest first
    History {
        /// The run's id
        run_id: String,
        /// The metric's key, e.g. val_loss
        key: String,
    },
}

/// What to search for and how much of it.
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// Filter in MLflow's grammar, e.g. "metrics.rmse < 0.5 and params.lr = '0.01'"
    #[arg(long)]
    filter: Option<String>,
    /// Sort, e.g. "metrics.rmse ASC" or "start_time DESC" (repeatable)
    #[arg(long = "order-by", value_name = "CLAUSE")]
    order_by: Vec<String>,
    /// Show at most N runs
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..))]
    max_results: i64,
    /// Show every matching run (follows page tokens; ignores --max-results)
    #[arg(long)]
    all: bool,
    /// Which runs: active, deleted or all
    #[arg(long, value_enum, default_value_t = View::Active)]
    view: View,
}

/// Runs a run command.
pub async fn run(global: &GlobalArgs, command: RunsCommand) -> anyhow::Result<()> {
    let ctx = Context::open(global).await?;
    let store = ctx.store.as_ref();
    match command {
        RunsCommand::List { experiment, query } => list(&ctx, &experiment, &query).await,
        RunsCommand::Search { experiment, query } => list(&ctx, &experiment, &query).await,
        RunsCommand::Show { run_id } => {
            let run = store.get_run(&run_id).await.hint_not_found(|| {
                "`smelt runs list --experiment NAME` shows the runs of an experiment".to_string()
            })?;
            if ctx.json {
                return print_json(serde_json::to_value(&run)?);
            }
            let experiment_name = store
                .get_experiment(&run.info.experiment_id)
                .await
                .map(|e| e.name)
                .unwrap_or_default();
            print_run(&run, &experiment_name);
            Ok(())
        }
        RunsCommand::History { run_id, key } => history(&ctx, &run_id, &key).await,
    }
}

async fn history(ctx: &Context, run_id: &str, key: &str) -> anyhow::Result<()> {
    let store = ctx.store.as_ref();
    let mut metrics = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = store
            .get_metric_history(run_id, key, token.as_deref(), Some(25_000))
            .await
            .hint_not_found(|| "`smelt runs show RUN_ID` lists the run's metrics".to_string())?;
        metrics.extend(page.items);
        match page.next_page_token {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => break,
        }
    }
    if ctx.json {
        return print_json(serde_json::to_value(&metrics)?);
    }
    if metrics.is_empty() {
        println!("Run {run_id} has no values of metric '{key}'.");
        return Ok(());
    }
    let mut table = crate::output::table(["step", "value", "timestamp"]);
    for metric in &metrics {
        table.add_row([
            metric.step.to_string(),
            metric.value.to_string(),
            metric.timestamp.to_string(),
        ]);
    }
    crate::output::print_table(&table);
    Ok(())
}

async fn list(ctx: &Context, experiments: &[String], query: &QueryArgs) -> anyhow::Result<()> {
    let store = ctx.store.as_ref();
    let mut names = HashMap::new();
    let mut experiment_ids = Vec::new();
    if experiments.is_empty() {
        for experiment in all_experiments(store).await? {
            names.insert(experiment.experiment_id.clone(), experiment.name);
            experiment_ids.push(experiment.experiment_id);
        }
    } else {
        for key in experiments {
            let experiment = resolve_experiment(store, key).await?;
            if !names.contains_key(&experiment.experiment_id) {
                experiment_ids.push(experiment.experiment_id.clone());
            }
            names.insert(experiment.experiment_id, experiment.name);
        }
    }

    let limit = if query.all {
        None
    } else {
        Some(query.max_results)
    };
    let mut search = SearchRuns {
        experiment_ids: experiment_ids.clone(),
        filter: query.filter.clone(),
        run_view_type: query.view.view_type(),
        max_results: None,
        order_by: query.order_by.clone(),
        page_token: None,
    };
    let mut runs: Vec<Run> = Vec::new();
    let mut more = false;
    if !experiment_ids.is_empty() {
        loop {
            let wanted = limit.map_or(PAGE_SIZE, |limit| {
                (limit - runs.len() as i64).min(PAGE_SIZE)
            });
            search.max_results = Some(wanted);
            let page = store.search_runs(&search).await?;
            runs.extend(page.items);
            match page.next_page_token.filter(|token| !token.is_empty()) {
                Some(token) => {
                    if limit.is_some_and(|limit| runs.len() as i64 >= limit) {
                        more = true;
                        break;
                    }
                    search.page_token = Some(token);
                }
                None => break,
            }
        }
    }

    if ctx.json {
        return print_json(serde_json::to_value(&runs)?);
    }
    if runs.is_empty() {
        let which: Vec<&str> = experiment_ids
            .iter()
            .filter_map(|id| names.get(id).map(String::as_str))
            .collect();
        if query.filter.is_some() {
            println!("No runs match the filter in {}.", describe(&which));
        } else {
            println!("No runs in {}.", describe(&which));
        }
        return Ok(());
    }
    print_runs(&runs, &names, experiment_ids.len() > 1, &query.order_by);
    if more {
        eprintln!(
            "(showing the first {} runs; use --max-results N or --all for more)",
            runs.len()
        );
    }
    Ok(())
}

fn describe(names: &[&str]) -> String {
    match names {
        [] => "any experiment".to_string(),
        [one] => format!("experiment '{one}'"),
        many => format!(
            "experiments {}",
            many.iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

async fn all_experiments(
    store: &dyn TrackingStore,
) -> anyhow::Result<Vec<smelt_tracking::entities::Experiment>> {
    let mut experiments = Vec::new();
    let mut query = SearchExperiments {
        view_type: ViewType::ActiveOnly,
        max_results: Some(1000),
        ..SearchExperiments::default()
    };
    loop {
        let page = store.search_experiments(&query).await?;
        experiments.extend(page.items);
        match page.next_page_token.filter(|token| !token.is_empty()) {
            Some(token) => query.page_token = Some(token),
            None => return Ok(experiments),
        }
    }
}

/// The metric keys worth a column: those the sort names first, then the most
/// common ones, alphabetically among equals.
fn metric_columns(runs: &[Run], order_by: &[String]) -> Vec<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for run in runs {
        for metric in &run.data.metrics {
            *counts.entry(metric.key.as_str()).or_default() += 1;
        }
    }
    let mut columns: Vec<String> = Vec::new();
    for clause in order_by {
        let field = clause.split_whitespace().next().unwrap_or("");
        if let Some(key) = field.strip_prefix("metrics.") {
            let key = key.trim_matches(|c| c == '`' || c == '"');
            if counts.contains_key(key) && !columns.iter().any(|c| c == key) {
                columns.push(key.to_string());
            }
        }
    }
    let mut rest: Vec<(&str, usize)> = counts
        .into_iter()
        .filter(|(key, _)| !columns.iter().any(|c| c == key))
        .collect();
    rest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    columns.extend(rest.into_iter().map(|(key, _)| key.to_string()));
    columns.truncate(METRIC_COLUMNS);
    columns
}

fn print_runs(
    runs: &[Run],
    names: &HashMap<String, String>,
    show_experiment: bool,
    order_by: &[String],
) {
    let metrics = metric_columns(runs, order_by);
    let mut header: Vec<String> = vec!["run_id".into(), "name".into()];
    if show_experiment {
        header.push("experiment".into());
    }
    header.extend(["status".into(), "start (UTC)".into(), "duration".into()]);
    header.extend(metrics.iter().cloned());
    let mut table = output::table(header);
    for run in runs {
        let info = &run.info;
        let mut row = vec![info.run_id.clone(), output::truncate(&info.run_name, 40)];
        if show_experiment {
            row.push(
                names
                    .get(&info.experiment_id)
                    .cloned()
                    .unwrap_or_else(|| info.experiment_id.clone()),
            );
        }
        row.push(info.status.as_str().to_string());
        row.push(output::time(info.start_time));
        row.push(output::duration(info.start_time, info.end_time));
        for key in &metrics {
            row.push(run.metric(key).map(output::number).unwrap_or_default());
        }
        table.add_row(row);
    }
    print_table(&table);
}

/// Who started the run: its user id, else MLflow's `mlflow.user` tag.
fn user(run: &Run) -> String {
    if run.info.user_id.is_empty() {
        run.tag("mlflow.user").unwrap_or_default().to_string()
    } else {
        run.info.user_id.clone()
    }
}

fn print_run(run: &Run, experiment_name: &str) {
    let info = &run.info;
    let experiment = if experiment_name.is_empty() {
        info.experiment_id.clone()
    } else {
        format!("{} ({experiment_name})", info.experiment_id)
    };
    let table = output::key_values([
        ("run_id", info.run_id.clone()),
        ("name", info.run_name.clone()),
        ("experiment", experiment),
        ("status", info.status.as_str().to_string()),
        ("user", user(run)),
        ("start (UTC)", output::time(info.start_time)),
        ("end (UTC)", output::time(info.end_time)),
        ("duration", output::duration(info.start_time, info.end_time)),
        ("artifact uri", info.artifact_uri.clone()),
        ("stage", info.lifecycle_stage.clone()),
    ]);
    print_table(&table);

    if !run.data.params.is_empty() {
        let mut params = run.data.params.clone();
        params.sort_by(|a, b| a.key.cmp(&b.key));
        let mut table = output::table(["param", "value"]);
        for param in &params {
            table.add_row([param.key.clone(), output::truncate(&param.value, 200)]);
        }
        print_section("Params", &table);
    }
    if !run.data.metrics.is_empty() {
        let mut metrics = run.data.metrics.clone();
        metrics.sort_by(|a, b| a.key.cmp(&b.key));
        let mut table = output::table(["metric", "latest value", "step", "time (UTC)"]);
        for metric in &metrics {
            table.add_row([
                metric.key.clone(),
                output::number(metric.value),
                metric.step.to_string(),
                output::time(Some(metric.timestamp)),
            ]);
        }
        print_section("Metrics", &table);
    }
    if !run.data.tags.is_empty() {
        let mut tags = run.data.tags.clone();
        tags.sort_by(|a, b| a.key.cmp(&b.key));
        let mut table = output::table(["tag", "value"]);
        for tag in &tags {
            table.add_row([tag.key.clone(), output::truncate(&tag.value, 120)]);
        }
        print_section("Tags", &table);
    }
    if !run.inputs.dataset_inputs.is_empty() {
        let mut table = output::table(["dataset", "digest", "context"]);
        for input in &run.inputs.dataset_inputs {
            let context = input
                .tags
                .iter()
                .find(|t| t.key == "mlflow.data.context")
                .map(|t| t.value.clone());
            table.add_row([
                input.dataset.name.clone(),
                input.dataset.digest.clone(),
                context.unwrap_or_default(),
            ]);
        }
        print_section("Datasets", &table);
    }
    if !run.outputs.model_outputs.is_empty() {
        let mut table = output::table(["logged model", "step"]);
        for model in &run.outputs.model_outputs {
            table.add_row([model.model_id.clone(), model.step.to_string()]);
        }
        print_section("Models", &table);
    }
}
