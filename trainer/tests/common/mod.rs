//! A real local tracking store (SQLite + artifact folder) for trainer tests.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use smelt_trainer::{JobOptions, JobOutcome, JobSpec, ProgressMode, Tracking, TrainResult};

pub struct Home {
    pub dir: tempfile::TempDir,
    pub runtime: tokio::runtime::Runtime,
    pub tracking: Tracking,
}

impl Home {
    pub fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let db = format!("sqlite:///{}", dir.path().join("smelt.db").display());
        let artifacts = dir.path().join("artifacts").display().to_string();
        let store = runtime
            .block_on(smelt_tracking::open_store(&db, &artifacts))
            .unwrap();
        let tracking = Tracking {
            store,
            tracking_uri: db,
            open_artifacts: Arc::new(|uri: &str| {
                smelt_tracking::artifacts::open_artifact_store(uri)
            }),
            runtime: runtime.handle().clone(),
        };
        Home {
            dir,
            runtime,
            tracking,
        }
    }

    pub fn train(&self, spec: &str) -> TrainResult<JobOutcome> {
        let spec = JobSpec::from_toml(spec, "test spec")?;
        smelt_trainer::run_job(&spec, &self.tracking, &options())
    }
}

pub fn options() -> JobOptions {
    JobOptions {
        base_dir: datasets(),
        progress: ProgressMode::Quiet,
        ..JobOptions::default()
    }
}

pub fn datasets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../datasets")
}
