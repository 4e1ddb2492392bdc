//! Hyperparameters of the linfa models, as written in a job spec's `[model]` table.

use serde::{Deserialize, Serialize};

/// Whether a job predicts a class or a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    Classification,
    Regression,
}

/// Split criterion of a decision tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    Gini,
    Entropy,
}

/// Kernel of a support vector machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SvmKernel {
    Linear,
    Rbf,
}

/// Hyperparameters, deserialised from a TOML job spec: `[model] kind = "random_forest"`,
/// other keys flat beside `kind`. Every key has a default, so `kind` alone is a valid spec.
///
/// Penalties follow scikit-learn's conventions where linfa allows it, so values tuned there
/// carry over: `alpha` of ridge is the unscaled L2 penalty of sklearn's `Ridge`, `alpha` of
/// lasso / elastic-net is sklearn's (penalty per sample), and `gamma` of the RBF kernel is
/// sklearn's `gamma` in `exp(-gamma * |x - x'|^2)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LinfaSpec {
    /// Binary or multinomial logistic regression (L-BFGS), L2-penalised.
    LogisticRegression {
        #[serde(default = "default_max_iterations")]
        max_iterations: u64,
        /// L2 penalty `alpha/2 * |w|^2` on the summed log loss; 1.0 matches sklearn's `C = 1`.
        #[serde(default = "one")]
        alpha: f64,
        #[serde(default = "yes")]
        fit_intercept: bool,
    },
    /// CART decision tree; predicts hard labels only (probabilities are one-hot).
    DecisionTree {
        #[serde(default)]
        max_depth: Option<usize>,
        #[serde(default = "two")]
        min_samples_split: usize,
        #[serde(default = "one_usize")]
        min_samples_leaf: usize,
        #[serde(default = "default_criterion")]
        criterion: Criterion,
    },
    /// Bagged decision trees (linfa-ensemble); probabilities are the trees' vote shares.
    RandomForest {
        #[serde(default = "default_n_trees")]
        n_trees: usize,
        #[serde(default)]
        max_depth: Option<usize>,
        /// Fraction of the columns each tree sees. linfa draws them once per tree (with
        /// replacement), not per split as sklearn does, so a sqrt-sized share would starve
        /// each tree; half the columns keeps trees both diverse and informed.
        #[serde(default = "default_feature_subsample")]
        feature_subsample: f64,
        /// Rows drawn (with replacement) per tree, as a fraction of the training rows.
        #[serde(default = "one")]
        bootstrap_fraction: f64,
        #[serde(default)]
        seed: u64,
    },
    /// Gaussian naive Bayes.
    GaussianNb {
        /// Share of the largest feature variance added to every variance, for stability.
        #[serde(default = "default_var_smoothing")]
        var_smoothing: f64,
    },
    /// C-SVM (classification, Platt-scaled probabilities) or epsilon-SVR (regression).
    Svm {
        #[serde(default = "one")]
        c: f64,
        #[serde(default = "default_kernel")]
        kernel: SvmKernel,
        /// RBF width as in sklearn, `exp(-gamma * |x - x'|^2)`; default `1 / n_features`.
        #[serde(default)]
        gamma: Option<f64>,
        /// Width of the insensitive tube of epsilon-SVR, in target units (regression only).
        #[serde(default = "default_svr_eps")]
        eps: f64,
    },
    /// Ordinary least squares.
    LinearRegression {
        #[serde(default = "yes")]
        fit_intercept: bool,
    },
    /// L2-penalised least squares: minimises `|y - Xw|^2 + alpha * |w|^2` like sklearn's `Ridge`.
    Ridge {
        #[serde(default = "one")]
        alpha: f64,
    },
    /// L1-penalised least squares: `|y - Xw|^2 / (2n) + alpha * |w|_1` like sklearn's `Lasso`.
    Lasso {
        #[serde(default = "one")]
        alpha: f64,
    },
    /// Mixed L1/L2 penalty, parameterised like sklearn's `ElasticNet`.
    ElasticNet {
        #[serde(default = "one")]
        alpha: f64,
        #[serde(default = "half")]
        l1_ratio: f64,
    },
}

fn default_max_iterations() -> u64 {
    200
}
fn one() -> f64 {
    1.0
}
fn half() -> f64 {
    0.5
}
fn yes() -> bool {
    true
}
fn two() -> usize {
    2
}
fn one_usize() -> usize {
    1
}
fn default_criterion() -> Criterion {
    Criterion::Gini
}
fn default_n_trees() -> usize {
    100
}
fn default_feature_subsample() -> f64 {
    0.5
}
fn default_var_smoothing() -> f64 {
    1e-9
}
fn default_kernel() -> SvmKernel {
    SvmKernel::Rbf
}
fn default_svr_eps() -> f64 {
    0.1
}

