//! The learners the autopilot searches over: each with its search space, a
//! cheap first configuration (FLAML's cost-frugal start), the resource levels
//! successive halving climbs (trees, boosting rounds, epochs or data share),
//! and how a configuration becomes a fitted model.
//!
//! Everything is fitted through the same model types `smelt train` uses
//! (`LinfaModel`, `GbdtModel`, Burn's `Net`), so a trial's model is exactly
//! what a model folder will hold; each learner names the trainer's families
//! it ships ([`Learner::families`]), so whatever the autopilot saves,
//! `smelt train --model KIND` trains too.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use smelt_models::flavor::{ModelFiles, Weights};
use smelt_models::gbdt::{GbdtModel, GbdtRuntime, GbdtSpec};
use smelt_models::linfa_models::{
    Criterion, LinfaModel, LinfaSpec, Output as LinfaOutput, SvmKernel, Target,
};
use smelt_models::nets::{Activation, Architecture, MlpSpec, Net, NetSpec};
use smelt_models::preprocessing::{Features, Impute, PreprocessOptions};
use smelt_models::runtime::{BurnRuntime, LinfaRuntime, RawOutput, Runtime, TargetScale};
use smelt_models::{EncodedTarget, RuntimeSpec, Task};
use smelt_trainer::families;
use smelt_trainer::net_training::{Checkpoint, LoopObserver, NetTraining, predict_raw, train_net};
use smelt_trainer::spec::{ModelSpec, Optimizer, TaskKind, TrainingSpec};
use smelt_trainer::{TrainError, TrainResult};

use crate::problem::{Outputs, ProblemType};
use crate::space::{Config, Param, Value, get_choice, get_f64, get_usize};

/// A family of models the search can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Learner {
    GaussianNb,
    LogisticRegression,
    Linear,
    DecisionTree,
    RandomForest,
    Gbdt,
    Svm,
    Mlp,
}

/// SVMs are quadratic in rows (linfa-svm #308): above this they are left out.
pub const SVM_MAX_ROWS: usize = 10_000;

