//! Plumbing several commands share: argument groups (`--artifacts-destination`,
//! `--compute`, serving and batching flags, `--tls-cert`), signals, and the glue between
//! the command line and the library crates (artifact URIs to local files,
//! the trainer's view of the tracking store). No command's behaviour lives
//! here; each command's file keeps its own arguments and output.

pub mod artifacts;
pub mod compute;
pub mod identity;
pub mod jobs;
pub mod serving;
pub mod signals;
pub mod tls;
pub mod upload;
