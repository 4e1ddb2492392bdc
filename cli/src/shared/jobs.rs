//! What `smelt train` and `smelt autopilot` share when they run a job in
//! this process: the trainer's view of the tracking store, and how a job's
//! failure is said.

use std::sync::Arc;

use smelt_trainer::{Tracking, TrainError};

use crate::config::Context;
use crate::error::{failure, hinted};
use crate::shared::artifacts::locations;

/// The trainer's view of the tracking store the command line names, with
/// `mlflow-artifacts:` URIs resolved against `destination`.
pub fn tracking_for(ctx: &Context, destination: &str) -> Tracking {
    let locations = locations(ctx, destination);
    Tracking {
        store: ctx.store.clone(),
        tracking_uri: ctx.tracking_uri.clone(),
        open_artifacts: Arc::new(move |uri: &str| locations.open(uri)),
        runtime: tokio::runtime::Handle::current(),
    }
}

/// A job's error as the CLI says it: a data error made no run, a cancelled
/// job's run is closed KILLED, anything else as it is.
pub fn job_error(error: TrainError, job: &str) -> anyhow::Error {
    match &error {
        TrainError::Data(_) => hinted(
            error.to_string(),
            "no run was created; fix the data and run again",
        ),
        TrainError::Cancelled => failure(format!(
            "the {job} was cancelled; its run is closed as KILLED"
        )),
        _ => failure(error.to_string()),
    }
}