impl Learner {
    pub const ALL: [Learner; 8] = [
        Learner::GaussianNb,
        Learner::LogisticRegression,
        Learner::Linear,
        Learner::DecisionTree,
        Learner::RandomForest,
        Learner::Gbdt,
        Learner::Svm,
        Learner::Mlp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Learner::GaussianNb => "gaussian_nb",
            Learner::LogisticRegression => "logistic_regression",
            Learner::Linear => "linear",
            Learner::DecisionTree => "decision_tree",
            Learner::RandomForest => "random_forest",
            Learner::Gbdt => "gbdt",
            Learner::Svm => "svm",
            Learner::Mlp => "mlp",
        }
    }

    pub fn from_name(name: &str) -> Option<Learner> {
        Learner::ALL.into_iter().find(|l| l.name() == name)
    }

    /// The trainer's model families this learner can ship (the kinds of
    /// [`smelt_trainer::families`]): what a chosen model's folder records as
    /// its `model_type`, and what `smelt train --model KIND` trains again.
    pub fn families(self) -> &'static [&'static str] {
        match self {
            Learner::GaussianNb => &["gaussian_nb"],
            Learner::LogisticRegression => &["logistic_regression"],
            Learner::Linear => &["ridge", "lasso", "elastic_net"],
            Learner::DecisionTree => &["decision_tree"],
            Learner::RandomForest => &["random_forest"],
            Learner::Gbdt => &["gbdt"],
            Learner::Svm => &["svm"],
            Learner::Mlp => &["mlp"],
        }
    }

    /// Whether this learner can model the problem, and why not. The tasks
    /// come from the registry: a learner applies when one of its families
    /// can do the problem's task.
    pub fn applies(self, problem: ProblemType, rows: usize) -> Result<(), String> {
        let task = if problem.is_classification() {
            TaskKind::Classification
        } else {
            TaskKind::Regression
        };
        let fits = self
            .families()
            .iter()
            .filter_map(|kind| families::find(kind))
            .any(|family| family.tasks.supports(task));
        if !fits {
            return Err(match task {
                TaskKind::Classification => "regression only".into(),
                TaskKind::Regression => "classification only".into(),
            });
        }
        if self == Learner::Svm && rows > SVM_MAX_ROWS {
            return Err(format!(
                "left out above {SVM_MAX_ROWS} rows (its cost grows with rows squared)"
            ));
        }
        Ok(())
    }

    /// Rough cost relative to naive Bayes, to try cheap learners first.
    pub fn relative_cost(self) -> f64 {
        match self {
            Learner::GaussianNb => 1.0,
            Learner::Linear => 1.5,
            Learner::DecisionTree => 2.0,
            Learner::LogisticRegression => 3.0,
            Learner::RandomForest => 8.0,
            Learner::Gbdt => 10.0,
            Learner::Mlp => 12.0,
            Learner::Svm => 15.0,
        }
    }

    /// Whether inputs should be standardised for this learner by default.
    fn scale_sensitive(self) -> bool {
        matches!(
            self,
            Learner::LogisticRegression | Learner::Linear | Learner::Svm | Learner::Mlp
        )
    }

    /// The hyperparameters searched, preprocessing variants included.
    pub fn space(self, problem: ProblemType, has_missing: bool) -> Vec<Param> {
        let mut space = match self {
            Learner::GaussianNb => vec![Param::float("var_smoothing", 1e-11, 1e-1, true)],
            Learner::LogisticRegression => vec![Param::float("alpha", 1e-4, 1e2, true)],
            Learner::Linear => vec![
                Param::choice("penalty", &["ridge", "lasso", "elastic_net"]),
                Param::float("alpha", 1e-4, 1e2, true),
                Param::float("l1_ratio", 0.05, 0.95, false),
            ],
            Learner::DecisionTree => vec![
                Param::int("max_depth", 2, 32, true),
                Param::int("min_samples_leaf", 1, 32, true),
                Param::choice("criterion", &["gini", "entropy"]),
            ],
            Learner::RandomForest => vec![
                Param::int("max_depth", 4, 48, true),
                Param::float("feature_subsample", 0.2, 1.0, false),
                Param::choice("criterion", &["gini", "entropy"]),
            ],
            Learner::Gbdt => vec![
                Param::float("budget", 0.3, 2.0, false),
                Param::int("max_bin", 32, 255, true),
            ],
            Learner::Svm => {
                let mut space = vec![
                    Param::float("c", 1e-2, 1e3, true),
                    Param::float("gamma_scale", 1e-2, 1e1, true),
                ];
                if problem == ProblemType::Regression {
                    space.push(Param::float("eps", 1e-3, 1.0, true));
                }
                space
            }
            Learner::Mlp => vec![
                Param::int("width", 16, 256, true),
                Param::int("layers", 1, 3, false),
                Param::float("dropout", 0.0, 0.4, false),
                Param::float("learning_rate", 1e-4, 3e-2, true),
                Param::float("weight_decay", 1e-6, 1e-2, true),
                Param::choice("batch_size", &["32", "64", "128"]),
            ],
        };
        if self.scale_sensitive() {
            space.push(Param::choice("scale", &["standard", "none"]));
        }
        if has_missing {
            space.push(Param::choice("impute", &["median", "mean"]));
        }
        space
    }

    /// The first configuration tried: cheap and usually decent.
    pub fn initial(self, problem: ProblemType, has_missing: bool) -> Config {
        let f = Value::Float;
        let i = Value::Int;
        let c = |s: &str| Value::Choice(s.to_string());
        let mut values: Vec<(&str, Value)> = match self {
            Learner::GaussianNb => vec![("var_smoothing", f(1e-9))],
            Learner::LogisticRegression => vec![("alpha", f(1.0))],
            Learner::Linear => vec![
                ("penalty", c("ridge")),
                ("alpha", f(1.0)),
                ("l1_ratio", f(0.5)),
            ],
            Learner::DecisionTree => vec![
                ("max_depth", i(8)),
                ("min_samples_leaf", i(2)),
                ("criterion", c("gini")),
            ],
            Learner::RandomForest => vec![
                ("max_depth", i(24)),
                ("feature_subsample", f(0.5)),
                ("criterion", c("gini")),
            ],
            Learner::Gbdt => vec![("budget", f(0.5)), ("max_bin", i(255))],
            Learner::Svm => vec![("c", f(1.0)), ("gamma_scale", f(1.0))],
            Learner::Mlp => vec![
                ("width", i(64)),
                ("layers", i(2)),
                ("dropout", f(0.1)),
                ("learning_rate", f(3e-3)),
                ("weight_decay", f(1e-4)),
                ("batch_size", c("64")),
            ],
        };
        if self == Learner::Svm && problem == ProblemType::Regression {
            values.push(("eps", f(0.1)));
        }
        let config = values
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        self.with_variants(config, has_missing)
    }

    fn with_variants(self, mut config: Config, has_missing: bool) -> Config {
        if self.scale_sensitive() {
            config.insert("scale".into(), Value::Choice("standard".into()));
        }
        if has_missing {
            config.insert("impute".into(), Value::Choice("median".into()));
        }
        config
    }

    /// The resource levels successive halving climbs; the last is the full
    /// fit. Learners that cost milliseconds have one level: stopping them early
    /// saves nothing.
    pub fn rungs(self) -> &'static [Resource] {
        match self {
            Learner::GaussianNb
            | Learner::LogisticRegression
            | Learner::Linear
            | Learner::DecisionTree => &[Resource::Full],
            Learner::RandomForest => &[
                Resource::Trees(8),
                Resource::Trees(32),
                Resource::Trees(128),
            ],
            Learner::Gbdt => &[Resource::Rounds(16), Resource::Rounds(64), Resource::Full],
            Learner::Svm => &[Resource::DataShare(0.25), Resource::Full],
            Learner::Mlp => &[
                Resource::Epochs(6),
                Resource::Epochs(24),
                Resource::Epochs(96),
            ],
        }
    }
}

