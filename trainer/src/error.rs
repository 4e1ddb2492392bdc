//! Why a training job could not run, worded for the person who started it.

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
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        TrainError::Io {
            context: context.into(),
            source,
        }
    }
}
