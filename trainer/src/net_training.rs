//! The Burn training loop. A hand-written loop rather than burn-train's
//! `SupervisedTraining`: epoch metrics need whole-split predictions (ROC AUC,
//! macro F1), a resumed run must continue its metric steps exactly, and the
//! learner's renderer and application logger install global state that a
//! server running many jobs must not have.
//!
//! Determinism: the initial weights come from the device seed and each
//! epoch's shuffle from (seed, epoch), so a run resumed from epoch k sees
//! the same batches epochs k+1… would have seen.

use std::collections::BTreeMap;

use burn::module::Module;
use burn::nn::loss::{CrossEntropyLossConfig, MseLoss, Reduction};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use burn::tensor::activation::softmax;
use serde::{Deserialize, Serialize};
use smelt_models::nets::{Architecture, Net};
use smelt_models::{EncodedTarget, Features, TargetScale, Task};

use crate::error::{TrainError, TrainResult};
use crate::metrics::{self, Metric};
use crate::mlp_backprop::{self, BatchTarget, HalfWorker};
use crate::spec::{Optimizer, TrainingSpec};

/// Where a resumed job picks up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoopState {
    /// The last completed epoch.
    pub epoch: usize,
    /// Iterations done so far (the step of the next batch-loss metric).
    pub iteration: u64,
    pub best_value: Option<f64>,
    pub best_epoch: usize,
    pub epochs_without_improvement: usize,
}

/// Serialized model, optimizer and loop state at the end of an epoch.
pub struct Checkpoint {
    pub model: Vec<u8>,
    pub optimizer: Vec<u8>,
    pub state: LoopState,
}

/// What the loop reports, and where it asks whether to stop.
pub trait LoopObserver {
    fn iteration(
        &mut self,
        epoch: usize,
        iteration_in_epoch: usize,
        step: u64,
        loss: f64,
    ) -> TrainResult<()>;
    fn epoch(&mut self, epoch: usize, metrics: &BTreeMap<String, f64>) -> TrainResult<()>;
    fn checkpoint(&mut self, epoch: usize, checkpoint: Checkpoint) -> TrainResult<()>;
    fn cancelled(&self) -> bool;
    fn start(&mut self, first_epoch: usize, iterations_per_epoch: usize);
}

pub struct NetTraining<'a> {
    pub architecture: Architecture,
    pub task: &'a Task,
    pub train_x: &'a Features,
    pub train_y: &'a EncodedTarget,
    pub valid_x: &'a Features,
    pub valid_y: &'a EncodedTarget,
    pub spec: &'a TrainingSpec,
    pub seed: u64,
    pub device: Device,
    pub resume: Option<Checkpoint>,
}

pub struct Trained {
    /// The best epoch's network (the last one without early stopping), on a plain device.
    pub net: Net,
    pub target_scale: Option<TargetScale>,
    pub best_epoch: usize,
    pub stopped_early: bool,
}

