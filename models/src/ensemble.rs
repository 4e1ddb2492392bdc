//! Weighted ensembles of complete models: what the autopilot ships when greedy
//! ensemble selection keeps more than one model.
//!
//! On disk an ensemble is a model folder whose `model.json` names
//! `RuntimeSpec::Ensemble` and whose `members/<i>/` are complete model folders
//! (each with its own preprocessing, since members may have been fitted with
//! different preprocessing variants). Classification averages the members'
//! probabilities with the weights, in the task's one class order; regression
//! averages their values.

use smelt_data::{Frame, Kind};

use crate::error::{ModelError, Result};
use crate::predictor::Predictor;
use crate::task::{Predictions, Task};

/// One member and its weight (weights sum to 1).
pub struct EnsembleMember {
    pub weight: f64,
    pub model: Box<dyn Predictor>,
}

pub struct EnsembleModel {
    pub task: Task,
    pub members: Vec<EnsembleMember>,
}

impl EnsembleModel {
    /// Checks that every member answers the same task and the weights are usable.
    pub fn new(task: Task, members: Vec<EnsembleMember>) -> Result<Self> {
        if members.is_empty() {
            return Err(ModelError::Artifact("an ensemble needs members".into()));
        }
        let total: f64 = members.iter().map(|m| m.weight).sum();
        if !(total.is_finite() && total > 0.0) || members.iter().any(|m| m.weight < 0.0) {
            return Err(ModelError::Artifact(
                "ensemble weights must be non-negative and sum to more than 0".into(),
            ));
        }
        if let Some(other) = members.iter().find(|m| m.model.task() != &task) {
            return Err(ModelError::Artifact(format!(
                "an ensemble member predicts {:?}, the ensemble {:?}",
                other.model.task(),
                task
            )));
        }
        Ok(EnsembleModel { task, members })
    }

    fn first(&self) -> &dyn Predictor {
        self.members[0].model.as_ref()
    }
}

impl Predictor for EnsembleModel {
    fn input_names(&self) -> Vec<String> {
        self.first().input_names()
    }

    fn inputs(&self) -> Vec<(String, Kind)> {
        self.first().inputs()
    }

    fn task(&self) -> &Task {
        &self.task
    }

    fn predict(&self, frame: &Frame) -> Result<Predictions> {
        let rows = frame.rows();
        let total: f64 = self.members.iter().map(|m| m.weight).sum();
        match &self.task {
            Task::Classification { classes } => {
                let k = classes.len();
                let mut sum = vec![0.0; rows * k];
                for member in &self.members {
                    let Predictions::Classes { probabilities, .. } = member.model.predict(frame)?
                    else {
                        return Err(mismatch());
                    };
                    for (row, p) in probabilities.iter().enumerate() {
                        for (c, value) in p.iter().enumerate() {
                            sum[row * k + c] += member.weight * value;
                        }
                    }
                }
                sum.iter_mut().for_each(|v| *v /= total);
                Ok(Predictions::from_probabilities(classes, rows, &sum))
            }
            Task::Regression => {
                let mut sum = vec![0.0; rows];
                for member in &self.members {
                    let Predictions::Values(values) = member.model.predict(frame)? else {
                        return Err(mismatch());
                    };
                    for (s, v) in sum.iter_mut().zip(values) {
                        *s += member.weight * v;
                    }
                }
                sum.iter_mut().for_each(|v| *v /= total);
                Ok(Predictions::Values(sum))
            }
        }
    }
}

fn mismatch() -> ModelError {
    ModelError::Artifact("an ensemble member's outputs do not match the ensemble's task".into())
}

