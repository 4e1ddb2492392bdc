//! Autopilot jobs on the shipped datasets against a real local tracking store
//! (SQLite + artifact folder): what a user sees in the runs, the leaderboard
//! and the model, and the errors bad input gets.

use std::path::PathBuf;
use std::sync::Arc;

use smelt_autopilot::candidates::Learner;
use smelt_autopilot::job::LEADERBOARD_JSON;
use smelt_autopilot::{
    AutopilotOptions, AutopilotOutcome, AutopilotSpec, Leaderboard, Metric, ProblemType,
};
use smelt_models::Predictions;
use smelt_tracking::entities::{RunStatus, ViewType};
use smelt_tracking::store::SearchRuns;
use smelt_trainer::spec::RegisterSpec;
use smelt_trainer::{ProgressMode, Tracking, TrainError, TrainResult};

struct Home {
    dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    tracking: Tracking,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let db = format!("sqlite:///{}", dir.path().join("smelt.db").display());
        let artifacts = dir.path().join("artifacts").display().to_string();
        let store = runtime
            .block_on(smelt_tracking::open_store(&db, &artifacts))
            .unwrap();
        let tracking = Tracking {
            store,
            tracking_uri: db,
            open_artifacts: Arc::new(|uri: &str| {
                smelt_tracking::artifacts::open_artifact_store(uri)
            }),
            runtime: runtime.handle().clone(),
        };
        Home {
            dir,
            runtime,
            tracking,
        }
    }

    fn run(&self, spec: &AutopilotSpec) -> TrainResult<AutopilotOutcome> {
        let options = AutopilotOptions {
            base_dir: datasets(),
            progress: ProgressMode::Quiet,
            ..AutopilotOptions::default()
        };
        smelt_autopilot::run_autopilot(spec, &self.tracking, &options)
    }

    /// A run's artifact folder on disk (the local store keeps files there).
    fn artifacts(&self, run_id: &str) -> PathBuf {
        let run = self
            .runtime
            .block_on(self.tracking.store.get_run(run_id))
            .unwrap();
        let uri = run.info.artifact_uri;
        PathBuf::from(uri.strip_prefix("file://").unwrap_or(&uri))
    }
}

fn datasets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../datasets")
}

fn spec(dataset: &str, target: &str, trials: usize) -> AutopilotSpec {
    let mut spec = AutopilotSpec::new(format!("{dataset}.train.csv"), target);
    spec.test = Some(format!("{dataset}.test.csv"));
    spec.max_trials = Some(trials);
    // Generous: these tests bound the search by trials, so it is the same
    // search on any machine.
    spec.time_budget_s = 600.0;
    spec
}

