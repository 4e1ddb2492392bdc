//! One autopilot job, from data to a registered model: read and check the
//! data, infer the problem, plan the folds, search (each trial a nested child
//! run), select an ensemble over out-of-fold predictions, refit the chosen
//! models on all rows, and publish the result as the parent run's model.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde::Serialize;
use smelt_models::flavor::{self, EnsembleMemberBundle, ModelBundle, ModelDescriptor, RuntimeSpec};
use smelt_models::preprocessing::Preprocessor;
use smelt_models::{EncodedTarget, Predictions, Predictor, SMELT_VERSION, TabularModel, Task};
use smelt_tracking::entities::Tag;
use smelt_trainer::dataset::{PreparedData, prepare};
use smelt_trainer::job::{build_profile, host_tags};
use smelt_trainer::publish::publish_model;
use smelt_trainer::spec::{DataSpec, TaskKind};
use smelt_trainer::tracker::run_closing;
use smelt_trainer::{RunTracker, Tracking, TrainError, TrainResult};

use crate::candidates::{FitRequest, Learner, Resource, fit, preprocess_options};
use crate::distributed::{DISTRIBUTED_WIDTH, Distribution, EvaluationPool};
use crate::ensemble;
use crate::evaluate::{Dataset, Evaluator};
use crate::folds;
use crate::leaderboard::{Entry, Leaderboard};
use crate::problem::{Metric, Outputs, ProblemType, Truth, infer_problem_type, score_all};
use crate::progress::{AutopilotProgress, reporter};
use crate::search::{Search, SearchOptions, Trial, TrialState};
use crate::spec::AutopilotSpec;
use crate::trial_runs::TrialRuns;

/// Where the parent run keeps the leaderboard.
pub const LEADERBOARD_JSON: &str = "leaderboard/leaderboard.json";
pub const LEADERBOARD_CSV: &str = "leaderboard/leaderboard.csv";
pub const LEADERBOARD_SVG: &str = "leaderboard/score_over_time.svg";
pub const MODEL_ARTIFACT_PATH: &str = "model";
/// Candidates considered for the ensemble (the best by out-of-fold loss).
const ENSEMBLE_POOL: usize = 20;
/// Candidates of one learner in the ensemble pool.
const PER_LEARNER: usize = 2;

/// How a job runs (not what it does: that is the spec).
#[derive(Clone)]
pub struct AutopilotOptions {
    /// Relative data paths resolve here.
    pub base_dir: PathBuf,
    pub progress: smelt_trainer::ProgressMode,
    pub tags: Vec<Tag>,
    /// Called with the parent run's id as soon as it exists.
    pub on_run: Option<smelt_trainer::job::RunCallback>,
    /// Set to stop the search early (the job then ends KILLED).
    pub cancel: Arc<AtomicBool>,
    /// Where the data may come from (anywhere for `smelt autopilot`; a
    /// server's executor limits it).
    pub data_roots: smelt_trainer::DataRoots,
    /// Where fold fits run when not on this machine's threads (`smelt
    /// worker`: on every worker's cores).
    pub pool: Option<Arc<dyn EvaluationPool>>,
}

impl Default for AutopilotOptions {
    fn default() -> Self {
        AutopilotOptions {
            base_dir: PathBuf::from("."),
            progress: smelt_trainer::ProgressMode::Auto,
            tags: Vec::new(),
            on_run: None,
            cancel: Arc::new(AtomicBool::new(false)),
            data_roots: smelt_trainer::DataRoots::anywhere(),
            pool: None,
        }
    }
}

/// What a finished job reports.
#[derive(Debug, Clone, Serialize)]
pub struct AutopilotOutcome {
    pub run_id: String,
    pub experiment_id: String,
    pub problem_type: ProblemType,
    pub metric: Metric,
    pub validation: String,
    /// `runs:/RUN_ID/model`.
    pub model_uri: String,
    pub logged_model_id: String,
    pub registered_model: Option<String>,
    pub registered_version: Option<String>,
    /// The chosen model's out-of-fold score.
    pub best_score: f64,
    /// `ensemble` or `trial-N`.
    pub best_model: String,
    /// Scores on the test rows, when the spec named them.
    pub test_metrics: BTreeMap<String, f64>,
    pub leaderboard: Leaderboard,
    pub notes: Vec<String>,
    pub seconds: f64,
}

