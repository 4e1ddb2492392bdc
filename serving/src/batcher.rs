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
//! Cheap calls run inline. Handing a request to a worker thread and waking
//! its task again costs two thread wake-ups (tens of microseconds on a busy
//! machine), more than a small model's whole prediction. So when nothing is
//! queued, a model slot is free and the call is expected (from the model's
//! recent calls) to take under [`INLINE_BUDGET`], the request's own task
//! runs the model.
//! Inline calls take the same slots as the workers (at most `workers` model
//! calls at once, either way), so the pool stays bounded; once calls get
//! slower or requests pile up, everything goes through the queue and batches.
//!
//! Back-pressure: the queue holds at most `queue_rows` rows. A request that
//! does not fit is refused at once ([`ServeError::Unavailable`], a 503 with
//! Retry-After) instead of growing memory. A request whose caller has gone
//! (timed out, disconnected) is dropped from the queue without running.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use smelt_data::{Column, Frame, Values};
use smelt_models::{Predictions, Predictor};
use tokio::sync::oneshot;

use crate::error::{Result, ServeError};

/// How a variant batches: the type is `smelt-api`'s (endpoint specs carry
/// it over the wire); what it means for a running batcher is here.
pub use smelt_api::endpoints::BatchConfig;

/// Serving's rules over a [`BatchConfig`]: its limits, and the durations and
/// thread counts it stands for.
pub trait BatchConfigExt {
    /// Refuses settings no batcher can run with (the message names the field).
    fn validate(&self) -> Result<()>;
    /// How long a request may wait for its answer.
    fn timeout(&self) -> Duration;
    /// Worker threads to start (`workers`, or one per core for 0).
    fn worker_count(&self) -> usize;
}