/// How much of its budget resource a fit gets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Full,
    Trees(usize),
    Rounds(usize),
    Epochs(usize),
    /// A share of the training rows (a seeded subsample).
    DataShare(f64),
}

impl Resource {
    pub fn describe(self) -> String {
        match self {
            Resource::Full => "full".into(),
            Resource::Trees(n) => format!("{n} trees"),
            Resource::Rounds(n) => format!("{n} rounds"),
            Resource::Epochs(n) => format!("{n} epochs"),
            Resource::DataShare(s) => format!("{:.0} % of rows", s * 100.0),
        }
    }
}

/// The preprocessing a configuration asks for.
pub fn preprocess_options(config: &Config) -> PreprocessOptions {
    PreprocessOptions {
        impute: match get_choice(config, "impute", "median") {
            "mean" => Impute::Mean,
            _ => Impute::Median,
        },
        standardise: get_choice(config, "scale", "standard") == "standard",
    }
}

/// A fitted candidate, ready to predict and to be saved.
#[derive(Clone)]
pub enum Fitted {
    Linfa(LinfaModel, LinfaSpec),
    Gbdt(GbdtModel, GbdtSpec),
    Net {
        net: Net,
        architecture: Architecture,
        target_scale: Option<TargetScale>,
    },
}

impl Fitted {
    pub fn predict(&self, x: &Features, task: &Task) -> TrainResult<Outputs> {
        Ok(match self {
            Fitted::Linfa(model, _) => {
                let view = ndarray::ArrayView2::from_shape((x.rows, x.cols), &x.values)
                    .map_err(|e| TrainError::Training(e.to_string()))?;
                match model.predict(view)? {
                    LinfaOutput::Probabilities(p) => Outputs::Probabilities {
                        k: p.ncols(),
                        values: p.iter().copied().collect(),
                    },
                    LinfaOutput::Values(v) => Outputs::Values(v),
                }
            }
            Fitted::Gbdt(model, _) => match model.predict(x)? {
                RawOutput::Probabilities { classes, values } => {
                    Outputs::Probabilities { k: classes, values }
                }
                RawOutput::Values(v) => Outputs::Values(v),
            },
            Fitted::Net {
                net, target_scale, ..
            } => {
                let device = burn::tensor::Device::flex();
                let values = predict_raw(net, x, task, *target_scale, &device);
                if task.is_classification() {
                    Outputs::Probabilities {
                        k: task.classes().len(),
                        values,
                    }
                } else {
                    Outputs::Values(values)
                }
            }
        })
    }

