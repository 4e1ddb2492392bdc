//! Fitting and prediction for each linfa model kind.

use std::panic::{AssertUnwindSafe, catch_unwind};

use linfa::dataset::Pr;
use linfa::traits::{Fit, Predict};
use linfa::{DatasetBase, ParamGuard};
use linfa_bayes::{GaussianNb, NaiveBayes};
use linfa_elasticnet::ElasticNet;
use linfa_ensemble::EnsembleLearnerParams;
use linfa_linear::{FittedLinearRegression, LinearRegression};
use linfa_logistic::{
    FittedLogisticRegression, LogisticRegression, MultiFittedLogisticRegression,
    MultiLogisticRegression,
};
use linfa_svm::{Svm, SvmParams};
use linfa_trees::{DecisionTree, DecisionTreeParams, SplitQuality};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Criterion, LinfaSpec, Output, SvmKernel};
use crate::error::{ModelError, Result};

/// SMO stopping tolerance. linfa defaults to 1e-7, which makes training crawl for little gain;
/// 1e-3 is libsvm's (and so sklearn's) default.
const SVM_TOLERANCE: f64 = 1e-3;

/// The fitted linfa model. Class labels inside linfa models are our class codes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Fitted {
    LogisticBinary(FittedLogisticRegression<f64, usize>),
    LogisticMulti(MultiFittedLogisticRegression<f64, usize>),
    /// Yields hard labels only: probabilities are one-hot.
    DecisionTree(DecisionTree<f64, usize>),
    /// linfa-ensemble's `EnsembleLearner` has no serde support, so its parts are kept here:
    /// tree `i` sees columns `features[i]` of the input.
    RandomForest {
        trees: Vec<DecisionTree<f64, usize>>,
        features: Vec<Vec<usize>>,
    },
    GaussianNb(GaussianNb<f64, usize>),
    /// Binary SVM; Platt-scaled probability of class `pos`, the other present class is `neg`.
    SvmBinary {
        model: Svm<f64, Pr>,
        pos: usize,
        neg: usize,
    },
    /// One-vs-rest SVMs, one per class present in training, Platt scores normalised per row.
    SvmOneVsRest {
        models: Vec<(usize, Svm<f64, Pr>)>,
    },
    LinearRegression(FittedLinearRegression<f64>),
    /// Ridge, lasso and elastic-net. linfa centres only the target, not the features, so the
    /// intercept is wrong for uncentred columns (e.g. one-hot); we centre the features
    /// ourselves and keep the training means to subtract at prediction.
    ElasticNet {
        model: ElasticNet<f64>,
        x_mean: Array1<f64>,
    },
    Svr(Svm<f64, f64>),
}

/// linfa panics instead of returning errors in a few places (e.g. a tree that fails inside
/// the random forest is unwrapped); turn such a panic into a fitting error so a bad job spec
/// cannot take the trainer down.
fn no_panic<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(ModelError::Fit(format!("{what}: {msg}")))
    })
}

fn fit_err(what: &str) -> impl Fn(&dyn std::fmt::Display) -> ModelError + '_ {
    move |e| ModelError::Fit(format!("{what}: {e}"))
}

fn bad_param(model: &str, msg: String) -> ModelError {
    ModelError::Input(format!("{model}: {msg}"))
}

/// Checks hyperparameter ranges up front, so the user gets the spec's names in the message
/// rather than linfa's.
fn check_spec(spec: &LinfaSpec) -> Result<()> {
    let name = spec.name();
    let non_negative = |key: &str, v: f64| -> Result<()> {
        if v.is_finite() && v >= 0.0 {
            Ok(())
        } else {
            Err(bad_param(name, format!("{key} must be >= 0, got {v}")))
        }
    };
    let fraction = |key: &str, v: f64| -> Result<()> {
        if v > 0.0 && v <= 1.0 {
            Ok(())
        } else {
            Err(bad_param(name, format!("{key} must be in (0, 1], got {v}")))
        }
    };
    match spec {
        LinfaSpec::LogisticRegression { alpha, .. } => non_negative("alpha", *alpha),
        LinfaSpec::DecisionTree { .. } => Ok(()),
        LinfaSpec::RandomForest {
            n_trees,
            feature_subsample,
            bootstrap_fraction,
            ..
        } => {
            if *n_trees == 0 {
                return Err(bad_param(name, "n_trees must be at least 1".into()));
            }
            fraction("feature_subsample", *feature_subsample)?;
            fraction("bootstrap_fraction", *bootstrap_fraction)
        }
        LinfaSpec::GaussianNb { var_smoothing } => non_negative("var_smoothing", *var_smoothing),
        LinfaSpec::Svm { c, gamma, eps, .. } => {
            if !(c.is_finite() && *c > 0.0) {
                return Err(bad_param(name, format!("c must be > 0, got {c}")));
            }
            if let Some(g) = gamma.filter(|g| !(g.is_finite() && *g > 0.0)) {
                return Err(bad_param(name, format!("gamma must be > 0, got {g}")));
            }
            non_negative("eps", *eps)
        }
        LinfaSpec::LinearRegression { .. } => Ok(()),
        LinfaSpec::Ridge { alpha } | LinfaSpec::Lasso { alpha } => non_negative("alpha", *alpha),
        LinfaSpec::ElasticNet { alpha, l1_ratio } => {
            non_negative("alpha", *alpha)?;
            if (0.0..=1.0).contains(l1_ratio) {
                Ok(())
            } else {
                Err(bad_param(
                    name,
                    format!("l1_ratio must be in [0, 1], got {l1_ratio}"),
                ))
            }
        }
    }
}

