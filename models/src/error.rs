//! Errors from fitting, saving, loading and running models.

pub type Result<T, E = ModelError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The input does not fit the model (columns, shapes, values).
    #[error("{0}")]
    Input(String),
    /// The model (or its hyperparameters) cannot do what was asked.
    #[error("{0}")]
    Unsupported(String),
    /// Fitting failed inside the learning library.
    #[error("fitting failed: {0}")]
    Fit(String),
    /// A model folder is missing a file or holds something unreadable.
    #[error("{0}")]
    Artifact(String),
    #[error(transparent)]
    Data(#[from] smelt_data::DataError),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ModelError {
    pub fn io(path: impl Into<std::path::PathBuf>, source: std::io::Error) -> Self {
        ModelError::Io {
            path: path.into(),
            source,
        }
    }
}
