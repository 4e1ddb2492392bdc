//! A search whose fold fits run on other machines.
//!
//! The search itself (proposals, successive halving, the ensemble, the
//! refit) stays on one machine, the job's. What it farms out is the work:
//! each job of a batch (a configuration at a resource level) becomes one
//! [`FoldTask`] per fold, which an [`EvaluationPool`] runs wherever it
//! can (`smelt-cluster` runs them on every `smelt worker`'s cores through a
//! JetStream work queue). A worker rebuilds the search's data and folds
//! from the spec the task carries ([`FoldEvaluator`]; same data, same seed,
//! same rows), fits the fold with the fold's seed and answers the held-out
//! predictions; the search puts the folds back together
//! ([`Evaluator::combine`]) exactly as a local evaluation would.
//!
//! So the leaderboard does not depend on how many workers there are: the
//! batch width is fixed ([`DISTRIBUTED_WIDTH`] or the spec's `workers`),
//! proposals and results are taken in job order, and each fold fit is the
//! same wherever it runs. A worker lost mid-fit costs only its in-flight
//! folds: the pool gives them to another worker.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use smelt_trainer::{DataRoots, Tracking};

use crate::candidates::{Learner, Resource};
use crate::evaluate::{Evaluator, FoldOutput};
use crate::job::prepare_search;
use crate::space::Config;
use crate::spec::AutopilotSpec;

/// Configurations in flight at once when fold fits are distributed and the
/// spec names no `workers`: 4 × the folds (20 fits with 5 folds) keeps
/// several workers' cores busy, and the same whatever the number of
/// workers, so a seed and a trial limit give one leaderboard. A wider batch
/// waits longer for its slowest fit and adapts less (8 gave fewer complete
/// trials in 30 s than 4 on one or two workers: `scripts/bench_cluster.py
/// autopilot`).
pub const DISTRIBUTED_WIDTH: usize = 4;

/// Searches whose data a worker keeps ready.
const KEPT_SEARCHES: usize = 2;

/// One fold of one configuration at one resource level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldTask {
    /// The search: its parent run's id.
    pub search: String,
    /// The search's spec (TOML): a worker rebuilds the data and folds from it.
    pub spec: String,
    pub trial: usize,
    pub rung: usize,
    pub fold: usize,
    pub learner: Learner,
    pub config: Config,
    pub resource: Resource,
    /// When the search's time is up (ms since the Unix epoch): fits that
    /// can stop themselves stop there.
    pub deadline_ms: i64,
}

impl FoldTask {
    /// Tells this task's answer apart from the others of its search.
    pub fn key(&self) -> String {
        format!("{}-{}-{}", self.trial, self.rung, self.fold)
    }
}

/// A fold's outcome as a worker answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldAnswer {
    pub search: String,
    /// The task's [`FoldTask::key`].
    pub key: String,
    /// Who fitted it.
    pub worker: String,
    pub outcome: Result<FoldOutput, String>,
}

/// Where a distributed search's fold fits run.
pub trait EvaluationPool: Send + Sync {
    /// Runs every task somewhere and answers their outcomes in task order.
    /// Blocks the search's thread until all are answered, or `cancelled`
    /// says so (what is left then answers an error).
    fn evaluate(
        &self,
        tasks: Vec<FoldTask>,
        cancelled: &dyn Fn() -> bool,
    ) -> Vec<Result<FoldOutput, String>>;

    /// The search is over: its tasks nobody has taken are dropped.
    fn finished(&self, search: &str);
}

/// A search that hands its fold fits to a pool.
#[derive(Clone)]
pub struct Distribution {
    pub pool: Arc<dyn EvaluationPool>,
    /// The search's id (its parent run).
    pub search: String,
    /// The spec, as workers rebuild the data from it.
    pub spec: String,
}