/// Fits a classifier. Inputs are validated; `codes` hold at least two distinct classes.
pub(super) fn fit_classifier(
    spec: &LinfaSpec,
    x: ArrayView2<f64>,
    codes: &[usize],
    n_classes: usize,
) -> Result<Fitted> {
    check_spec(spec)?;
    let present: Vec<usize> = (0..n_classes).filter(|c| codes.contains(c)).collect();
    let ds = DatasetBase::new(x.to_owned(), Array1::from(codes.to_vec()));
    no_panic(spec.name(), || match *spec {
        LinfaSpec::LogisticRegression {
            max_iterations,
            alpha,
            fit_intercept,
        } => {
            let what = "logistic regression";
            // Decide on the classes actually present: the binary model is exact for two, and
            // an absent class simply gets probability 0.
            if present.len() == 2 {
                let params = logistic_params::<LogisticRegression<f64>>(
                    max_iterations,
                    alpha,
                    fit_intercept,
                )?;
                Ok(Fitted::LogisticBinary(
                    params.fit(&ds).map_err(|e| fit_err(what)(&e))?,
                ))
            } else {
                let params = logistic_params::<MultiLogisticRegression<f64>>(
                    max_iterations,
                    alpha,
                    fit_intercept,
                )?;
                Ok(Fitted::LogisticMulti(
                    params.fit(&ds).map_err(|e| fit_err(what)(&e))?,
                ))
            }
        }
        LinfaSpec::DecisionTree {
            max_depth,
            min_samples_split,
            min_samples_leaf,
            criterion,
        } => {
            let params = tree_params(max_depth, min_samples_split, min_samples_leaf, criterion);
            let tree = params.fit(&ds).map_err(|e| fit_err("decision tree")(&e))?;
            Ok(Fitted::DecisionTree(tree))
        }
        LinfaSpec::RandomForest {
            n_trees,
            max_depth,
            feature_subsample,
            bootstrap_fraction,
            seed,
        } => {
            let what = "random forest";
            let trees = tree_params(max_depth, 2, 1, Criterion::Gini);
            // The ensemble unwraps each tree's fit, so reject bad tree settings first.
            trees.check_ref().map_err(|e| fit_err(what)(&e))?;
            let forest = EnsembleLearnerParams::new_fixed_rng(trees, forest_rng(seed))
                .ensemble_size(n_trees)
                .bootstrap_proportion(bootstrap_fraction)
                .feature_proportion(feature_subsample)
                .fit(&ds)
                .map_err(|e| fit_err(what)(&e))?;
            Ok(Fitted::RandomForest {
                trees: forest.models,
                features: forest.model_features,
            })
        }
        LinfaSpec::GaussianNb { var_smoothing } => {
            let model = GaussianNb::params()
                .var_smoothing(var_smoothing)
                .fit(&ds)
                .map_err(|e| fit_err("gaussian naive Bayes")(&e))?;
            Ok(Fitted::GaussianNb(model))
        }
        LinfaSpec::Svm {
            c, kernel, gamma, ..
        } => {
            let what = "svm";
            let params = svm_params::<Pr>(kernel, gamma, x.ncols()).pos_neg_weights(c, c);
            let fit_one = |class: usize| -> Result<Svm<f64, Pr>> {
                let y: Array1<bool> = codes.iter().map(|&c| c == class).collect();
                let ds = DatasetBase::new(ds.records().clone(), y);
                params.fit(&ds).map_err(|e| fit_err(what)(&e))
            };
            if let [neg, pos] = present[..] {
                Ok(Fitted::SvmBinary {
                    model: fit_one(pos)?,
                    pos,
                    neg,
                })
            } else {
                let models = present
                    .iter()
                    .map(|&k| Ok((k, fit_one(k)?)))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Fitted::SvmOneVsRest { models })
            }
        }
        LinfaSpec::LinearRegression { .. }
        | LinfaSpec::Ridge { .. }
        | LinfaSpec::Lasso { .. }
        | LinfaSpec::ElasticNet { .. } => Err(ModelError::Unsupported(format!(
            "{} cannot classify",
            spec.name()
        ))),
    })
}