/// The folder of a member listed as `relative` in an ensemble at `dir`;
/// a path that leaves the ensemble's folder is refused (model folders are
/// downloaded from artifact stores and must not point elsewhere).
pub fn member_path(dir: &std::path::Path, relative: &str) -> Result<std::path::PathBuf> {
    let path = std::path::Path::new(relative);
    let inside = path
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !inside || relative.is_empty() {
        return Err(ModelError::Artifact(format!(
            "ensemble member path '{relative}' must be a relative path inside the model folder"
        )));
    }
    Ok(dir.join(path))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use smelt_data::{Column, Frame};

    use super::*;
    use crate::flavor::{
        EnsembleMemberBundle, ModelBundle, ModelDescriptor, RuntimeSpec, Weights, load_model,
        save_model,
    };
    use crate::gbdt::{GbdtModel, GbdtSpec};
    use crate::linfa_models::{LinfaModel, LinfaSpec, Target};
    use crate::preprocessing::Preprocessor;

    /// Two features, a class that follows their sum, 120 rows.
    fn frame() -> (Frame, Vec<usize>) {
        let a: Vec<f64> = (0..120).map(|i| (i % 12) as f64).collect();
        let b: Vec<f64> = (0..120).map(|i| ((i * 7) % 11) as f64).collect();
        let codes: Vec<usize> = a
            .iter()
            .zip(&b)
            .map(|(x, y)| usize::from(x + y > 10.0))
            .collect();
        let frame = Frame::new(vec![Column::numeric("a", a), Column::numeric("b", b)]).unwrap();
        (frame, codes)
    }

    #[test]
    fn an_ensemble_folder_loads_and_averages_its_members() {
        let (frame, codes) = frame();
        let task = Task::Classification {
            classes: vec!["no".into(), "yes".into()],
        };
        let preprocessor = Preprocessor::fit(&frame).unwrap();
        let x = preprocessor.transform(&frame).unwrap();
        let view = ndarray::ArrayView2::from_shape((x.rows, x.cols), &x.values).unwrap();
        let nb_spec = LinfaSpec::GaussianNb {
            var_smoothing: 1e-9,
        };
        let nb = LinfaModel::fit(
            &nb_spec,
            view,
            Target::Classes {
                codes: &codes,
                n_classes: 2,
            },
        )
        .unwrap();
        let gbdt_spec = GbdtSpec::default();
        let gbdt = GbdtModel::fit_classifier(&gbdt_spec, &x, &codes, 2, 1, None).unwrap();
        let bundle = |runtime: RuntimeSpec, weights: Weights<'static>, p: &'static Preprocessor| {
            ModelBundle {
                descriptor: ModelDescriptor {
                    model_type: "member".into(),
                    runtime,
                    task: task.clone(),
                    target: "y".into(),
                    smelt_version: "test".into(),
                },
                preprocessor: p,
                weights,
                profile_json: None,
                metrics: BTreeMap::new(),
                input_example: frame.take(&[0, 1]),
                run_id: None,
                model_id: None,
            }
        };
        let p: &'static Preprocessor = Box::leak(Box::new(preprocessor));
        let nb: &'static LinfaModel = Box::leak(Box::new(nb));
        let gbdt: &'static GbdtModel = Box::leak(Box::new(gbdt));
        let members = vec![
            EnsembleMemberBundle {
                weight: 0.25,
                bundle: bundle(
                    RuntimeSpec::Linfa {
                        spec: nb_spec.clone(),
                    },
                    Weights::Model(nb),
                    p,
                ),
            },
            EnsembleMemberBundle {
                weight: 0.75,
                bundle: bundle(
                    RuntimeSpec::Gbdt {
                        spec: gbdt_spec.clone(),
                    },
                    Weights::Model(gbdt),
                    p,
                ),
            },
        ];
        let ensemble = ModelBundle {
            descriptor: ModelDescriptor {
                model_type: "ensemble".into(),
                runtime: RuntimeSpec::ensemble(&members),
                task: task.clone(),
                target: "y".into(),
                smelt_version: "test".into(),
            },
            preprocessor: p,
            weights: Weights::Ensemble(members),
            profile_json: None,
            metrics: BTreeMap::new(),
            input_example: frame.take(&[0, 1]),
            run_id: None,
            model_id: None,
        };
        let dir = tempfile::tempdir().unwrap();
        save_model(dir.path(), &ensemble).unwrap();
        assert!(dir.path().join("members/0/MLmodel").is_file());
        assert!(dir.path().join("members/1/gbdt_model.json").is_file());

        let loaded = load_model(dir.path()).unwrap();
        let member = |i: usize| load_model(&dir.path().join(format!("members/{i}"))).unwrap();
        let probabilities = |p: Predictions| match p {
            Predictions::Classes { probabilities, .. } => probabilities,
            Predictions::Values(_) => panic!("a classifier"),
        };
        let all = probabilities(loaded.predict(&frame).unwrap());
        let first = probabilities(member(0).predict(&frame).unwrap());
        let second = probabilities(member(1).predict(&frame).unwrap());
        for row in 0..frame.rows() {
            for c in 0..2 {
                let expected = 0.25 * first[row][c] + 0.75 * second[row][c];
                assert!((all[row][c] - expected).abs() < 1e-12);
            }
        }
        assert_eq!(loaded.input_names(), vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn member_paths_stay_inside_the_folder() {
        let dir = std::path::Path::new("/models/m");
        assert!(member_path(dir, "members/0").is_ok());
        for bad in ["../other", "/etc", "", "members/../../x"] {
            assert!(member_path(dir, bad).is_err(), "{bad}");
        }
    }
}