    /// This model as a training job's `[model]` spec: its family and
    /// hyperparameters, which `smelt train` fits the same way.
    pub fn model_spec(&self) -> ModelSpec {
        match self {
            Fitted::Linfa(_, spec) => ModelSpec::Linfa(spec.clone()),
            Fitted::Gbdt(_, spec) => ModelSpec::Gbdt(spec.clone()),
            Fitted::Net { architecture, .. } => ModelSpec::Net(architecture.spec.clone()),
        }
    }

    /// The family's kind (`ridge`, `gbdt`, `mlp`, …), the `model_type` saved.
    pub fn kind(&self) -> &'static str {
        self.model_spec().name()
    }

    /// How `model.json` describes this model's runtime.
    pub fn runtime_spec(&self) -> RuntimeSpec {
        match self {
            Fitted::Linfa(_, spec) => RuntimeSpec::Linfa { spec: spec.clone() },
            Fitted::Gbdt(_, spec) => RuntimeSpec::Gbdt { spec: spec.clone() },
            Fitted::Net {
                architecture,
                target_scale,
                ..
            } => RuntimeSpec::Burn {
                architecture: architecture.clone(),
                target_scale: *target_scale,
            },
        }
    }

    /// What the model folder stores.
    pub fn weights(&self) -> Weights<'_> {
        Weights::Model(match self {
            Fitted::Linfa(model, _) => model as &dyn ModelFiles,
            Fitted::Gbdt(model, _) => model,
            Fitted::Net { net, .. } => net,
        })
    }

    /// A runtime over a copy of this model (the original stays for saving).
    pub fn clone_runtime(&self, task: &Task) -> (Box<dyn Runtime>, RuntimeSpec) {
        self.clone().into_runtime(task)
    }

    /// The runtime serving will use and its description for `model.json`.
    pub fn into_runtime(self, task: &Task) -> (Box<dyn Runtime>, RuntimeSpec) {
        match self {
            Fitted::Linfa(model, spec) => (
                Box::new(LinfaRuntime { model }),
                RuntimeSpec::Linfa { spec },
            ),
            Fitted::Gbdt(model, spec) => {
                (Box::new(GbdtRuntime { model }), RuntimeSpec::Gbdt { spec })
            }
            Fitted::Net {
                net,
                architecture,
                target_scale,
            } => {
                let cpu = burn::tensor::Device::flex();
                (
                    Box::new(BurnRuntime::new(net, cpu, task, target_scale)),
                    RuntimeSpec::Burn {
                        architecture,
                        target_scale,
                    },
                )
            }
        }
    }
}

/// Everything one fit needs.
pub struct FitRequest<'a> {
    pub learner: Learner,
    pub config: &'a Config,
    pub resource: Resource,
    pub task: &'a Task,
    pub x: &'a Features,
    pub y: &'a EncodedTarget,
    pub seed: u64,
    /// A fit that can stop itself (boosting, epochs) gives up at this instant.
    pub deadline: Instant,
}

/// Fits one configuration.
pub fn fit(request: &FitRequest<'_>) -> TrainResult<Fitted> {
    let FitRequest {
        learner,
        config,
        resource,
        task,
        x,
        y,
        seed,
        deadline,
    } = *request;
    let n_classes = task.classes().len();
    match learner {
        Learner::Gbdt => {
            let spec = GbdtSpec {
                budget: get_f64(config, "budget", 0.5) as f32,
                max_bin: get_usize(config, "max_bin", 255).clamp(2, 255) as u16,
                iteration_limit: match resource {
                    Resource::Rounds(n) => Some(n),
                    _ => None,
                },
                seed,
            };
            let seconds_left = deadline
                .saturating_duration_since(Instant::now())
                .as_secs_f32();
            let model = match y {
                EncodedTarget::Classes(codes) => {
                    GbdtModel::fit_classifier(&spec, x, codes, n_classes, 1, Some(seconds_left))?
                }
                EncodedTarget::Values(values) => {
                    GbdtModel::fit_regressor(&spec, x, values, 1, Some(seconds_left))?
                }
            };
            Ok(Fitted::Gbdt(model, spec))
        }
        Learner::Mlp => fit_mlp(request),
        _ => {
            let spec = linfa_spec(learner, config, resource, task, x.cols, seed);
            let view = ndarray::ArrayView2::from_shape((x.rows, x.cols), &x.values)
                .map_err(|e| TrainError::Training(e.to_string()))?;
            let target = match y {
                EncodedTarget::Classes(codes) => Target::Classes { codes, n_classes },
                EncodedTarget::Values(values) => Target::Values(values),
            };
            let model = LinfaModel::fit(&spec, view, target)?;
            Ok(Fitted::Linfa(model, spec))
        }
    }
}

