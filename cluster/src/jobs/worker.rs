//! `smelt worker`: pulls jobs it can run, heartbeats while it runs them,
//! streams their logs, and acknowledges at the end.

use std::future::Future;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::{AckKind, Message};
use futures::StreamExt;
use smelt_api::jobs::JobStatus;
use smelt_tracking::entities::Tag;
use smelt_trainer::executor::{JobRunner, RunContext, run_spec};
use smelt_trainer::progress::ProgressMode;
use smelt_trainer::tracker::now_ms;
use smelt_trainer::{DataRoots, Tracking, TrainError};
use tokio::sync::Semaphore;

use super::{JobBook, JobEntry, labels_key, queue_subject, servable};
use crate::error::{ClusterError, ClusterResult};
use crate::queue::Queue;

/// How a worker runs.
#[derive(Clone)]
pub struct WorkerOptions {
    /// This worker's name in job records and run tags (host and process).
    pub name: String,
    /// Jobs run at once.
    pub concurrency: usize,
    /// What this worker offers (`gpu`, `highmem` …).
    pub labels: Vec<String>,
    /// How long a job's message waits for a heartbeat before JetStream
    /// gives it to another worker; heartbeats go every third of it.
    pub ack_wait: Duration,
    /// Deliveries of one job before it is failed (its worker was lost each
    /// time).
    pub max_attempts: u32,
    /// Relative data paths resolve here.
    pub base_dir: PathBuf,
    /// Local folders jobs may read (artifact URIs are always readable).
    pub data_roots: DataRoots,
    /// Where logs are staged before they are streamed.
    pub scratch: PathBuf,
}

/// A worker process's loop.
pub struct Worker {
    book: JobBook,
    queue: Queue,
    options: WorkerOptions,
    tracking: Tracking,
    runners: Vec<Arc<dyn JobRunner>>,
}

impl Worker {
    pub fn new(
        queue: Queue,
        options: WorkerOptions,
        tracking: Tracking,
        runners: Vec<Arc<dyn JobRunner>>,
    ) -> ClusterResult<Self> {
        if options.concurrency == 0 {
            return Err(ClusterError::Invalid(
                "--concurrency must be at least 1".into(),
            ));
        }
        if options.max_attempts == 0 {
            return Err(ClusterError::Invalid(
                "--max-attempts must be at least 1".into(),
            ));
        }
        std::fs::create_dir_all(&options.scratch).map_err(|e| {
            ClusterError::Invalid(format!(
                "cannot create the worker's scratch folder {}: {e}",
                options.scratch.display()
            ))
        })?;
        Ok(Worker {
            book: JobBook::new(queue.clone()),
            queue,
            options,
            tracking,
            runners,
        })
    }

    /// One durable consumer per label set this worker serves, shared with
    /// every other worker that serves it.
    async fn consumers(&self) -> ClusterResult<Vec<(String, PullConsumer)>> {
        let mut consumers = Vec::new();
        for set in servable(&self.options.labels)? {
            let name = format!("jobs-{}", labels_key(&set));
            let config = pull::Config {
                durable_name: Some(name.clone()),
                filter_subject: queue_subject(&set),
                ack_policy: AckPolicy::Explicit,
                ack_wait: self.options.ack_wait,
                // One delivery past the limit reaches a worker, which fails
                // the job with the reason instead of it vanishing.
                max_deliver: i64::from(self.options.max_attempts) + 1,
                ..Default::default()
            };
            let consumer = self
                .queue
                .jobs
                .get_or_create_consumer(&name, config)
                .await
                .map_err(|e| ClusterError::nats("open the job consumer", e))?;
            consumers.push((labels_key(&set), consumer));
        }
        Ok(consumers)
    }