/// Fits a regressor. Inputs are validated.
pub(super) fn fit_regressor(spec: &LinfaSpec, x: ArrayView2<f64>, y: &[f64]) -> Result<Fitted> {
    check_spec(spec)?;
    let y = Array1::from(y.to_vec());
    no_panic(spec.name(), || match *spec {
        LinfaSpec::LinearRegression { fit_intercept } => {
            let ds = DatasetBase::new(x.to_owned(), y);
            let model = LinearRegression::new()
                .with_intercept(fit_intercept)
                .fit(&ds)
                .map_err(|e| fit_err("linear regression")(&e))?;
            Ok(Fitted::LinearRegression(model))
        }
        LinfaSpec::Ridge { alpha } => {
            // linfa's penalty multiplies the per-sample loss; sklearn's Ridge alpha does not.
            let penalty = alpha / x.nrows() as f64;
            fit_elastic_net(x, y, penalty, 0.0)
        }
        LinfaSpec::Lasso { alpha } => fit_elastic_net(x, y, alpha, 1.0),
        LinfaSpec::ElasticNet { alpha, l1_ratio } => fit_elastic_net(x, y, alpha, l1_ratio),
        LinfaSpec::Svm {
            c,
            kernel,
            gamma,
            eps,
        } => {
            let ds = DatasetBase::new(x.to_owned(), y);
            let model = svm_params::<f64>(kernel, gamma, x.ncols())
                .c_svr(c, Some(eps))
                .fit(&ds)
                .map_err(|e| fit_err("svm regression")(&e))?;
            Ok(Fitted::Svr(model))
        }
        LinfaSpec::LogisticRegression { .. }
        | LinfaSpec::DecisionTree { .. }
        | LinfaSpec::RandomForest { .. }
        | LinfaSpec::GaussianNb { .. } => Err(ModelError::Unsupported(format!(
            "{} cannot do regression",
            spec.name()
        ))),
    })
}

/// Logistic regression hyperparameters (`P` is linfa's binary or multinomial params type).
///
/// linfa 0.8.1's `with_intercept` builder is broken: it returns
/// `LogisticRegressionParams::new()`, silently resetting every setting (the intercept flag
/// included) to the defaults. The params are plain serde data, so they are built from their
/// serialised form instead, which sets all fields at once.
fn logistic_params<P: DeserializeOwned>(
    max_iterations: u64,
    alpha: f64,
    fit_intercept: bool,
) -> Result<P> {
    let raw = serde_json::json!({
        "alpha": alpha,
        "fit_intercept": fit_intercept,
        "max_iterations": max_iterations,
        // linfa's default gradient tolerance.
        "gradient_tolerance": 1e-4,
        "initial_params": null,
    });
    serde_json::from_value(raw)
        .map_err(|e| ModelError::Fit(format!("logistic regression parameters: {e}")))
}

fn tree_params(
    max_depth: Option<usize>,
    min_samples_split: usize,
    min_samples_leaf: usize,
    criterion: Criterion,
) -> DecisionTreeParams<f64, usize> {
    // With unit sample weights linfa's minimum weights are sample counts.
    DecisionTree::params()
        .max_depth(max_depth)
        .min_weight_split(min_samples_split as f32)
        .min_weight_leaf(min_samples_leaf as f32)
        .split_quality(match criterion {
            Criterion::Gini => SplitQuality::Gini,
            Criterion::Entropy => SplitQuality::Entropy,
        })
}

fn svm_params<T>(kernel: SvmKernel, gamma: Option<f64>, n_features: usize) -> SvmParams<f64, T> {
    let params = Svm::<f64, T>::params().eps(SVM_TOLERANCE);
    match kernel {
        SvmKernel::Linear => params.linear_kernel(),
        // linfa's Gaussian kernel is exp(-|x - x'|^2 / eps), so eps = 1 / gamma.
        SvmKernel::Rbf => params.gaussian_kernel(1.0 / gamma.unwrap_or(1.0 / n_features as f64)),
    }
}

