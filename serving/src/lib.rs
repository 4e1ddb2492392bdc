//! Model serving: versioned endpoints over MLflow's scoring protocol and the
//! Open Inference Protocol v2.
//!
//! Start reading at [`serving`] ([`Serving`]: the endpoints of a process,
//! persistence, hot swap), then [`endpoint`] (variants, traffic split),
//! [`batcher`] (dynamic batching), [`http`] (routes) and [`capture`] (the
//! `CaptureSink` seam the monitor reads from). [`protocol`] parses request
//! bodies against the model's signature ([`schema`]); [`source`] is the seam
//! to the registry.

pub mod batcher;
pub mod capture;
pub mod changes;
pub mod endpoint;
pub mod error;
pub mod http;
pub mod loaded;
pub mod metrics;
pub mod protocol;
pub mod schema;
pub mod serving;
pub mod source;

pub use batcher::{BatchConfig, BatchConfigExt};
pub use capture::{Capture, CaptureRecord, CaptureSink, JsonlFiles};
pub use changes::{Change, ChangeFeed};
pub use endpoint::{CaptureConfig, EndpointSpec, EndpointSpecExt, VariantSpec};
pub use error::ServeError;
pub use serving::{Serving, ServingConfig};
pub use source::{
    LocalFolders, ModelSource, ModelUri, RegistrySource, ResolvedModel, parse_reference,
};
