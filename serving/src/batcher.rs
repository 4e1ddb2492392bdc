//! Dynamic batching for one loaded model version.
//!
//! Requests append their rows to a bounded queue and wait on a oneshot
//! channel. A fixed pool of worker threads takes the queue apart: each worker
//! takes as many waiting requests as fit in `max_batch_rows`, optionally
//! lingers up to `max_delay` for more, runs the model once on the stacked
//! rows and hands every request its slice of the answer.
//!
//! Why threads and not tokio tasks: inference is CPU work that must not stall
//! the HTTP runtime, and a small fixed pool bounds how many batches run at
//! once. Why no linger by default: requests pile up on their own while a
//! batch runs (text-embeddings-inference batches the same way), so a
//! delay only adds latency at low load; it is a knob for throughput-bound
//! deployments of heavier models.
//!
//! Back-pressure: the queue holds at most `queue_rows` rows. A request that
//! does not fit is refused at once ([`ServeError::Unavailable`], a 503 with
//! Retry-After) instead of growing memory. A request whose caller has gone
//! (timed out, disconnected) is dropped from the queue without running.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use smelt_data::{Column, Frame, Values};
use smelt_models::{Predictions, Predictor};
use tokio::sync::oneshot;

use crate::error::{Result, ServeError};

/// How a variant batches. Every field has a measured default (see
/// ARCHITECTURE.md, "Serving speed").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatchConfig {
    /// Most rows one model call takes.
    pub max_batch_rows: usize,
    /// How long a worker waits for more requests once it has some, in
    /// microseconds (0: run whatever is waiting at once).
    pub max_delay_us: u64,
    /// Most rows waiting in the queue before requests are refused with 503.
    pub queue_rows: usize,
    /// Worker threads running the model (0: one per core).
    pub workers: usize,
    /// How long a request may wait for its answer, in milliseconds.
    pub timeout_ms: u64,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_batch_rows: 256,
            max_delay_us: 0,
            queue_rows: 65_536,
            workers: 0,
            timeout_ms: 30_000,
        }
    }
}

impl BatchConfig {
    pub fn validate(&self) -> Result<()> {
        if self.max_batch_rows == 0 {
            return Err(ServeError::InvalidInput(
                "batching.max_batch_rows must be at least 1".into(),
            ));
        }
        if self.queue_rows < self.max_batch_rows {
            return Err(ServeError::InvalidInput(format!(
                "batching.queue_rows ({}) must be at least max_batch_rows ({})",
                self.queue_rows, self.max_batch_rows
            )));
        }
        if self.timeout_ms == 0 {
            return Err(ServeError::InvalidInput(
                "batching.timeout_ms must be positive".into(),
            ));
        }
        if self.max_delay_us > 1_000_000 {
            return Err(ServeError::InvalidInput(
                "batching.max_delay_us is at most 1000000 (one second)".into(),
            ));
        }
        Ok(())
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    fn worker_count(&self) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}

/// What a request gets back: its predictions and where the time went.
#[derive(Debug)]
pub struct Answer {
    pub predictions: Predictions,
    /// Time spent waiting in the queue.
    pub queued: Duration,
    /// Time the model call took (shared by the whole batch).
    pub inference: Duration,
    /// Rows in the batch this request ran in.
    pub batch_rows: usize,
}

/// Called after each model call: (rows in the batch, model time, queue
/// depth in rows after taking the batch). Serving records these as metrics.
pub type BatchObserver = Arc<dyn Fn(usize, Duration, usize) + Send + Sync>;

struct Job {
    frame: Frame,
    enqueued: Instant,
    reply: oneshot::Sender<Result<Answer>>,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    rows: usize,
    idle_workers: usize,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    model: Arc<dyn Predictor>,
    config: BatchConfig,
    observer: Option<BatchObserver>,
}

/// The queue and worker pool of one model version. Dropping it lets the
/// workers finish what is queued, then stop.
pub struct Batcher {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl Batcher {
    pub fn start(
        model: Arc<dyn Predictor>,
        config: BatchConfig,
        observer: Option<BatchObserver>,
    ) -> Batcher {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            model,
            config,
            observer,
        });
        let workers = (0..shared.config.worker_count())
            .map(|i| {
                let shared = shared.clone();
                std::thread::Builder::new()
                    .name(format!("smelt-infer-{i}"))
                    .spawn(move || work(&shared))
                    .expect("the OS refused to start an inference thread")
            })
            .collect();
        Batcher { shared, workers }
    }

