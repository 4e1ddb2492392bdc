//! The job records (key-value bucket `smelt_jobs`), the queue's messages
//! and the logs: the state servers and workers share.

use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use async_nats::jetstream::kv::UpdateErrorKind;
use futures::StreamExt;
use smelt_api::jobs::JobRecord;

use super::{JobEntry, check_job_id, queue_subject};
use crate::error::{ClusterError, ClusterResult};
use crate::queue::{LOGS_SUBJECT, Queue};

/// How long reading a log may take before the reader gives up.
const LOG_READ_TIMEOUT: Duration = Duration::from_secs(15);

/// Jobs as NATS holds them.
#[derive(Clone)]
pub struct JobBook {
    queue: Queue,
}

impl JobBook {
    pub fn new(queue: Queue) -> Self {
        JobBook { queue }
    }

    /// Writes a new job's entry.
    pub async fn create(&self, entry: &JobEntry) -> ClusterResult<()> {
        let value = serde_json::to_vec(entry).expect("entries serialise");
        self.queue
            .records
            .create(&entry.record.job_id, value.into())
            .await
            .map_err(|e| ClusterError::nats("record the job", e))?;
        Ok(())
    }

    /// A job's entry and its revision, if it exists.
    pub async fn get(&self, job_id: &str) -> ClusterResult<Option<(JobEntry, u64)>> {
        if !check_job_id(job_id) {
            return Ok(None);
        }
        let Some(entry) = self
            .queue
            .records
            .entry(job_id)
            .await
            .map_err(|e| ClusterError::nats("read a job record", e))?
        else {
            return Ok(None);
        };
        if entry.value.is_empty() {
            return Ok(None);
        }
        let parsed: JobEntry = serde_json::from_slice(&entry.value).map_err(|e| {
            ClusterError::Unavailable(format!("holds an unreadable record for job {job_id}: {e}"))
        })?;
        Ok(Some((parsed, entry.revision)))
    }

    /// Changes a job's entry with compare-and-set, retrying when another
    /// process changed it in between. `change` returns whether to write;
    /// the answer is the entry as it now stands (`None`: no such job).
    pub async fn update(
        &self,
        job_id: &str,
        mut change: impl FnMut(&mut JobEntry) -> bool,
    ) -> ClusterResult<Option<JobEntry>> {
        loop {
            let Some((mut entry, revision)) = self.get(job_id).await? else {
                return Ok(None);
            };
            if !change(&mut entry) {
                return Ok(Some(entry));
            }
            let value = serde_json::to_vec(&entry).expect("entries serialise");
            match self
                .queue
                .records
                .update(job_id, value.into(), revision)
                .await
            {
                Ok(_) => return Ok(Some(entry)),
                Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => continue,
                Err(e) => return Err(ClusterError::nats("update a job record", e)),
            }
        }
    }

    /// Every job's record.
    pub async fn records(&self) -> ClusterResult<Vec<JobRecord>> {
        let keys = match self.queue.records.keys().await {
            Ok(keys) => keys,
            Err(e) => return Err(ClusterError::nats("list the jobs", e)),
        };
        let keys: Vec<String> = keys
            .filter_map(|key| async move { key.ok() })
            .collect()
            .await;
        let mut records = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some((entry, _)) = self.get(&key).await? {
                records.push(entry.record);
            }
        }
        Ok(records)
    }

    /// Queues one attempt of a job (the message is the job id).
    pub async fn enqueue(&self, job_id: &str, labels: &[String]) -> ClusterResult<()> {
        self.queue
            .jetstream
            .publish(queue_subject(labels), job_id.to_string().into())
            .await
            .map_err(|e| ClusterError::nats("queue the job", e))?
            .await
            .map_err(|e| ClusterError::nats("queue the job", e))?;
        Ok(())
    }

    /// Appends to a job's log (as the JetStream server acknowledges it).
    pub async fn append_log(&self, job_id: &str, text: &str) -> ClusterResult<()> {
        self.queue
            .jetstream
            .publish(format!("{LOGS_SUBJECT}.{job_id}"), text.to_string().into())
            .await
            .map_err(|e| ClusterError::nats("write the job log", e))?
            .await
            .map_err(|e| ClusterError::nats("write the job log", e))?;
        Ok(())
    }

    /// A job's whole log, every attempt's on every worker, in order.
    pub async fn log(&self, job_id: &str) -> ClusterResult<String> {
        if !check_job_id(job_id) {
            return Ok(String::new());
        }
        let read = async {
            let mut consumer = self
                .queue
                .logs
                .create_consumer(pull::OrderedConfig {
                    filter_subject: format!("{LOGS_SUBJECT}.{job_id}"),
                    deliver_policy: DeliverPolicy::All,
                    ..Default::default()
                })
                .await
                .map_err(|e| ClusterError::nats("read the job log", e))?;
            let pending = consumer
                .info()
                .await
                .map_err(|e| ClusterError::nats("read the job log", e))?
                .num_pending;
            let mut text = String::new();
            if pending == 0 {
                return Ok(text);
            }
            let mut messages = consumer
                .messages()
                .await
                .map_err(|e| ClusterError::nats("read the job log", e))?;
            while let Some(message) = messages.next().await {
                let message = message.map_err(|e| ClusterError::nats("read the job log", e))?;
                text.push_str(&String::from_utf8_lossy(&message.payload));
                let left = message.info().map(|info| info.pending).unwrap_or(0);
                if left == 0 {
                    break;
                }
            }
            Ok(text)
        };
        tokio::time::timeout(LOG_READ_TIMEOUT, read)
            .await
            .map_err(|_| ClusterError::Unavailable("did not answer in time".into()))?
    }
}