pub fn train_net(job: NetTraining<'_>, observer: &mut dyn LoopObserver) -> TrainResult<Trained> {
    let spec = job.spec;
    let autodiff = job.device.clone().autodiff();
    // An MLP on the CPU trains with its backward pass written out (see
    // `mlp_backprop`); everything else through burn-autodiff. Either way the
    // parameters live on the autodiff device, where Burn's optimizers work.
    let by_hand = mlp_backprop::applies(&job.architecture.spec, &job.device);
    let helper = by_hand.then(HalfWorker::start_if_useful).flatten();
    job.device.seed(job.seed);
    let mut net = job.architecture.build(&autodiff)?;
    let mut optimizer = optimizer(spec);

    let target_scale = match job.train_y {
        EncodedTarget::Values(values) => Some(scale_of(values)),
        EncodedTarget::Classes(_) => None,
    };
    let train_targets = TargetBatches::new(job.train_y, target_scale);
    let train_inputs = job.train_x.to_f32();
    let cols = job.train_x.cols;
    let rows = job.train_x.rows;
    let batch_size = spec.batch_size.min(rows.max(1));
    let iterations_per_epoch = rows.div_ceil(batch_size);
    let width = job.architecture.outputs;

    let mut state = LoopState {
        epoch: 0,
        iteration: 0,
        best_value: None,
        best_epoch: 0,
        epochs_without_improvement: 0,
    };
    if let Some(checkpoint) = job.resume {
        let record =
            ModuleRecord::from_bytes(Bytes::from_bytes_vec(checkpoint.model)).map_err(|e| {
                TrainError::Training(format!("the checkpoint's model is unreadable: {e}"))
            })?;
        net = net.load_record(record);
        optimizer = optimizer
            .from_bytes(Bytes::from_bytes_vec(checkpoint.optimizer))
            .map_err(|e| {
                TrainError::Training(format!(
                    "the checkpoint's optimizer state is unreadable: {e}"
                ))
            })?;
        state = checkpoint.state;
    }
    let mut best_net = net.valid();
    observer.start(state.epoch + 1, iterations_per_epoch);

    let cross_entropy = CrossEntropyLossConfig::new().init(&autodiff);
    // The latest batch loss read off the device (see the batch loop).
    let mut last_loss = f64::NAN;
    let mut stopped_early = false;
    for epoch in state.epoch + 1..=spec.epochs {
        let lr = spec
            .lr_schedule
            .rate(spec.learning_rate, epoch, spec.epochs);
        let order = smelt_data::shuffled_indices(
            rows,
            job.seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64),
        );
        let mut epoch_loss: Option<Tensor<1>> = None;
        // The epoch's own predictions, for train_* metrics without a second
        // pass over the training rows (Keras reports them the same way).
        // Kept on the device and read once at the end of the epoch: a read
        // per batch would cost a synchronisation per step (on a GPU, a stall).
        let mut seen_batches: Vec<Tensor<2>> = Vec::with_capacity(iterations_per_epoch);
        for (i, batch) in order.chunks(batch_size).enumerate() {
            if observer.cancelled() {
                return Err(TrainError::Cancelled);
            }
            let mut xs = Vec::with_capacity(batch.len() * cols);
            for &row in batch {
                xs.extend_from_slice(&train_inputs[row * cols..(row + 1) * cols]);
            }
            let (batch_loss, grads) = match net.as_mlp().filter(|_| by_hand) {
                Some(mlp) => {
                    let step = match &train_targets {
                        TargetBatches::Classes(codes) => {
                            let y: Vec<i64> = batch.iter().map(|&r| codes[r]).collect();
                            let target = BatchTarget::Classes {
                                codes: &y,
                                classes: width,
                            };
                            mlp_backprop::step(
                                mlp,
                                &xs,
                                batch.len(),
                                cols,
                                &target,
                                helper.as_ref(),
                            )
                        }
                        TargetBatches::Values(values) => {
                            let y: Vec<f32> = batch.iter().map(|&r| values[r]).collect();
                            mlp_backprop::step(
                                mlp,
                                &xs,
                                batch.len(),
                                cols,
                                &BatchTarget::Values(&y),
                                helper.as_ref(),
                            )
                        }
                    };
                    seen_batches.push(step.outputs);
                    (step.loss, step.gradients)
                }
                None => {
                    let x =
                        Tensor::<2>::from_data(TensorData::new(xs, [batch.len(), cols]), &autodiff);
                    let output = net.forward(x);
                    seen_batches.push(output.clone().inner());
                    let loss = match &train_targets {
                        TargetBatches::Classes(codes) => {
                            let y: Vec<i64> = batch.iter().map(|&r| codes[r]).collect();
                            let y = Tensor::<1, Int>::from_data(
                                TensorData::new(y, [batch.len()]),
                                &autodiff,
                            );
                            cross_entropy.forward(output, y)
                        }
                        TargetBatches::Values(values) => {
                            let y: Vec<f32> = batch.iter().map(|&r| values[r]).collect();
                            let y = Tensor::<2>::from_data(
                                TensorData::new(y, [batch.len(), 1]),
                                &autodiff,
                            );
                            MseLoss::new().forward(output, y, Reduction::Mean)
                        }
                    };
                    let batch_loss = loss.clone().inner();
                    (
                        batch_loss,
                        GradientsParams::from_grads(loss.backward(), &net),
                    )
                }
            };
            // Reading a value off the device waits for the device: on a GPU
            // a read per step serialised every step (5 ms a step on an H100).
            // The epoch's losses are summed on the device and read once; a
            // batch loss is read only on the steps that log it.
            net = optimizer.step(lr, net, grads);
            state.iteration += 1;
            if spec.log_every > 0 && state.iteration.is_multiple_of(spec.log_every as u64) {
                last_loss = f64::from(batch_loss.clone().into_scalar::<f32>());
                diverged(last_loss, epoch, lr)?;
            }
            epoch_loss = Some(match epoch_loss {
                None => batch_loss,
                Some(sum) => sum + batch_loss,
            });
            observer.iteration(epoch, i + 1, state.iteration, last_loss)?;
        }
        let loss_sum = epoch_loss
            .map(|sum| f64::from(sum.into_scalar::<f32>()))
            .unwrap_or(0.0);
        diverged(loss_sum, epoch, lr)?;

        let valid = net.valid();
        let mut epoch_metrics = BTreeMap::new();
        epoch_metrics.insert(
            "train_loss".to_string(),
            loss_sum / iterations_per_epoch as f64,
        );
        epoch_metrics.insert("learning_rate".to_string(), lr);
        let seen_outputs = Tensor::cat(seen_batches, 0).into_data();
        let seen_outputs = seen_outputs
            .as_slice::<f32>()
            .map_err(|e| TrainError::Training(format!("unreadable outputs: {e:?}")))?;
        let seen = outputs_to_predictions(seen_outputs, width, job.task, target_scale);
        let truth = reorder(job.train_y, &order);
        for (name, value) in score(&seen, &truth, job.task, target_scale)? {
            if name != "loss" {
                epoch_metrics.insert(format!("train_{name}"), value);
            }
        }
        if job.valid_x.rows > 0 {
            let outputs = predict_raw(&valid, job.valid_x, job.task, target_scale, &job.device);
            for (name, value) in score(&outputs, job.valid_y, job.task, target_scale)? {
                epoch_metrics.insert(format!("val_{name}"), value);
            }
        }
        state.epoch = epoch;

        let improved = match &spec.early_stopping {
            None => true,
            Some(stop) => {
                let value = epoch_metrics.get(&stop.metric).copied();
                let better = |new: f64, old: f64| {
                    if stop.higher_is_better() {
                        new > old + stop.min_delta
                    } else {
                        new < old - stop.min_delta
                    }
                };
                match (value, state.best_value) {
                    (Some(v), None) => {
                        state.best_value = Some(v);
                        true
                    }
                    (Some(v), Some(best)) if better(v, best) => {
                        state.best_value = Some(v);
                        true
                    }
                    _ => false,
                }
            }
        };
        if improved {
            best_net = valid.clone();
            state.best_epoch = epoch;
            state.epochs_without_improvement = 0;
        } else {
            state.epochs_without_improvement += 1;
        }
        observer.epoch(epoch, &epoch_metrics)?;

        let last = epoch == spec.epochs;
        let stop = spec
            .early_stopping
            .as_ref()
            .is_some_and(|s| state.epochs_without_improvement >= s.patience.max(1));
        if spec.checkpoint_every > 0 && (epoch % spec.checkpoint_every == 0) && !last && !stop {
            let model = net.clone().into_record().into_bytes().map_err(|e| {
                TrainError::Training(format!("cannot serialise the checkpoint: {e}"))
            })?;
            let optim = optimizer.into_bytes().map_err(|e| {
                TrainError::Training(format!("cannot serialise the optimizer state: {e}"))
            })?;
            observer.checkpoint(
                epoch,
                Checkpoint {
                    model: model.to_vec(),
                    optimizer: optim.to_vec(),
                    state: state.clone(),
                },
            )?;
        }
        if stop {
            stopped_early = true;
            break;
        }
    }
    Ok(Trained {
        net: best_net,
        target_scale,
        best_epoch: state.best_epoch,
        stopped_early,
    })
}