    /// Queues `frame` and waits for its predictions, at most the configured
    /// timeout.
    pub async fn predict(&self, frame: Frame) -> Result<Answer> {
        let rows = frame.rows();
        if rows > self.shared.config.queue_rows {
            return Err(ServeError::PayloadTooLarge(format!(
                "the request has {rows} rows; this endpoint takes at most {} per request",
                self.shared.config.queue_rows
            )));
        }
        let (reply, answer) = oneshot::channel();
        {
            let mut queue = self.lock();
            if queue.rows + rows > self.shared.config.queue_rows {
                return Err(ServeError::Unavailable(format!(
                    "the model's queue is full ({} rows waiting); retry shortly",
                    queue.rows
                )));
            }
            queue.rows += rows;
            queue.jobs.push_back(Job {
                frame,
                enqueued: Instant::now(),
                reply,
            });
            // Waking a sleeping worker is a syscall; busy workers will find
            // the job when they look again.
            if queue.idle_workers > 0 {
                self.shared.wake.notify_one();
            }
        }
        match tokio::time::timeout(self.shared.config.timeout(), answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ServeError::Internal(
                "the inference worker stopped before answering".into(),
            )),
            Err(_) => Err(ServeError::Timeout(format!(
                "no prediction within {} ms",
                self.shared.config.timeout_ms
            ))),
        }
    }

    /// Rows waiting now.
    pub fn queued_rows(&self) -> usize {
        self.lock().rows
    }

    pub fn config(&self) -> &BatchConfig {
        &self.shared.config
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        lock(&self.shared.queue)
    }
}

impl Drop for Batcher {
    fn drop(&mut self) {
        lock(&self.shared.queue).closed = true;
        self.shared.wake.notify_all();
        // Workers drain the queue before stopping; don't block the caller
        // (possibly an async task) on that.
        self.workers.clear();
    }
}

