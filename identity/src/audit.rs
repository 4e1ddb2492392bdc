//! The audit log's writer: every write and every permission change, with who,
//! what, when and from where, appended to the store in batches.
//!
//! Requests hand their line to a bounded queue and go on; one task writes
//! what has gathered (up to [`BATCH`] lines, or every [`FLUSH_EVERY`]) in
//! one transaction, so auditing `log-metric` costs a channel send, not a
//! database write. When the queue is full a request waits for room rather
//! than dropping its line. Reading the log first flushes the queue
//! ([`AuditLog::flush`]), so it shows every request answered before it.

use std::sync::Arc;
use std::time::Duration;

use smelt_tracking::store::identity::{AuditRecord, IdentityStore};
use tokio::sync::mpsc;

/// Lines written per transaction at most.
pub const BATCH: usize = 500;
/// How long a line waits for others before being written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);
const QUEUE: usize = 10_000;

/// What the writer task receives.
enum Item {
    Line(AuditRecord),
    /// Write what has gathered now, then say so.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Where requests send their audit lines.
#[derive(Clone)]
pub struct AuditLog {
    sender: mpsc::Sender<Item>,
}

impl AuditLog {
    /// Starts the writer task on the current runtime.
    pub fn start(store: Arc<dyn IdentityStore>) -> AuditLog {
        let (sender, mut receiver) = mpsc::channel::<Item>(QUEUE);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            loop {
                let mut flushed = Vec::new();
                match receiver.recv().await {
                    None => break,
                    Some(Item::Line(first)) => batch.push(first),
                    Some(Item::Flush(done)) => flushed.push(done),
                }
                let deadline = tokio::time::sleep(FLUSH_EVERY);
                tokio::pin!(deadline);
                while batch.len() < BATCH && flushed.is_empty() {
                    tokio::select! {
                        next = receiver.recv() => match next {
                            Some(Item::Line(record)) => batch.push(record),
                            Some(Item::Flush(done)) => flushed.push(done),
                            None => break,
                        },
                        () = &mut deadline => break,
                    }
                }
                write(&*store, &mut batch).await;
                for done in flushed {
                    let _ = done.send(());
                }
            }
            write(&*store, &mut batch).await;
        });
        AuditLog { sender }
    }

    /// Queues a line (waits only while the queue is full).
    pub async fn record(&self, record: AuditRecord) {
        if let Err(mpsc::error::TrySendError::Full(item)) = self.sender.try_send(Item::Line(record))
        {
            let _ = self.sender.send(item).await;
        }
    }

    /// Waits until every line queued before this call is written.
    pub async fn flush(&self) {
        let (done, written) = tokio::sync::oneshot::channel();
        if self.sender.send(Item::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

async fn write(store: &dyn IdentityStore, batch: &mut Vec<AuditRecord>) {
    if batch.is_empty() {
        return;
    }
    // A failing database is retried a few times; the lines are logged if it
    // stays down, so they are not lost without a trace.
    for attempt in 0..3 {
        match store.append_audit(batch).await {
            Ok(()) => {
                batch.clear();
                return;
            }
            Err(error) if attempt < 2 => {
                tracing::warn!(%error, "cannot write the audit log; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => {
                for line in batch.iter() {
                    tracing::error!(%error, ?line, "audit line not stored");
                }
            }
        }
    }
    batch.clear();
}

/// Parses `--since` values: `90s`, `15m`, `1h`, `7d`.
pub fn parse_age(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let number: u64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => number,
        "m" => number.checked_mul(60)?,
        "h" => number.checked_mul(3600)?,
        "d" => number.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_a_person_writes_them() {
        assert_eq!(parse_age("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_age("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_age("30d"), Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_age("1w"), None);
        assert_eq!(parse_age("h"), None);
        assert_eq!(parse_age("12"), None);
    }
}
