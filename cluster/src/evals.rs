//! Distributed autopilot searches: the fold fits of a search that runs on a
//! `smelt worker` go to every worker's cores through a JetStream work queue.
//!
//! | object | kind | holds |
//! |---|---|---|
//! | `SMELT_EVALS` | work-queue stream, `smelt.evals.task.<search>` | one [`FoldTask`] per message |
//! | `SMELT_EVAL_ANSWERS` | stream, `smelt.evals.answer.<search>`, kept an hour | one [`FoldAnswer`] per message |
//!
//! [`NatsPool`] is the search's side (the autopilot's `EvaluationPool`):
//! it listens for its search's answers, publishes the batch's tasks, and
//! waits for every answer, taking the first of duplicates. [`FoldWorker`] is
//! every worker's side: one durable consumer shared by all workers, a slot
//! per core, in-progress acknowledgements while a fold fits (so a lost
//! worker's folds are redelivered after `--ack-wait`, and only those), the
//! answer published before the task is acknowledged. A task whose search's
//! time is up is answered at once with an error, so no task outlives its
//! search for long; a finished search's untaken tasks are purged.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::{self, AckKind, stream};
use futures::StreamExt;
use smelt_autopilot::distributed::{EvaluationPool, FoldAnswer, FoldEvaluator, FoldTask};
use smelt_autopilot::evaluate::FoldOutput;

use crate::error::{ClusterError, ClusterResult};
use crate::queue::Queue;

const TASKS_STREAM: &str = "SMELT_EVALS";
const TASKS_SUBJECT: &str = "smelt.evals.task";
const ANSWERS_STREAM: &str = "SMELT_EVAL_ANSWERS";
const ANSWERS_SUBJECT: &str = "smelt.evals.answer";
/// The consumer every worker pulls fold tasks through.
const CONSUMER: &str = "evals";
/// How long answers are kept (a search reads them within its batch).
const ANSWER_RETENTION: Duration = Duration::from_secs(3600);
/// How often a waiting search checks whether it was cancelled.
const CANCEL_CHECK: Duration = Duration::from_millis(500);

