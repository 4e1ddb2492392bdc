//! The search: which configuration to try next, at which resource level, and
//! when to stop.
//!
//! - **Cheap first.** Every applicable learner is tried once at its low-cost
//!   initial configuration, cheapest learner first (FLAML's cost-frugal
//!   start).
//! - **Model-based proposals.** Then a learner is drawn with odds that favour
//!   the best-scoring and cheapest learners, and its next configuration comes
//!   from TPE ([`crate::tpe`]) over that learner's finished trials (random
//!   until it has [`crate::tpe::STARTUP_TRIALS`]).
//! - **Successive halving (ASHA).** A trial climbs its learner's resource
//!   levels ([`Learner::rungs`]); after each level it goes on only if its loss
//!   ranks in the top `1/η` of that learner's trials at that level (the first
//!   always goes on), so poor configurations stop after a cheap fit.
//! - **In parallel, deterministically.** Up to `workers` jobs run at once;
//!   results are taken in job order and every random draw is seeded by the
//!   trial number, so the same seed and trial limit give the same leaderboard
//!   on any machine. (A time budget alone ends the search at a point that
//!   depends on the machine's speed.)
//! - **Within the budget.** A job starts only when its expected duration (from
//!   the learner's earlier jobs) fits before the search's end, which leaves
//!   room to refit the chosen models; boosting and networks also stop
//!   themselves at the hard deadline.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::Rng;
use serde::Serialize;
use smelt_data::{SeededRng, seeded_rng};

use crate::candidates::{Learner, Resource};
use crate::distributed::{Distribution, FoldTask, deadline_ms};
use crate::evaluate::{Evaluation, Evaluator};
use crate::problem::{Metric, Outputs};
use crate::space::{self, Config};
use crate::tpe;

/// The reduction factor of successive halving.
pub const ETA: usize = 4;

#[derive(Debug, Clone)]
pub struct SearchOptions {
    pub learners: Vec<Learner>,
    /// The whole budget, finalisation included.
    pub time_budget: Duration,
    pub max_trials: Option<usize>,
    pub seed: u64,
    pub workers: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialState {
    /// Waiting for its next resource level.
    Running,
    /// Stopped by successive halving (or by the budget) before the full fit.
    Pruned,
    /// Fitted at full resource; it has out-of-fold predictions.
    Complete,
    Failed,
}

/// One configuration's score at one resource level.
#[derive(Debug, Clone, Serialize)]
pub struct RungResult {
    pub rung: usize,
    pub resource: Resource,
    pub score: f64,
    pub metrics: BTreeMap<String, f64>,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    /// 1-based, in the order trials were started.
    pub id: usize,
    pub learner: Learner,
    pub config: Config,
    pub state: TrialState,
    pub rungs: Vec<RungResult>,
    pub error: Option<String>,
    /// Why it stopped early, for people.
    pub note: Option<String>,
    /// Seconds since the search began.
    pub started_s: f64,
    pub ended_s: Option<f64>,
    /// Out-of-fold predictions at full resource (complete trials only).
    #[serde(skip)]
    pub outputs: Option<Outputs>,
}

impl Trial {
    /// The score at the highest level reached.
    pub fn last_score(&self) -> Option<f64> {
        self.rungs.last().map(|r| r.score)
    }

    /// Total fit time over all levels.
    pub fn seconds(&self) -> f64 {
        self.rungs.iter().map(|r| r.seconds).sum()
    }
}

/// What the search tells its observers after each job.
pub trait SearchObserver {
    /// `trial` has a new result (a level scored, a stop, a failure).
    fn trial_updated(&mut self, trial: &Trial, best: Option<&Trial>, elapsed: Duration);
    /// A note for people (a learner left out, a fallback taken).
    fn note(&mut self, text: &str);
    /// Whether to stop starting jobs (the job was cancelled).
    fn cancelled(&self) -> bool;
}

/// The outcome of a search.
pub struct SearchResult {
    pub trials: Vec<Trial>,
    pub elapsed: Duration,
}

struct Job {
    trial: usize,
    rung: usize,
}

pub struct Search<'a> {
    evaluator: &'a Evaluator,
    metric: Metric,
    options: SearchOptions,
    has_missing: bool,
    problem: crate::problem::ProblemType,
    trials: Vec<Trial>,
    disabled: Vec<Learner>,
    start: Instant,
    /// Seconds a refit of one full-resource model took per fold, by learner.
    fold_seconds: BTreeMap<Learner, f64>,
    /// Where fold fits run when not on this machine's threads.
    distribution: Option<Distribution>,
}