fn fit_elastic_net(
    x: ArrayView2<f64>,
    y: Array1<f64>,
    penalty: f64,
    l1_ratio: f64,
) -> Result<Fitted> {
    let x_mean = x
        .mean_axis(Axis(0))
        .ok_or_else(|| ModelError::Input("the feature matrix has no rows".into()))?;
    let ds = DatasetBase::new(&x - &x_mean, y);
    let model = ElasticNet::<f64>::params()
        .penalty(penalty)
        .l1_ratio(l1_ratio)
        .fit(&ds)
        .map_err(|e| fit_err("elastic net")(&e))?;
    Ok(Fitted::ElasticNet { model, x_mean })
}

impl Fitted {
    /// Predicts for validated `x`; `n_classes` is the probability width for classifiers.
    pub(super) fn predict(&self, x: ArrayView2<f64>, n_classes: usize) -> Result<Output> {
        let n = x.nrows();
        let mut proba = Array2::<f64>::zeros((n, n_classes));
        match self {
            Fitted::LogisticBinary(m) => {
                let p_pos = m.predict_probabilities(&x);
                let (pos, neg) = (m.labels().pos.class, m.labels().neg.class);
                for (i, p) in p_pos.iter().enumerate() {
                    proba[[i, pos]] = *p;
                    proba[[i, neg]] = 1.0 - *p;
                }
            }
            Fitted::LogisticMulti(m) => {
                let p = m.predict_probabilities(&x);
                for (j, &class) in m.classes().iter().enumerate() {
                    proba.column_mut(class).assign(&p.column(j));
                }
            }
            Fitted::DecisionTree(tree) => {
                let labels: Array1<usize> = tree.predict(&x);
                for (i, &c) in labels.iter().enumerate() {
                    proba[[i, c]] = 1.0;
                }
            }
            Fitted::RandomForest { trees, features } => {
                for (tree, cols) in trees.iter().zip(features) {
                    let labels: Array1<usize> = tree.predict(&x.select(Axis(1), cols));
                    for (i, &c) in labels.iter().enumerate() {
                        proba[[i, c]] += 1.0;
                    }
                }
                proba /= trees.len() as f64;
            }
            Fitted::GaussianNb(m) => {
                // linfa's predict_proba exponentiates before summing, which underflows to
                // 0/0 = NaN far from every class; normalise the joint log likelihood with
                // log-sum-exp instead.
                let jll = m.joint_log_likelihood(x);
                let mut logp = Array2::from_elem((n, n_classes), f64::NEG_INFINITY);
                for (&class, ll) in &jll {
                    logp.column_mut(*class).assign(ll);
                }
                for (mut out, row) in proba.rows_mut().into_iter().zip(logp.rows()) {
                    let max = row.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
                    let sum: f64 = row.iter().map(|v| (v - max).exp()).sum();
                    out.assign(&row.mapv(|v| (v - max).exp() / sum));
                }
            }
            Fitted::SvmBinary { model, pos, neg } => {
                let p: Array1<Pr> = model.predict(&x);
                for (i, p) in p.iter().enumerate() {
                    let p = f64::from(**p);
                    proba[[i, *pos]] = p;
                    proba[[i, *neg]] = 1.0 - p;
                }
            }
            Fitted::SvmOneVsRest { models } => {
                for (class, model) in models {
                    let p: Array1<Pr> = model.predict(&x);
                    proba.column_mut(*class).assign(&p.mapv(|p| f64::from(*p)));
                }
                for mut row in proba.rows_mut() {
                    let sum = row.sum();
                    if sum > 0.0 && sum.is_finite() {
                        row /= sum;
                    } else {
                        // Every one-vs-rest score underflowed: no class is preferred.
                        let share = 1.0 / models.len() as f64;
                        for (class, _) in models {
                            row[*class] = share;
                        }
                    }
                }
            }
            Fitted::LinearRegression(m) => {
                let y: Array1<f64> = m.predict(&x);
                return Ok(Output::Values(y.to_vec()));
            }
            Fitted::ElasticNet { model, x_mean } => {
                let y: Array1<f64> = model.predict(&(&x - x_mean));
                return Ok(Output::Values(y.to_vec()));
            }
            Fitted::Svr(m) => {
                let y: Array1<f64> = m.predict(&x);
                return Ok(Output::Values(y.to_vec()));
            }
        }
        Ok(Output::Probabilities(proba))
    }
}

/// The forest's generator: ChaCha8 keyed as every seeded draw in Smelt is
/// (`smelt_data::rng`), in the rand 0.8 flavour linfa-ensemble takes.
fn forest_rng(seed: u64) -> rand_chacha_08::ChaCha8Rng {
    rand::SeedableRng::from_seed(smelt_data::rng::seed_key(seed))
}
