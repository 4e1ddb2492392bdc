//! The model folder and its `MLmodel` file (MLflow's format, `smelt` flavor).
//! A model trained anywhere in Smelt loads and predicts from this folder alone:
//!
//! ```text
//! MLmodel                    YAML: flavors.smelt, signature, input example, ids, time
//! model.json                 what to rebuild: runtime, architecture or linfa spec, task
//! weights.safetensors        Burn weights (Burn's [in, out] Linear layout)
//! linfa_model.json           or: the fitted linfa model (serde)
//! gbdt_model.json            or: the fitted boosters (perpetual, serde)
//! members/<i>/               or: an ensemble's member folders
//! preprocessing.json         the fitted Preprocessor
//! profile.json               baseline statistics of the training data (monitor)
//! metrics.json               final evaluation metrics
//! input_example.json         a few training rows, pandas "split" orient
//! serving_input_example.json the same rows as a scoring request body
//! ```
//!
//! The weights are written and read by the family that owns them
//! ([`ModelFiles`], the runtimes' `load`); this module writes the rest.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use smelt_data::{Frame, Kind, Values};

use crate::ensemble::{EnsembleMember, EnsembleModel};
use crate::error::{ModelError, Result};
use crate::gbdt::{GbdtRuntime, GbdtSpec};
use crate::linfa_models::LinfaSpec;
use crate::nets::Architecture;
use crate::predictor::{Predictor, TabularModel};
use crate::preprocessing::Preprocessor;
use crate::runtime::{BurnRuntime, LinfaRuntime, TargetScale};
use crate::task::Task;

pub const MLMODEL: &str = "MLmodel";
pub const MODEL_JSON: &str = "model.json";
// Each family names the files it writes; listed here with the folder's others.
pub use crate::gbdt::GBDT_MODEL;
pub use crate::runtime::{LINFA_MODEL, WEIGHTS, save_weights};
/// Where an ensemble keeps its members' folders (`members/0`, `members/1`, …).
pub const MEMBERS: &str = "members";
pub const PREPROCESSING: &str = "preprocessing.json";
pub const PROFILE: &str = "profile.json";
pub const METRICS: &str = "metrics.json";
pub const INPUT_EXAMPLE: &str = "input_example.json";
pub const SERVING_INPUT_EXAMPLE: &str = "serving_input_example.json";

/// What `model.json` records: how to rebuild the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelDescriptor {
    /// `mlp`, `cnn`, `logistic_regression`, ...
    pub model_type: String,
    pub runtime: RuntimeSpec,
    pub task: Task,
    /// The target column's name (the prediction's meaning).
    pub target: String,
    pub smelt_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "runtime", rename_all = "lowercase")]
pub enum RuntimeSpec {
    Burn {
        architecture: Architecture,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target_scale: Option<TargetScale>,
    },
    Linfa {
        spec: LinfaSpec,
    },
    /// Gradient-boosted trees (perpetual), in `gbdt_model.json`.
    Gbdt {
        spec: GbdtSpec,
    },
    /// A weighted average of complete model folders under `members/`.
    Ensemble {
        members: Vec<MemberSpec>,
    },
}

/// One ensemble member as `model.json` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberSpec {
    /// The member's folder, relative to the ensemble's.
    pub path: String,
    pub weight: f64,
    pub model_type: String,
}