    /// Pulls and runs jobs until `shutdown` resolves, then waits for the
    /// jobs it runs to finish.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> ClusterResult<()> {
        let consumers = self.consumers().await?;
        tracing::info!(
            worker = %self.options.name,
            labels = %labels_key(&self.options.labels),
            concurrency = self.options.concurrency,
            "worker ready"
        );
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let stopped = || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|stop| *stop).await;
            }
        };
        let this = Arc::new(self);
        let slots = Arc::new(Semaphore::new(this.options.concurrency));
        // With several consumers a pull waits briefly on each in turn.
        let wait = if consumers.len() == 1 {
            Duration::from_secs(5)
        } else {
            Duration::from_millis(250)
        };
        let mut next = 0usize;
        'pulling: loop {
            let slot = tokio::select! {
                slot = slots.clone().acquire_owned() => slot.expect("the semaphore stays open"),
                () = stopped() => break,
            };
            let message = loop {
                if *stop_rx.borrow() {
                    break 'pulling;
                }
                let (_, consumer) = &consumers[next % consumers.len()];
                next += 1;
                let pulled = tokio::select! {
                    pulled = pull_one(consumer, wait) => pulled,
                    () = stopped() => None,
                };
                if let Some(message) = pulled {
                    break message;
                }
            };
            let worker = this.clone();
            tokio::spawn(async move {
                worker.handle(message).await;
                drop(slot);
            });
        }
        tracing::info!("worker stopping: waiting for its running jobs");
        let _ = slots.acquire_many(this.options.concurrency as u32).await;
        Ok(())
    }

    /// One delivery of a job.
    async fn handle(self: Arc<Self>, message: Message) {
        let job_id = String::from_utf8_lossy(&message.payload).to_string();
        let delivered = message.info().map(|i| i.delivered).unwrap_or(1).max(1) as u32;
        let entry = match self.book.get(&job_id).await {
            Ok(Some((entry, _))) => entry,
            Ok(None) => {
                tracing::warn!(%job_id, "a queued job without a record; dropped");
                let _ = message.double_ack().await;
                return;
            }
            Err(e) => {
                // NATS trouble: let the message come back later.
                tracing::warn!(%job_id, error = %e, "cannot read the job record");
                let _ = message
                    .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                    .await;
                return;
            }
        };
        if entry.record.status.is_final() {
            let _ = message.double_ack().await;
            return;
        }
        if entry.cancel_requested {
            self.finish(
                &job_id,
                JobStatus::Cancelled,
                None,
                "cancelled before it ran again\n",
            )
            .await;
            let _ = message.double_ack().await;
            return;
        }
        if delivered > self.options.max_attempts {
            let reason = format!(
                "the job was started {} times and each time its worker was lost (killed, or cut off from NATS) before it finished; giving up",
                delivered - 1
            );
            self.finish(
                &job_id,
                JobStatus::Failed,
                Some(reason.clone()),
                &format!("failed: {reason}\n"),
            )
            .await;
            let _ = message.ack_with(AckKind::Term).await;
            return;
        }
        let name = self.options.name.clone();
        let started = self
            .book
            .update(&job_id, |e| {
                e.record.status = JobStatus::Running;
                e.record.started_at = Some(now_ms());
                e.record.attempts += 1;
                e.worker = Some(name.clone());
                true
            })
            .await;
        let entry = match started {
            Ok(Some(entry)) => entry,
            _ => {
                let _ = message
                    .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                    .await;
                return;
            }
        };
        self.run_attempt(entry, message).await;
    }

    async fn run_attempt(self: Arc<Self>, entry: JobEntry, message: Message) {
        let job_id = entry.record.job_id.clone();
        let log = JobLog::open(&self.options.scratch, &job_id);
        log.line(&format!(
            "attempt {} started on worker {}{}\n",
            entry.record.attempts,
            self.options.name,
            match &entry.record.run_id {
                Some(run) => format!(", resuming run {run} from its last checkpoint"),
                None => String::new(),
            }
        ));
        let cancel = Arc::new(AtomicBool::new(false));
        let lost_queue = Arc::new(AtomicBool::new(false));
        let done = Arc::new(Finished::default());
        let heartbeat = tokio::spawn(self.clone().heartbeat(
            job_id.clone(),
            message,
            log.clone(),
            cancel.clone(),
            lost_queue.clone(),
            done.clone(),
        ));

        let worker = self.clone();
        let recorder_id = job_id.clone();
        let runtime = self.tracking.runtime.clone();
        let on_run: smelt_trainer::job::RunCallback = Arc::new(move |run_id: &str| {
            let run_id = run_id.to_string();
            let update = worker.book.update(&recorder_id, |e| {
                e.record.run_id = Some(run_id.clone());
                true
            });
            if let Err(e) = runtime.block_on(update) {
                tracing::warn!(job_id = %recorder_id, error = %e, "cannot record the job's run");
            }
        });
        let context = RunContext {
            base_dir: self.options.base_dir.clone(),
            data_roots: self.options.data_roots.clone(),
            previous_run: entry.record.run_id.clone(),
            progress: ProgressMode::LogFile(log.path.clone()),
            cancel: cancel.clone(),
            tags: vec![
                Tag::new("smelt.job_id", &job_id),
                Tag::new(smelt_trainer::tracker::WORKER_TAG, &self.options.name),
            ],
            on_run,
        };
        let worker = self.clone();
        let spec = entry.spec.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            run_spec(&worker.runners, &spec, &worker.tracking, context)
        })
        .await
        .unwrap_or_else(|e| Err(TrainError::Training(format!("the job crashed: {e}"))));

        let (status, error, version, line) = match outcome {
            Ok(result) => (
                JobStatus::Succeeded,
                None,
                result.model_version,
                format!("finished: run {}\n", result.run_id),
            ),
            // Stopped after losing the queue (or failing because the link
            // went with it): the job is redelivered, and another worker may
            // already be resuming the run, so nothing is recorded here.
            Err(_) if lost_queue.load(Ordering::SeqCst) => {
                log.line(
                    "lost the queue: the job is left to the next worker, which resumes its run\n",
                );
                done.set();
                let _ = heartbeat.await;
                return;
            }
            Err(TrainError::Cancelled) => (
                JobStatus::Cancelled,
                None,
                None,
                "cancelled; the run is closed as KILLED\n".to_string(),
            ),
            Err(error) => (
                JobStatus::Failed,
                Some(error.to_string()),
                None,
                format!("failed: {error}\n"),
            ),
        };
        log.line(&line);
        done.set();
        // The heartbeat task flushes the log and hands the message back.
        let Ok(message) = heartbeat.await else {
            return;
        };
        self.record_outcome(&job_id, status, error, version).await;
        if let Some(message) = message {
            acknowledge(&message).await;
        }
    }

    /// Keeps the message alive, streams the log, and watches for cancels
    /// and for a lost connection; returns the message once the job is done.
    async fn heartbeat(
        self: Arc<Self>,
        job_id: String,
        message: Message,
        log: JobLog,
        cancel: Arc<AtomicBool>,
        lost_queue: Arc<AtomicBool>,
        done: Arc<Finished>,
    ) -> Option<Message> {
        let every = (self.options.ack_wait / 3).max(Duration::from_millis(100));
        // Past this without a heartbeat reaching NATS, another worker may
        // get the job: stop ours first.
        let give_up = self.options.ack_wait.mul_f64(0.75);
        let mut last_ok = Instant::now();
        let mut sent = 0u64;
        loop {
            let finished = done.is_set();
            sent = self.stream_log(&job_id, &log, sent).await;
            if finished {
                return (!lost_queue.load(Ordering::SeqCst)).then_some(message);
            }
            match message.ack_with(AckKind::Progress).await {
                Ok(()) => last_ok = Instant::now(),
                Err(e) => tracing::debug!(%job_id, error = %e, "heartbeat not sent"),
            }
            if let Ok(Some((entry, _))) = self.book.get(&job_id).await {
                last_ok = Instant::now().max(last_ok);
                if entry.cancel_requested && !cancel.load(Ordering::SeqCst) {
                    log.line("cancel requested: stopping at the next batch\n");
                    cancel.store(true, Ordering::SeqCst);
                }
            }
            if last_ok.elapsed() > give_up && !lost_queue.load(Ordering::SeqCst) {
                tracing::warn!(%job_id, "no heartbeat reached NATS in time; stopping the job so another worker can resume it");
                lost_queue.store(true, Ordering::SeqCst);
                cancel.store(true, Ordering::SeqCst);
            }
            tokio::select! {
                () = tokio::time::sleep(every.min(Duration::from_millis(500))) => {}
                () = done.wait() => {}
            }
        }
    }

    /// Publishes what the job wrote to its log since `sent` bytes; returns
    /// how far the log is now published (unchanged when NATS is away, so
    /// the next tick sends it).
    async fn stream_log(&self, job_id: &str, log: &JobLog, sent: u64) -> u64 {
        let Some((chunk, read)) = log.read_from(sent) else {
            return sent;
        };
        match self.book.append_log(job_id, &chunk).await {
            Ok(()) => sent + read,
            Err(_) => sent,
        }
    }

    /// Writes the outcome, retrying while NATS is away: a finished job must
    /// not be run again.
    async fn record_outcome(
        &self,
        job_id: &str,
        status: JobStatus,
        error: Option<String>,
        version: Option<String>,
    ) {
        let mut delay = Duration::from_millis(200);
        loop {
            let result = self
                .book
                .update(job_id, |e| {
                    e.record.status = status;
                    e.record.finished_at = Some(now_ms());
                    e.record.error = error.clone();
                    if version.is_some() {
                        e.record.model_version = version.clone();
                    }
                    e.cancel_requested = false;
                    true
                })
                .await;
            match result {
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(%job_id, error = %e, "cannot record the job's outcome yet; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// Ends a job that did not run (cancelled, or out of attempts).
    async fn finish(&self, job_id: &str, status: JobStatus, error: Option<String>, line: &str) {
        let stamped = format!(
            "[{}] {line}",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        );
        let _ = self.book.append_log(job_id, &stamped).await;
        self.record_outcome(job_id, status, error, None).await;
    }
}

/// Tells the heartbeat that the job ended, at once rather than at its
/// next tick (the outcome is recorded only after the heartbeat's last log
/// flush).
#[derive(Default)]
struct Finished {
    flag: AtomicBool,
    notify: tokio::sync::Notify,
}

impl Finished {
    fn set(&self) {
        self.flag.store(true, Ordering::SeqCst);
        // `notify_one` keeps a permit when nobody waits yet: no lost wake-up.
        self.notify.notify_one();
    }

    fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    async fn wait(&self) {
        self.notify.notified().await;
    }
}

/// One message from `consumer`, waiting at most `wait`.
async fn pull_one(consumer: &PullConsumer, wait: Duration) -> Option<Message> {
    let batch = consumer
        .fetch()
        .max_messages(1)
        .expires(wait)
        .messages()
        .await;
    match batch {
        Ok(mut batch) => match batch.next().await {
            Some(Ok(message)) => Some(message),
            Some(Err(e)) => {
                tracing::debug!(error = %e, "pull failed");
                None
            }
            None => None,
        },
        Err(e) => {
            // NATS is away: the client reconnects; try again shortly.
            tracing::debug!(error = %e, "pull failed");
            tokio::time::sleep(Duration::from_millis(500)).await;
            None
        }
    }
}

/// The final acknowledgement (which removes the job from the work queue),
/// retried while NATS is away.
async fn acknowledge(message: &Message) {
    for attempt in 0..20u32 {
        match message.double_ack().await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, attempt, "cannot acknowledge the job yet; retrying");
                tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt + 1))).await;
            }
        }
    }
}

/// A job's log on the worker's disk, streamed to NATS by the heartbeat.
#[derive(Clone)]
struct JobLog {
    path: PathBuf,
}

impl JobLog {
    fn open(scratch: &std::path::Path, job_id: &str) -> JobLog {
        let path = scratch.join(format!("{job_id}.log"));
        // A new attempt on this worker starts a new local file; NATS keeps
        // the earlier attempts' lines.
        let _ = std::fs::write(&path, "");
        JobLog { path }
    }

    fn line(&self, text: &str) {
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
        {
            let _ = write!(
                file,
                "[{}] {text}",
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
            );
        }
    }

    /// The whole lines written after byte `offset`, if any, and how many
    /// bytes they took.
    fn read_from(&self, offset: u64) -> Option<(String, u64)> {
        let mut file = std::fs::File::open(&self.path).ok()?;
        file.seek(SeekFrom::Start(offset)).ok()?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).ok()?;
        let end = bytes.iter().rposition(|b| *b == b'\n')? + 1;
        bytes.truncate(end);
        Some((String::from_utf8_lossy(&bytes).into_owned(), end as u64))
    }
}
