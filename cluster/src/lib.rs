//! Smelt scaled out over NATS JetStream: the job queue that `smelt server
//! --queue nats://…` sends jobs to and `smelt worker` processes pull from;
//! the fold fits of autopilot searches spread over every worker
//! ([`evals`]); captured traffic as streams that monitors on any replica
//! read once ([`capture`]); and the changes server replicas tell each
//! other ([`changes`]).
//!
//! Start at [`jobs`]: [`jobs::NatsExecutor`] is the server's side of the
//! trainer's `Executor` seam, [`jobs::Worker`] the worker's loop. Both share
//! [`Queue`] (one connection, the streams and the key-value bucket, created
//! idempotently by whichever process comes first) and [`jobs::JobBook`], the
//! job records every server replica reads, so all replicas show the same
//! jobs.
//!
//! Why JetStream: work queues with explicit acknowledgements, in-progress
//! acknowledgements as heartbeats, redelivery after a lapsed heartbeat, a
//! delivery limit, file storage that survives a NATS restart, a key-value
//! store with compare-and-set, and RAFT clustering: everything a job queue
//! needs that would otherwise be written (and got wrong) here.

pub mod capture;
pub mod changes;
pub mod error;
pub mod evals;
pub mod jobs;
pub mod queue;

pub use error::{ClusterError, ClusterResult};
pub use queue::{Queue, QueueOptions};
