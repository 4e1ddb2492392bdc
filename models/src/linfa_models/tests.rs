//! Tests on the bundled real data sets (breast cancer, wine, diabetes).

use std::collections::BTreeMap;

use ndarray::{Array2, Axis, s};

use super::*;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../datasets");

/// A data set split: standardised features and raw target strings.
struct Split {
    x: Array2<f64>,
    y: Vec<String>,
}

/// Reads `name.{train,test}.csv` (header line, comma separated, numeric features, column
/// `target`) and standardises both splits with the train mean/std.
fn load(name: &str) -> (Split, Split) {
    let read = |split: &str| -> Split {
        let path = format!("{DATA}/{name}.{split}.csv");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<&str> = lines.next().expect("header").split(',').collect();
        let t = header.iter().position(|h| *h == "target").expect("target");
        let (mut values, mut y, mut rows) = (Vec::new(), Vec::new(), 0);
        for line in lines {
            let cells: Vec<&str> = line.split(',').collect();
            for (i, c) in cells.iter().enumerate() {
                if i == t {
                    y.push(c.to_string());
                } else {
                    values.push(c.parse::<f64>().expect("numeric feature"));
                }
            }
            rows += 1;
        }
        let x = Array2::from_shape_vec((rows, header.len() - 1), values).expect("shape");
        Split { x, y }
    };
    let (mut train, mut test) = (read("train"), read("test"));
    let mean = train.x.mean_axis(Axis(0)).expect("rows");
    let std = train
        .x
        .std_axis(Axis(0), 0.0)
        .mapv(|s| if s > 0.0 { s } else { 1.0 });
    train.x = (&train.x - &mean) / &std;
    test.x = (&test.x - &mean) / &std;
    (train, test)
}

/// Class codes in sorted label order, shared by both splits.
fn codes(train: &Split, test: &Split) -> (Vec<usize>, Vec<usize>, usize) {
    let labels: BTreeMap<&str, usize> = {
        let mut names: Vec<&str> = train.y.iter().map(String::as_str).collect();
        names.sort();
        names.dedup();
        names.into_iter().enumerate().map(|(i, n)| (n, i)).collect()
    };
    let map = |s: &Split| s.y.iter().map(|l| labels[l.as_str()]).collect::<Vec<_>>();
    (map(train), map(test), labels.len())
}

fn values(s: &Split) -> Vec<f64> {
    s.y.iter()
        .map(|v| v.parse().expect("numeric target"))
        .collect()
}

fn spec(toml_like: &str) -> LinfaSpec {
    serde_json::from_str(toml_like).expect("spec")
}

fn proba(out: Output) -> Array2<f64> {
    match out {
        Output::Probabilities(p) => p,
        Output::Values(_) => panic!("expected probabilities"),
    }
}

fn assert_rows_sum_to_one(p: &Array2<f64>) {
    for (i, row) in p.rows().into_iter().enumerate() {
        assert!(
            (row.sum() - 1.0).abs() <= 1e-9,
            "row {i} sums to {}",
            row.sum()
        );
        assert!(
            row.iter().all(|v| (0.0..=1.0).contains(v)),
            "row {i}: {row}"
        );
    }
}

fn accuracy(p: &Array2<f64>, codes: &[usize]) -> f64 {
    let hits = p
        .rows()
        .into_iter()
        .zip(codes)
        .filter(|(row, c)| {
            let best =
                row.iter().enumerate().fold(
                    (0, f64::MIN),
                    |b, (i, v)| if *v > b.1 { (i, *v) } else { b },
                );
            best.0 == **c
        })
        .count();
    hits as f64 / codes.len() as f64
}

fn r2(pred: &[f64], y: &[f64]) -> f64 {
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let ss_res: f64 = pred.iter().zip(y).map(|(p, y)| (y - p).powi(2)).sum();
    let ss_tot: f64 = y.iter().map(|y| (y - mean).powi(2)).sum();
    1.0 - ss_res / ss_tot
}

