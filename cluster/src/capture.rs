//! Captured traffic as JetStream streams: the capture sink of `smelt server
//! --capture-sink nats://…` and the feed its monitors read.
//!
//! | object | kind | holds |
//! |---|---|---|
//! | `SMELT_CAPTURE_<endpoint>` | stream, `smelt.capture.<endpoint>`, file storage, oldest dropped past `max_age`/`max_bytes` | one message per batch the capture thread writes (up to 256 KiB): serving's capture records as JSON lines (`serving/CAPTURE.md`) |
//! | `monitor-<name>` | durable pull consumer on its endpoint's stream, acknowledge-all | how far the monitor has read |
//! | `smelt_monitor_leases` | key-value bucket, entries expire after 15 s unless renewed | which server runs a monitor's pass now |
//!
//! Every server replica publishes into the same stream, so a monitor sees
//! all of an endpoint's traffic whichever replica answered it. A pass is
//! held through a lease (created only if absent, renewed while the pass
//! runs, deleted at its end or left to expire when its server dies), so
//! exactly one replica evaluates each window. The consumer starts after the
//! stream sequence the monitor's saved state holds and is acknowledged once
//! that state is saved; records delivered again after a crash are skipped
//! by that sequence.
//!
//! ('.' may appear in endpoint and monitor names but not in stream or
//! consumer names or subject tokens; it is written `~`, which names cannot
//! contain.)

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::kv::{self, CreateErrorKind};
use async_nats::jetstream::{self, stream};
use async_trait::async_trait;
use futures::StreamExt;
use smelt_monitor::live::CapturedRequest;
use smelt_monitor::service::{CaptureFeed, MonitorState, PassLease};
use smelt_serving::{CaptureRecord, CaptureSink};

use crate::error::{ClusterError, ClusterResult};
use crate::queue::{Queue, QueueOptions};

/// Subjects of captured traffic: `smelt.capture.<endpoint>`.
pub const CAPTURE_SUBJECT: &str = "smelt.capture";
/// The bucket of monitor pass leases.
const LEASE_BUCKET: &str = "smelt_monitor_leases";
/// A lease not renewed for this long expires (its server died mid-pass).
const LEASE_TTL: Duration = Duration::from_secs(15);
/// Most messages one read takes; a pass reads until the stream is drained.
const READ_BATCH: usize = 1_000;
/// Largest message the sink publishes (NATS' default limit is 1 MiB).
const MESSAGE_BYTES: usize = 256 * 1024;

/// How long captured traffic is kept.
#[derive(Debug, Clone)]
pub struct CaptureRetention {
    /// Records older than this are dropped.
    pub max_age: Duration,
    /// Bytes kept per endpoint; the oldest records go first.
    pub max_bytes: i64,
}

impl Default for CaptureRetention {
    fn default() -> Self {
        CaptureRetention {
            max_age: Duration::from_secs(7 * 24 * 3600),
            max_bytes: 1 << 30,
        }
    }
}

/// Captured traffic over JetStream: serving's [`CaptureSink`] and the
/// monitors' [`CaptureFeed`].
pub struct NatsCapture {
    jetstream: jetstream::Context,
    leases: kv::Store,
    runtime: tokio::runtime::Handle,
    retention: CaptureRetention,
    /// Endpoints whose stream is known to exist.
    streams: Mutex<HashSet<String>>,
    /// Per monitor, the last message its pass read: acknowledged (and with
    /// it every earlier one) once the monitor's state is saved.
    unacknowledged: Mutex<HashMap<String, jetstream::Message>>,
    /// This process, as lease holders are named.
    holder: String,
}

/// `name` as a subject token or stream name: '.' becomes '~'.
fn token(name: &str) -> String {
    name.replace('.', "~")
}

/// The stream holding `endpoint`'s captured traffic.
pub fn stream_name(endpoint: &str) -> String {
    format!("SMELT_CAPTURE_{}", token(endpoint))
}

/// The subject `endpoint`'s records are published on.
pub fn subject(endpoint: &str) -> String {
    format!("{CAPTURE_SUBJECT}.{}", token(endpoint))
}

/// The durable consumer a monitor reads through.
fn consumer_name(monitor: &str) -> String {
    format!("monitor-{}", token(monitor))
}

impl NatsCapture {
    /// Connects to NATS at `url` (call inside the server's runtime).
    pub async fn connect(
        url: &str,
        retention: CaptureRetention,
    ) -> ClusterResult<Arc<NatsCapture>> {
        let queue = Queue::connect(&QueueOptions {
            url: url.into(),
            name: "smelt-capture".into(),
        })
        .await?;
        let leases = queue
            .bucket(LEASE_BUCKET, "Smelt monitor pass leases", Some(LEASE_TTL))
            .await?;
        Ok(Arc::new(NatsCapture {
            jetstream: queue.jetstream.clone(),
            leases,
            runtime: tokio::runtime::Handle::current(),
            retention,
            streams: Mutex::new(HashSet::new()),
            unacknowledged: Mutex::new(HashMap::new()),
            holder: uuid::Uuid::new_v4().simple().to_string(),
        }))
    }