/// The time `deadline` falls at, in ms since the Unix epoch.
pub fn deadline_ms(deadline: Instant) -> i64 {
    let now = smelt_trainer::tracker::now_ms();
    let left = deadline.saturating_duration_since(Instant::now());
    now.saturating_add(i64::try_from(left.as_millis()).unwrap_or(i64::MAX))
}

type Prepared = Arc<OnceLock<Result<Arc<Evaluator>, String>>>;

/// A worker's side: fits folds of any search, keeping the data of the
/// last few searches it saw.
pub struct FoldEvaluator {
    tracking: Tracking,
    base_dir: PathBuf,
    data_roots: DataRoots,
    searches: Mutex<VecDeque<(String, Prepared)>>,
}

impl FoldEvaluator {
    /// Reads searches' data through `tracking` (artifact URIs), and local
    /// files only under `data_roots`.
    pub fn new(tracking: Tracking, base_dir: PathBuf, data_roots: DataRoots) -> FoldEvaluator {
        FoldEvaluator {
            tracking,
            base_dir,
            data_roots,
            searches: Mutex::new(VecDeque::new()),
        }
    }

    /// Fits one fold (blocking; call on a thread that may block).
    pub fn evaluate(&self, task: &FoldTask) -> Result<FoldOutput, String> {
        let left = task.deadline_ms - smelt_trainer::tracker::now_ms();
        if left <= 0 {
            return Err("the search's time was up before this fold started".into());
        }
        let evaluator = self.evaluator(task)?;
        let deadline = Instant::now() + Duration::from_millis(left as u64);
        evaluator
            .evaluate_fold(
                task.learner,
                &task.config,
                task.resource,
                task.fold,
                deadline,
            )
            .map_err(|e| e.to_string())
    }

    /// The search's evaluator, prepared once per search: concurrent tasks
    /// of one search wait for the first to read the data.
    fn evaluator(&self, task: &FoldTask) -> Result<Arc<Evaluator>, String> {
        let slot = {
            let mut searches = self.searches.lock().unwrap_or_else(|p| p.into_inner());
            match searches.iter().find(|(id, _)| *id == task.search) {
                Some((_, slot)) => slot.clone(),
                None => {
                    let slot: Prepared = Arc::default();
                    searches.push_back((task.search.clone(), slot.clone()));
                    while searches.len() > KEPT_SEARCHES {
                        searches.pop_front();
                    }
                    slot
                }
            }
        };
        slot.get_or_init(|| {
            let spec = AutopilotSpec::from_toml(&task.spec, "the search's spec")
                .map_err(|e| e.to_string())?;
            let prepared = prepare_search(&spec, &self.tracking, &self.base_dir, &self.data_roots)
                .map_err(|e| format!("cannot prepare the search's data: {e}"))?;
            Ok(Arc::new(Evaluator::new(
                prepared.dataset,
                prepared.plan,
                prepared.metric,
                spec.seed,
            )))
        })
        .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_and_answers_cross_the_wire_intact() {
        let mut config = Config::new();
        config.insert("alpha".into(), crate::space::Value::Float(0.1 + 0.2));
        config.insert("depth".into(), crate::space::Value::Int(3));
        let task = FoldTask {
            search: "run1".into(),
            spec: "[autopilot]\n".into(),
            trial: 4,
            rung: 1,
            fold: 2,
            learner: Learner::ALL[0],
            config,
            resource: Resource::DataShare(0.25),
            deadline_ms: 1_700_000_000_000,
        };
        let text = serde_json::to_string(&task).unwrap();
        assert_eq!(serde_json::from_str::<FoldTask>(&text).unwrap(), task);
        assert_eq!(task.key(), "4-1-2");
        let answer = FoldAnswer {
            search: "run1".into(),
            key: task.key(),
            worker: "w".into(),
            outcome: Ok(FoldOutput {
                values: vec![0.1, 1.0 / 3.0],
                seconds: 0.5,
            }),
        };
        let text = serde_json::to_string(&answer).unwrap();
        assert_eq!(serde_json::from_str::<FoldAnswer>(&text).unwrap(), answer);
    }
}