fn linfa_spec(
    learner: Learner,
    config: &Config,
    resource: Resource,
    task: &Task,
    features: usize,
    seed: u64,
) -> LinfaSpec {
    let criterion = || match get_choice(config, "criterion", "gini") {
        "entropy" => Criterion::Entropy,
        _ => Criterion::Gini,
    };
    match learner {
        Learner::GaussianNb => LinfaSpec::GaussianNb {
            var_smoothing: get_f64(config, "var_smoothing", 1e-9),
        },
        Learner::LogisticRegression => LinfaSpec::LogisticRegression {
            max_iterations: 200,
            alpha: get_f64(config, "alpha", 1.0),
            fit_intercept: true,
        },
        Learner::Linear => {
            let alpha = get_f64(config, "alpha", 1.0);
            match get_choice(config, "penalty", "ridge") {
                "lasso" => LinfaSpec::Lasso { alpha },
                "elastic_net" => LinfaSpec::ElasticNet {
                    alpha,
                    l1_ratio: get_f64(config, "l1_ratio", 0.5),
                },
                _ => LinfaSpec::Ridge { alpha },
            }
        }
        Learner::DecisionTree => LinfaSpec::DecisionTree {
            max_depth: Some(get_usize(config, "max_depth", 8)),
            min_samples_split: 2 * get_usize(config, "min_samples_leaf", 1).max(1),
            min_samples_leaf: get_usize(config, "min_samples_leaf", 1).max(1),
            criterion: criterion(),
        },
        Learner::RandomForest => LinfaSpec::RandomForest {
            n_trees: match resource {
                Resource::Trees(n) => n,
                _ => 128,
            },
            max_depth: Some(get_usize(config, "max_depth", 24)),
            feature_subsample: get_f64(config, "feature_subsample", 0.5),
            bootstrap_fraction: 1.0,
            seed,
        },
        Learner::Svm => LinfaSpec::Svm {
            c: get_f64(config, "c", 1.0),
            kernel: SvmKernel::Rbf,
            // sklearn's gamma="scale" is 1 / (features · var(X)); standardised
            // inputs have variance 1, so the searched factor multiplies 1/features.
            gamma: Some(get_f64(config, "gamma_scale", 1.0) / features.max(1) as f64),
            eps: if task.is_classification() {
                0.1
            } else {
                get_f64(config, "eps", 0.1)
            },
        },
        Learner::Gbdt | Learner::Mlp => unreachable!("not a linfa learner"),
    }
}

/// Stops a network's training at the deadline.
struct Deadline(Instant);

impl LoopObserver for Deadline {
    fn iteration(&mut self, _: usize, _: usize, _: u64, _: f64) -> TrainResult<()> {
        Ok(())
    }
    fn epoch(&mut self, _: usize, _: &std::collections::BTreeMap<String, f64>) -> TrainResult<()> {
        Ok(())
    }
    fn checkpoint(&mut self, _: usize, _: Checkpoint) -> TrainResult<()> {
        Ok(())
    }
    fn cancelled(&self) -> bool {
        Instant::now() >= self.0
    }
    fn start(&mut self, _: usize, _: usize) {}
}