    /// Creates `endpoint`'s stream unless this process already did.
    async fn ensure_stream(&self, endpoint: &str) -> ClusterResult<()> {
        if self.lock_streams().contains(endpoint) {
            return Ok(());
        }
        self.jetstream
            .get_or_create_stream(stream::Config {
                name: stream_name(endpoint),
                description: Some(format!("Smelt: captured traffic of endpoint {endpoint}")),
                subjects: vec![subject(endpoint)],
                retention: stream::RetentionPolicy::Limits,
                storage: stream::StorageType::File,
                max_age: self.retention.max_age,
                max_bytes: self.retention.max_bytes,
                discard: stream::DiscardPolicy::Old,
                ..Default::default()
            })
            .await
            .map_err(|e| ClusterError::nats("create the capture stream", e))?;
        self.lock_streams().insert(endpoint.to_string());
        Ok(())
    }

    /// Publishes records, as JSON lines, a message per endpoint and up to
    /// [`MESSAGE_BYTES`] (a message per record cost NATS more than the
    /// records did), and waits until JetStream has stored each message.
    async fn publish(&self, records: &[CaptureRecord]) -> ClusterResult<()> {
        let mut by_endpoint: std::collections::BTreeMap<&str, Vec<Vec<u8>>> = Default::default();
        for record in records {
            let messages = by_endpoint.entry(record.endpoint.as_str()).or_default();
            let line = serde_json::to_vec(record).expect("capture records serialise");
            match messages.last_mut() {
                Some(open) if open.len() + line.len() < MESSAGE_BYTES => {
                    open.extend_from_slice(&line);
                    open.push(b'\n');
                }
                _ => {
                    let mut message = line;
                    message.push(b'\n');
                    messages.push(message);
                }
            }
        }
        let mut acks = Vec::new();
        for (endpoint, messages) in by_endpoint {
            self.ensure_stream(endpoint).await?;
            for payload in messages {
                let ack = self
                    .jetstream
                    .publish(subject(endpoint), payload.into())
                    .await
                    .map_err(|e| ClusterError::nats("publish captured traffic", e))?;
                acks.push(ack);
            }
        }
        for ack in acks {
            ack.await
                .map_err(|e| ClusterError::nats("store captured traffic", e))?;
        }
        Ok(())
    }

