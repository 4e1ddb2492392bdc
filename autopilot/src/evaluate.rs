//! Scores one configuration at one resource level on every fold: the
//! preprocessing is fitted on each fold's training rows only (cached per fold
//! and variant, shared by all trials), the model on the same rows, and the
//! held-out rows' predictions are kept as out-of-fold predictions for
//! ensembling.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use smelt_data::Frame;
use smelt_models::preprocessing::{Features, PreprocessOptions, Preprocessor};
use smelt_models::{EncodedTarget, Task};
use smelt_trainer::{TrainError, TrainResult};

use crate::candidates::{FitRequest, Learner, Resource, fit, preprocess_options};
use crate::folds::FoldPlan;
use crate::problem::{Metric, Outputs, ProblemType, Truth, score, score_all};
use crate::space::Config;

/// The training rows every trial sees.
pub struct Dataset {
    pub features: Frame,
    pub target: EncodedTarget,
    pub task: Task,
    pub problem: ProblemType,
    /// Whether any feature has a missing value (then imputation is searched).
    pub has_missing: bool,
}

impl Dataset {
    pub fn rows(&self) -> usize {
        self.features.rows()
    }
}

/// One fold's rows after preprocessing.
struct PreparedFold {
    train_x: Features,
    train_y: EncodedTarget,
    valid_x: Features,
}

/// One fold's part of an evaluation: the held-out rows' predictions
/// (`width` values a row, in the fold's row order) and the fit's wall time.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FoldOutput {
    pub values: Vec<f64>,
    pub seconds: f64,
}

/// What a configuration scored at one resource level.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Predictions for the evaluator's `eval_rows`, in that order.
    pub outputs: Outputs,
    /// The objective on those rows.
    pub score: f64,
    /// Every reported metric on those rows.
    pub metrics: BTreeMap<String, f64>,
    /// Wall time of the fits and predictions.
    pub seconds: f64,
}

pub struct Evaluator {
    data: Arc<Dataset>,
    plan: Arc<FoldPlan>,
    metric: Metric,
    seed: u64,
    /// Rows with out-of-fold predictions: all rows under cross-validation, the
    /// hold-out rows otherwise.
    eval_rows: Vec<usize>,
    /// Where each training row sits in `eval_rows` (CV fills every row once).
    position: Vec<Option<usize>>,
    /// The target at `eval_rows`, taken once.
    truth: EncodedTarget,
    cache: Vec<Mutex<HashMap<PreprocessOptions, Arc<PreparedFold>>>>,
}

impl Evaluator {
    pub fn new(data: Arc<Dataset>, plan: Arc<FoldPlan>, metric: Metric, seed: u64) -> Self {
        let eval_rows: Vec<usize> = if plan.covers_all_rows {
            (0..data.rows()).collect()
        } else {
            plan.folds
                .iter()
                .flat_map(|f| f.valid.iter().copied())
                .collect()
        };
        let mut position = vec![None; data.rows()];
        for (i, &row) in eval_rows.iter().enumerate() {
            position[row] = Some(i);
        }
        let truth = take_target(&data.target, &eval_rows);
        let cache = plan
            .folds
            .iter()
            .map(|_| Mutex::new(HashMap::new()))
            .collect();
        Evaluator {
            truth,
            data,
            plan,
            metric,
            seed,
            eval_rows,
            position,
            cache,
        }
    }

    /// Number of folds each evaluation fits.
    pub fn folds(&self) -> usize {
        self.plan.folds.len()
    }

    fn classes(&self) -> usize {
        self.data.task.classes().len()
    }

    /// Scores `outputs` (aligned with `eval_rows`) with `metric`.
    pub fn score(&self, metric: Metric, outputs: &Outputs) -> Option<f64> {
        score(metric, Truth::of(&self.truth, self.classes()), outputs)
    }

    /// Every reported metric of `outputs` (aligned with `eval_rows`).
    pub fn all_metrics(&self, outputs: &Outputs) -> BTreeMap<String, f64> {
        score_all(
            self.data.problem,
            Truth::of(&self.truth, self.classes()),
            outputs,
        )
    }

    fn prepared(&self, fold: usize, options: PreprocessOptions) -> TrainResult<Arc<PreparedFold>> {
        if let Some(found) = self.cache[fold].lock().expect("cache lock").get(&options) {
            return Ok(found.clone());
        }
        let rows = &self.plan.folds[fold];
        let train = self.data.features.take(&rows.train);
        let preprocessor = Preprocessor::fit_with(&train, &options)?;
        let prepared = Arc::new(PreparedFold {
            train_x: preprocessor.transform(&train)?,
            train_y: take_target(&self.data.target, &rows.train),
            valid_x: preprocessor.transform(&self.data.features.take(&rows.valid))?,
        });
        self.cache[fold]
            .lock()
            .expect("cache lock")
            .insert(options, prepared.clone());
        Ok(prepared)
    }

    /// Fits `config` at `resource` on every fold and scores the held-out rows.
    pub fn evaluate(
        &self,
        learner: Learner,
        config: &Config,
        resource: Resource,
        deadline: Instant,
    ) -> TrainResult<Evaluation> {
        let started = Instant::now();
        let mut folds = Vec::with_capacity(self.folds());
        for index in 0..self.folds() {
            folds.push(self.evaluate_fold(learner, config, resource, index, deadline)?);
        }
        let mut evaluation = self.combine(learner, &folds)?;
        evaluation.seconds = started.elapsed().as_secs_f64();
        Ok(evaluation)
    }