fn opt(v: Option<usize>) -> String {
    v.map_or_else(|| "none".to_string(), |v| v.to_string())
}

impl LinfaSpec {
    /// The `kind` string of this spec, e.g. `"random_forest"`.
    pub fn name(&self) -> &'static str {
        match self {
            LinfaSpec::LogisticRegression { .. } => "logistic_regression",
            LinfaSpec::DecisionTree { .. } => "decision_tree",
            LinfaSpec::RandomForest { .. } => "random_forest",
            LinfaSpec::GaussianNb { .. } => "gaussian_nb",
            LinfaSpec::Svm { .. } => "svm",
            LinfaSpec::LinearRegression { .. } => "linear_regression",
            LinfaSpec::Ridge { .. } => "ridge",
            LinfaSpec::Lasso { .. } => "lasso",
            LinfaSpec::ElasticNet { .. } => "elastic_net",
        }
    }

    /// Whether this model can be trained for `task`.
    pub fn supports(&self, task: TaskKind) -> bool {
        match self {
            LinfaSpec::Svm { .. } => true,
            LinfaSpec::LogisticRegression { .. }
            | LinfaSpec::DecisionTree { .. }
            | LinfaSpec::RandomForest { .. }
            | LinfaSpec::GaussianNb { .. } => task == TaskKind::Classification,
            LinfaSpec::LinearRegression { .. }
            | LinfaSpec::Ridge { .. }
            | LinfaSpec::Lasso { .. }
            | LinfaSpec::ElasticNet { .. } => task == TaskKind::Regression,
        }
    }

    /// Every hyperparameter, defaults included, as `(name, value)` for run tracking.
    /// `kind` itself is not listed; see [`LinfaSpec::name`].
    pub fn params(&self) -> Vec<(String, String)> {
        let p: Vec<(&str, String)> = match self {
            LinfaSpec::LogisticRegression {
                max_iterations,
                alpha,
                fit_intercept,
            } => vec![
                ("max_iterations", max_iterations.to_string()),
                ("alpha", alpha.to_string()),
                ("fit_intercept", fit_intercept.to_string()),
            ],
            LinfaSpec::DecisionTree {
                max_depth,
                min_samples_split,
                min_samples_leaf,
                criterion,
            } => vec![
                ("max_depth", opt(*max_depth)),
                ("min_samples_split", min_samples_split.to_string()),
                ("min_samples_leaf", min_samples_leaf.to_string()),
                ("criterion", criterion_name(*criterion).to_string()),
            ],
            LinfaSpec::RandomForest {
                n_trees,
                max_depth,
                feature_subsample,
                bootstrap_fraction,
                seed,
            } => vec![
                ("n_trees", n_trees.to_string()),
                ("max_depth", opt(*max_depth)),
                ("feature_subsample", feature_subsample.to_string()),
                ("bootstrap_fraction", bootstrap_fraction.to_string()),
                ("seed", seed.to_string()),
            ],
            LinfaSpec::GaussianNb { var_smoothing } => {
                vec![("var_smoothing", var_smoothing.to_string())]
            }
            LinfaSpec::Svm {
                c,
                kernel,
                gamma,
                eps,
            } => vec![
                ("c", c.to_string()),
                (
                    "kernel",
                    match kernel {
                        SvmKernel::Linear => "linear",
                        SvmKernel::Rbf => "rbf",
                    }
                    .to_string(),
                ),
                (
                    "gamma",
                    gamma.map_or_else(|| "1/n_features".to_string(), |g| g.to_string()),
                ),
                ("eps", eps.to_string()),
            ],
            LinfaSpec::LinearRegression { fit_intercept } => {
                vec![("fit_intercept", fit_intercept.to_string())]
            }
            LinfaSpec::Ridge { alpha } | LinfaSpec::Lasso { alpha } => {
                vec![("alpha", alpha.to_string())]
            }
            LinfaSpec::ElasticNet { alpha, l1_ratio } => vec![
                ("alpha", alpha.to_string()),
                ("l1_ratio", l1_ratio.to_string()),
            ],
        };
        p.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }
}

fn criterion_name(c: Criterion) -> &'static str {
    match c {
        Criterion::Gini => "gini",
        Criterion::Entropy => "entropy",
    }
}
