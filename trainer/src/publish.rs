//! Publishing a model folder from a run: an MLflow 3 logged model (created
//! first, so the folder's `MLmodel` can name its id), the folder uploaded both
//! as the run's `model/` artifacts and as the logged model's files, the
//! logged model finalised READY and recorded as the run's output, then a
//! registered version and alias when asked. `smelt train` and the autopilot
//! both publish through here.

use std::path::Path;

use smelt_tracking::entities::{LoggedModelStatus, ModelOutput, Tag};
use smelt_tracking::store::{CreateLoggedModel, CreateModelVersion};

use crate::error::{TrainError, TrainResult};
use crate::spec::RegisterSpec;
use crate::tracker::{RunTracker, upload_tree};

/// The run artifact path of a published model folder.
pub const MODEL_ARTIFACT_PATH: &str = "model";

/// What publishing made.
pub struct Published {
    pub logged_model_id: String,
    /// Registered model name and version.
    pub registered: Option<(String, String)>,
}

/// Publishes the folder `write` fills (given a folder and the logged model's id)
/// as `run`'s model of type `model_type`, output at `step`.
pub fn publish_model(
    run: &RunTracker,
    model_type: &str,
    step: i64,
    register: Option<&RegisterSpec>,
    write: &dyn Fn(&Path, &str) -> TrainResult<()>,
) -> TrainResult<Published> {
    let tracking = run.tracking();
    let store = run.store();
    let logged = tracking.block(store.create_logged_model(&CreateLoggedModel {
        experiment_id: run.experiment_id.clone(),
        name: Some(MODEL_ARTIFACT_PATH.to_string()),
        model_type: Some(model_type.to_string()),
        source_run_id: Some(run.run_id.clone()),
        params: Vec::new(),
        tags: vec![Tag::new("smelt.model_type", model_type)],
    }))?;
    let model_id = logged.info.model_id.clone();

    let folder =
        tempfile::tempdir().map_err(|e| TrainError::io("cannot create a temporary folder", e))?;
    write(folder.path(), &model_id)?;
    run.upload_dir(folder.path(), MODEL_ARTIFACT_PATH)?;
    let model_store = (tracking.open_artifacts)(&logged.info.artifact_uri)?;
    upload_tree(tracking, model_store.as_ref(), folder.path(), "")?;
    tracking.block(store.finalize_logged_model(&model_id, LoggedModelStatus::LoggedModelReady))?;
    tracking.block(store.log_outputs(
        &run.run_id,
        &[ModelOutput {
            model_id: model_id.clone(),
            step,
        }],
    ))?;

    let registered = match register {
        None => None,
        Some(register) => {
            let exists = tracking.block(store.get_registered_model(&register.name));
            if let Err(e) = exists {
                if !e.is_not_found() {
                    return Err(e.into());
                }
                match tracking.block(store.create_registered_model(&register.name, &[], None)) {
                    Ok(_) => {}
                    Err(e) if e.code == smelt_tracking::ErrorCode::ResourceAlreadyExists => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let version = tracking.block(store.create_model_version(&CreateModelVersion {
                name: register.name.clone(),
                source: format!("models:/{model_id}"),
                run_id: Some(run.run_id.clone()),
                tags: vec![Tag::new("smelt.model_type", model_type)],
                run_link: None,
                description: None,
                model_id: Some(model_id.clone()),
            }))?;
            if let Some(alias) = &register.alias {
                tracking.block(store.set_registered_model_alias(
                    &register.name,
                    alias,
                    &version.version,
                ))?;
            }
            Some((register.name.clone(), version.version))
        }
    };
    Ok(Published {
        logged_model_id: model_id,
        registered,
    })
}