impl<'a> Search<'a> {
    pub fn new(
        evaluator: &'a Evaluator,
        metric: Metric,
        options: SearchOptions,
        problem: crate::problem::ProblemType,
        has_missing: bool,
    ) -> Self {
        Search {
            evaluator,
            metric,
            options,
            has_missing,
            problem,
            trials: Vec::new(),
            disabled: Vec::new(),
            start: Instant::now(),
            fold_seconds: BTreeMap::new(),
            distribution: None,
        }
    }

    /// Runs every fold fit through `distribution`'s pool instead of this
    /// machine's threads; the search decides exactly as it would locally.
    pub fn distributed(mut self, distribution: Distribution) -> Self {
        self.distribution = Some(distribution);
        self
    }

    fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    fn hard_deadline(&self) -> Instant {
        self.start + self.options.time_budget
    }

    /// Seconds kept back for refitting the best models on all rows and saving
    /// them: a refit of the three slowest of the current best five, plus 5 %.
    fn reserve(&self) -> f64 {
        let mut complete: Vec<&Trial> = self
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .collect();
        complete.sort_by(|a, b| self.loss_of(a).total_cmp(&self.loss_of(b)));
        let mut refits: Vec<f64> = complete
            .iter()
            .take(5)
            .map(|t| self.fold_seconds.get(&t.learner).copied().unwrap_or(0.0) * 1.3)
            .collect();
        refits.sort_by(|a, b| b.total_cmp(a));
        let refit: f64 = refits.iter().take(3).sum::<f64>() / self.options.workers.max(1) as f64;
        refit + 0.05 * self.options.time_budget.as_secs_f64()
    }

    fn loss_of(&self, trial: &Trial) -> f64 {
        trial
            .last_score()
            .map_or(f64::INFINITY, |s| self.metric.loss(s))
    }

    /// The best complete trial so far.
    fn best(&self) -> Option<&Trial> {
        self.trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .min_by(|a, b| {
                self.loss_of(a)
                    .total_cmp(&self.loss_of(b))
                    .then(a.id.cmp(&b.id))
            })
    }

    /// Expected seconds of a job, from the learner's earlier jobs; `None`
    /// when nothing is known yet.
    fn estimate(&self, learner: Learner, rung: usize) -> Option<f64> {
        let same: Vec<f64> = self
            .trials
            .iter()
            .filter(|t| t.learner == learner)
            .filter_map(|t| t.rungs.get(rung).map(|r| r.seconds))
            .collect();
        if !same.is_empty() {
            return Some(same.iter().sum::<f64>() / same.len() as f64);
        }
        // A level up costs about η times the level below.
        (0..rung).rev().find_map(|lower| {
            self.estimate(learner, lower)
                .map(|s| s * (ETA as f64).powi((rung - lower) as i32))
        })
    }

    fn fits(&self, learner: Learner, rung: usize, in_batch: f64) -> bool {
        let budget = self.options.time_budget.as_secs_f64();
        let left = budget - self.reserve() - self.elapsed();
        match self.estimate(learner, rung) {
            Some(seconds) => seconds.max(in_batch) <= left,
            // Unknown: a first, cheapest level is tried while time remains.
            None => left > 0.05 * budget,
        }
    }

