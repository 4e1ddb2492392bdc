//! Where a monitor's traffic comes from, and which server runs its passes.
//!
//! Two implementations: [`CaptureFiles`], serving's JSON-lines files on this
//! server's disk (the default, one server), and in `smelt-cluster` a
//! JetStream stream per endpoint that every server replica publishes to
//! (`smelt server --capture-sink nats://…`), read through one durable
//! consumer per monitor, with each pass held by a lease in JetStream's
//! key-value store so that several replicas evaluate each window once.
//!
//! A pass goes: [`CaptureFeed::hold`] the monitor (skip it when another
//! server holds it), read its state, [`CaptureFeed::read_new`] (which moves
//! the state's position), evaluate, save the state, then
//! [`CaptureFeed::saved`] (a stream acknowledges what the saved state now
//! holds). A crash before the save reads the same records again; one after
//! it finds them acknowledged, or skips them by the saved position, so no
//! record is counted twice or missed.

use std::path::PathBuf;

use async_trait::async_trait;

use super::MonitorState;
use crate::live::CapturedRequest;

/// Dropping it lets another server run the monitor's next pass.
pub type PassLease = Box<dyn Send + Sync>;

/// A monitor's source of captured traffic.
#[async_trait]
pub trait CaptureFeed: Send + Sync {
    /// Holds `monitor`'s pass for this server until the answer is dropped;
    /// `None` when another server is running it now.
    async fn hold(&self, monitor: &str) -> Result<Option<PassLease>, String>;

    /// Every caller-facing request captured for `endpoint` after the
    /// position `state` holds (shadow answers are skipped), moving it.
    async fn read_new(
        &self,
        monitor: &str,
        endpoint: &str,
        state: &mut MonitorState,
    ) -> Result<Vec<CapturedRequest>, String>;

    /// The state holding what `read_new` gave is saved.
    async fn saved(&self, _monitor: &str, _endpoint: &str) -> Result<(), String> {
        Ok(())
    }

    /// The monitor is deleted: let go of what it held.
    async fn forget(&self, _monitor: &str, _endpoint: &str) {}
}

/// Serving's capture files under one folder (`--capture-dir`), read by the
/// state's byte offsets. One server reads them, so any pass may run.
pub struct CaptureFiles {
    root: PathBuf,
}

impl CaptureFiles {
    /// Files under `root/ENDPOINT/`.
    pub fn new(root: impl Into<PathBuf>) -> CaptureFiles {
        CaptureFiles { root: root.into() }
    }
}

#[async_trait]
impl CaptureFeed for CaptureFiles {
    async fn hold(&self, _monitor: &str) -> Result<Option<PassLease>, String> {
        Ok(Some(Box::new(())))
    }

    async fn read_new(
        &self,
        _monitor: &str,
        endpoint: &str,
        state: &mut MonitorState,
    ) -> Result<Vec<CapturedRequest>, String> {
        state
            .cursor
            .read_new(&self.root.join(endpoint))
            .map_err(|e| e.to_string())
    }
}