impl BatchConfigExt for BatchConfig {
    fn validate(&self) -> Result<()> {
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

    fn timeout(&self) -> Duration {
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

/// Longest expected model call that still runs on the request's own task
/// (blocking an async worker this long is harmless).
pub const INLINE_BUDGET: Duration = Duration::from_micros(100);
/// Calls of at most this many rows cost about the same (fixed costs
/// dominate); above it, cost is estimated per row.
const SMALL_ROWS: usize = 8;
const UNKNOWN: u64 = u64::MAX;

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
    /// Model calls running now, inline or on workers.
    running: usize,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    model: Arc<dyn Predictor>,
    config: BatchConfig,
    /// At most this many model calls at once.
    slots: usize,
    /// Moving averages of small calls' duration and of larger calls' time
    /// per row, nanoseconds; [`UNKNOWN`] until such a call has run (the first
    /// calls go through the queue, so an unmeasured model never blocks a
    /// request's task).
    small_call_ns: AtomicU64,
    row_ns: AtomicU64,
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
        let slots = config.worker_count();
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            model,
            config,
            slots,
            small_call_ns: AtomicU64::new(UNKNOWN),
            row_ns: AtomicU64::new(UNKNOWN),
            observer,
        });
        let workers = (0..slots)
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
        if self.take_inline_slot(rows) {
            return self.run_inline(frame);
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

    /// Claims a model slot for an inline call when that is the cheap way.
    fn take_inline_slot(&self, rows: usize) -> bool {
        if self.shared.config.max_delay_us > 0
            || rows > self.shared.config.max_batch_rows
            || expected_ns(&self.shared, rows) > INLINE_BUDGET.as_nanos()
        {
            return false;
        }
        let mut queue = self.lock();
        if queue.jobs.is_empty() && queue.running < self.shared.slots && !queue.closed {
            queue.running += 1;
            true
        } else {
            false
        }
    }

    /// Runs one request on the caller's thread, in a slot it holds.
    fn run_inline(&self, frame: Frame) -> Result<Answer> {
        let started = Instant::now();
        let rows = frame.rows();
        let result = predict_guarded(self.shared.model.as_ref(), &frame);
        let inference = started.elapsed();
        let queued_rows = release_slot(&self.shared);
        record_call(&self.shared, rows, inference, queued_rows);
        result.map(|predictions| Answer {
            predictions,
            queued: Duration::ZERO,
            inference,
            batch_rows: rows,
        })
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

/// Gives a model slot back; a queued batch may now run. Returns the rows
/// waiting.
fn release_slot(shared: &Shared) -> usize {
    let mut queue = lock(&shared.queue);
    queue.running -= 1;
    if !queue.jobs.is_empty() && queue.idle_workers > 0 {
        shared.wake.notify_one();
    }
    queue.rows
}

/// How long a call on `rows` rows should take, from recent calls.
fn expected_ns(shared: &Shared, rows: usize) -> u128 {
    let estimate = if rows <= SMALL_ROWS {
        shared.small_call_ns.load(Ordering::Relaxed)
    } else {
        shared.row_ns.load(Ordering::Relaxed)
    };
    if estimate == UNKNOWN {
        return u128::MAX;
    }
    let estimate = u128::from(estimate);
    if rows <= SMALL_ROWS {
        estimate
    } else {
        estimate * rows as u128
    }
}

/// Metrics, and the moving averages that decide whether calls run inline.
fn record_call(shared: &Shared, rows: usize, inference: Duration, queued_rows: usize) {
    let ns = u64::try_from(inference.as_nanos()).unwrap_or(u64::MAX - 1);
    if rows <= SMALL_ROWS {
        update_average(&shared.small_call_ns, ns);
    } else {
        update_average(&shared.row_ns, ns / rows as u64);
    }
    if let Some(observer) = &shared.observer {
        observer(rows, inference, queued_rows);
    }
}

/// Weight 1/8: one slow call (a page fault, a preemption) does not switch
/// the path; a model that got slower does within a few calls.
fn update_average(average: &AtomicU64, sample: u64) {
    let current = average.load(Ordering::Relaxed);
    let updated = if current == UNKNOWN {
        sample
    } else {
        current - current / 8 + sample / 8
    };
    average.store(updated.min(UNKNOWN - 1), Ordering::Relaxed);
}

/// Waits for work and a free model slot, then takes a batch (claiming the
/// slot); `None` once closed and drained.
fn next_batch(shared: &Shared) -> Option<Vec<Job>> {
    let config = &shared.config;
    let mut queue = lock(&shared.queue);
    loop {
        drop_abandoned(&mut queue);
        if queue.closed && queue.jobs.is_empty() {
            return None;
        }
        if queue.jobs.is_empty() || queue.running >= shared.slots {
            queue = wait(shared, queue, None);
            continue;
        }
        if config.max_delay_us > 0 && queue.rows < config.max_batch_rows {
            let deadline = queue.jobs[0].enqueued + Duration::from_micros(config.max_delay_us);
            while queue.rows < config.max_batch_rows && !queue.closed {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                queue = wait(shared, queue, Some(deadline - now));
            }
            drop_abandoned(&mut queue);
            // Another worker may have taken the jobs, or the slots, meanwhile.
            if queue.jobs.is_empty() || queue.running >= shared.slots {
                continue;
            }
        }
        return Some(take_batch(shared, &mut queue));
    }
}

fn wait<'a>(
    shared: &Shared,
    mut queue: MutexGuard<'a, Queue>,
    timeout: Option<Duration>,
) -> MutexGuard<'a, Queue> {
    queue.idle_workers += 1;
    let mut queue = match timeout {
        None => shared
            .wake
            .wait(queue)
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
        Some(timeout) => {
            shared
                .wake
                .wait_timeout(queue, timeout)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0
        }
    };
    queue.idle_workers -= 1;
    queue
}

/// Takes the oldest jobs up to `max_batch_rows` (at least one) and a slot.
fn take_batch(shared: &Shared, queue: &mut Queue) -> Vec<Job> {
    let mut batch = Vec::new();
    let mut rows = 0;
    while let Some(job) = queue.jobs.front() {
        let job_rows = job.frame.rows();
        if !batch.is_empty() && rows + job_rows > shared.config.max_batch_rows {
            break;
        }
        rows += job_rows;
        queue.rows -= job_rows;
        batch.extend(queue.jobs.pop_front());
    }
    queue.running += 1;
    // Another worker may take what is left while this one computes.
    if !queue.jobs.is_empty() && queue.running < shared.slots && queue.idle_workers > 0 {
        shared.wake.notify_one();
    }
    batch
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
    let queued_rows = release_slot(shared);
    record_call(shared, rows, inference, queued_rows);
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
                (Values::Categorical(a), Values::Categorical(b)) => a.extend_from(b),
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
