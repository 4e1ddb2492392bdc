//! What an autopilot job is asked to do: the same fields from `smelt
//! autopilot` flags, a TOML file, or a JSON body on the jobs API.

use serde::{Deserialize, Serialize};
use smelt_trainer::spec::RegisterSpec;

use crate::candidates::Learner;
use crate::problem::{Metric, ProblemType};

/// Default time budget: a minute, as a quick first look.
pub const DEFAULT_BUDGET_S: f64 = 60.0;
/// Cross-validation folds (SageMaker Autopilot's k).
pub const DEFAULT_FOLDS: usize = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutopilotSpec {
    /// Training rows: a CSV or Parquet path, or an artifact URI.
    pub train: String,
    pub target: String,
    /// Rows scored once by the final model (`test_*` metrics on the parent run).
    #[serde(default)]
    pub test: Option<String>,
    /// Feature columns; default every column but the target and `exclude`.
    #[serde(default)]
    pub features: Option<Vec<String>>,
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Columns to read as categories even when they hold numbers.
    #[serde(default)]
    pub categorical: Vec<String>,
    /// Inferred from the target when absent.
    #[serde(default)]
    pub problem_type: Option<ProblemType>,
    /// The objective; the problem type's default when absent.
    #[serde(default)]
    pub metric: Option<Metric>,
    /// Wall-clock seconds for the whole job, refit and saving included.
    #[serde(default = "default_budget")]
    pub time_budget_s: f64,
    #[serde(default)]
    pub max_trials: Option<usize>,
    /// Learners to search; default every one that fits the problem.
    #[serde(default)]
    pub learners: Option<Vec<Learner>>,
    #[serde(default = "default_folds")]
    pub folds: usize,
    /// Trials run at once; default one per core.
    #[serde(default)]
    pub workers: Option<usize>,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub experiment: Option<String>,
    #[serde(default)]
    pub run_name: Option<String>,
    #[serde(default)]
    pub register: Option<RegisterSpec>,
    /// Labels a `smelt worker` needs to run this job (`smelt worker
    /// --labels`), when a server sends jobs to workers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

fn default_budget() -> f64 {
    DEFAULT_BUDGET_S
}

fn default_folds() -> usize {
    DEFAULT_FOLDS
}

impl AutopilotSpec {
    /// A spec with defaults for everything but the data.
    pub fn new(train: impl Into<String>, target: impl Into<String>) -> Self {
        AutopilotSpec {
            train: train.into(),
            target: target.into(),
            test: None,
            features: None,
            exclude: Vec::new(),
            categorical: Vec::new(),
            problem_type: None,
            metric: None,
            time_budget_s: DEFAULT_BUDGET_S,
            max_trials: None,
            learners: None,
            folds: DEFAULT_FOLDS,
            workers: None,
            seed: 0,
            experiment: None,
            run_name: None,
            register: None,
            labels: Vec::new(),
        }
    }

    /// Checks what can be checked before reading any data.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.time_budget_s.is_finite() && self.time_budget_s > 0.0) {
            return Err(format!(
                "the time budget must be a positive number of seconds, got {}",
                self.time_budget_s
            ));
        }
        if self.max_trials == Some(0) {
            return Err("max_trials must be at least 1".into());
        }
        if self.folds < 2 {
            return Err(format!(
                "cross-validation needs at least 2 folds, got {}",
                self.folds
            ));
        }
        if self.workers == Some(0) {
            return Err("workers must be at least 1".into());
        }
        if let (Some(problem), Some(metric)) = (self.problem_type, self.metric)
            && !problem.admits(metric)
        {
            return Err(format!(
                "the metric {} does not apply to {} problems",
                metric.name(),
                problem.name()
            ));
        }
        for label in &self.labels {
            smelt_trainer::executor::check_label(label)?;
        }
        if self.learners.as_ref().is_some_and(Vec::is_empty) {
            return Err("the learner list is empty".into());
        }
        Ok(())
    }
}

/// Parses `60`, `60s`, `2m`, `1h`, `1m30s` into seconds.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return Ok(seconds);
    }
    let mut total = 0.0;
    let mut number = String::new();
    let mut any = false;
    for ch in text.chars() {
        if ch.is_ascii_digit() || ch == '.' {
            number.push(ch);
            continue;
        }
        let unit = match ch {
            'h' => 3600.0,
            'm' => 60.0,
            's' => 1.0,
            _ => {
                return Err(format!(
                    "'{text}' is not a duration: use seconds (90), or units like 90s, 2m, 1h, 1m30s"
                ));
            }
        };
        let value: f64 = number.parse().map_err(|_| {
            format!("'{text}' is not a duration: a unit needs a number before it (2m, 90s)")
        })?;
        total += value * unit;
        number.clear();
        any = true;
    }
    if !number.is_empty() || !any {
        return Err(format!(
            "'{text}' is not a duration: use seconds (90), or units like 90s, 2m, 1h, 1m30s"
        ));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("60"), Ok(60.0));
        assert_eq!(parse_duration("30s"), Ok(30.0));
        assert_eq!(parse_duration("2m"), Ok(120.0));
        assert_eq!(parse_duration("1m30s"), Ok(90.0));
        assert_eq!(parse_duration("1h"), Ok(3600.0));
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .contains("not a duration")
        );
        assert!(parse_duration("5x").is_err());
    }

    #[test]
    fn bad_specs_are_refused_before_any_data_is_read() {
        let mut spec = AutopilotSpec::new("train.csv", "y");
        assert!(spec.validate().is_ok());
        spec.time_budget_s = 0.0;
        assert!(spec.validate().unwrap_err().contains("positive"));
        spec.time_budget_s = 10.0;
        spec.problem_type = Some(ProblemType::Regression);
        spec.metric = Some(Metric::Accuracy);
        assert!(spec.validate().unwrap_err().contains("does not apply"));
    }
}
