//! Serving flags `smelt serve`, `smelt server` and `smelt endpoints` share:
//! batching knobs (per endpoint) and process-wide serving settings.

use std::time::Duration;

use clap::Args;
use smelt_serving::{BatchConfig, ServingConfig};

/// Batching knobs (per endpoint); defaults measured (ARCHITECTURE.md).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Batching")]
pub struct BatchingArgs {
    /// Most rows one model call takes
    #[arg(long, env = "SMELT_MAX_BATCH_ROWS", default_value_t = BatchConfig::default().max_batch_rows)]
    max_batch_rows: usize,
    /// Wait up to this long (µs) for more requests before running a batch
    #[arg(long, env = "SMELT_MAX_DELAY_US", default_value_t = BatchConfig::default().max_delay_us)]
    max_delay_us: u64,
    /// Rows allowed to wait; beyond it requests get 503 + Retry-After
    #[arg(long, env = "SMELT_QUEUE_ROWS", default_value_t = BatchConfig::default().queue_rows)]
    queue_rows: usize,
    /// Inference threads per model version (0: one per core)
    #[arg(long, env = "SMELT_INFERENCE_WORKERS", default_value_t = BatchConfig::default().workers)]
    inference_workers: usize,
    /// Per-request timeout in milliseconds (504 after it)
    #[arg(long, env = "SMELT_REQUEST_TIMEOUT_MS", default_value_t = BatchConfig::default().timeout_ms)]
    request_timeout_ms: u64,
}

impl BatchingArgs {
    /// The batching configuration these flags give.
    pub fn config(&self) -> BatchConfig {
        BatchConfig {
            max_batch_rows: self.max_batch_rows,
            max_delay_us: self.max_delay_us,
            queue_rows: self.queue_rows,
            workers: self.inference_workers,
            timeout_ms: self.request_timeout_ms,
        }
    }
}

/// Process-wide serving settings, for `smelt serve` and `smelt server`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Serving")]
pub struct ServingArgs {
    /// Largest request body in bytes (413 above)
    #[arg(long, env = "SMELT_MAX_BODY_BYTES", default_value_t = ServingConfig::default().max_body_bytes)]
    max_body_bytes: usize,
    /// How often aliases are re-resolved, in milliseconds
    #[arg(long, env = "SMELT_POLL_INTERVAL_MS", default_value_t = 2000)]
    poll_interval_ms: u64,
}

impl ServingArgs {
    /// The serving configuration these flags give.
    pub fn config(&self) -> ServingConfig {
        ServingConfig {
            poll_interval: Duration::from_millis(self.poll_interval_ms.max(10)),
            max_body_bytes: self.max_body_bytes,
        }
    }
}