/// Saves and reloads the model as JSON and checks the predictions are identical.
fn assert_round_trip(model: &LinfaModel, x: &Array2<f64>) {
    let json = serde_json::to_string(model).expect("serialize");
    let back: LinfaModel = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back.n_features(), model.n_features());
    let (a, b) = (model.predict(x.view()), back.predict(x.view()));
    assert_eq!(a.expect("predict"), b.expect("predict reloaded"));
}

/// Fits a classifier, checks probabilities and the serde round trip, returns test accuracy.
fn classify(spec: &LinfaSpec, data: &str) -> f64 {
    let (train, test) = load(data);
    let (ytr, yte, k) = codes(&train, &test);
    let target = Target::Classes {
        codes: &ytr,
        n_classes: k,
    };
    let model = LinfaModel::fit(spec, train.x.view(), target).expect("fit");
    let p = proba(model.predict(test.x.view()).expect("predict"));
    assert_eq!(p.dim(), (test.x.nrows(), k));
    assert_rows_sum_to_one(&p);
    assert_round_trip(&model, &test.x);
    let acc = accuracy(&p, &yte);
    eprintln!("{data} {}: accuracy {acc:.4}", spec.name());
    acc
}

/// Fits a regressor on diabetes, checks the serde round trip, returns test R².
fn regress(spec: &LinfaSpec) -> f64 {
    let (train, test) = load("diabetes");
    let model =
        LinfaModel::fit(spec, train.x.view(), Target::Values(&values(&train))).expect("fit");
    let Output::Values(pred) = model.predict(test.x.view()).expect("predict") else {
        panic!("expected values")
    };
    assert_round_trip(&model, &test.x);
    let score = r2(&pred, &values(&test));
    eprintln!(
        "diabetes {} {:?}: R2 {score:.4}",
        spec.name(),
        spec.params()
    );
    score
}

