//! Autopilot jobs on a server: the executor's [`JobRunner`] for specs with an
//! `[autopilot]` table, so `smelt jobs submit` and `POST /api/2.0/smelt/jobs`
//! queue them beside training jobs.
//!
//! A job interrupted by a server restart starts its search again in a new
//! run (a search's state is not checkpointed); the interrupted run is closed
//! as KILLED.

use std::path::Path;

use serde::{Deserialize, Serialize};
use smelt_tracking::entities::{RunStatus, Tag};
use smelt_tracking::store::UpdateRun;
use smelt_trainer::executor::{JobRunner, JobSummary, RunContext, RunResult};
use smelt_trainer::{Tracking, TrainError, TrainResult};

use crate::job::{AutopilotOptions, run_autopilot};
use crate::spec::AutopilotSpec;

/// The table that marks an autopilot spec.
pub const TABLE: &str = "autopilot";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    autopilot: AutopilotSpec,
}

impl AutopilotSpec {
    /// Parses `[autopilot] …` TOML; `source` names it in errors.
    pub fn from_toml(text: &str, source: &str) -> TrainResult<Self> {
        let file: SpecFile = toml::from_str(text)
            .map_err(|e| TrainError::Spec(format!("{source}: {}", e.to_string().trim())))?;
        file.autopilot
            .validate()
            .map_err(|m| TrainError::Spec(format!("{source}: {m}")))?;
        Ok(file.autopilot)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(&SpecFile {
            autopilot: self.clone(),
        })
        .expect("a spec serialises")
    }

    /// The spec with local data paths made absolute against `base_dir`
    /// (URIs are left alone), for a server that runs it elsewhere.
    pub fn with_absolute_paths(&self, base_dir: &Path) -> AutopilotSpec {
        let absolute = |location: &str| -> String {
            if location.contains(":/") || Path::new(location).is_absolute() {
                return location.to_string();
            }
            let joined = base_dir.join(location);
            std::path::absolute(&joined)
                .unwrap_or(joined)
                .display()
                .to_string()
        };
        let mut spec = self.clone();
        spec.train = absolute(&spec.train);
        spec.test = spec.test.as_deref().map(absolute);
        spec
    }
}

/// Runs `[autopilot]` specs in the server's executor or a `smelt worker`.
#[derive(Default)]
pub struct AutopilotRunner {
    /// Where fold fits run (`smelt worker`: every worker's cores); `None`
    /// fits them on the job's own machine.
    pool: Option<std::sync::Arc<dyn crate::distributed::EvaluationPool>>,
}

impl AutopilotRunner {
    /// A runner whose searches fit their folds through `pool`.
    pub fn distributed(pool: std::sync::Arc<dyn crate::distributed::EvaluationPool>) -> Self {
        AutopilotRunner { pool: Some(pool) }
    }
}

impl JobRunner for AutopilotRunner {
    fn table(&self) -> &'static str {
        TABLE
    }

    fn check(&self, spec_toml: &str) -> TrainResult<JobSummary> {
        let spec = AutopilotSpec::from_toml(spec_toml, "the submitted autopilot spec")?;
        let mut labels = spec.labels;
        labels.sort();
        labels.dedup();
        Ok(JobSummary {
            experiment: spec.experiment.unwrap_or_else(|| "Default".into()),
            model: "autopilot".into(),
            labels,
        })
    }

    fn data_locations(&self, spec_toml: &str) -> TrainResult<Vec<String>> {
        let spec = AutopilotSpec::from_toml(spec_toml, "the submitted autopilot spec")?;
        Ok(std::iter::once(spec.train).chain(spec.test).collect())
    }

    fn run(
        &self,
        spec_toml: &str,
        tracking: &Tracking,
        context: RunContext,
    ) -> TrainResult<RunResult> {
        let spec = AutopilotSpec::from_toml(spec_toml, "the autopilot spec")?;
        if let Some(previous) = &context.previous_run {
            // The search starts again; the interrupted attempt's run is closed.
            let _ = tracking.runtime.block_on(tracking.store.set_tag(
                previous,
                &Tag::new(
                    "smelt.error",
                    "interrupted by a server restart; the job started again in a new run",
                ),
            ));
            let _ = tracking
                .runtime
                .block_on(tracking.store.update_run(&UpdateRun {
                    run_id: previous.clone(),
                    status: Some(RunStatus::Killed),
                    end_time: Some(smelt_trainer::tracker::now_ms()),
                    run_name: None,
                }));
        }
        let options = AutopilotOptions {
            base_dir: context.base_dir,
            progress: context.progress,
            tags: context.tags,
            on_run: Some(context.on_run),
            cancel: context.cancel,
            data_roots: context.data_roots,
            pool: self.pool.clone(),
        };
        let outcome = run_autopilot(&spec, tracking, &options)?;
        Ok(RunResult {
            model_version: outcome
                .registered_model
                .as_ref()
                .zip(outcome.registered_version.as_ref())
                .map(|(n, v)| format!("models:/{n}/{v}")),
            run_id: outcome.run_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_through_toml_and_typos_are_named() {
        let mut spec = AutopilotSpec::new("datasets/wine.train.csv", "target");
        spec.time_budget_s = 30.0;
        let text = spec.to_toml();
        assert_eq!(AutopilotSpec::from_toml(&text, "x").unwrap(), spec);
        let error = AutopilotSpec::from_toml(
            "[autopilot]\ntrain = \"a.csv\"\ntarget = \"y\"\ntime_budgt_s = 3\n",
            "job.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("job.toml") && error.contains("time_budgt_s"),
            "{error}"
        );
        let absolute = spec.with_absolute_paths(Path::new("/data"));
        assert_eq!(absolute.train, "/data/datasets/wine.train.csv");
    }
}