    /// Runs the search to its end.
    pub fn run(mut self, observer: &mut dyn SearchObserver) -> SearchResult {
        self.start = Instant::now();
        loop {
            if observer.cancelled() {
                break;
            }
            let jobs = self.next_jobs(observer);
            if jobs.is_empty() {
                break;
            }
            let deadline = self.hard_deadline();
            let work: Vec<(Learner, Config, Resource)> = jobs
                .iter()
                .map(|job| {
                    let trial = &self.trials[job.trial];
                    (
                        trial.learner,
                        trial.config.clone(),
                        trial.learner.rungs()[job.rung],
                    )
                })
                .collect();
            let results = match &self.distribution {
                Some(distribution) => {
                    self.evaluate_remotely(distribution, &jobs, &work, deadline, &*observer)
                }
                None => self.evaluate_here(&work, deadline),
            };
            for (job, result) in jobs.into_iter().zip(results) {
                let index = job.trial;
                self.integrate(job, result);
                let trial = self.trials[index].clone();
                observer.trial_updated(&trial, self.best(), self.start.elapsed());
            }
        }
        if let Some(distribution) = &self.distribution {
            distribution.pool.finished(&distribution.search);
        }
        // Trials still waiting for a level when time ran out stop here.
        let now = self.elapsed();
        for trial in &mut self.trials {
            if trial.state == TrialState::Running {
                trial.state = TrialState::Pruned;
                trial.note = Some("stopped by the time budget".into());
                trial.ended_s = Some(now);
            }
        }
        SearchResult {
            trials: self.trials,
            elapsed: self.start.elapsed(),
        }
    }