/// A poisoned lock only means a worker panicked mid-update of plain
/// counters; the queue itself stays consistent, so keep serving.
fn lock(mutex: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn work(shared: &Shared) {
    while let Some(batch) = next_batch(shared) {
        run_batch(shared, batch);
    }
}

/// Waits for work, then takes a batch; `None` once closed and drained.
fn next_batch(shared: &Shared) -> Option<Vec<Job>> {
    let config = &shared.config;
    let mut queue = lock(&shared.queue);
    loop {
        drop_abandoned(&mut queue);
        if !queue.jobs.is_empty() {
            break;
        }
        if queue.closed {
            return None;
        }
        queue.idle_workers += 1;
        queue = shared
            .wake
            .wait(queue)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        queue.idle_workers -= 1;
    }
    if config.max_delay_us > 0 && queue.rows < config.max_batch_rows {
        let deadline = queue.jobs[0].enqueued + Duration::from_micros(config.max_delay_us);
        while queue.rows < config.max_batch_rows && !queue.closed {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            queue.idle_workers += 1;
            queue = shared
                .wake
                .wait_timeout(queue, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
            queue.idle_workers -= 1;
        }
        drop_abandoned(&mut queue);
    }
    let mut batch = Vec::new();
    let mut rows = 0;
    while let Some(job) = queue.jobs.front() {
        let job_rows = job.frame.rows();
        if !batch.is_empty() && rows + job_rows > config.max_batch_rows {
            break;
        }
        rows += job_rows;
        queue.rows -= job_rows;
        batch.extend(queue.jobs.pop_front());
    }
    // Another worker may take what is left while this one computes.
    if !queue.jobs.is_empty() && queue.idle_workers > 0 {
        shared.wake.notify_one();
    }
    Some(batch)
}

fn drop_abandoned(queue: &mut Queue) {
    if queue.jobs.iter().any(|job| job.reply.is_closed()) {
        let mut kept = VecDeque::with_capacity(queue.jobs.len());
        for job in queue.jobs.drain(..) {
            if job.reply.is_closed() {
                queue.rows -= job.frame.rows();
            } else {
                kept.push_back(job);
            }
        }
        queue.jobs = kept;
    }
}

fn run_batch(shared: &Shared, batch: Vec<Job>) {
    let started = Instant::now();
    let sizes: Vec<usize> = batch.iter().map(|job| job.frame.rows()).collect();
    let rows: usize = sizes.iter().sum();
    let result = stack(batch.iter().map(|job| &job.frame))
        .and_then(|frame| predict_guarded(shared.model.as_ref(), &frame))
        .and_then(|predictions| split(predictions, &sizes));
    let inference = started.elapsed();
    if let Some(observer) = &shared.observer {
        observer(rows, inference, lock(&shared.queue).rows);
    }
    match result {
        Ok(parts) => {
            for (job, predictions) in batch.into_iter().zip(parts) {
                let _ = job.reply.send(Ok(Answer {
                    predictions,
                    queued: started.saturating_duration_since(job.enqueued),
                    inference,
                    batch_rows: rows,
                }));
            }
        }
        Err(error) => {
            for job in batch {
                let _ = job.reply.send(Err(error.clone()));
            }
        }
    }
}

/// A panic inside a model must cost one batch, not the worker.
fn predict_guarded(model: &dyn Predictor, frame: &Frame) -> Result<Predictions> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| model.predict(frame))) {
        Ok(Ok(predictions)) => Ok(predictions),
        Ok(Err(smelt_models::ModelError::Input(message))) => Err(ServeError::InvalidInput(message)),
        Ok(Err(error)) => Err(ServeError::Internal(format!("the model failed: {error}"))),
        Err(_) => Err(ServeError::Internal(
            "the model panicked on this batch".into(),
        )),
    }
}

/// Stacks the requests' frames (same schema: the protocols build them from
/// the model's signature) into one.
fn stack<'a>(mut frames: impl ExactSizeIterator<Item = &'a Frame>) -> Result<Frame> {
    let count = frames.len();
    let first = frames
        .next()
        .ok_or_else(|| ServeError::Internal("an empty batch was formed".into()))?;
    if count == 1 {
        return Ok(first.clone());
    }
    let mut columns: Vec<Column> = first.columns().to_vec();
    for frame in frames {
        for (column, more) in columns.iter_mut().zip(frame.columns()) {
            match (&mut column.values, &more.values) {
                (Values::Numeric(a), Values::Numeric(b)) => a.extend_from_slice(b),
                (Values::Categorical(a), Values::Categorical(b)) => a.extend_from_slice(b),
                _ => {
                    return Err(ServeError::Internal(format!(
                        "column '{}' changed kind between requests",
                        column.name
                    )));
                }
            }
        }
    }
    Frame::new(columns).map_err(|e| ServeError::Internal(e.to_string()))
}

/// Cuts a batch's predictions back into one part per request.
pub(crate) fn split(predictions: Predictions, sizes: &[usize]) -> Result<Vec<Predictions>> {
    let total: usize = sizes.iter().sum();
    if predictions.len() != total {
        return Err(ServeError::Internal(format!(
            "the model returned {} predictions for {total} rows",
            predictions.len()
        )));
    }
    if sizes.len() == 1 {
        return Ok(vec![predictions]);
    }
    let mut parts = Vec::with_capacity(sizes.len());
    match predictions {
        Predictions::Values(values) => {
            let mut values = values.into_iter();
            for &size in sizes {
                parts.push(Predictions::Values(values.by_ref().take(size).collect()));
            }
        }
        Predictions::Classes {
            classes,
            labels,
            probabilities,
        } => {
            let mut labels = labels.into_iter();
            let mut probabilities = probabilities.into_iter();
            for &size in sizes {
                parts.push(Predictions::Classes {
                    classes: classes.clone(),
                    labels: labels.by_ref().take(size).collect(),
                    probabilities: probabilities.by_ref().take(size).collect(),
                });
            }
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests;