/// A search id as a subject token (run ids are hex; anything else is made
/// safe).
fn token(search: &str) -> String {
    search
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

async fn streams(
    jetstream: &jetstream::Context,
) -> ClusterResult<(stream::Stream, stream::Stream)> {
    let tasks = jetstream
        .get_or_create_stream(stream::Config {
            name: TASKS_STREAM.into(),
            description: Some("Smelt: fold fits of distributed autopilot searches".into()),
            subjects: vec![format!("{TASKS_SUBJECT}.*")],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| ClusterError::nats("create the fold task stream", e))?;
    let answers = jetstream
        .get_or_create_stream(stream::Config {
            name: ANSWERS_STREAM.into(),
            description: Some("Smelt: answers to fold fits".into()),
            subjects: vec![format!("{ANSWERS_SUBJECT}.*")],
            retention: stream::RetentionPolicy::Limits,
            storage: stream::StorageType::File,
            max_age: ANSWER_RETENTION,
            ..Default::default()
        })
        .await
        .map_err(|e| ClusterError::nats("create the fold answer stream", e))?;
    Ok((tasks, answers))
}

/// A search's side: its fold fits run on the workers.
pub struct NatsPool {
    jetstream: jetstream::Context,
    tasks: stream::Stream,
    answers: stream::Stream,
    runtime: tokio::runtime::Handle,
    /// How long a fit may go unheard of past the search's deadline before
    /// the search stops waiting for it (the workers' `--ack-wait`, thrice).
    grace: Duration,
}

impl NatsPool {
    /// A pool over `queue` (call inside the worker's runtime).
    pub async fn new(queue: &Queue, ack_wait: Duration) -> ClusterResult<Arc<NatsPool>> {
        let (tasks, answers) = streams(&queue.jetstream).await?;
        Ok(Arc::new(NatsPool {
            jetstream: queue.jetstream.clone(),
            tasks,
            answers,
            runtime: tokio::runtime::Handle::current(),
            grace: ack_wait * 3,
        }))
    }

    async fn run(
        &self,
        tasks: Vec<FoldTask>,
        cancelled: &dyn Fn() -> bool,
    ) -> ClusterResult<Vec<Result<FoldOutput, String>>> {
        let Some(first) = tasks.first() else {
            return Ok(Vec::new());
        };
        let search = token(&first.search);
        let deadline_ms = tasks.iter().map(|t| t.deadline_ms).max().unwrap_or(0);
        // Listen before publishing, so no answer comes before the ear.
        let mut answers = self
            .answers
            .create_consumer(pull::OrderedConfig {
                filter_subject: format!("{ANSWERS_SUBJECT}.{search}"),
                deliver_policy: DeliverPolicy::New,
                ..Default::default()
            })
            .await
            .map_err(|e| ClusterError::nats("listen for fold answers", e))?
            .messages()
            .await
            .map_err(|e| ClusterError::nats("listen for fold answers", e))?;
        let mut waiting: HashMap<String, usize> = HashMap::new();
        let mut stored = Vec::with_capacity(tasks.len());
        for (index, task) in tasks.iter().enumerate() {
            waiting.insert(task.key(), index);
            let payload = serde_json::to_vec(task).expect("fold tasks serialise");
            stored.push(
                self.jetstream
                    .publish(format!("{TASKS_SUBJECT}.{search}"), payload.into())
                    .await
                    .map_err(|e| ClusterError::nats("queue a fold fit", e))?,
            );
        }
        // All published before any acknowledgement is awaited: one round
        // trip for the batch, not one per fold.
        for ack in stored {
            ack.await
                .map_err(|e| ClusterError::nats("queue a fold fit", e))?;
        }
        let mut outcomes: Vec<Option<Result<FoldOutput, String>>> = vec![None; tasks.len()];
        while !waiting.is_empty() {
            if cancelled() {
                break;
            }
            let late = smelt_trainer::tracker::now_ms()
                > deadline_ms.saturating_add(self.grace.as_millis() as i64);
            if late {
                break;
            }
            let next = tokio::time::timeout(CANCEL_CHECK, answers.next()).await;
            let message = match next {
                Err(_) => continue,
                Ok(None) => {
                    return Err(ClusterError::Unavailable(
                        "stopped delivering fold answers".into(),
                    ));
                }
                Ok(Some(Err(e))) => {
                    tracing::debug!(error = %e, "fold answer stream hiccup");
                    continue;
                }
                Ok(Some(Ok(message))) => message,
            };
            let Ok(answer) = serde_json::from_slice::<FoldAnswer>(&message.payload) else {
                tracing::warn!("ignoring an unreadable fold answer");
                continue;
            };
            // The first answer counts; a redelivered fold may answer twice.
            if let Some(index) = waiting.remove(&answer.key) {
                tracing::debug!(key = %answer.key, worker = %answer.worker, "fold answered");
                outcomes[index] = Some(answer.outcome);
            }
        }
        let missing = if cancelled() {
            "the search was cancelled"
        } else {
            "no worker answered before the search's time was up"
        };
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Err(missing.to_string())))
            .collect())
    }
}

impl EvaluationPool for NatsPool {
    fn evaluate(
        &self,
        tasks: Vec<FoldTask>,
        cancelled: &dyn Fn() -> bool,
    ) -> Vec<Result<FoldOutput, String>> {
        let count = tasks.len();
        // Called on the search's blocking thread, never on the runtime's.
        match self.runtime.block_on(self.run(tasks, cancelled)) {
            Ok(outcomes) => outcomes,
            Err(error) => vec![Err(error.to_string()); count],
        }
    }

    fn finished(&self, search: &str) {
        let subject = |base: &str| format!("{base}.{}", token(search));
        let (tasks, answers) = (self.tasks.clone(), self.answers.clone());
        let (task_subject, answer_subject) = (subject(TASKS_SUBJECT), subject(ANSWERS_SUBJECT));
        self.runtime.block_on(async move {
            if let Err(error) = tasks.purge().filter(task_subject).await {
                tracing::warn!(%error, "cannot drop the search's untaken fold fits; workers answer them as too late");
            }
            let _ = answers.purge().filter(answer_subject).await;
        });
    }
}

/// Every worker's side: fits the folds any search queued.
pub struct FoldWorker {
    jetstream: jetstream::Context,
    tasks: stream::Stream,
    evaluator: Arc<FoldEvaluator>,
    name: String,
    slots: usize,
    ack_wait: Duration,
}

impl FoldWorker {
    /// `slots` folds at once (0: this worker fits none).
    pub async fn new(
        queue: &Queue,
        evaluator: FoldEvaluator,
        name: &str,
        slots: usize,
        ack_wait: Duration,
    ) -> ClusterResult<FoldWorker> {
        let (tasks, _) = streams(&queue.jetstream).await?;
        Ok(FoldWorker {
            jetstream: queue.jetstream.clone(),
            tasks,
            evaluator: Arc::new(evaluator),
            name: name.to_string(),
            slots,
            ack_wait,
        })
    }