#[test]
fn wine_is_searched_tracked_ensembled_and_registered() {
    let home = Home::new();
    let mut spec = spec("wine", "target", 16);
    spec.register = Some(RegisterSpec {
        name: "wine-auto".into(),
        alias: Some("champion".into()),
    });
    let outcome = home.run(&spec).unwrap();

    assert_eq!(outcome.problem_type, ProblemType::Multiclass);
    assert_eq!(outcome.metric, Metric::Accuracy);
    assert!(
        outcome.validation.contains("5-fold stratified"),
        "{}",
        outcome.validation
    );
    let board = &outcome.leaderboard;
    assert_eq!(board.trials_started, 16);
    assert!(board.trials_complete >= 6, "{board:?}");
    // Ranked by the objective, best first.
    for pair in board.entries.windows(2) {
        assert!(pair[0].score >= pair[1].score, "{:?}", board.entries);
    }
    assert!(
        outcome.best_score >= 0.95,
        "cv accuracy {}",
        outcome.best_score
    );
    assert!(
        outcome.test_metrics["accuracy"] >= 0.93,
        "test accuracy {:?}",
        outcome.test_metrics
    );

    // One child run per trial, nested under the parent, with params and metrics.
    let page = home
        .runtime
        .block_on(home.tracking.store.search_runs(&SearchRuns {
            experiment_ids: vec![outcome.experiment_id.clone()],
            filter: Some(format!("tags.mlflow.parentRunId = '{}'", outcome.run_id)),
            run_view_type: ViewType::All,
            max_results: Some(1000),
            order_by: vec![],
            page_token: None,
        }))
        .unwrap();
    assert_eq!(page.items.len(), 16);
    for child in &page.items {
        assert_ne!(
            child.info.status,
            RunStatus::Running,
            "every trial run is closed"
        );
        assert!(child.data.params.iter().any(|p| p.key == "learner"));
    }
    let finished = page
        .items
        .iter()
        .filter(|r| r.info.status == RunStatus::Finished)
        .count();
    assert_eq!(finished, board.trials_complete);
    let parent = home
        .runtime
        .block_on(home.tracking.store.get_run(&outcome.run_id))
        .unwrap();
    assert_eq!(parent.info.status, RunStatus::Finished);
    assert!(
        parent
            .data
            .metrics
            .iter()
            .any(|m| m.key == "best_accuracy" && m.value == outcome.best_score)
    );

    // The leaderboard files, and the model folder that loads and predicts.
    let artifacts = home.artifacts(&outcome.run_id);
    let saved: Leaderboard =
        serde_json::from_slice(&std::fs::read(artifacts.join(LEADERBOARD_JSON)).unwrap()).unwrap();
    assert_eq!(&saved, board);
    let csv = std::fs::read_to_string(artifacts.join("leaderboard/leaderboard.csv")).unwrap();
    assert_eq!(csv.lines().count(), board.entries.len() + 1);
    let svg = std::fs::read_to_string(artifacts.join("leaderboard/score_over_time.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.matches("<circle").count() >= board.trials_complete);
    let model = smelt_models::load_model(&artifacts.join("model")).unwrap();
    let test = smelt_data::read_table(
        &datasets().join("wine.test.csv"),
        &smelt_data::ReadOptions::default(),
    )
    .unwrap();
    let Predictions::Classes { labels, .. } = model.predict(&test).unwrap() else {
        panic!("a classifier predicts classes")
    };
    let truth = test.column("target").unwrap();
    let correct = (0..test.rows())
        .filter(|&r| truth.values.text(r).as_deref() == Some(labels[r].as_str()))
        .count();
    let accuracy = correct as f64 / test.rows() as f64;
    assert!(
        (accuracy - outcome.test_metrics["accuracy"]).abs() < 1e-9,
        "the saved model predicts what the job scored: {accuracy}"
    );
    assert_eq!(outcome.registered_model.as_deref(), Some("wine-auto"));
    let version = home
        .runtime
        .block_on(
            home.tracking
                .store
                .get_model_version_by_alias("wine-auto", "champion"),
        )
        .unwrap();
    assert_eq!(Some(version.version), outcome.registered_version);
}

#[test]
fn the_same_seed_and_trial_limit_give_the_same_leaderboard() {
    let home = Home::new();
    let mut spec = spec("iris", "target", 10);
    // linfa-trees 0.8.1 sums class frequencies in HashMap order (a random
    // seed per process), so its split ties, and with them decision trees and
    // random forests, are not reproducible; every other learner is.
    spec.learners = Some(vec![
        Learner::GaussianNb,
        Learner::LogisticRegression,
        Learner::Gbdt,
        Learner::Svm,
    ]);
    let first = home.run(&spec).unwrap();
    let second = home.run(&spec).unwrap();
    let summary = |o: &AutopilotOutcome| -> Vec<(String, String, f64)> {
        o.leaderboard
            .entries
            .iter()
            .map(|e| (e.model.clone(), e.learner.clone(), e.score))
            .collect()
    };
    assert_eq!(summary(&first), summary(&second));
    assert_eq!(first.best_model, second.best_model);
}

#[test]
fn regression_on_diabetes_explains_the_target_and_reports_r2() {
    let home = Home::new();
    let mut spec = spec("diabetes", "target", 12);
    spec.metric = Some(Metric::R2);
    let outcome = home.run(&spec).unwrap();
    assert_eq!(outcome.problem_type, ProblemType::Regression);
    // A constant predicts R² 0; diabetes' features explain about half.
    assert!(outcome.best_score > 0.4, "cv r2 {}", outcome.best_score);
    assert!(
        outcome.test_metrics["r2"] > 0.2,
        "{:?}",
        outcome.test_metrics
    );
    // Classifier-only learners were left out, and said so.
    assert!(
        outcome
            .notes
            .iter()
            .any(|n| n.contains("random_forest left out")),
        "{:?}",
        outcome.notes
    );
}

#[test]
fn penguins_with_missing_values_and_text_columns_searches_imputation() {
    let home = Home::new();
    let mut spec = spec("penguins", "species", 10);
    spec.learners = Some(vec![Learner::LogisticRegression, Learner::Gbdt]);
    let outcome = home.run(&spec).unwrap();
    assert!(outcome.best_score >= 0.95, "{}", outcome.best_score);
    let entry = outcome.leaderboard.best().unwrap();
    assert!(
        outcome
            .leaderboard
            .entries
            .iter()
            .any(|e| e.params.contains_key("impute")),
        "imputation is a searched variant when data has gaps: {entry:?}"
    );
}

fn write_csv(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn bad_input_gets_a_clear_error_and_no_run() {
    let home = Home::new();
    let constant = write_csv(home.dir.path(), "constant.csv", "x,y\n1,5\n2,5\n3,5\n4,5\n");
    let mut spec = AutopilotSpec::new(constant, "y");
    spec.time_budget_s = 10.0;
    let error = home.run(&spec).unwrap_err();
    assert!(matches!(error, TrainError::Data(_)), "{error}");
    assert!(error.to_string().contains("single"), "{error}");

    let mut spec = AutopilotSpec::new(format!("{}/iris.csv", datasets().display()), "species");
    spec.time_budget_s = 10.0;
    let error = home.run(&spec).unwrap_err().to_string();
    assert!(error.contains("species"), "{error}");

    let mut spec = AutopilotSpec::new("iris.csv", "target");
    spec.metric = Some(Metric::Rmse);
    spec.max_trials = Some(1);
    let error = home.run(&spec).unwrap_err().to_string();
    assert!(error.contains("rmse does not apply"), "{error}");

    // None of these made a run.
    let experiments = home
        .runtime
        .block_on(home.tracking.store.search_runs(&SearchRuns {
            experiment_ids: vec!["0".into()],
            filter: None,
            run_view_type: ViewType::All,
            max_results: Some(10),
            order_by: vec![],
            page_token: None,
        }))
        .unwrap();
    assert!(experiments.items.is_empty());
}

#[test]
fn empty_columns_are_dropped_and_small_classes_lower_the_folds() {
    let home = Home::new();
    // 3 rows of class c: 3-fold instead of 5; column `empty` has no values.
    let mut text = String::from("a,b,empty,y\n");
    for i in 0..40 {
        let class = if i < 3 {
            "c"
        } else if i % 2 == 0 {
            "a"
        } else {
            "b"
        };
        let offset = match class {
            "a" => 0.0,
            "b" => 5.0,
            _ => 10.0,
        };
        text.push_str(&format!(
            "{},{},,{class}\n",
            offset + (i % 7) as f64 * 0.1,
            offset - (i % 5) as f64 * 0.1
        ));
    }
    let path = write_csv(home.dir.path(), "small.csv", &text);
    let mut spec = AutopilotSpec::new(path, "y");
    spec.max_trials = Some(4);
    spec.time_budget_s = 120.0;
    spec.learners = Some(vec![Learner::GaussianNb, Learner::LogisticRegression]);
    let outcome = home.run(&spec).unwrap();
    let notes = outcome.notes.join("\n");
    assert!(
        notes.contains("column 'empty' has no values and was dropped"),
        "{notes}"
    );
    assert!(
        notes.contains("class 'c' has only 3 rows: 3-fold"),
        "{notes}"
    );
    assert!(
        outcome.validation.starts_with("3-fold"),
        "{}",
        outcome.validation
    );
}

#[test]
fn a_budget_too_small_for_any_trial_says_so() {
    let home = Home::new();
    let mut spec = AutopilotSpec::new("digits.train.csv", "target");
    spec.time_budget_s = 0.001;
    spec.learners = Some(vec![Learner::Svm]);
    let error = home.run(&spec).unwrap_err().to_string();
    assert!(error.contains("time budget"), "{error}");
}
