//! Every registered model family trains through the trainer, on each task it
//! claims, on a small shipped dataset (iris for classes, diabetes for
//! numbers), and its saved folder loads and predicts: the registry is the
//! list of what `smelt train --model KIND` can do, so nothing in it may be a
//! name only.

mod common;

use std::path::{Path, PathBuf};

use common::{Home, datasets};
use smelt_trainer::families::{FAMILIES, Family};
use smelt_trainer::spec::TaskKind;

/// Hyperparameters that keep a family's fit to a second or two on two cores;
/// a family not listed trains with its defaults.
fn quick(kind: &str, dataset: &str) -> &'static str {
    match (kind, dataset) {
        ("mlp", _) => "hidden = [16]",
        // Rows read as tiny images (iris: 4 features, diabetes: 10): one
        // 2x2 pooling at most.
        ("cnn", "iris") => "channels = [4]\ndense = 8\nkernel = 1\nimage = [2, 2]",
        ("cnn", _) => "channels = [4]\ndense = 8\nkernel = 1\nimage = [2, 5]",
        ("random_forest", _) => "n_trees = 10",
        _ => "",
    }
}

fn spec(family: &Family, dataset: &str) -> String {
    format!(
        r#"
        [data]
        train = "{dataset}.train.csv"
        validation = "{dataset}.test.csv"
        target = "target"
        [model]
        kind = "{kind}"
        {extra}
        [training]
        epochs = 3
        checkpoint_every = 0
        "#,
        kind = family.kind,
        extra = quick(family.kind, dataset),
    )
}

/// The folders holding a `model.json` under `dir`.
fn model_folders(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(model_folders(&path));
        } else if path.file_name().is_some_and(|n| n == "model.json") {
            found.extend(path.parent().map(Path::to_path_buf));
        }
    }
    found
}

#[test]
fn every_registered_family_trains_saves_and_loads() {
    let cases = [
        (TaskKind::Classification, "iris", "val_accuracy"),
        (TaskKind::Regression, "diabetes", "val_r2"),
    ];
    let mut trained = Vec::new();
    for family in FAMILIES {
        for (task, dataset, metric) in cases {
            if !family.tasks.supports(task) {
                continue;
            }
            let home = Home::new();
            let outcome = home
                .train(&spec(family, dataset))
                .unwrap_or_else(|e| panic!("{} on {dataset}: {e}", family.kind));
            assert!(
                outcome.metrics.get(metric).is_some_and(|v| v.is_finite()),
                "{} on {dataset}: {:?}",
                family.kind,
                outcome.metrics
            );
            let folders = model_folders(home.dir.path());
            assert!(!folders.is_empty(), "{}: no model folder", family.kind);
            for folder in folders {
                let descriptor: serde_json::Value = serde_json::from_str(
                    &std::fs::read_to_string(folder.join("model.json")).unwrap(),
                )
                .unwrap();
                assert_eq!(descriptor["model_type"], family.kind);
                let model = smelt_models::load_model(&folder).unwrap();
                let rows = smelt_data::read_table(
                    &datasets().join(format!("{dataset}.test.csv")),
                    &smelt_data::ReadOptions::default(),
                )
                .unwrap();
                let features = rows.without("target");
                let predictions = model.predict(&features).unwrap();
                assert_eq!(predictions.len(), features.rows(), "{}", family.kind);
            }
            trained.push(family.kind);
        }
    }
    assert!(trained.contains(&"gbdt") && trained.contains(&"logistic_regression"));
}

#[test]
fn logistic_trains_as_logistic_regression() {
    let home = Home::new();
    let outcome = home
        .train(
            r#"
            [data]
            train = "iris.train.csv"
            validation = "iris.test.csv"
            target = "target"
            [model]
            kind = "logistic"
            "#,
        )
        .unwrap();
    assert!(
        outcome.metrics["val_accuracy"] >= 0.9,
        "{:?}",
        outcome.metrics
    );
}
