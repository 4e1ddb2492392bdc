//! The crate's one error: NATS could not be reached or refused a call
//! (`TEMPORARILY_UNAVAILABLE`, 503 to API clients: retrying later helps),
//! or something a caller gave is wrong.

use smelt_tracking::ErrorCode;
use smelt_trainer::TrainError;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The queue did not answer or refused an operation.
    #[error("the job queue (NATS) {0}")]
    Unavailable(String),
    /// A queue URL, label or option is wrong.
    #[error("{0}")]
    Invalid(String),
}

pub type ClusterResult<T> = Result<T, ClusterError>;

impl ClusterError {
    /// A NATS failure while doing `what`.
    pub fn nats(what: &str, error: impl std::fmt::Display) -> Self {
        ClusterError::Unavailable(format!("failed to {what}: {error}"))
    }
}

impl From<ClusterError> for TrainError {
    fn from(error: ClusterError) -> Self {
        match error {
            ClusterError::Unavailable(_) => TrainError::Tracking(smelt_tracking::Error::new(
                ErrorCode::TemporarilyUnavailable,
                error.to_string(),
            )),
            ClusterError::Invalid(message) => TrainError::Spec(message),
        }
    }
}