    /// One batch on this machine: a thread per job, each fitting its folds.
    fn evaluate_here(
        &self,
        work: &[(Learner, Config, Resource)],
        deadline: Instant,
    ) -> Vec<Result<Evaluation, String>> {
        let evaluator = self.evaluator;
        std::thread::scope(|scope| {
            let handles: Vec<_> = work
                .iter()
                .map(|(learner, config, resource)| {
                    scope.spawn(move || {
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            evaluator.evaluate(*learner, config, *resource, deadline)
                        }))
                        .map_err(|panic| panic_message(&panic))
                        .and_then(|r| r.map_err(|e| e.to_string()))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("the trial thread died".into()))
                })
                .collect()
        })
    }

    /// One batch through the pool: a task per job and fold, all at once;
    /// each job's folds are put back together as a local evaluation would.
    fn evaluate_remotely(
        &self,
        distribution: &Distribution,
        jobs: &[Job],
        work: &[(Learner, Config, Resource)],
        deadline: Instant,
        observer: &dyn SearchObserver,
    ) -> Vec<Result<Evaluation, String>> {
        let folds = self.evaluator.folds();
        let deadline_ms = deadline_ms(deadline);
        let tasks: Vec<FoldTask> = jobs
            .iter()
            .zip(work)
            .flat_map(|(job, (learner, config, resource))| {
                (0..folds).map(move |fold| FoldTask {
                    search: distribution.search.clone(),
                    spec: distribution.spec.clone(),
                    trial: job.trial + 1,
                    rung: job.rung,
                    fold,
                    learner: *learner,
                    config: config.clone(),
                    resource: *resource,
                    deadline_ms,
                })
            })
            .collect();
        let cancelled = || observer.cancelled();
        let mut answers = distribution.pool.evaluate(tasks, &cancelled).into_iter();
        // A job's seconds are its folds' fit times added up, as a local
        // evaluation's are: what the budget plans with stays the same.
        work.iter()
            .map(|(learner, _, _)| {
                let outputs: Result<Vec<_>, String> = answers.by_ref().take(folds).collect();
                self.evaluator
                    .combine(*learner, &outputs?)
                    .map_err(|e| e.to_string())
            })
            .collect()
    }

    fn started_trials(&self) -> usize {
        self.trials.len()
    }

    fn next_jobs(&mut self, observer: &mut dyn SearchObserver) -> Vec<Job> {
        let workers = self.options.workers.max(1);
        let mut jobs: Vec<Job> = Vec::new();
        let mut batch_seconds = 0.0f64;
        // Promotions first: they finish trials (and give ensembling material).
        let waiting: Vec<(usize, usize)> = self
            .trials
            .iter()
            .enumerate()
            .filter(|(_, t)| t.state == TrialState::Running)
            .map(|(i, t)| (i, t.rungs.len()))
            .collect();
        for (index, rung) in waiting {
            if jobs.len() == workers {
                break;
            }
            let learner = self.trials[index].learner;
            if self.fits(learner, rung, batch_seconds) {
                batch_seconds = batch_seconds.max(self.estimate(learner, rung).unwrap_or(0.0));
                jobs.push(Job { trial: index, rung });
            } else {
                let now = self.elapsed();
                let trial = &mut self.trials[index];
                trial.state = TrialState::Pruned;
                trial.note = Some(format!(
                    "stopped by the time budget before {}",
                    learner.rungs()[rung].describe()
                ));
                trial.ended_s = Some(now);
                let snapshot = trial.clone();
                observer.trial_updated(&snapshot, self.best(), self.start.elapsed());
            }
        }
        // New trials.
        let mut attempts = 0;
        while jobs.len() < workers
            && self
                .options
                .max_trials
                .is_none_or(|max| self.started_trials() < max)
            && attempts < 4 * workers
        {
            attempts += 1;
            let Some((learner, config)) = self.propose() else {
                break;
            };
            if !self.fits(learner, 0, batch_seconds) {
                // The drawn learner does not fit in what is left; a cheaper
                // one may, so try again (bounded by `attempts`).
                continue;
            }
            batch_seconds = batch_seconds.max(self.estimate(learner, 0).unwrap_or(0.0));
            let id = self.trials.len() + 1;
            self.trials.push(Trial {
                id,
                learner,
                config,
                state: TrialState::Running,
                rungs: Vec::new(),
                error: None,
                note: None,
                started_s: self.elapsed(),
                ended_s: None,
                outputs: None,
            });
            jobs.push(Job {
                trial: id - 1,
                rung: 0,
            });
        }
        jobs
    }

    fn rng_for(&self, trial: usize) -> SeededRng {
        seeded_rng(
            self.options
                .seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(trial as u64),
        )
    }

    fn enabled(&self) -> Vec<Learner> {
        self.options
            .learners
            .iter()
            .copied()
            .filter(|l| !self.disabled.contains(l))
            .collect()
    }

    /// The next new trial: an untried learner's initial configuration, else
    /// a learner drawn by promise and cost, and a TPE proposal for it.
    fn propose(&self) -> Option<(Learner, Config)> {
        let id = self.trials.len() + 1;
        let mut rng = self.rng_for(id);
        let enabled = self.enabled();
        let mut untried: Vec<Learner> = enabled
            .iter()
            .copied()
            .filter(|l| !self.trials.iter().any(|t| t.learner == *l))
            .collect();
        untried.sort_by(|a, b| a.relative_cost().total_cmp(&b.relative_cost()));
        if let Some(&learner) = untried.first() {
            return Some((learner, learner.initial(self.problem, self.has_missing)));
        }
        let learner = self.draw_learner(&enabled, &mut rng)?;
        let space = learner.space(self.problem, self.has_missing);
        // Observations: each trial's loss at its highest level, ranked so that
        // a trial stopped at a low level counts worse than any complete one.
        let observed: Vec<(Config, f64)> = self
            .trials
            .iter()
            .filter(|t| t.learner == learner && !t.rungs.is_empty())
            .map(|t| {
                let levels_short = learner.rungs().len() - t.rungs.len();
                (
                    t.config.clone(),
                    self.loss_of(t) + levels_short as f64 * 1e6,
                )
            })
            .collect();
        for _ in 0..8 {
            let config = tpe::propose(&space, &observed, &mut rng)
                .unwrap_or_else(|| space::sample(&space, &mut rng));
            let seen = self
                .trials
                .iter()
                .any(|t| t.learner == learner && t.config == config);
            if !seen {
                return Some((learner, config));
            }
        }
        Some((learner, space::sample(&space, &mut rng)))
    }

    /// Odds per learner: its rank by best loss (1/(rank+1)²), divided by the
    /// square root of its cost relative to the cheapest learner. The cost is
    /// the learner's fixed relative cost, not measured seconds: measured times
    /// differ between runs, and the draw must not, or a seed would not fix
    /// the leaderboard. (Measured times decide only what fits the budget.)
    fn draw_learner(&self, enabled: &[Learner], rng: &mut impl Rng) -> Option<Learner> {
        let mut ranked: Vec<(Learner, f64, f64)> = enabled
            .iter()
            .map(|&l| {
                let best = self
                    .trials
                    .iter()
                    .filter(|t| t.learner == l && t.state == TrialState::Complete)
                    .map(|t| self.loss_of(t))
                    .fold(f64::INFINITY, f64::min);
                (l, best, l.relative_cost())
            })
            .collect();
        ranked.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        let cheapest = ranked.iter().map(|r| r.2).fold(f64::INFINITY, f64::min);
        let weights: Vec<f64> = ranked
            .iter()
            .enumerate()
            .map(|(rank, (_, _, cost))| {
                1.0 / ((rank + 1) as f64).powi(2) / (cost / cheapest).sqrt()
            })
            .collect();
        let total: f64 = weights.iter().sum();
        if !total.is_finite() || total <= 0.0 {
            return None;
        }
        let mut r = rng.random::<f64>() * total;
        for ((learner, _, _), w) in ranked.iter().zip(&weights) {
            if r < *w {
                return Some(*learner);
            }
            r -= w;
        }
        ranked.last().map(|r| r.0)
    }

    fn integrate(&mut self, job: Job, result: Result<Evaluation, String>) {
        let now = self.elapsed();
        let learner = self.trials[job.trial].learner;
        let levels = learner.rungs();
        match result {
            Err(error) => {
                let trial = &mut self.trials[job.trial];
                trial.state = TrialState::Failed;
                trial.error = Some(error);
                trial.ended_s = Some(now);
                // A learner whose first two trials both fail is left out.
                let mine: Vec<&Trial> = self
                    .trials
                    .iter()
                    .filter(|t| t.learner == learner)
                    .collect();
                if mine.len() >= 2 && mine.iter().all(|t| t.state == TrialState::Failed) {
                    self.disabled.push(learner);
                }
            }
            Ok(evaluation) => {
                let loss = self.metric.loss(evaluation.score);
                let folds = self.evaluator.folds().max(1) as f64;
                if job.rung + 1 == levels.len() {
                    self.fold_seconds
                        .insert(learner, evaluation.seconds / folds);
                }
                // Rank among this learner's trials at this level (this one included).
                let peers: Vec<f64> = self
                    .trials
                    .iter()
                    .filter(|t| t.learner == learner && t.id != job.trial + 1)
                    .filter_map(|t| t.rungs.get(job.rung).map(|r| self.metric.loss(r.score)))
                    .collect();
                let trial = &mut self.trials[job.trial];
                trial.rungs.push(RungResult {
                    rung: job.rung,
                    resource: levels[job.rung],
                    score: evaluation.score,
                    metrics: evaluation.metrics,
                    seconds: evaluation.seconds,
                });
                if job.rung + 1 == levels.len() {
                    trial.state = TrialState::Complete;
                    trial.outputs = Some(evaluation.outputs);
                    trial.ended_s = Some(now);
                } else {
                    let better = peers.iter().filter(|&&p| p < loss).count();
                    let keep = ((peers.len() + 1) / ETA).max(1);
                    if better >= keep {
                        trial.state = TrialState::Pruned;
                        trial.note = Some(format!(
                            "stopped by successive halving after {}",
                            levels[job.rung].describe()
                        ));
                        trial.ended_s = Some(now);
                    }
                }
            }
        }
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let text = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    format!("internal error in the learner: {text}")
}