/// Runs one autopilot job against `tracking`.
pub fn run_autopilot(
    spec: &AutopilotSpec,
    tracking: &Tracking,
    options: &AutopilotOptions,
) -> TrainResult<AutopilotOutcome> {
    let started = Instant::now();
    let prepared = prepare_search(spec, tracking, &options.base_dir, &options.data_roots)?;
    let experiment = spec.experiment.as_deref().unwrap_or("Default");
    let experiment_id = tracking.experiment_id(experiment)?;
    let mut tags = host_tags("smelt autopilot", &options.base_dir);
    tags.push(Tag::new("smelt.autopilot", "true"));
    tags.extend(options.tags.iter().cloned());
    let run = RunTracker::start(
        tracking,
        &experiment_id,
        Some(spec.run_name.clone().unwrap_or_else(|| "autopilot".into())),
        tags,
    )?;
    if let Some(on_run) = &options.on_run {
        on_run(&run.run_id);
    }
    let mut progress = reporter(
        &options.progress,
        Duration::from_secs_f64(spec.time_budget_s),
    );
    for note in &prepared.notes {
        progress.note(note);
    }
    let result = run_closing(&run, "Autopilot", || {
        search_and_publish(spec, options, &run, &prepared, progress.as_mut(), started)
    });
    progress.finish();
    result
}

/// What a search runs on: the data read and checked, the problem, the
/// metric, the folds and the learners that apply. Built the same way
/// wherever it is needed: by the job, and by every worker evaluating folds
/// of a distributed search (reading the same data with the same seed gives
/// the same rows and folds).
pub struct PreparedSearch {
    pub data: PreparedData,
    pub dataset: Arc<Dataset>,
    pub plan: Arc<folds::FoldPlan>,
    pub metric: Metric,
    pub learners: Vec<Learner>,
    /// What was decided on the way (columns dropped, folds lowered, …).
    pub notes: Vec<String>,
}