/// Raw network outputs (logits or scaled values, row-major) as
/// probabilities or values in the target's units.
fn outputs_to_predictions(
    outputs: &[f32],
    width: usize,
    task: &Task,
    scale: Option<TargetScale>,
) -> Vec<f64> {
    if task.is_classification() {
        let mut probabilities = Vec::with_capacity(outputs.len());
        for logits in outputs.chunks(width.max(1)) {
            let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let start = probabilities.len();
            probabilities.extend(logits.iter().map(|&l| f64::from(l - max).exp()));
            let row = &mut probabilities[start..];
            let sum: f64 = row.iter().sum();
            row.iter_mut().for_each(|p| *p /= sum);
        }
        probabilities
    } else {
        let s = scale.unwrap_or(TargetScale {
            mean: 0.0,
            std: 1.0,
        });
        outputs
            .iter()
            .map(|&v| f64::from(v) * s.std + s.mean)
            .collect()
    }
}

/// The target in the order rows were seen.
fn reorder(y: &EncodedTarget, order: &[usize]) -> EncodedTarget {
    match y {
        EncodedTarget::Classes(codes) => {
            EncodedTarget::Classes(order.iter().map(|&r| codes[r]).collect())
        }
        EncodedTarget::Values(values) => {
            EncodedTarget::Values(order.iter().map(|&r| values[r]).collect())
        }
    }
}