    /// The monitor's consumer, created to start after the sequence its
    /// saved state holds; `None` before the endpoint had traffic. A consumer
    /// that went further than the state (a pass that read but could not
    /// save, or died before acknowledging) is made again from the state,
    /// which is the one truth of what was counted.
    async fn consumer(
        &self,
        monitor: &str,
        endpoint: &str,
        after: u64,
    ) -> ClusterResult<Option<PullConsumer>> {
        let stream = match self.jetstream.get_stream(stream_name(endpoint)).await {
            Ok(stream) => stream,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(ClusterError::nats("open the capture stream", e)),
        };
        let name = consumer_name(monitor);
        if let Ok(consumer) = stream.get_consumer::<pull::Config>(&name).await {
            let info = consumer.cached_info();
            if info.num_ack_pending == 0 && info.delivered.stream_sequence <= after {
                return Ok(Some(consumer));
            }
            stream
                .delete_consumer(&name)
                .await
                .map_err(|e| ClusterError::nats("reset the monitor's consumer", e))?;
        }
        let consumer = stream
            .get_or_create_consumer(
                &name,
                pull::Config {
                    durable_name: Some(name.clone()),
                    description: Some(format!("Smelt monitor {monitor}")),
                    deliver_policy: DeliverPolicy::ByStartSequence {
                        start_sequence: after + 1,
                    },
                    ack_policy: AckPolicy::All,
                    // A pass acknowledges what it read when it ends; until
                    // then the records stay with it.
                    ack_wait: Duration::from_secs(600),
                    max_ack_pending: -1,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| ClusterError::nats("create the monitor's consumer", e))?;
        Ok(Some(consumer))
    }

    /// A lease this process left behind (its release lost a race with a
    /// renewal) is its own to take again; anyone else's is not.
    async fn reclaim(&self, monitor: &str) -> Option<u64> {
        let entry = self.leases.entry(monitor).await.ok()??;
        if entry.value.as_ref() != self.holder.as_bytes() {
            return None;
        }
        self.leases
            .update(monitor, self.holder.clone().into(), entry.revision)
            .await
            .ok()
    }

    fn lock_streams(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.streams.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_unacknowledged(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, jetstream::Message>> {
        self.unacknowledged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

fn is_not_found(error: &jetstream::context::GetStreamError) -> bool {
    matches!(
        error.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(e)
            if e.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}

impl CaptureSink for NatsCapture {
    /// Called on serving's capture thread, never on a request: waiting for
    /// NATS here fills the bounded hand-off, and serving drops (and counts)
    /// what does not fit.
    fn write(&self, records: &[CaptureRecord]) -> std::io::Result<()> {
        self.runtime
            .block_on(self.publish(records))
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}

/// A held pass: renewed in the background, deleted when dropped.
struct Lease {
    key: String,
    leases: kv::Store,
    revision: Arc<AtomicU64>,
    renewal: tokio::task::JoinHandle<()>,
    runtime: tokio::runtime::Handle,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewal.abort();
        let (leases, key) = (self.leases.clone(), self.key.clone());
        let revision = self.revision.load(Ordering::SeqCst);
        // Only our own entry: a lease that expired and was taken stays.
        self.runtime.spawn(async move {
            if let Err(error) = leases.delete_expect_revision(&key, Some(revision)).await {
                tracing::debug!(%error, monitor = %key, "lease left to expire");
            }
        });
    }
}

#[async_trait]
impl CaptureFeed for NatsCapture {
    async fn hold(&self, monitor: &str) -> Result<Option<PassLease>, String> {
        let revision = match self
            .leases
            .create(monitor, self.holder.clone().into())
            .await
        {
            Ok(revision) => revision,
            Err(e) if e.kind() == CreateErrorKind::AlreadyExists => {
                match self.reclaim(monitor).await {
                    Some(revision) => revision,
                    None => return Ok(None),
                }
            }
            Err(e) => return Err(format!("cannot take the monitor's lease in NATS: {e}")),
        };
        let revision = Arc::new(AtomicU64::new(revision));
        let renewal = {
            let (leases, key, holder) = (
                self.leases.clone(),
                monitor.to_string(),
                self.holder.clone(),
            );
            let revision = revision.clone();
            self.runtime.spawn(async move {
                loop {
                    tokio::time::sleep(LEASE_TTL / 3).await;
                    let last = revision.load(Ordering::SeqCst);
                    match leases.update(&key, holder.clone().into(), last).await {
                        Ok(next) => revision.store(next, Ordering::SeqCst),
                        Err(error) => {
                            tracing::warn!(monitor = %key, %error, "cannot renew the monitor's lease");
                        }
                    }
                }
            })
        };
        Ok(Some(Box::new(Lease {
            key: monitor.to_string(),
            leases: self.leases.clone(),
            revision,
            renewal,
            runtime: self.runtime.clone(),
        })))
    }

    async fn read_new(
        &self,
        monitor: &str,
        endpoint: &str,
        state: &mut MonitorState,
    ) -> Result<Vec<CapturedRequest>, String> {
        let Some(consumer) = self
            .consumer(monitor, endpoint, state.stream_sequence)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(Vec::new());
        };
        let mut requests = Vec::new();
        let mut last = None;
        loop {
            let mut batch = consumer
                .fetch()
                .max_messages(READ_BATCH)
                .messages()
                .await
                .map_err(|e| format!("cannot read the capture stream: {e}"))?;
            let mut taken = 0;
            while let Some(message) = batch.next().await {
                let message =
                    message.map_err(|e| format!("cannot read the capture stream: {e}"))?;
                taken += 1;
                let sequence = message.info().map_err(|e| e.to_string())?.stream_sequence;
                if sequence > state.stream_sequence {
                    state.stream_sequence = sequence;
                    let lines = message.payload.split(|b| *b == b'\n');
                    for line in lines.filter(|l| !l.trim_ascii().is_empty()) {
                        match serde_json::from_slice::<CapturedRequest>(line) {
                            Ok(request) if !request.shadow => requests.push(request),
                            Ok(_) => {}
                            Err(_) => state.cursor.malformed_lines += 1,
                        }
                    }
                }
                last = Some(message);
            }
            if taken < READ_BATCH {
                break;
            }
        }
        if let Some(last) = last {
            self.lock_unacknowledged().insert(monitor.to_string(), last);
        }
        Ok(requests)
    }

    async fn saved(&self, monitor: &str, _endpoint: &str) -> Result<(), String> {
        let Some(last) = self.lock_unacknowledged().remove(monitor) else {
            return Ok(());
        };
        last.double_ack()
            .await
            .map_err(|e| format!("cannot acknowledge captured traffic: {e}"))
    }

    async fn forget(&self, monitor: &str, endpoint: &str) {
        self.lock_unacknowledged().remove(monitor);
        if let Ok(stream) = self.jetstream.get_stream(stream_name(endpoint)).await {
            let _ = stream.delete_consumer(&consumer_name(monitor)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_dots_make_valid_stream_names_and_subjects() {
        assert_eq!(stream_name("churn.v2"), "SMELT_CAPTURE_churn~v2");
        assert_eq!(subject("churn.v2"), "smelt.capture.churn~v2");
        assert_eq!(consumer_name("m.1"), "monitor-m~1");
        // Distinct names stay distinct: '~' is not allowed in names.
        assert_ne!(stream_name("a.b"), stream_name("a-b"));
    }
}
