//! The seam through which [`Serving`](crate::Serving) tells other server
//! replicas what it changed, and learns what they changed.
//!
//! `smelt server --queue nats://…` plugs in a feed over NATS (in
//! `smelt-cluster`); without one, [`Serving`](crate::Serving) is its own
//! audience and only the periodic re-read (every poll interval) picks up
//! what another process wrote to a shared database.

pub use smelt_api::changes::Change;

/// Where a replica publishes its changes. Publishing never waits: a change
/// is a hint to look again, and the periodic re-read covers one that is lost.
pub trait ChangeFeed: Send + Sync {
    /// Tells every replica (this one included) to look at `change` again.
    fn publish(&self, change: Change);
}