/// Scores predictions (probabilities row-major, or values) against `y`.
fn score(
    outputs: &[f64],
    y: &EncodedTarget,
    task: &Task,
    scale: Option<TargetScale>,
) -> TrainResult<BTreeMap<String, f64>> {
    Ok(match (y, task) {
        (EncodedTarget::Classes(codes), Task::Classification { classes }) => {
            let scores = metrics::classification(codes, outputs, classes.len());
            let mut m = metrics::named(&scores, "");
            if let Some(log_loss) = scores.get(&Metric::LogLoss) {
                m.insert("loss".into(), *log_loss);
            }
            m
        }
        (EncodedTarget::Values(truth), Task::Regression) => {
            let scores = metrics::regression(truth, outputs);
            let mut m = metrics::named(&scores, "");
            let s = scale.map_or(1.0, |s| s.std);
            // The loss the network minimises: MSE of the standardised target.
            if let Some(rmse) = scores.get(&Metric::Rmse) {
                m.insert("loss".into(), (rmse / s).powi(2));
            }
            m
        }
        _ => {
            return Err(TrainError::Training(
                "the target does not match the task".into(),
            ));
        }
    })
}

/// A non-finite loss ends training with advice.
fn diverged(loss: f64, epoch: usize, lr: f64) -> TrainResult<()> {
    if loss.is_finite() {
        Ok(())
    } else {
        Err(TrainError::Training(format!(
            "the loss became {loss} in epoch {epoch}; lower the learning rate (now {lr})"
        )))
    }
}

/// Probabilities (row-major) or unscaled values for every row of `x`.
pub fn predict_raw(
    net: &Net,
    x: &Features,
    task: &Task,
    scale: Option<TargetScale>,
    device: &Device,
) -> Vec<f64> {
    const CHUNK: usize = 8192;
    let inputs = x.to_f32();
    let mut out = Vec::new();
    for start in (0..x.rows).step_by(CHUNK) {
        let end = (start + CHUNK).min(x.rows);
        let chunk = inputs[start * x.cols..end * x.cols].to_vec();
        let tensor = Tensor::<2>::from_data(TensorData::new(chunk, [end - start, x.cols]), device);
        let logits = net.forward(tensor);
        let logits = if task.is_classification() {
            softmax(logits, 1)
        } else {
            logits
        };
        let data = logits.into_data();
        let values = data
            .as_slice::<f32>()
            .map(<[f32]>::to_vec)
            .unwrap_or_default();
        out.extend(values.into_iter().map(f64::from));
    }
    if let Some(s) = scale {
        for v in &mut out {
            *v = *v * s.std + s.mean;
        }
    }
    out
}

enum TargetBatches {
    Classes(Vec<i64>),
    Values(Vec<f32>),
}

impl TargetBatches {
    fn new(y: &EncodedTarget, scale: Option<TargetScale>) -> Self {
        match (y, scale) {
            (EncodedTarget::Classes(codes), _) => {
                TargetBatches::Classes(codes.iter().map(|&c| c as i64).collect())
            }
            (EncodedTarget::Values(values), scale) => {
                let s = scale.unwrap_or(TargetScale {
                    mean: 0.0,
                    std: 1.0,
                });
                TargetBatches::Values(
                    values
                        .iter()
                        .map(|v| ((v - s.mean) / s.std) as f32)
                        .collect(),
                )
            }
        }
    }
}

fn scale_of(values: &[f64]) -> TargetScale {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    TargetScale {
        mean,
        std: if std > 1e-12 { std } else { 1.0 },
    }
}

fn optimizer(spec: &TrainingSpec) -> ModuleOptimizer {
    let decay = (spec.weight_decay > 0.0).then(|| WeightDecayConfig::new(spec.weight_decay as f32));
    match spec.optimizer {
        Optimizer::Adam => AdamConfig::new().with_weight_decay(decay).init(),
        Optimizer::AdamW => AdamWConfig::new()
            .with_weight_decay(spec.weight_decay as f32)
            .init(),
        Optimizer::Sgd => SgdConfig::new()
            .with_weight_decay(decay)
            .with_momentum((spec.momentum > 0.0).then(|| {
                MomentumConfig::new()
                    .with_momentum(spec.momentum)
                    .with_dampening(0.0)
            }))
            .init(),
    }
}
