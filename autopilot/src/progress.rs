//! Progress of an autopilot job: on a terminal, an indicatif bar over the
//! time budget with the best score so far; otherwise a line per finished
//! trial (CI, job logs); nothing with `--quiet`.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use smelt_trainer::ProgressMode;

use crate::search::{Trial, TrialState};

pub trait AutopilotProgress: Send {
    /// A trial changed (a level scored, stopped, failed).
    fn trial(&mut self, trial: &Trial, best: Option<&Trial>, elapsed: Duration);
    fn note(&mut self, text: &str);
    fn finish(&mut self);
}

pub fn reporter(mode: &ProgressMode, budget: Duration) -> Box<dyn AutopilotProgress> {
    match mode {
        ProgressMode::Quiet => Box::new(Silent),
        ProgressMode::Auto if std::io::stderr().is_terminal() => Box::new(Bar::new(budget)),
        ProgressMode::Auto | ProgressMode::Lines => {
            Box::new(Lines::to(Box::new(std::io::stderr()), budget))
        }
        ProgressMode::LogFile(path) => {
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                Ok(file) => Box::new(Lines::to(Box::new(file), budget)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot open the job log; progress goes to stderr");
                    Box::new(Lines::to(Box::new(std::io::stderr()), budget))
                }
            }
        }
    }
}

fn best_text(best: Option<&Trial>) -> String {
    match best.and_then(|b| b.last_score().map(|s| (b, s))) {
        Some((b, s)) => format!("best {s:.4} ({} trial {})", b.learner.name(), b.id),
        None => "no finished trial yet".into(),
    }
}

fn describe(trial: &Trial) -> String {
    let level = trial
        .rungs
        .last()
        .map(|r| format!(" at {}", r.resource.describe()))
        .unwrap_or_default();
    match trial.state {
        TrialState::Complete => format!(
            "trial {} {} finished: {:.4}{level}",
            trial.id,
            trial.learner.name(),
            trial.last_score().unwrap_or(f64::NAN)
        ),
        TrialState::Pruned => format!(
            "trial {} {} stopped{level}: {}",
            trial.id,
            trial.learner.name(),
            trial.note.as_deref().unwrap_or("")
        ),
        TrialState::Failed => format!(
            "trial {} {} failed: {}",
            trial.id,
            trial.learner.name(),
            trial.error.as_deref().unwrap_or("")
        ),
        TrialState::Running => format!(
            "trial {} {} scored {:.4}{level}, going on",
            trial.id,
            trial.learner.name(),
            trial.last_score().unwrap_or(f64::NAN)
        ),
    }
}

struct Silent;

impl AutopilotProgress for Silent {
    fn trial(&mut self, _: &Trial, _: Option<&Trial>, _: Duration) {}
    fn note(&mut self, _: &str) {}
    fn finish(&mut self) {}
}

struct Bar {
    bar: ProgressBar,
    budget: Duration,
}

impl Bar {
    fn new(budget: Duration) -> Self {
        let bar = ProgressBar::new(budget.as_millis() as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Bar { bar, budget }
    }
}

impl AutopilotProgress for Bar {
    fn trial(&mut self, trial: &Trial, best: Option<&Trial>, elapsed: Duration) {
        self.bar.set_position(elapsed.as_millis() as u64);
        let left = self.budget.saturating_sub(elapsed).as_secs_f64();
        self.bar.set_message(format!(
            "trial {} · {} · {left:.0} s left",
            trial.id,
            best_text(best)
        ));
    }

    fn note(&mut self, text: &str) {
        self.bar.println(text);
    }

    fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
}

struct Lines {
    out: Box<dyn Write + Send>,
    budget: Duration,
}

impl Lines {
    fn to(out: Box<dyn Write + Send>, budget: Duration) -> Self {
        Lines { out, budget }
    }
}

impl AutopilotProgress for Lines {
    fn trial(&mut self, trial: &Trial, best: Option<&Trial>, elapsed: Duration) {
        if trial.state == TrialState::Running {
            return;
        }
        let left = self.budget.saturating_sub(elapsed).as_secs_f64();
        let _ = writeln!(
            self.out,
            "[{:6.1}s] {} · {} · {left:.0} s left",
            elapsed.as_secs_f64(),
            describe(trial),
            best_text(best)
        );
    }

    fn note(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }

    fn finish(&mut self) {
        let _ = self.out.flush();
    }
}