#[test]
fn logistic_regression_on_breast_cancer() {
    let acc = classify(&spec(r#"{"kind":"logistic_regression"}"#), "breast_cancer");
    assert!(acc >= 0.95, "accuracy {acc}");
}

#[test]
fn logistic_regression_without_intercept_keeps_settings() {
    // Guards the workaround for linfa's `with_intercept` resetting all parameters.
    let s = spec(r#"{"kind":"logistic_regression","fit_intercept":false,"alpha":0.5}"#);
    let (train, _) = load("breast_cancer");
    let (ytr, _, k) = codes(&train, &train);
    let target = Target::Classes {
        codes: &ytr,
        n_classes: k,
    };
    let model = LinfaModel::fit(&s, train.x.view(), target).expect("fit");
    let Fitted::LogisticBinary(m) = &model.model else {
        panic!("expected the binary model")
    };
    assert_eq!(m.intercept(), 0.0);
    assert!(classify(&s, "breast_cancer") >= 0.9);
}

#[test]
fn multinomial_logistic_regression_on_wine() {
    let acc = classify(&spec(r#"{"kind":"logistic_regression"}"#), "wine");
    assert!(acc >= 0.9, "accuracy {acc}");
}

#[test]
fn every_classifier_on_breast_cancer() {
    for s in [
        r#"{"kind":"decision_tree"}"#,
        r#"{"kind":"decision_tree","criterion":"entropy","max_depth":4}"#,
        r#"{"kind":"random_forest","n_trees":30}"#,
        r#"{"kind":"gaussian_nb"}"#,
        r#"{"kind":"svm"}"#,
        r#"{"kind":"svm","kernel":"linear"}"#,
    ] {
        let acc = classify(&spec(s), "breast_cancer");
        assert!(acc >= 0.85, "{s}: accuracy {acc}");
    }
}

#[test]
fn multiclass_classifiers_on_wine() {
    for s in [
        r#"{"kind":"decision_tree"}"#,
        r#"{"kind":"random_forest","n_trees":30}"#,
        r#"{"kind":"gaussian_nb"}"#,
        r#"{"kind":"svm"}"#,
        r#"{"kind":"svm","kernel":"linear"}"#,
    ] {
        let acc = classify(&spec(s), "wine");
        assert!(acc >= 0.85, "{s}: accuracy {acc}");
    }
}

#[test]
fn regressors_on_diabetes() {
    let linear = regress(&spec(r#"{"kind":"linear_regression"}"#));
    // Exact least squares scores 0.3594 on this split (checked against a hand-rolled
    // normal-equation solve, train R2 0.5554), so 0.40 is out of reach for any correct OLS.
    assert!(linear >= 0.35, "linear R2 {linear}");
    for s in [
        r#"{"kind":"linear_regression","fit_intercept":false}"#,
        r#"{"kind":"ridge"}"#,
        r#"{"kind":"lasso"}"#,
        r#"{"kind":"elastic_net","alpha":0.1}"#,
        r#"{"kind":"svm","kernel":"linear","c":100.0,"eps":1.0}"#,
        r#"{"kind":"svm","c":10.0,"gamma":0.03,"eps":10.0}"#,
    ] {
        let score = regress(&spec(s));
        // Without an intercept the model cannot reach the target mean (~150).
        if !s.contains("fit_intercept") {
            assert!(score >= 0.3, "{s}: R2 {score}");
        }
    }
}

#[test]
fn class_absent_from_training_gets_probability_zero() {
    let (train, test) = load("wine");
    let (ytr, _, _) = codes(&train, &test);
    for (s, drop) in [
        // Three classes declared, two present: the binary path of each model.
        (r#"{"kind":"logistic_regression"}"#, Some(2)),
        (r#"{"kind":"svm"}"#, Some(2)),
        (r#"{"kind":"gaussian_nb"}"#, Some(2)),
        (r#"{"kind":"decision_tree"}"#, Some(2)),
        (r#"{"kind":"random_forest","n_trees":5}"#, Some(2)),
        // Four classes declared, three present.
        (r#"{"kind":"logistic_regression"}"#, None),
        (r#"{"kind":"svm"}"#, None),
        (r#"{"kind":"gaussian_nb"}"#, None),
        (r#"{"kind":"random_forest","n_trees":5}"#, None),
    ] {
        let keep: Vec<usize> = (0..ytr.len()).filter(|&i| Some(ytr[i]) != drop).collect();
        let x = train.x.select(Axis(0), &keep);
        let y: Vec<usize> = keep.iter().map(|&i| ytr[i]).collect();
        let (n_classes, absent) = match drop {
            Some(d) => (3, d),
            None => (4, 3),
        };
        let target = Target::Classes {
            codes: &y,
            n_classes,
        };
        let model = LinfaModel::fit(&spec(s), x.view(), target).expect(s);
        let p = proba(model.predict(test.x.view()).expect("predict"));
        assert_eq!(p.ncols(), n_classes, "{s}");
        assert_rows_sum_to_one(&p);
        assert!(p.column(absent).iter().all(|v| *v == 0.0), "{s}");
        assert_round_trip(&model, &test.x);
    }
}

fn expect_input(r: Result<impl std::fmt::Debug>, needle: &str) {
    match r {
        Err(ModelError::Input(msg)) => assert!(msg.contains(needle), "message: {msg}"),
        other => panic!("expected an input error containing {needle:?}, got {other:?}"),
    }
}

#[test]
fn bad_input_is_reported() {
    let (train, _) = load("breast_cancer");
    let (ytr, _, k) = codes(&train, &train);
    let lr = spec(r#"{"kind":"logistic_regression"}"#);
    let classes = Target::Classes {
        codes: &ytr,
        n_classes: k,
    };
    let model = LinfaModel::fit(&lr, train.x.view(), classes).expect("fit");

    let narrow = train.x.slice(s![.., ..5]);
    expect_input(
        model.predict(narrow),
        "the model expects 30 features, got 5",
    );

    let mut nan = train.x.clone();
    nan[[3, 7]] = f64::NAN;
    expect_input(model.predict(nan.view()), "row 3, column 7");
    expect_input(LinfaModel::fit(&lr, nan.view(), classes), "NaN");
    nan[[3, 7]] = f64::INFINITY;
    expect_input(LinfaModel::fit(&lr, nan.view(), classes), "inf");

    let empty = Array2::<f64>::zeros((0, 30));
    let none = Target::Classes {
        codes: &[],
        n_classes: 2,
    };
    expect_input(LinfaModel::fit(&lr, empty.view(), none), "no rows");
    expect_input(model.predict(empty.view()), "no rows");

    let mut bad = ytr.clone();
    bad[10] = 2;
    let target = Target::Classes {
        codes: &bad,
        n_classes: 2,
    };
    expect_input(
        LinfaModel::fit(&lr, train.x.view(), target),
        "class code 2 at row 10",
    );

    let single = vec![1; ytr.len()];
    let target = Target::Classes {
        codes: &single,
        n_classes: 2,
    };
    expect_input(
        LinfaModel::fit(&lr, train.x.view(), target),
        "at least 2 classes",
    );

    let short = Target::Classes {
        codes: &ytr[1..],
        n_classes: 2,
    };
    expect_input(LinfaModel::fit(&lr, train.x.view(), short), "class labels");

    let y = vec![f64::NAN; train.x.nrows()];
    let ridge = spec(r#"{"kind":"ridge"}"#);
    expect_input(
        LinfaModel::fit(&ridge, train.x.view(), Target::Values(&y)),
        "target",
    );

    let rf = spec(r#"{"kind":"random_forest","feature_subsample":0.0}"#);
    expect_input(
        LinfaModel::fit(&rf, train.x.view(), classes),
        "feature_subsample",
    );
}

#[test]
fn wrong_task_is_unsupported() {
    let (train, _) = load("diabetes");
    let y = values(&train);
    for kind in [
        "logistic_regression",
        "decision_tree",
        "random_forest",
        "gaussian_nb",
    ] {
        let s = spec(&format!(r#"{{"kind":"{kind}"}}"#));
        assert!(!s.supports(TaskKind::Regression) && s.supports(TaskKind::Classification));
        match LinfaModel::fit(&s, train.x.view(), Target::Values(&y)) {
            Err(ModelError::Unsupported(msg)) => assert!(msg.contains("ridge"), "{msg}"),
            other => panic!("{kind}: expected Unsupported, got {other:?}"),
        }
    }
    let codes: Vec<usize> = (0..y.len()).map(|i| i % 2).collect();
    let target = Target::Classes {
        codes: &codes,
        n_classes: 2,
    };
    match LinfaModel::fit(&spec(r#"{"kind":"lasso"}"#), train.x.view(), target) {
        Err(ModelError::Unsupported(msg)) => assert!(msg.contains("random_forest"), "{msg}"),
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[test]
fn spec_defaults_and_params() {
    let s = spec(r#"{"kind":"random_forest","n_trees":10}"#);
    assert_eq!(
        s,
        LinfaSpec::RandomForest {
            n_trees: 10,
            max_depth: None,
            feature_subsample: 0.5,
            bootstrap_fraction: 1.0,
            seed: 0
        }
    );
    assert_eq!(s.name(), "random_forest");
    let keys: Vec<String> = s.params().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "n_trees",
            "max_depth",
            "feature_subsample",
            "bootstrap_fraction",
            "seed"
        ]
    );
    assert!(serde_json::from_str::<LinfaSpec>(r#"{"kind":"ridge","alpah":1.0}"#).is_err());
    assert!(serde_json::from_str::<LinfaSpec>(r#"{"kind":"knn"}"#).is_err());
    let svm = spec(r#"{"kind":"svm"}"#);
    assert!(svm.supports(TaskKind::Regression) && svm.supports(TaskKind::Classification));
    assert_eq!(
        svm.params(),
        [
            ("c".to_string(), "1".to_string()),
            ("kernel".to_string(), "rbf".to_string()),
            ("gamma".to_string(), "1/n_features".to_string()),
            ("eps".to_string(), "0.1".to_string()),
        ]
    );
}
