//! The [`Predictor`] seam: one fitted model that maps a batch of rows to
//! predictions, safe to share between threads (serving holds one per model
//! version). [`TabularModel`] is Smelt's implementation: preprocessing, a
//! runtime, and label decoding.

use smelt_data::{Frame, Kind};

use crate::error::{ModelError, Result};
use crate::preprocessing::Preprocessor;
use crate::runtime::{RawOutput, Runtime};
use crate::task::{Predictions, Task};

/// A model ready to predict.
pub trait Predictor: Send + Sync {
    /// The input columns the model reads, in order.
    fn input_names(&self) -> Vec<String>;
    /// The input columns with their kinds, in order: the model's signature.
    fn inputs(&self) -> Vec<(String, Kind)>;
    fn task(&self) -> &Task;
    /// Predicts every row of `frame` (extra columns are ignored).
    fn predict(&self, frame: &Frame) -> Result<Predictions>;
}

/// Preprocessing + runtime + decoding.
pub struct TabularModel {
    pub preprocessor: Preprocessor,
    pub task: Task,
    pub runtime: Box<dyn Runtime>,
}

impl Predictor for TabularModel {
    fn input_names(&self) -> Vec<String> {
        self.preprocessor
            .input_names()
            .into_iter()
            .map(String::from)
            .collect()
    }

    fn inputs(&self) -> Vec<(String, Kind)> {
        use crate::preprocessing::FeatureTransform;
        self.preprocessor
            .features
            .iter()
            .map(|feature| {
                let kind = match feature {
                    FeatureTransform::Numeric { .. } => Kind::Numeric,
                    FeatureTransform::Categorical { .. } => Kind::Categorical,
                };
                (feature.name().to_string(), kind)
            })
            .collect()
    }

    fn task(&self) -> &Task {
        &self.task
    }

    fn predict(&self, frame: &Frame) -> Result<Predictions> {
        let features = self.preprocessor.transform(frame)?;
        let rows = features.rows;
        match (self.runtime.forward(&features)?, &self.task) {
            (RawOutput::Probabilities { classes: k, values }, Task::Classification { classes })
                if k == classes.len() || rows == 0 =>
            {
                Ok(Predictions::from_probabilities(classes, rows, &values))
            }
            (RawOutput::Values(values), Task::Regression) => Ok(Predictions::Values(values)),
            _ => Err(ModelError::Artifact(
                "the model's outputs do not match its task (the model folder is inconsistent)"
                    .into(),
            )),
        }
    }
}