/// Burn's CPU backend keeps one random generator per process (seeded by
/// `device.seed`), drawn from for initial weights and dropout masks; two
/// networks training at once would interleave their draws and a seed would no
/// longer fix the result. Network fits take turns; other learners still run
/// beside them.
static BURN_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn fit_mlp(request: &FitRequest<'_>) -> TrainResult<Fitted> {
    let _turn = BURN_RNG
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let config = request.config;
    let width = get_usize(config, "width", 64).max(1);
    let layers = get_usize(config, "layers", 2).clamp(1, 4);
    let architecture = Architecture {
        spec: NetSpec::Mlp(MlpSpec {
            hidden: vec![width; layers],
            activation: Activation::Relu,
            dropout: get_f64(config, "dropout", 0.0),
        }),
        inputs: request.x.cols,
        outputs: request.task.classes().len().max(1),
    };
    let training = TrainingSpec {
        epochs: match request.resource {
            Resource::Epochs(n) => n,
            _ => 96,
        },
        batch_size: get_choice(config, "batch_size", "64").parse().unwrap_or(64),
        optimizer: Optimizer::AdamW,
        learning_rate: get_f64(config, "learning_rate", 3e-3),
        weight_decay: get_f64(config, "weight_decay", 1e-4),
        checkpoint_every: 0,
        log_every: 0,
        ..TrainingSpec::default()
    };
    let empty_x = Features {
        rows: 0,
        cols: request.x.cols,
        values: Vec::new(),
    };
    let empty_y = match request.y {
        EncodedTarget::Classes(_) => EncodedTarget::Classes(Vec::new()),
        EncodedTarget::Values(_) => EncodedTarget::Values(Vec::new()),
    };
    let trained = train_net(
        NetTraining {
            architecture: architecture.clone(),
            task: request.task,
            train_x: request.x,
            train_y: request.y,
            valid_x: &empty_x,
            valid_y: &empty_y,
            spec: &training,
            seed: request.seed,
            device: burn::tensor::Device::flex(),
            resume: None,
        },
        &mut Deadline(request.deadline),
    )
    .map_err(|e| match e {
        TrainError::Cancelled => TrainError::Training("stopped at the time budget".into()),
        other => other,
    })?;
    Ok(Fitted::Net {
        net: trained.net,
        architecture,
        target_scale: trained.target_scale,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(rows: usize) -> Features {
        let values = (0..rows)
            .flat_map(|r| [r as f64 / rows as f64, ((r * 7) % 5) as f64 - 2.0])
            .collect();
        Features {
            rows,
            cols: 2,
            values,
        }
    }

    /// Every learner's first configuration, fitted for each problem it takes,
    /// is one of the families it names, and that family is registered with
    /// the trainer (so `smelt train --model KIND` can train it again).
    #[test]
    fn every_fitted_learner_is_a_registered_family_it_names() {
        let x = features(40);
        let classes = Task::Classification {
            classes: vec!["a".into(), "b".into()],
        };
        let codes = EncodedTarget::Classes((0..40).map(|r| usize::from(r >= 20)).collect());
        let values = EncodedTarget::Values((0..40).map(|r| r as f64 * 0.5 + 1.0).collect());
        for learner in Learner::ALL {
            for kind in learner.families() {
                assert!(families::find(kind).is_some(), "{kind} is not registered");
            }
            for (problem, task, y) in [
                (ProblemType::Binary, &classes, &codes),
                (ProblemType::Regression, &Task::Regression, &values),
            ] {
                if learner.applies(problem, x.rows).is_err() {
                    continue;
                }
                let config = learner.initial(problem, false);
                let fitted = fit(&FitRequest {
                    learner,
                    config: &config,
                    resource: learner.rungs()[0],
                    task,
                    x: &x,
                    y,
                    seed: 0,
                    deadline: Instant::now() + std::time::Duration::from_secs(60),
                })
                .unwrap_or_else(|e| panic!("{}: {e}", learner.name()));
                let kind = fitted.kind();
                assert!(
                    learner.families().contains(&kind),
                    "{}: {kind}",
                    learner.name()
                );
                assert_eq!(fitted.model_spec().family().kind, kind);
            }
        }
        assert_eq!(
            Learner::Linear.applies(ProblemType::Binary, 10),
            Err("regression only".to_string())
        );
        assert_eq!(
            Learner::RandomForest.applies(ProblemType::Regression, 10),
            Err("classification only".to_string())
        );
    }
}