/// Reads and checks `spec`'s data and plans its search.
pub fn prepare_search(
    spec: &AutopilotSpec,
    tracking: &Tracking,
    base_dir: &Path,
    data_roots: &smelt_trainer::DataRoots,
) -> TrainResult<PreparedSearch> {
    spec.validate().map_err(TrainError::Spec)?;
    let mut notes = Vec::new();
    let (data, problem) = read_data(spec, tracking, base_dir, data_roots)?;
    let metric = spec.metric.unwrap_or(problem.default_metric());
    if !problem.admits(metric) {
        return Err(TrainError::Spec(format!(
            "the metric {} does not apply to this {} problem (target '{}'); pick one of {}",
            metric.name(),
            problem.name(),
            spec.target,
            problem
                .reported_metrics()
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let features = drop_empty_columns(&data.train.features, &mut notes);
    if features.columns().is_empty() {
        return Err(TrainError::Data(format!(
            "{} has no usable feature columns besides the target '{}'",
            spec.train, spec.target
        )));
    }
    let has_missing = features
        .columns()
        .iter()
        .any(|c| c.values.missing_count() > 0);
    let dataset = Dataset {
        features,
        target: data.train.encoded.clone(),
        task: data.task.clone(),
        problem,
        has_missing,
    };
    let plan = {
        let classes = match (&dataset.target, &dataset.task) {
            (EncodedTarget::Classes(codes), Task::Classification { classes }) => {
                Some((codes.as_slice(), classes.as_slice()))
            }
            _ => None,
        };
        folds::plan(dataset.rows(), classes, spec.folds, spec.seed)
    };
    notes.extend(plan.warnings.iter().cloned());
    let mut learners = Vec::new();
    for learner in spec
        .learners
        .clone()
        .unwrap_or_else(|| Learner::ALL.to_vec())
    {
        match learner.applies(problem, dataset.rows()) {
            Ok(()) => learners.push(learner),
            Err(why) => notes.push(format!("{} left out: {why}", learner.name())),
        }
    }
    if learners.is_empty() {
        return Err(TrainError::Spec(format!(
            "none of the requested learners can model a {} problem",
            problem.name()
        )));
    }

    Ok(PreparedSearch {
        data,
        dataset: Arc::new(dataset),
        plan: Arc::new(plan),
        metric,
        learners,
        notes,
    })
}

/// Reads the data, and infers (or takes) the problem type. A target whose
/// inferred kind differs from what `prepare` assumed is read again with the
/// kind made explicit, so the encoding matches the problem.
fn read_data(
    spec: &AutopilotSpec,
    tracking: &Tracking,
    base_dir: &Path,
    roots: &smelt_trainer::DataRoots,
) -> TrainResult<(PreparedData, ProblemType)> {
    let data_spec = |task: Option<TaskKind>| DataSpec {
        train: spec.train.clone(),
        validation: None,
        validation_fraction: 0.0,
        test: spec.test.clone(),
        target: spec.target.clone(),
        features: spec.features.clone(),
        exclude: spec.exclude.clone(),
        categorical: spec.categorical.clone(),
        task,
        seed: spec.seed,
    };
    let kind = |p: ProblemType| {
        if p.is_classification() {
            TaskKind::Classification
        } else {
            TaskKind::Regression
        }
    };
    let data = prepare(
        &data_spec(spec.problem_type.map(kind)),
        base_dir,
        Some(tracking),
        roots,
    )?;
    let problem = match spec.problem_type {
        Some(p) => p,
        None => infer_problem_type(&data.train.target).ok_or_else(|| {
            TrainError::Data(format!(
                "the target '{}' in {} has a single value: there is nothing to learn",
                spec.target, spec.train
            ))
        })?,
    };
    let data = if data.task.is_classification() == problem.is_classification() {
        data
    } else {
        prepare(
            &data_spec(Some(kind(problem))),
            base_dir,
            Some(tracking),
            roots,
        )?
    };
    // Binary or multiclass follows the classes actually present.
    let problem = match (&data.task, problem) {
        (Task::Classification { classes }, ProblemType::Binary | ProblemType::Multiclass) => {
            if classes.len() == 2 {
                ProblemType::Binary
            } else {
                ProblemType::Multiclass
            }
        }
        (_, p) => p,
    };
    if let Some(p) = spec.problem_type
        && p != problem
    {
        return Err(TrainError::Spec(format!(
            "--problem-type {} does not fit the target '{}': it has {} classes",
            p.name(),
            spec.target,
            data.task.classes().len()
        )));
    }
    Ok((data, problem))
}

/// Columns with no value at all carry nothing; they are dropped with a note.
fn drop_empty_columns(features: &smelt_data::Frame, notes: &mut Vec<String>) -> smelt_data::Frame {
    let mut frame = features.clone();
    for column in features.columns() {
        if column.values.missing_count() == column.values.len() {
            notes.push(format!(
                "column '{}' has no values and was dropped",
                column.name
            ));
            frame = frame.without(&column.name);
        }
    }
    frame
}

fn search_and_publish(
    spec: &AutopilotSpec,
    options: &AutopilotOptions,
    run: &RunTracker,
    prepared: &PreparedSearch,
    progress: &mut dyn AutopilotProgress,
    started: Instant,
) -> TrainResult<AutopilotOutcome> {
    let PreparedSearch {
        data,
        dataset,
        plan,
        metric,
        learners,
        notes,
    } = prepared;
    let (dataset, plan, metric): (&Dataset, &folds::FoldPlan, Metric) = (dataset, plan, *metric);
    let (learners, notes) = (learners.clone(), notes.clone());
    // Configurations in flight: with a pool, a width that does not depend
    // on how many workers there are (so the leaderboard does not either).
    let workers = spec.workers.unwrap_or_else(|| {
        if options.pool.is_some() {
            DISTRIBUTED_WIDTH
        } else {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }
    });
    run.log_params(&[
        (
            "problem_type".to_string(),
            dataset.problem.name().to_string(),
        ),
        ("metric".to_string(), metric.name().to_string()),
        ("target".to_string(), spec.target.clone()),
        ("time_budget_s".to_string(), spec.time_budget_s.to_string()),
        (
            "max_trials".to_string(),
            spec.max_trials.map_or("none".into(), |m| m.to_string()),
        ),
        ("validation".to_string(), plan.description.clone()),
        ("train_rows".to_string(), dataset.rows().to_string()),
        (
            "features".to_string(),
            dataset.features.columns().len().to_string(),
        ),
        ("workers".to_string(), workers.to_string()),
        (
            "fold_fits".to_string(),
            if options.pool.is_some() {
                "workers"
            } else {
                "local"
            }
            .to_string(),
        ),
        ("seed".to_string(), spec.seed.to_string()),
        (
            "learners".to_string(),
            learners
                .iter()
                .map(|l| l.name())
                .collect::<Vec<_>>()
                .join(","),
        ),
    ])?;
    if let Task::Classification { classes } = &dataset.task {
        run.log_params(&[("classes".to_string(), classes.len().to_string())])?;
    }

    // The budget counts from the job's start: reading data is part of it.
    let spent = started.elapsed();
    let budget = Duration::from_secs_f64(spec.time_budget_s).saturating_sub(spent);
    let evaluator = Evaluator::new(
        prepared.dataset.clone(),
        prepared.plan.clone(),
        metric,
        spec.seed,
    );
    let search = Search::new(
        &evaluator,
        metric,
        SearchOptions {
            learners,
            time_budget: budget,
            max_trials: spec.max_trials,
            seed: spec.seed,
            workers,
        },
        dataset.problem,
        dataset.has_missing,
    );
    let search = match &options.pool {
        Some(pool) => search.distributed(Distribution {
            pool: pool.clone(),
            search: run.run_id.clone(),
            spec: spec.to_toml(),
        }),
        None => search,
    };
    let mut observer = TrialRuns::new(run, metric, progress, options.cancel.clone());
    let result = search.run(&mut observer);
    let run_ids = observer.finish()?;
    if options.cancel.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(TrainError::Cancelled);
    }

    let complete: Vec<&Trial> = result
        .trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .collect();
    if complete.is_empty() {
        let fastest = result
            .trials
            .iter()
            .filter(|t| !t.rungs.is_empty())
            .map(Trial::seconds)
            .fold(f64::INFINITY, f64::min);
        let failures: Vec<String> = result
            .trials
            .iter()
            .filter_map(|t| {
                t.error
                    .as_ref()
                    .map(|e| format!("{}: {e}", t.learner.name()))
            })
            .take(3)
            .collect();
        return Err(TrainError::Training(
            if failures.len() == result.trials.len() && !failures.is_empty() {
                format!("every trial failed; first errors: {}", failures.join("; "))
            } else if fastest.is_finite() {
                format!(
                    "the time budget of {:.0} s ended before any trial finished its full fit (the quickest partial trial took {fastest:.1} s); give a larger --time-budget",
                    spec.time_budget_s
                )
            } else {
                format!(
                    "the time budget of {:.0} s ended before any trial finished; give a larger --time-budget",
                    spec.time_budget_s
                )
            },
        ));
    }

    // Ensemble selection over the best candidates' out-of-fold predictions.
    let mut pool: Vec<&Trial> = complete.clone();
    pool.sort_by(|a, b| {
        metric
            .loss(a.last_score().unwrap_or(f64::NAN))
            .total_cmp(&metric.loss(b.last_score().unwrap_or(f64::NAN)))
            .then(a.id.cmp(&b.id))
    });
    // At most PER_LEARNER of each learner: hundreds of near-identical
    // configurations of one learner would crowd out the diversity an ensemble
    // lives on, and the very best of many look-alikes is the most flattered by
    // its cross-validation score.
    let mut taken: BTreeMap<Learner, usize> = BTreeMap::new();
    pool.retain(|t| {
        let n = taken.entry(t.learner).or_default();
        *n += 1;
        *n <= PER_LEARNER
    });
    pool.truncate(ENSEMBLE_POOL);
    let outputs: Vec<&Outputs> = pool.iter().filter_map(|t| t.outputs.as_ref()).collect();
    let selection = ensemble::select(&outputs, ensemble::ROUNDS, |o| {
        evaluator.score(metric, o).map(|s| metric.loss(s))
    });
    let best_single = pool[0];
    let best_single_loss = metric.loss(best_single.last_score().unwrap_or(f64::NAN));
    let (members, ensemble_entry): (Vec<(f64, &Trial)>, Option<Entry>) = match selection {
        Some(selection) if selection.members.len() > 1 && selection.loss < best_single_loss => {
            let members: Vec<(f64, &Trial)> = selection
                .members
                .iter()
                .map(|&(i, w)| (w, pool[i]))
                .collect();
            let averaged = weighted_average(&members);
            let entry = Entry {
                rank: 0,
                model: "ensemble".into(),
                learner: members
                    .iter()
                    .map(|(w, t)| format!("{}×{w:.2}", t.id_name()))
                    .collect::<Vec<_>>()
                    .join(" + "),
                score: evaluator.score(metric, &averaged).unwrap_or(f64::NAN),
                metrics: evaluator.all_metrics(&averaged),
                fit_seconds: members.iter().map(|(_, t)| t.seconds()).sum(),
                finished_s: result.elapsed.as_secs_f64(),
                params: members
                    .iter()
                    .map(|(w, t)| (t.id_name(), format!("{w:.4}")))
                    .collect(),
                run_id: None,
            };
            (members, Some(entry))
        }
        _ => (vec![(1.0, best_single)], None),
    };
    let leaderboard = Leaderboard::build(
        metric,
        &plan.description,
        &result.trials,
        &run_ids,
        ensemble_entry,
        result.elapsed.as_secs_f64(),
    );
    let best = leaderboard
        .best()
        .cloned()
        .expect("a complete trial is ranked");
    progress.note(&format!(
        "refitting {} on all {} rows",
        if members.len() > 1 {
            format!("an ensemble of {} models", members.len())
        } else {
            best.model.clone()
        },
        dataset.rows()
    ));

    // Refit the chosen models on all training rows.
    let deadline = started + Duration::from_secs_f64(spec.time_budget_s * 1.1);
    let refitted = refit(dataset, &members, spec.seed, deadline, workers)?;
    let model: Box<dyn Predictor> = match refitted.as_slice() {
        [single] => Box::new(single.to_tabular(&dataset.task)),
        _ => Box::new(smelt_models::ensemble::EnsembleModel::new(
            dataset.task.clone(),
            refitted
                .iter()
                .map(|m| smelt_models::ensemble::EnsembleMember {
                    weight: m.weight,
                    model: Box::new(m.to_tabular(&dataset.task)),
                })
                .collect(),
        )?),
    };
    let train_predictions = model.predict(&data.train.features)?;
    let mut test_metrics = BTreeMap::new();
    if let Some(test) = &data.test {
        let predictions = model.predict(&test.features)?;
        test_metrics = score_predictions(&predictions, &test.encoded, dataset);
    }
    let profile = build_profile(&data.train.features, &train_predictions)?;

    // Parent run: summary metrics, leaderboard, model.
    let mut summary: Vec<(String, f64)> = vec![
        (format!("best_{}", metric.name()), best.score),
        ("trials_started".into(), leaderboard.trials_started as f64),
        ("trials_complete".into(), leaderboard.trials_complete as f64),
        ("trials_pruned".into(), leaderboard.trials_pruned as f64),
        ("trials_failed".into(), leaderboard.trials_failed as f64),
        ("search_seconds".into(), result.elapsed.as_secs_f64()),
    ];
    summary.extend(best.metrics.iter().map(|(k, v)| (format!("cv_{k}"), *v)));
    summary.extend(test_metrics.iter().map(|(k, v)| (format!("test_{k}"), *v)));
    run.log_metrics(summary.iter().map(|(k, v)| (k.as_str(), *v)), 0)?;
    run.upload_bytes(LEADERBOARD_JSON, leaderboard.to_json().into_bytes())?;
    run.upload_bytes(LEADERBOARD_CSV, leaderboard.to_csv().into_bytes())?;
    run.upload_bytes(LEADERBOARD_SVG, leaderboard.to_svg().into_bytes())?;
    run.set_tags(&[
        Tag::new("smelt.autopilot.best_model", best.model.clone()),
        Tag::new("smelt.autopilot.best_learner", best.learner.clone()),
        Tag::new("smelt.autopilot.problem_type", dataset.problem.name()),
        Tag::new("smelt.autopilot.metric", metric.name()),
    ])?;

    let model_type = if refitted.len() > 1 {
        "ensemble".to_string()
    } else {
        refitted[0].fitted.kind().to_string()
    };
    let mut final_metrics: BTreeMap<String, f64> = best
        .metrics
        .iter()
        .map(|(k, v)| (format!("cv_{k}"), *v))
        .collect();
    final_metrics.extend(test_metrics.iter().map(|(k, v)| (format!("test_{k}"), *v)));
    let example_rows: Vec<usize> = (0..data.train.features.rows().min(5)).collect();
    let example = data.train.features.take(&example_rows);
    let published = publish_model(
        run,
        &model_type,
        0,
        spec.register.as_ref(),
        &|folder: &Path, model_id: &str| {
            save_folder(
                folder,
                &refitted,
                data,
                &model_type,
                &profile,
                &final_metrics,
                &example,
                &run.run_id,
                model_id,
            )
        },
    )?;
    Ok(AutopilotOutcome {
        run_id: run.run_id.clone(),
        experiment_id: run.experiment_id.clone(),
        problem_type: dataset.problem,
        metric,
        validation: plan.description.clone(),
        model_uri: format!("runs:/{}/{MODEL_ARTIFACT_PATH}", run.run_id),
        logged_model_id: published.logged_model_id,
        registered_model: published.registered.as_ref().map(|(n, _)| n.clone()),
        registered_version: published.registered.map(|(_, v)| v),
        best_score: best.score,
        best_model: best.model.clone(),
        test_metrics,
        leaderboard,
        notes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

impl Trial {
    fn id_name(&self) -> String {
        format!("trial-{}", self.id)
    }
}

fn weighted_average(members: &[(f64, &Trial)]) -> Outputs {
    let first = members[0]
        .1
        .outputs
        .as_ref()
        .expect("complete trials have outputs");
    let (k, len) = match first {
        Outputs::Probabilities { k, values } => (Some(*k), values.len()),
        Outputs::Values(values) => (None, values.len()),
    };
    let mut sum = vec![0.0; len];
    for (w, trial) in members {
        if let Some(Outputs::Probabilities { values, .. } | Outputs::Values(values)) =
            &trial.outputs
        {
            sum.iter_mut().zip(values).for_each(|(s, v)| *s += w * v);
        }
    }
    match k {
        Some(k) => Outputs::Probabilities { k, values: sum },
        None => Outputs::Values(sum),
    }
}

/// One chosen model refitted on every training row.
pub struct Refitted {
    pub weight: f64,
    pub learner: Learner,
    pub preprocessor: Preprocessor,
    pub fitted: crate::candidates::Fitted,
}

impl Refitted {
    fn to_tabular(&self, task: &Task) -> TabularModel {
        let (runtime, _) = self.fitted.clone_runtime(task);
        TabularModel {
            preprocessor: self.preprocessor.clone(),
            task: task.clone(),
            runtime,
        }
    }
}

fn refit(
    dataset: &Dataset,
    members: &[(f64, &Trial)],
    seed: u64,
    deadline: Instant,
    workers: usize,
) -> TrainResult<Vec<Refitted>> {
    let one = |(weight, trial): &(f64, &Trial)| -> TrainResult<Refitted> {
        let options = preprocess_options(&trial.config);
        let preprocessor = Preprocessor::fit_with(&dataset.features, &options)?;
        let x = preprocessor.transform(&dataset.features)?;
        let resource = *trial.learner.rungs().last().unwrap_or(&Resource::Full);
        let fitted = fit(&FitRequest {
            learner: trial.learner,
            config: &trial.config,
            resource,
            task: &dataset.task,
            x: &x,
            y: &dataset.target,
            seed,
            deadline,
        })?;
        Ok(Refitted {
            weight: *weight,
            learner: trial.learner,
            preprocessor,
            fitted,
        })
    };
    let mut out: Vec<Option<TrainResult<Refitted>>> = (0..members.len()).map(|_| None).collect();
    for chunk_start in (0..members.len()).step_by(workers.max(1)) {
        let end = (chunk_start + workers.max(1)).min(members.len());
        let results: Vec<TrainResult<Refitted>> = std::thread::scope(|scope| {
            let handles: Vec<_> = members[chunk_start..end]
                .iter()
                .map(|m| scope.spawn(move || one(m)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(TrainError::Training("a refit thread panicked".into()))
                    })
                })
                .collect()
        });
        for (i, r) in results.into_iter().enumerate() {
            out[chunk_start + i] = Some(r);
        }
    }
    out.into_iter()
        .map(|r| r.expect("every member was refitted"))
        .collect()
}

/// Every reported metric of a model's predictions against `truth`.
fn score_predictions(
    predictions: &Predictions,
    truth: &EncodedTarget,
    dataset: &Dataset,
) -> BTreeMap<String, f64> {
    let k = dataset.task.classes().len();
    let outputs = match predictions {
        Predictions::Classes { probabilities, .. } => Outputs::Probabilities {
            k,
            values: probabilities.iter().flatten().copied().collect(),
        },
        Predictions::Values(values) => Outputs::Values(values.clone()),
    };
    score_all(dataset.problem, Truth::of(truth, k), &outputs)
}

/// A refitted model's bundle: its own preprocessing and weights.
fn member_bundle<'b>(
    member: &'b Refitted,
    data: &PreparedData,
    example: &smelt_data::Frame,
    run_id: &str,
    model_id: &str,
) -> ModelBundle<'b> {
    ModelBundle {
        descriptor: ModelDescriptor {
            model_type: member.fitted.kind().to_string(),
            runtime: member.fitted.runtime_spec(),
            task: data.task.clone(),
            target: data.target.clone(),
            smelt_version: SMELT_VERSION.to_string(),
        },
        preprocessor: &member.preprocessor,
        weights: member.fitted.weights(),
        profile_json: None,
        metrics: BTreeMap::new(),
        input_example: example.clone(),
        run_id: Some(run_id.to_string()),
        model_id: Some(model_id.to_string()),
    }
}

/// Writes the chosen model's folder: the single model, or an ensemble whose
/// members are complete folders of their own. The profile and metrics sit at
/// the top, where serving and the monitor look.
#[allow(clippy::too_many_arguments)]
fn save_folder(
    folder: &Path,
    refitted: &[Refitted],
    data: &PreparedData,
    model_type: &str,
    profile: &str,
    metrics: &BTreeMap<String, f64>,
    example: &smelt_data::Frame,
    run_id: &str,
    model_id: &str,
) -> TrainResult<()> {
    let mut bundle = if let [single] = refitted {
        member_bundle(single, data, example, run_id, model_id)
    } else {
        let members: Vec<EnsembleMemberBundle<'_>> = refitted
            .iter()
            .map(|m| EnsembleMemberBundle {
                weight: m.weight,
                bundle: member_bundle(m, data, example, run_id, model_id),
            })
            .collect();
        ModelBundle {
            descriptor: ModelDescriptor {
                model_type: model_type.to_string(),
                runtime: RuntimeSpec::ensemble(&members),
                task: data.task.clone(),
                target: data.target.clone(),
                smelt_version: SMELT_VERSION.to_string(),
            },
            preprocessor: &refitted[0].preprocessor,
            weights: flavor::Weights::Ensemble(members),
            profile_json: None,
            metrics: BTreeMap::new(),
            input_example: example.clone(),
            run_id: Some(run_id.to_string()),
            model_id: Some(model_id.to_string()),
        }
    };
    bundle.profile_json = Some(profile.to_string());
    bundle.metrics = metrics.clone();
    flavor::save_model(folder, &bundle)?;
    Ok(())
}
