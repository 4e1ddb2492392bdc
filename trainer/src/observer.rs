//! What happens around each training step: metrics to the run, the progress
//! bar, checkpoints uploaded to the run's `checkpoints/` artifacts, and the
//! cancel flag. Checkpoints live with the run (not on the training machine)
//! so that `--resume RUN_ID` works wherever the run's artifacts are reachable.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{TrainError, TrainResult};
use crate::net_training::{Checkpoint, LoopObserver, LoopState};
use crate::progress::Progress;
use crate::tracker::RunTracker;

pub const CHECKPOINT_DIR: &str = "checkpoints";
const MODEL_FILE: &str = "model.bpk";
const OPTIMIZER_FILE: &str = "optimizer.bpk";
const STATE_FILE: &str = "state.json";

pub struct JobObserver<'a> {
    pub run: &'a RunTracker,
    pub progress: &'a mut dyn Progress,
    pub cancel: Arc<AtomicBool>,
    /// Log the batch loss every this many iterations (0: never).
    pub log_every: usize,
    pub epochs: usize,
}

impl LoopObserver for JobObserver<'_> {
    fn start(&mut self, first_epoch: usize, iterations_per_epoch: usize) {
        self.progress
            .start(self.epochs, first_epoch, iterations_per_epoch);
    }

    fn iteration(
        &mut self,
        epoch: usize,
        iteration: usize,
        step: u64,
        loss: f64,
    ) -> TrainResult<()> {
        self.progress.iteration(epoch, iteration, loss);
        if self.log_every > 0 && step.is_multiple_of(self.log_every as u64) {
            self.run
                .log_metrics([("train_batch_loss", loss)], step as i64)?;
        }
        Ok(())
    }

    fn epoch(&mut self, epoch: usize, metrics: &BTreeMap<String, f64>) -> TrainResult<()> {
        self.run
            .log_metrics(metrics.iter().map(|(k, v)| (k.as_str(), *v)), epoch as i64)?;
        let shown = ["train_loss", "val_loss", "val_accuracy", "val_r2"];
        let summary = metrics
            .iter()
            .filter(|(k, _)| shown.contains(&k.as_str()))
            .map(|(k, v)| format!("{k} {v:.4}"))
            .collect::<Vec<_>>()
            .join("  ");
        self.progress.epoch_end(epoch, &summary);
        Ok(())
    }

    fn checkpoint(&mut self, epoch: usize, checkpoint: Checkpoint) -> TrainResult<()> {
        let state = serde_json::to_vec_pretty(&checkpoint.state).expect("state serialises");
        let files = [
            (MODEL_FILE, checkpoint.model),
            (OPTIMIZER_FILE, checkpoint.optimizer),
            (STATE_FILE, state),
        ];
        // Staged copies first, then the live names; state last in each set.
        // A kill mid-way leaves one complete set, which `load_checkpoint` finds.
        for suffix in [".tmp", ""] {
            for (name, bytes) in &files {
                self.run
                    .upload_bytes(&format!("{CHECKPOINT_DIR}/{name}{suffix}"), bytes.clone())?;
            }
        }
        tracing::debug!(epoch, run_id = %self.run.run_id, "checkpoint saved");
        Ok(())
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// The run's last complete checkpoint, if it has one.
pub fn load_checkpoint(run: &RunTracker) -> TrainResult<Option<Checkpoint>> {
    let dir =
        tempfile::tempdir().map_err(|e| TrainError::io("cannot create a temporary folder", e))?;
    if !run.download_dir(CHECKPOINT_DIR, dir.path())? {
        return Ok(None);
    }
    let read = |name: &str| std::fs::read(dir.path().join(name)).ok();
    let state_of =
        |bytes: Option<Vec<u8>>| bytes.and_then(|b| serde_json::from_slice::<LoopState>(&b).ok());
    // A complete `.tmp` set newer than the live one means the last
    // promotion was interrupted: it is the newest checkpoint.
    let live = state_of(read(STATE_FILE));
    let staged = state_of(read(&format!("{STATE_FILE}.tmp")));
    let (suffix, state) = match (live, staged) {
        (Some(l), Some(s)) if s.epoch > l.epoch => (".tmp", s),
        (Some(l), _) => ("", l),
        (None, Some(s)) => (".tmp", s),
        (None, None) => return Ok(None),
    };
    let model = read(&format!("{MODEL_FILE}{suffix}"));
    let optimizer = read(&format!("{OPTIMIZER_FILE}{suffix}"));
    match (model, optimizer) {
        (Some(model), Some(optimizer)) => Ok(Some(Checkpoint {
            model,
            optimizer,
            state,
        })),
        _ => Ok(None),
    }
}
