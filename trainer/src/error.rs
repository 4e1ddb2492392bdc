//! Why a training job could not run, worded for the person who started it.
//!
//! Every variant has one [`ErrorCode`] ([`TrainError::code`]); the jobs API
//! answers through tracking's `SmeltError`, which takes the status from the
//! code, so a wrapped tracking error keeps the code it had.

use smelt_tracking::ErrorCode;

pub type TrainResult<T, E = TrainError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The job spec (file or flags) is wrong.
    #[error("bad job spec: {0}")]
    Spec(String),
    /// The data cannot be used as asked.
    #[error("{0}")]
    Data(String),
    #[error(transparent)]
    Model(#[from] smelt_models::ModelError),
    #[error("tracking: {0}")]
    Tracking(#[from] smelt_tracking::Error),
    /// The requested device is not available.
    #[error("{0}")]
    Device(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// No such job (or other entity).
    #[error("{0}")]
    NotFound(String),
    /// The job was cancelled; the run is closed as KILLED.
    #[error("the job was cancelled")]
    Cancelled,
    /// Training itself failed (a Burn panic, a non-finite loss).
    #[error("training failed: {0}")]
    Training(String),
}

impl From<smelt_data::DataError> for TrainError {
    fn from(error: smelt_data::DataError) -> Self {
        TrainError::Data(error.to_string())
    }
}

impl TrainError {
    /// The error code clients see: what the job's submitter got wrong is
    /// `INVALID_PARAMETER_VALUE`, an unknown job `RESOURCE_DOES_NOT_EXIST`,
    /// a tracking failure its own code, and the rest (files, training
    /// itself) `INTERNAL_ERROR`.
    pub fn code(&self) -> ErrorCode {
        match self {
            TrainError::Spec(_)
            | TrainError::Data(_)
            | TrainError::Model(_)
            | TrainError::Device(_) => ErrorCode::InvalidParameterValue,
            TrainError::NotFound(_) => ErrorCode::ResourceDoesNotExist,
            TrainError::Tracking(error) => error.code,
            // The work the request waited for was stopped by a cancel: a
            // clash with the job's state, not a failure of the server.
            TrainError::Cancelled => ErrorCode::InvalidState,
            TrainError::Io { .. } | TrainError::Training(_) => ErrorCode::InternalError,
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        TrainError::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<TrainError> for smelt_tracking::Error {
    /// Keeps the code (see [`TrainError::code`]); a tracking error comes back
    /// as it was, message included.
    fn from(error: TrainError) -> Self {
        match error {
            TrainError::Tracking(inner) => inner,
            other => smelt_tracking::Error::new(other.code(), other.to_string()),
        }
    }
}

impl From<TrainError> for smelt_tracking::api::SmeltError {
    fn from(error: TrainError) -> Self {
        smelt_tracking::api::SmeltError(error.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_tracking_error_keeps_its_code() {
        let exists = TrainError::Tracking(smelt_tracking::Error::already_exists("run exists"));
        assert_eq!(exists.code(), ErrorCode::ResourceAlreadyExists);
        let converted: smelt_tracking::Error = exists.into();
        assert_eq!(converted.code, ErrorCode::ResourceAlreadyExists);
        assert_eq!(converted.message, "run exists");
        let down = TrainError::Tracking(smelt_tracking::Error::new(
            ErrorCode::TemporarilyUnavailable,
            "database is down",
        ));
        assert_eq!(down.code().smelt_status(), 503);
        assert_eq!(TrainError::Spec("x".into()).code().smelt_status(), 400);
        assert_eq!(TrainError::NotFound("x".into()).code().smelt_status(), 404);
        assert_eq!(TrainError::Training("x".into()).code().smelt_status(), 500);
    }
}
