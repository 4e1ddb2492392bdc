//! What a user sees in tracking after `smelt train`: params, per-epoch
//! metrics, system tags, dataset inputs, the model folder and plot, the
//! logged model and the registry; FAILED runs with the error; no run at all
//! for bad input.

mod common;

use common::Home;
use smelt_tracking::entities::{LoggedModelStatus, RunStatus, ViewType};
use smelt_tracking::store::SearchRuns;

const WINE: &str = r#"
    [data]
    train = "wine.train.csv"
    validation_fraction = 0.25
    test = "wine.test.csv"
    target = "target"
    [model]
    kind = "mlp"
    hidden = [16]
    [training]
    epochs = 3
    batch_size = 16
    log_every = 2
    [tracking]
    experiment = "wine-tests"
    run_name = "small-mlp"
    [register]
    name = "wine"
    alias = "champion"
"#;

#[test]
fn a_training_run_is_fully_tracked() {
    let home = Home::new();
    let outcome = home.train(WINE).unwrap();
    let store = home.tracking.store.clone();
    let rt = &home.runtime;
    let run = rt.block_on(store.get_run(&outcome.run_id)).unwrap();

    assert_eq!(run.info.status, RunStatus::Finished);
    assert_eq!(run.info.run_name, "small-mlp");
    let param = |k: &str| {
        run.data
            .params
            .iter()
            .find(|p| p.key == k)
            .map(|p| p.value.clone())
    };
    assert_eq!(param("model").as_deref(), Some("mlp"));
    assert_eq!(param("hidden").as_deref(), Some("16"));
    assert_eq!(param("epochs").as_deref(), Some("3"));
    assert_eq!(param("optimizer").as_deref(), Some("adam"));
    // 133 training rows: 100 train, 33 held out for validation; 45 test rows.
    assert_eq!(param("train_rows").as_deref(), Some("100"));
    assert_eq!(param("validation_rows").as_deref(), Some("33"));
    assert_eq!(param("test_rows").as_deref(), Some("45"));
    let tag = |k: &str| {
        run.data
            .tags
            .iter()
            .find(|t| t.key == k)
            .map(|t| t.value.clone())
    };
    assert_eq!(
        tag("smelt.version").as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(tag("smelt.device").as_deref(), Some("cpu (burn-flex)"));
    assert!(tag("smelt.host").is_some());
    // The tests run inside the repository's checkout.
    assert_eq!(tag("mlflow.source.git.commit").map(|c| c.len()), Some(40));

    // Per-epoch metrics at step = epoch, batch loss every 2 iterations.
    let history = rt
        .block_on(store.get_metric_history(&outcome.run_id, "val_accuracy", None, None))
        .unwrap();
    let steps: Vec<i64> = history.items.iter().map(|m| m.step).collect();
    assert_eq!(steps, [1, 2, 3]);
    for key in [
        "train_loss",
        "val_loss",
        "val_f1_macro",
        "val_log_loss",
        "train_accuracy",
    ] {
        let history = rt
            .block_on(store.get_metric_history(&outcome.run_id, key, None, None))
            .unwrap();
        assert_eq!(history.items.len(), 3, "{key}");
    }
    let batches = rt
        .block_on(store.get_metric_history(&outcome.run_id, "train_batch_loss", None, None))
        .unwrap();
    // 100 rows / 16 = 7 iterations per epoch, 21 in all; every second one logged.
    assert_eq!(batches.items.len(), 10);
    assert_eq!(batches.items[0].step, 2);

    // The test split is scored once, by the kept model, at its epoch.
    let test = rt
        .block_on(store.get_metric_history(&outcome.run_id, "test_accuracy", None, None))
        .unwrap();
    assert_eq!(test.items.iter().map(|m| m.step).collect::<Vec<_>>(), [3]);
    assert_eq!(test.items[0].value, outcome.metrics["test_accuracy"]);

    // Datasets with digests and contexts.
    let inputs = &run.inputs.dataset_inputs;
    assert_eq!(inputs.len(), 3);
    assert!(
        inputs
            .iter()
            .any(|i| i.tags.iter().any(|t| t.value == "testing"))
    );
    assert!(inputs.iter().all(|i| i.dataset.digest.len() == 16));
    assert!(
        inputs
            .iter()
            .any(|i| i.tags.iter().any(|t| t.value == "validation"))
    );

    // The model folder and the plot are artifacts of the run.
    let artifacts = smelt_tracking::artifacts::open_artifact_store(&run.info.artifact_uri).unwrap();
    let files: Vec<String> = rt
        .block_on(artifacts.list("model"))
        .unwrap()
        .into_iter()
        .map(|f| f.path.rsplit('/').next().unwrap().to_string())
        .collect();
    for name in [
        "MLmodel",
        "weights.safetensors",
        "preprocessing.json",
        "profile.json",
        "metrics.json",
        "model.json",
        "input_example.json",
    ] {
        assert!(
            files.iter().any(|f| f == name),
            "{name} missing from {files:?}"
        );
    }
    let plot = rt
        .block_on(artifacts.get("plots/confusion_matrix.svg"))
        .unwrap();
    assert!(rt.block_on(plot.into_bytes()).unwrap().starts_with(b"<svg"));

    // The logged model is READY and registered under its alias.
    let model_id = outcome.logged_model_id.clone().unwrap();
    let logged = rt.block_on(store.get_logged_model(&model_id)).unwrap();
    assert_eq!(logged.info.status, LoggedModelStatus::LoggedModelReady);
    assert_eq!(
        logged.info.source_run_id.as_deref(),
        Some(outcome.run_id.as_str())
    );
    let version = rt
        .block_on(store.get_model_version_by_alias("wine", "champion"))
        .unwrap();
    assert_eq!(version.version, "1");
    assert_eq!(version.run_id, Some(outcome.run_id.clone()));
}

#[test]
fn data_can_come_from_a_run_artifact() {
    let home = Home::new();
    let rt = &home.runtime;
    let store = home.tracking.store.clone();
    let run = rt
        .block_on(store.create_run(&smelt_tracking::store::CreateRun {
            experiment_id: "0".into(),
            ..Default::default()
        }))
        .unwrap();
    let artifacts = smelt_tracking::artifacts::open_artifact_store(&run.info.artifact_uri).unwrap();
    for split in ["train", "test"] {
        let bytes = std::fs::read(common::datasets().join(format!("iris.{split}.csv"))).unwrap();
        rt.block_on(artifacts.put_bytes(&format!("data/iris.{split}.csv"), bytes.into()))
            .unwrap();
    }
    let id = &run.info.run_id;
    let spec = format!(
        "[data]\ntrain = \"runs:/{id}/data/iris.train.csv\"\nvalidation = \"runs:/{id}/data/iris.test.csv\"\ntarget = \"target\"\n[model]\nkind = \"gaussian_nb\"\n"
    );
    let outcome = home.train(&spec).unwrap();
    assert!(
        outcome.metrics["val_accuracy"] >= 0.9,
        "{:?}",
        outcome.metrics
    );
    let trained = rt.block_on(store.get_run(&outcome.run_id)).unwrap();
    let sources: Vec<&str> = trained
        .inputs
        .dataset_inputs
        .iter()
        .map(|d| d.dataset.source.as_str())
        .collect();
    assert!(sources.iter().all(|s| s.contains("runs:/")), "{sources:?}");
}

#[test]
fn a_diverging_run_ends_failed_with_the_error() {
    let home = Home::new();
    let spec = r#"
        [data]
        train = "diabetes.train.csv"
        target = "target"
        task = "regression"
        [model]
        kind = "mlp"
        [training]
        epochs = 5
        optimizer = "sgd"
        learning_rate = 1e12
    "#;
    let error = home.train(spec).unwrap_err().to_string();
    assert!(error.contains("lower the learning rate"), "{error}");
    let runs = home
        .runtime
        .block_on(home.tracking.store.search_runs(&SearchRuns {
            experiment_ids: vec!["0".into()],
            run_view_type: ViewType::All,
            ..SearchRuns::default()
        }))
        .unwrap();
    assert_eq!(runs.items.len(), 1);
    let run = &runs.items[0];
    assert_eq!(run.info.status, RunStatus::Failed);
    let recorded = run
        .data
        .tags
        .iter()
        .find(|t| t.key == "smelt.error")
        .unwrap();
    assert!(recorded.value.contains("lower the learning rate"));
}

#[test]
fn bad_input_creates_no_run() {
    let home = Home::new();
    let dir = home.dir.path();
    let single = dir.join("single.csv");
    std::fs::write(&single, "x,y\n1,a\n2,a\n3,a\n").unwrap();
    let nan_target = dir.join("nan.csv");
    std::fs::write(&nan_target, "x,y\n1,1.5\n2,\n3,2.5\n").unwrap();
    let text = dir.join("text.csv");
    let mut rows = String::from("x,y\n");
    for i in 0..30 {
        rows.push_str(&format!("{i},{}\n", i % 2));
    }
    rows.push_str("oops,1\n");
    std::fs::write(&text, rows).unwrap();
    let two = dir.join("two.csv");
    std::fs::write(&two, "x,y\n1,a\n2,b\n3,a\n4,b\n5,a\n6,b\n").unwrap();
    let empty = dir.join("empty.csv");
    std::fs::write(&empty, "").unwrap();

    let spec = |train: &std::path::Path, target: &str, extra: &str| {
        format!(
            "[data]\ntrain = {:?}\ntarget = {target:?}\n{extra}\n[model]\nkind = \"logistic_regression\"\n",
            train.display().to_string()
        )
    };
    let cases = [
        (spec(&single, "y", ""), "has a single class ('a')"),
        (
            spec(&nan_target, "y", "task = \"regression\""),
            "missing (empty or NaN) in data row 2",
        ),
        (
            spec(&text, "y", ""),
            "line 32, column 'x': 'oops' is not a number",
        ),
        (spec(&empty, "y", ""), "has no data rows"),
        (spec(&single, "label", ""), "unknown column 'label'"),
        (spec(&dir.join("nope.csv"), "y", ""), "cannot read"),
        (
            spec(&two, "y", "").replace("logistic_regression\"", "cnn\"\nimage = [3, 3]"),
            "the CNN image is 3x3 = 9 pixels but rows have 1 features",
        ),
    ];
    for (spec, expected) in cases {
        let error = home.train(&spec).unwrap_err().to_string();
        assert!(
            error.contains(expected),
            "expected '{expected}' in: {error}"
        );
    }
    let runs = home
        .runtime
        .block_on(home.tracking.store.search_runs(&SearchRuns {
            experiment_ids: vec!["0".into()],
            run_view_type: ViewType::All,
            ..SearchRuns::default()
        }))
        .unwrap();
    assert!(
        runs.items.is_empty(),
        "bad input left runs behind: {:?}",
        runs.items.len()
    );
}