    /// Values per held-out row of fold `index` (one per class, or one).
    fn width(&self) -> usize {
        match &self.data.task {
            Task::Classification { classes } => classes.len(),
            Task::Regression => 1,
        }
    }

    /// Fits `config` at `resource` on fold `index`'s training rows and
    /// predicts its held-out rows: one piece of an evaluation, which a
    /// distributed search runs on any worker (the fold's seed is the
    /// search's plus its index, so every worker fits the same model).
    pub fn evaluate_fold(
        &self,
        learner: Learner,
        config: &Config,
        resource: Resource,
        index: usize,
        deadline: Instant,
    ) -> TrainResult<FoldOutput> {
        let started = Instant::now();
        let options = preprocess_options(config);
        let task = &self.data.task;
        let width = self.width();
        let fold = self.plan.folds.get(index).ok_or_else(|| {
            TrainError::Spec(format!(
                "fold {index} does not exist: the search has {} folds",
                self.folds()
            ))
        })?;
        let prepared = self.prepared(index, options)?;
        let (x, y) = match resource {
            Resource::DataShare(share) if share < 1.0 => {
                let order = smelt_data::shuffled_indices(
                    prepared.train_x.rows,
                    self.seed.wrapping_add(index as u64),
                );
                let keep = ((prepared.train_x.rows as f64 * share).ceil() as usize)
                    .clamp(1, prepared.train_x.rows);
                let mut rows = order[..keep].to_vec();
                rows.sort_unstable();
                (
                    Cow::Owned(take_rows(&prepared.train_x, &rows)),
                    Cow::Owned(take_target(&prepared.train_y, &rows)),
                )
            }
            // The whole fold: fitted from the cache, not a copy of it.
            _ => (
                Cow::Borrowed(&prepared.train_x),
                Cow::Borrowed(&prepared.train_y),
            ),
        };
        let fitted = fit(&FitRequest {
            learner,
            config,
            resource,
            task,
            x: &x,
            y: &y,
            seed: self.seed.wrapping_add(index as u64),
            deadline,
        })?;
        let outputs = fitted.predict(&prepared.valid_x, task)?;
        let values = match outputs {
            Outputs::Probabilities { values, .. } | Outputs::Values(values) => values,
        };
        if values.len() != fold.valid.len() * width {
            return Err(TrainError::Training(format!(
                "{} answered {} values for {} rows",
                learner.name(),
                values.len(),
                fold.valid.len()
            )));
        }
        Ok(FoldOutput {
            values,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// The evaluation made of every fold's output, in fold order: the
    /// held-out predictions put in `eval_rows` order and scored.
    pub fn combine(&self, learner: Learner, folds: &[FoldOutput]) -> TrainResult<Evaluation> {
        let task = &self.data.task;
        let width = self.width();
        if folds.len() != self.folds() {
            return Err(TrainError::Training(format!(
                "{} came back with {} of {} folds",
                learner.name(),
                folds.len(),
                self.folds()
            )));
        }
        let mut combined = vec![0.0; self.eval_rows.len() * width];
        for (fold, output) in self.plan.folds.iter().zip(folds) {
            if output.values.len() != fold.valid.len() * width {
                return Err(TrainError::Training(format!(
                    "{} answered {} values for {} rows",
                    learner.name(),
                    output.values.len(),
                    fold.valid.len()
                )));
            }
            for (i, &row) in fold.valid.iter().enumerate() {
                let at = self.position[row].expect("validation rows are evaluated");
                combined[at * width..(at + 1) * width]
                    .copy_from_slice(&output.values[i * width..(i + 1) * width]);
            }
        }
        let outputs = if task.is_classification() {
            Outputs::Probabilities {
                k: width,
                values: combined,
            }
        } else {
            Outputs::Values(combined)
        };
        let score = self.score(self.metric, &outputs).ok_or_else(|| {
            TrainError::Training(format!(
                "{} is undefined on the validation rows",
                self.metric.name()
            ))
        })?;
        if !score.is_finite() {
            return Err(TrainError::Training(format!(
                "{} came out {score}",
                self.metric.name()
            )));
        }
        Ok(Evaluation {
            metrics: self.all_metrics(&outputs),
            outputs,
            score,
            seconds: folds.iter().map(|f| f.seconds).sum(),
        })
    }
}

pub fn take_target(target: &EncodedTarget, rows: &[usize]) -> EncodedTarget {
    match target {
        EncodedTarget::Classes(codes) => {
            EncodedTarget::Classes(rows.iter().map(|&r| codes[r]).collect())
        }
        EncodedTarget::Values(values) => {
            EncodedTarget::Values(rows.iter().map(|&r| values[r]).collect())
        }
    }
}

fn take_rows(x: &Features, rows: &[usize]) -> Features {
    let mut values = Vec::with_capacity(rows.len() * x.cols);
    for &r in rows {
        values.extend_from_slice(x.row(r));
    }
    Features {
        rows: rows.len(),
        cols: x.cols,
        values,
    }
}
