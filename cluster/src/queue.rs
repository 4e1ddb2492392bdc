//! One connection to NATS and the JetStream objects Smelt uses, created
//! idempotently (same configuration → the existing object) by whichever
//! server or worker starts first.
//!
//! | object | kind | holds |
//! |---|---|---|
//! | `SMELT_JOBS` | work-queue stream, `smelt.jobs.queue.<labels>` | one message per queued attempt: the job id |
//! | `smelt_jobs` | key-value bucket | the job's record, spec and cancel flag ([`crate::jobs::JobEntry`]) |
//! | `SMELT_JOB_LOGS` | stream, `smelt.jobs.log.<job id>` | the job's log, in chunks |
//!
//! Everything is on file storage, so a NATS restart loses no queued job.

use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};

use crate::error::{ClusterError, ClusterResult};

/// The work-queue stream of jobs.
pub(crate) const JOBS_STREAM: &str = "SMELT_JOBS";
/// Subjects of queued jobs: `smelt.jobs.queue.<labels key>`.
pub(crate) const JOBS_SUBJECT: &str = "smelt.jobs.queue";
/// The bucket of job records.
pub(crate) const JOBS_BUCKET: &str = "smelt_jobs";
/// The stream of job logs.
pub(crate) const LOGS_STREAM: &str = "SMELT_JOB_LOGS";
/// Subjects of job logs: `smelt.jobs.log.<job id>`.
pub(crate) const LOGS_SUBJECT: &str = "smelt.jobs.log";
/// How long finished jobs' logs are kept.
const LOG_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// How to reach NATS.
#[derive(Debug, Clone)]
pub struct QueueOptions {
    /// `nats://host:port` (several, comma-separated, for a cluster;
    /// `nats://user:password@host:port` or `nats://token@host:port` for a
    /// server that wants credentials).
    pub url: String,
    /// The connection's name, as `nats-server` shows it (`smelt-server`,
    /// `smelt-worker-HOST`).
    pub name: String,
}

/// A connection to NATS with Smelt's streams and bucket in place.
#[derive(Clone)]
pub struct Queue {
    pub(crate) client: async_nats::Client,
    pub(crate) jetstream: jetstream::Context,
    pub(crate) records: kv::Store,
    pub(crate) jobs: stream::Stream,
    pub(crate) logs: stream::Stream,
}

impl Queue {
    /// Connects (waiting for NATS if it is not up yet only as long as the
    /// first connection attempt takes; afterwards the client reconnects
    /// forever) and makes sure the streams and the bucket exist.
    pub async fn connect(options: &QueueOptions) -> ClusterResult<Queue> {
        let url = check_url(&options.url)?;
        let client = async_nats::ConnectOptions::new()
            .name(&options.name)
            .connection_timeout(Duration::from_secs(5))
            // Reconnect without limit: a worker that loses NATS comes back.
            .max_reconnects(None)
            .event_callback(|event| async move {
                match event {
                    async_nats::Event::Disconnected => {
                        tracing::warn!("lost the connection to NATS; reconnecting")
                    }
                    async_nats::Event::Connected => tracing::info!("connected to NATS"),
                    other => tracing::debug!(event = %other, "NATS event"),
                }
            })
            .connect(url.as_str())
            .await
            .map_err(|e| {
                ClusterError::Unavailable(format!(
                    "at {} cannot be reached: {e}",
                    redact(&options.url)
                ))
            })?;
        let jetstream = jetstream::new(client.clone());
        let jobs = jetstream
            .get_or_create_stream(stream::Config {
                name: JOBS_STREAM.into(),
                subjects: vec![format!("{JOBS_SUBJECT}.>")],
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(|e| ClusterError::nats("create the job stream", e))?;
        let logs = jetstream
            .get_or_create_stream(stream::Config {
                name: LOGS_STREAM.into(),
                subjects: vec![format!("{LOGS_SUBJECT}.*")],
                retention: stream::RetentionPolicy::Limits,
                storage: stream::StorageType::File,
                max_age: LOG_RETENTION,
                ..Default::default()
            })
            .await
            .map_err(|e| ClusterError::nats("create the job log stream", e))?;
        let records = bucket(&jetstream, JOBS_BUCKET, "Smelt job records", None).await?;
        Ok(Queue {
            client,
            jetstream,
            records,
            jobs,
            logs,
        })
    }

    /// A key-value bucket beside the job records (created if missing);
    /// with `max_age`, an entry not written for that long expires.
    pub(crate) async fn bucket(
        &self,
        name: &str,
        description: &str,
        max_age: Option<Duration>,
    ) -> ClusterResult<kv::Store> {
        bucket(&self.jetstream, name, description, max_age).await
    }

    /// Waits until everything published so far has reached the server.
    pub async fn flush(&self) -> ClusterResult<()> {
        self.client
            .flush()
            .await
            .map_err(|e| ClusterError::nats("flush", e))
    }
}

/// Opens the key-value bucket `name`, creating it if missing. Its stream is
/// made here, as JetStream's key-value convention lays it out (what
/// `create_key_value` would send): async-nats 0.52's `create_key_value`
/// first reads account details that nats-server 2.9 does not send.
async fn bucket(
    jetstream: &jetstream::Context,
    name: &str,
    description: &str,
    max_age: Option<Duration>,
) -> ClusterResult<kv::Store> {
    jetstream
        .get_or_create_stream(stream::Config {
            name: format!("KV_{name}"),
            description: Some(description.into()),
            subjects: vec![format!("$KV.{name}.>")],
            max_messages_per_subject: 1,
            max_age: max_age.unwrap_or_default(),
            storage: stream::StorageType::File,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        })
        .await
        .map_err(|e| ClusterError::nats(&format!("create the bucket {name}"), e))?;
    jetstream
        .get_key_value(name)
        .await
        .map_err(|e| ClusterError::nats(&format!("open the bucket {name}"), e))
}

/// The URL as async-nats takes it; `nats://` is the only scheme offered on
/// the command line (`tls://` follows from the server's own settings).
fn check_url(url: &str) -> ClusterResult<String> {
    let url = url.trim();
    let each_ok = url.split(',').all(|part| {
        let part = part.trim();
        (part.starts_with("nats://") || part.starts_with("tls://")) && part.len() > "nats://".len()
    });
    if url.is_empty() || !each_ok {
        return Err(ClusterError::Invalid(format!(
            "'{}' is not a NATS URL; give nats://HOST:PORT (e.g. nats://127.0.0.1:4222)",
            redact(url)
        )));
    }
    Ok(url.to_string())
}

/// The URL without credentials, for messages and logs.
pub fn redact(url: &str) -> String {
    url.split(',')
        .map(|part| match (part.find("://"), part.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                format!("{}***{}", &part[..scheme + 3], &part[at..])
            }
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_credentials_never_shown() {
        assert!(check_url("nats://127.0.0.1:4222").is_ok());
        assert!(check_url("nats://a:4222,nats://b:4222").is_ok());
        let error = check_url("http://127.0.0.1:4222").unwrap_err().to_string();
        assert!(error.contains("nats://HOST:PORT"), "{error}");
        assert!(check_url("").is_err());
        assert!(check_url("nats://").is_err());
        assert_eq!(
            redact("nats://user:secret@host:4222"),
            "nats://***@host:4222"
        );
        let error = check_url("ftp://user:secret@host").unwrap_err().to_string();
        assert!(!error.contains("secret"), "{error}");
    }
}