impl RuntimeSpec {
    /// The ensemble runtime listing `members` in order (`members/0`, …).
    pub fn ensemble(members: &[EnsembleMemberBundle<'_>]) -> RuntimeSpec {
        RuntimeSpec::Ensemble {
            members: members
                .iter()
                .enumerate()
                .map(|(i, m)| MemberSpec {
                    path: format!("{MEMBERS}/{i}"),
                    weight: m.weight,
                    model_type: m.bundle.descriptor.model_type.clone(),
                })
                .collect(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            RuntimeSpec::Burn { .. } => "burn",
            RuntimeSpec::Linfa { .. } => "linfa",
            RuntimeSpec::Gbdt { .. } => "gbdt",
            RuntimeSpec::Ensemble { .. } => "ensemble",
        }
    }
}

/// The fitted state of one model, written into a model folder by the family
/// that owns it (a Burn [`Net`](crate::nets::Net), a
/// [`LinfaModel`](crate::linfa_models::LinfaModel), a
/// [`GbdtModel`](crate::gbdt::GbdtModel)); each family also reads its files
/// back (`BurnRuntime::load`, `LinfaRuntime::load`, `GbdtRuntime::load`).
/// The folder format and [`crate::Runtime`] know no family's files: a new
/// family implements this and one arm of [`load_model`].
pub trait ModelFiles {
    /// Writes the fitted state into `dir` and answers the name of what it
    /// wrote, which `MLmodel` records as the flavor's `data`.
    fn save(&self, dir: &Path) -> Result<&'static str>;
}

/// The fitted weights to save.
pub enum Weights<'a> {
    /// One model, which writes its own files.
    Model(&'a dyn ModelFiles),
    /// Members saved as complete folders under `members/<i>`.
    Ensemble(Vec<EnsembleMemberBundle<'a>>),
}

/// An ensemble member to save: its weight and its own complete bundle.
pub struct EnsembleMemberBundle<'a> {
    pub weight: f64,
    pub bundle: ModelBundle<'a>,
}

/// Everything [`save_model`] writes.
pub struct ModelBundle<'a> {
    pub descriptor: ModelDescriptor,
    pub preprocessor: &'a Preprocessor,
    pub weights: Weights<'a>,
    /// `profile.json` contents, produced by the monitor.
    pub profile_json: Option<String>,
    pub metrics: BTreeMap<String, f64>,
    /// A few rows of raw training input (feature columns only).
    pub input_example: Frame,
    pub run_id: Option<String>,
    pub model_id: Option<String>,
}

/// Writes the model folder into `dir` (created if needed).
pub fn save_model(dir: &Path, bundle: &ModelBundle<'_>) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
    let write = |name: &str, contents: String| {
        let path = dir.join(name);
        std::fs::write(&path, contents).map_err(|e| ModelError::io(path, e))
    };
    let json = |value: &dyn erased::Json| value.to_pretty();

    let data_file = match &bundle.weights {
        Weights::Model(model) => model.save(dir)?,
        Weights::Ensemble(members) => {
            let RuntimeSpec::Ensemble { members: listed } = &bundle.descriptor.runtime else {
                return Err(ModelError::Artifact(
                    "an ensemble's descriptor must list its members".into(),
                ));
            };
            if listed.len() != members.len() {
                return Err(ModelError::Artifact(format!(
                    "the descriptor lists {} members, the bundle has {}",
                    listed.len(),
                    members.len()
                )));
            }
            for (spec, member) in listed.iter().zip(members) {
                save_model(&dir.join(&spec.path), &member.bundle)?;
            }
            MEMBERS
        }
    };
    write(MODEL_JSON, json(&bundle.descriptor))?;
    write(PREPROCESSING, json(bundle.preprocessor))?;
    if let Some(profile) = &bundle.profile_json {
        write(PROFILE, profile.clone())?;
    }
    write(METRICS, json(&bundle.metrics))?;
    let example = split_orient(&bundle.input_example);
    write(INPUT_EXAMPLE, example.to_string())?;
    write(
        SERVING_INPUT_EXAMPLE,
        serde_json::to_string_pretty(&serde_json::json!({ "dataframe_split": example }))
            .map_err(artifact)?,
    )?;
    write(MLMODEL, mlmodel_yaml(bundle, data_file)?)?;
    Ok(())
}

/// Loads a model folder written by [`save_model`].
pub fn load_model(dir: &Path) -> Result<Box<dyn Predictor>> {
    if !dir.join(MLMODEL).is_file() {
        return Err(ModelError::Artifact(format!(
            "{} is not a Smelt model folder: it has no MLmodel file",
            dir.display()
        )));
    }
    let descriptor: ModelDescriptor = read_json(&dir.join(MODEL_JSON))?;
    let preprocessor: Preprocessor = read_json(&dir.join(PREPROCESSING))?;
    if let RuntimeSpec::Ensemble { members } = &descriptor.runtime {
        let members = members
            .iter()
            .map(|member| {
                let path = crate::ensemble::member_path(dir, &member.path)?;
                Ok(EnsembleMember {
                    weight: member.weight,
                    model: load_model(&path)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        return Ok(Box::new(EnsembleModel::new(descriptor.task, members)?));
    }
    let runtime: Box<dyn crate::runtime::Runtime> = match &descriptor.runtime {
        RuntimeSpec::Burn {
            architecture,
            target_scale,
        } => Box::new(BurnRuntime::load(
            architecture,
            &dir.join(WEIGHTS),
            burn::tensor::Device::flex(),
            &descriptor.task,
            *target_scale,
        )?),
        RuntimeSpec::Linfa { .. } => Box::new(LinfaRuntime::load(dir)?),
        RuntimeSpec::Gbdt { .. } => Box::new(GbdtRuntime::load(dir)?),
        RuntimeSpec::Ensemble { .. } => unreachable!("ensembles are loaded above"),
    };
    Ok(Box::new(TabularModel {
        preprocessor,
        task: descriptor.task,
        runtime,
    }))
}

/// Reads one JSON file of a model folder.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| ModelError::Artifact(format!("{} is not valid: {e}", path.display())))
}

/// Writes `value` as compact JSON to `dir/name` (a family's fitted state),
/// answering `name`.
pub(crate) fn write_json<T: Serialize>(
    dir: &Path,
    name: &'static str,
    value: &T,
) -> Result<&'static str> {
    let path = dir.join(name);
    let text = serde_json::to_string(value).map_err(artifact)?;
    std::fs::write(&path, text).map_err(|e| ModelError::io(path, e))?;
    Ok(name)
}

fn artifact(e: impl std::fmt::Display) -> ModelError {
    ModelError::Artifact(e.to_string())
}

/// A frame as pandas' "split" orient: `{"columns": [...], "data": [[...]]}`.
pub fn split_orient(frame: &Frame) -> serde_json::Value {
    let data: Vec<Vec<serde_json::Value>> = (0..frame.rows())
        .map(|row| {
            frame
                .columns()
                .iter()
                .map(|c| match &c.values {
                    Values::Numeric(v) if v[row].is_nan() => serde_json::Value::Null,
                    Values::Numeric(v) => serde_json::json!(v[row]),
                    Values::Categorical(v) => serde_json::json!(v.get(row)),
                })
                .collect()
        })
        .collect();
    serde_json::json!({ "columns": frame.names(), "data": data })
}

/// MLflow's column-based signature: `[{"type": "double", "name": "x", "required": true}]`.
fn input_schema(preprocessor: &Preprocessor, example: &Frame) -> serde_json::Value {
    use crate::preprocessing::FeatureTransform;
    let columns: Vec<serde_json::Value> = preprocessor
        .features
        .iter()
        .map(|feature| {
            let (kind, optional) = match feature {
                FeatureTransform::Numeric { .. } => ("double", true),
                FeatureTransform::Categorical {
                    missing_indicator, ..
                } => ("string", *missing_indicator),
            };
            let kind = match example.column(feature.name()).map(|c| c.kind()) {
                Some(Kind::Categorical) => "string",
                _ => kind,
            };
            serde_json::json!({ "type": kind, "name": feature.name(), "required": !optional })
        })
        .collect();
    serde_json::Value::Array(columns)
}

fn output_schema(task: &Task) -> serde_json::Value {
    match task {
        Task::Classification { .. } => {
            serde_json::json!([{ "type": "string", "name": "prediction", "required": true }])
        }
        Task::Regression => {
            serde_json::json!([{ "type": "double", "name": "prediction", "required": true }])
        }
    }
}

#[derive(Serialize)]
struct MlModelFile<'a> {
    artifact_path: &'a str,
    flavors: BTreeMap<&'a str, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_id: Option<&'a str>,
    model_uuid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_id: Option<&'a str>,
    saved_input_example_info: serde_json::Value,
    signature: BTreeMap<&'a str, String>,
    utc_time_created: String,
}

fn mlmodel_yaml(bundle: &ModelBundle<'_>, data_file: &str) -> Result<String> {
    let d = &bundle.descriptor;
    let smelt_flavor = serde_json::json!({
        "smelt_version": d.smelt_version,
        "model_type": d.model_type,
        "runtime": d.runtime.name(),
        "task": match d.task { Task::Classification { .. } => "classification", Task::Regression => "regression" },
        "target": d.target,
        "data": data_file,
        "model": MODEL_JSON,
        "preprocessing": PREPROCESSING,
        "profile": bundle.profile_json.as_ref().map(|_| PROFILE),
        "metrics": METRICS,
    });
    let file = MlModelFile {
        artifact_path: "model",
        flavors: BTreeMap::from([("smelt", smelt_flavor)]),
        model_id: bundle.model_id.as_deref(),
        model_uuid: uuid::Uuid::new_v4().simple().to_string(),
        run_id: bundle.run_id.as_deref(),
        saved_input_example_info: serde_json::json!({
            "artifact_path": INPUT_EXAMPLE,
            "serving_input_path": SERVING_INPUT_EXAMPLE,
            "type": "dataframe",
            "pandas_orient": "split",
        }),
        signature: BTreeMap::from([
            (
                "inputs",
                input_schema(bundle.preprocessor, &bundle.input_example).to_string(),
            ),
            ("outputs", output_schema(&d.task).to_string()),
        ]),
        utc_time_created: chrono::Utc::now()
            .format("%Y-%m-%d %H:%M:%S%.6f")
            .to_string(),
    };
    serde_norway::to_string(&file).map_err(artifact)
}

/// Pretty JSON for the serialisable parts, without a generic per call site.
mod erased {
    pub trait Json {
        fn to_pretty(&self) -> String;
    }

    impl<T: serde::Serialize> Json for T {
        fn to_pretty(&self) -> String {
            serde_json::to_string_pretty(self).expect("model files serialise")
        }
    }
}
