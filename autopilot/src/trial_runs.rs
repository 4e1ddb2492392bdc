//! Every trial as a nested MLflow run under the autopilot's parent run
//! (`mlflow.parentRunId`, as MLflow's own autologging nests runs): its
//! learner and hyperparameters as params, its score at each resource level
//! as metrics with step = level, and its end (FINISHED, KILLED when stopped
//! early, FAILED with the error).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use smelt_tracking::entities::{RunStatus, Tag};
use smelt_trainer::{RunTracker, TrainResult};

use crate::problem::Metric;
use crate::progress::AutopilotProgress;
use crate::search::{SearchObserver, Trial, TrialState};

pub struct TrialRuns<'a> {
    parent: &'a RunTracker,
    metric: Metric,
    progress: &'a mut dyn AutopilotProgress,
    cancel: Arc<AtomicBool>,
    runs: BTreeMap<usize, RunTracker>,
    /// Levels already logged per trial.
    logged: BTreeMap<usize, usize>,
    /// The first tracking error: the search goes on, the job reports it at the end.
    error: Option<smelt_trainer::TrainError>,
}

impl<'a> TrialRuns<'a> {
    pub fn new(
        parent: &'a RunTracker,
        metric: Metric,
        progress: &'a mut dyn AutopilotProgress,
        cancel: Arc<AtomicBool>,
    ) -> Self {
        TrialRuns {
            parent,
            metric,
            progress,
            cancel,
            runs: BTreeMap::new(),
            logged: BTreeMap::new(),
            error: None,
        }
    }

    /// The child run of each trial, or the first tracking error.
    pub fn finish(self) -> TrainResult<BTreeMap<usize, String>> {
        if let Some(error) = self.error {
            return Err(error);
        }
        Ok(self
            .runs
            .into_iter()
            .map(|(id, run)| (id, run.run_id))
            .collect())
    }

    fn record(&mut self, trial: &Trial) -> TrainResult<()> {
        let parent = self.parent;
        if let std::collections::btree_map::Entry::Vacant(slot) = self.runs.entry(trial.id) {
            let run = RunTracker::start(
                parent.tracking(),
                &parent.experiment_id,
                Some(format!("trial-{} {}", trial.id, trial.learner.name())),
                vec![
                    Tag::new("mlflow.parentRunId", parent.run_id.clone()),
                    Tag::new("smelt.autopilot.trial", trial.id.to_string()),
                    Tag::new("smelt.autopilot.learner", trial.learner.name()),
                ],
            )?;
            let mut params = vec![("learner".to_string(), trial.learner.name().to_string())];
            params.extend(trial.config.iter().map(|(k, v)| (k.clone(), v.to_string())));
            run.log_params(&params)?;
            slot.insert(run);
        }
        let run = &self.runs[&trial.id];
        let done = self.logged.get(&trial.id).copied().unwrap_or(0);
        for result in &trial.rungs[done.min(trial.rungs.len())..] {
            let mut metrics: Vec<(String, f64)> = result
                .metrics
                .iter()
                .map(|(k, v)| (format!("cv_{k}"), *v))
                .collect();
            metrics.push(("fit_seconds".into(), result.seconds));
            run.log_metrics(
                metrics.iter().map(|(k, v)| (k.as_str(), *v)),
                result.rung as i64,
            )?;
        }
        self.logged.insert(trial.id, trial.rungs.len());
        match trial.state {
            TrialState::Running => {}
            TrialState::Complete => run.end(RunStatus::Finished)?,
            TrialState::Pruned => {
                run.set_tags(&[Tag::new(
                    "smelt.autopilot.stopped",
                    trial.note.clone().unwrap_or_default(),
                )])?;
                run.end(RunStatus::Killed)?;
            }
            TrialState::Failed => {
                run.set_tags(&[Tag::new(
                    "smelt.error",
                    trial.error.clone().unwrap_or_default(),
                )])?;
                run.end(RunStatus::Failed)?;
            }
        }
        Ok(())
    }
}

impl SearchObserver for TrialRuns<'_> {
    fn trial_updated(&mut self, trial: &Trial, best: Option<&Trial>, elapsed: Duration) {
        if self.error.is_none()
            && let Err(e) = self.record(trial)
        {
            self.error = Some(e);
        }
        // The parent's best score over trials, for a curve in the UI.
        if trial.state == TrialState::Complete
            && let Some(score) = best.and_then(Trial::last_score)
            && self.error.is_none()
        {
            let name = format!("best_so_far_{}", self.metric.name());
            if let Err(e) = self
                .parent
                .log_metrics([(name.as_str(), score)], trial.id as i64)
            {
                self.error = Some(e);
            }
        }
        self.progress.trial(trial, best, elapsed);
    }

    fn note(&mut self, text: &str) {
        self.progress.note(text);
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}
