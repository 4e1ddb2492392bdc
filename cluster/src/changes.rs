//! Server replicas telling each other what they changed, over a plain NATS
//! subject (`smelt.changes`): the [`ChangeFeed`] of `smelt server --queue`.
//!
//! Core NATS rather than a stream on purpose: a change is a hint to read the
//! database again, worth something only to replicas running now. One that
//! was down reads every definition when it starts, and each replica's
//! watcher re-reads them every poll, so a lost message costs one poll
//! interval, never a wrong endpoint.

use std::sync::Arc;

use futures::StreamExt;
use smelt_serving::{Change, ChangeFeed, Serving};

use crate::error::{ClusterError, ClusterResult};
use crate::queue::Queue;

/// The subject changes are published on.
pub const CHANGES_SUBJECT: &str = "smelt.changes";

/// Publishes this replica's changes and applies every replica's.
pub struct NatsChanges {
    client: async_nats::Client,
    runtime: tokio::runtime::Handle,
}

impl NatsChanges {
    /// A feed over `queue`'s connection (call inside the server's runtime).
    pub fn new(queue: &Queue) -> Arc<NatsChanges> {
        Arc::new(NatsChanges {
            client: queue.client.clone(),
            runtime: tokio::runtime::Handle::current(),
        })
    }

    /// Applies every change any replica publishes (this one's included) to
    /// `serving`, from now until the process ends. The subscription
    /// survives reconnections; what was published meanwhile is caught up by
    /// the watcher's next re-read.
    pub async fn follow(&self, serving: Arc<Serving>) -> ClusterResult<()> {
        let mut changes = self
            .client
            .subscribe(CHANGES_SUBJECT)
            .await
            .map_err(|e| ClusterError::nats("subscribe to the replicas' changes", e))?;
        self.runtime.spawn(async move {
            while let Some(message) = changes.next().await {
                match serde_json::from_slice::<Change>(&message.payload) {
                    Ok(change) => {
                        tracing::debug!(?change, "change from a replica");
                        serving.apply(change).await;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "ignoring an unreadable change message");
                    }
                }
            }
        });
        Ok(())
    }
}

impl ChangeFeed for NatsChanges {
    fn publish(&self, change: Change) {
        let payload = match serde_json::to_vec(&change) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::warn!(%error, "cannot encode a change");
                return;
            }
        };
        let client = self.client.clone();
        self.runtime.spawn(async move {
            if let Err(error) = client.publish(CHANGES_SUBJECT, payload.into()).await {
                tracing::warn!(%error, "cannot tell the other replicas of a change; they see it at their next poll");
            }
        });
    }
}
