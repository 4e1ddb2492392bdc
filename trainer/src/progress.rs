//! Progress of a training job: an indicatif bar (epoch, iteration, loss,
//! ETA) on a terminal, plain log lines when output is not a terminal (CI,
//! job logs), nothing with `--quiet`.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar when stderr is a terminal, else log lines.
    Auto,
    Lines,
    /// Log lines appended to a file (a server job's log).
    LogFile(std::path::PathBuf),
    Quiet,
}

/// Receives training progress.
pub trait Progress: Send {
    fn start(&mut self, epochs: usize, first_epoch: usize, iterations_per_epoch: usize);
    fn iteration(&mut self, epoch: usize, iteration: usize, loss: f64);
    fn epoch_end(&mut self, epoch: usize, summary: &str);
    fn message(&mut self, text: &str);
    fn finish(&mut self);
}

pub fn reporter(mode: &ProgressMode) -> Box<dyn Progress> {
    match mode {
        ProgressMode::Quiet => Box::new(Silent),
        ProgressMode::Auto if std::io::stderr().is_terminal() => Box::new(Bar::default()),
        ProgressMode::Auto | ProgressMode::Lines => {
            Box::new(Lines::to(Box::new(std::io::stderr())))
        }
        ProgressMode::LogFile(path) => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(file) => Box::new(Lines::to(Box::new(file))),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot open the job log; progress goes to stderr");
                Box::new(Lines::to(Box::new(std::io::stderr())))
            }
        },
    }
}

struct Silent;

impl Progress for Silent {
    fn start(&mut self, _: usize, _: usize, _: usize) {}
    fn iteration(&mut self, _: usize, _: usize, _: f64) {}
    fn epoch_end(&mut self, _: usize, _: &str) {}
    fn message(&mut self, _: &str) {}
    fn finish(&mut self) {}
}

#[derive(Default)]
struct Bar {
    bar: Option<ProgressBar>,
    epochs: usize,
    per_epoch: usize,
}

impl Progress for Bar {
    fn start(&mut self, epochs: usize, first_epoch: usize, iterations_per_epoch: usize) {
        let total = (epochs * iterations_per_epoch) as u64;
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} epoch {prefix} [{bar:30}] {pos}/{len} it  {msg}  ETA {eta}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_position(((first_epoch - 1) * iterations_per_epoch) as u64);
        bar.set_prefix(format!("{first_epoch}/{epochs}"));
        bar.enable_steady_tick(Duration::from_millis(200));
        self.bar = Some(bar);
        self.epochs = epochs;
        self.per_epoch = iterations_per_epoch;
    }

    fn iteration(&mut self, epoch: usize, iteration: usize, loss: f64) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(format!("{epoch}/{}", self.epochs));
            bar.set_position(((epoch - 1) * self.per_epoch + iteration) as u64);
            // NaN until the loop has read a batch loss (it reads only logged steps).
            if loss.is_finite() {
                bar.set_message(format!("loss {loss:.4}"));
            }
        }
    }

    fn epoch_end(&mut self, epoch: usize, summary: &str) {
        if let Some(bar) = &self.bar {
            bar.println(format!("epoch {epoch}/{}: {summary}", self.epochs));
        }
    }

    fn message(&mut self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// One line per epoch (and at most one iteration line every 10 seconds), so
/// logs stay readable.
struct Lines {
    out: Box<dyn Write + Send>,
    epochs: usize,
    per_epoch: usize,
    last: Option<Instant>,
}

impl Lines {
    fn to(out: Box<dyn Write + Send>) -> Self {
        Lines {
            out,
            epochs: 0,
            per_epoch: 0,
            last: None,
        }
    }

    fn line(&mut self, text: &str) {
        let stamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
        let _ = writeln!(self.out, "[{stamp}] {text}");
        let _ = self.out.flush();
    }
}

impl Progress for Lines {
    fn start(&mut self, epochs: usize, first_epoch: usize, iterations_per_epoch: usize) {
        self.epochs = epochs;
        self.per_epoch = iterations_per_epoch;
        self.last = Some(Instant::now());
        self.line(&format!(
            "training: epochs {first_epoch}..={epochs}, {iterations_per_epoch} iterations per epoch"
        ));
    }

    fn iteration(&mut self, epoch: usize, iteration: usize, loss: f64) {
        if self
            .last
            .is_some_and(|t| t.elapsed() >= Duration::from_secs(10))
        {
            let text = format!(
                "epoch {epoch}/{} iteration {iteration}/{} loss {loss:.4}",
                self.epochs, self.per_epoch
            );
            self.line(&text);
            self.last = Some(Instant::now());
        }
    }

    fn epoch_end(&mut self, epoch: usize, summary: &str) {
        let text = format!("epoch {epoch}/{}: {summary}", self.epochs);
        self.line(&text);
        self.last = Some(Instant::now());
    }

    fn message(&mut self, text: &str) {
        self.line(text);
    }

    fn finish(&mut self) {}
}