    /// Fits folds until `shutdown` resolves; folds being fitted then are
    /// left unacknowledged, for another worker.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) -> ClusterResult<()> {
        if self.slots == 0 {
            shutdown.await;
            return Ok(());
        }
        let consumer: PullConsumer = self
            .tasks
            .get_or_create_consumer(
                CONSUMER,
                pull::Config {
                    durable_name: Some(CONSUMER.into()),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: self.ack_wait,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| ClusterError::nats("open the fold task consumer", e))?;
        let slots = Arc::new(tokio::sync::Semaphore::new(self.slots));
        let this = Arc::new(self);
        tokio::pin!(shutdown);
        loop {
            // As many tasks as there are free slots, in one pull.
            let first = tokio::select! {
                () = &mut shutdown => return Ok(()),
                permit = slots.clone().acquire_owned() => permit.expect("the semaphore stays open"),
            };
            let mut permits = vec![first];
            while let Ok(permit) = slots.clone().try_acquire_owned() {
                permits.push(permit);
            }
            let pulled = tokio::select! {
                () = &mut shutdown => return Ok(()),
                pulled = pull(&consumer, permits.len()) => pulled,
            };
            for (message, permit) in pulled.into_iter().zip(permits) {
                let worker = this.clone();
                tokio::spawn(async move {
                    worker.fit(message).await;
                    drop(permit);
                });
            }
        }
    }

    /// One fold: fitted on a blocking thread while in-progress
    /// acknowledgements keep it ours, answered, then acknowledged.
    async fn fit(&self, message: jetstream::Message) {
        let task: FoldTask = match serde_json::from_slice(&message.payload) {
            Ok(task) => task,
            Err(error) => {
                tracing::warn!(%error, "dropping an unreadable fold task");
                let _ = message.ack().await;
                return;
            }
        };
        let evaluator = self.evaluator.clone();
        let fitting = {
            let task = task.clone();
            tokio::task::spawn_blocking(move || evaluator.evaluate(&task))
        };
        tokio::pin!(fitting);
        let outcome = loop {
            tokio::select! {
                done = &mut fitting => {
                    break done.unwrap_or_else(|e| Err(format!("the fold fit crashed: {e}")));
                }
                () = tokio::time::sleep(self.ack_wait / 3) => {
                    let _ = message.ack_with(AckKind::Progress).await;
                }
            }
        };
        let answer = FoldAnswer {
            search: task.search.clone(),
            key: task.key(),
            worker: self.name.clone(),
            outcome,
        };
        let payload = serde_json::to_vec(&answer).expect("fold answers serialise");
        let subject = format!("{ANSWERS_SUBJECT}.{}", token(&task.search));
        for attempt in 0..5u32 {
            let sent: Result<(), async_nats::Error> = async {
                let ack = self
                    .jetstream
                    .publish(subject.clone(), payload.clone().into())
                    .await?;
                ack.await?;
                Ok(())
            }
            .await;
            match sent {
                Ok(()) => {
                    let _ = message.double_ack().await;
                    tracing::info!(search = %task.search, fold = %task.key(), "fold fitted");
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, attempt, "cannot answer a fold fit; retrying");
                    tokio::time::sleep(Duration::from_millis(500 << attempt.min(4))).await;
                }
            }
        }
        // Unanswered and unacknowledged: redelivered to a worker that can.
    }
}

/// Up to `count` tasks waiting now (waiting at most a second for one).
async fn pull(consumer: &PullConsumer, count: usize) -> Vec<jetstream::Message> {
    let batch = consumer
        .fetch()
        .max_messages(count)
        .expires(Duration::from_secs(1))
        .messages()
        .await;
    let mut pulled = Vec::new();
    match batch {
        Ok(mut batch) => {
            while let Some(next) = batch.next().await {
                match next {
                    Ok(message) => pulled.push(message),
                    Err(e) => {
                        tracing::debug!(error = %e, "fold task pull failed");
                        break;
                    }
                }
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, "fold task pull failed");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    pulled
}

#[cfg(test)]
mod tests {
    use super::token;

    #[test]
    fn search_ids_make_single_subject_tokens() {
        assert_eq!(token("0a1b2c"), "0a1b2c");
        assert_eq!(token("a.b*c>d e"), "a_b_c_d_e");
    }
}
