//! Serving's `ModelSource` over the tracking store and artifact stores: how
//! `smelt serve` and `smelt server` find and download model versions.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use smelt_serving::source::folder_model;
use smelt_serving::{ModelReference, ModelSource, ResolvedModel, ServeError};
use smelt_tracking::ErrorCode;

use crate::commands::artifacts::fetch;
use crate::config::Context;

pub struct RegistrySource {
    pub ctx: Context,
    /// The local artifact proxy's destination (`mlflow-artifacts:` locations).
    pub destination: String,
}

#[async_trait]
impl ModelSource for RegistrySource {
    async fn resolve(
        &self,
        reference: &ModelReference,
        text: &str,
    ) -> Result<ResolvedModel, ServeError> {
        let store = &self.ctx.store;
        let resolved = |name: &str, version: &str| ResolvedModel {
            reference: text.to_string(),
            name: name.to_string(),
            version: version.to_string(),
            uri: format!("models:/{name}/{version}"),
        };
        match reference {
            ModelReference::Alias { name, alias } => {
                let version = store
                    .get_model_version_by_alias(name, alias)
                    .await
                    .map_err(store_error)?;
                Ok(resolved(name, &version.version))
            }
            ModelReference::Version { name, version } => {
                let version = store
                    .get_model_version(name, version)
                    .await
                    .map_err(store_error)?;
                Ok(resolved(name, &version.version))
            }
            ModelReference::Latest { name } => {
                let versions = store
                    .get_latest_versions(name, &[])
                    .await
                    .map_err(store_error)?;
                let newest = versions
                    .iter()
                    .filter_map(|v| v.version.parse::<u64>().ok())
                    .max()
                    .ok_or_else(|| {
                        ServeError::NotFound(format!("registered model '{name}' has no versions"))
                    })?;
                Ok(resolved(name, &newest.to_string()))
            }
            ModelReference::Run { run_id, path } => {
                store.get_run(run_id).await.map_err(store_error)?;
                Ok(ResolvedModel {
                    reference: text.to_string(),
                    name: run_id.clone(),
                    version: run_id.chars().take(8).collect(),
                    uri: format!("runs:/{run_id}/{path}"),
                })
            }
            ModelReference::Folder(_) => folder_model(reference, text).unwrap_or_else(|| {
                Err(ServeError::Internal(
                    "a folder reference was not read as one".into(),
                ))
            }),
        }
    }

    async fn download(&self, model: &ResolvedModel, dir: &Path) -> Result<PathBuf, ServeError> {
        if model.version == "local" {
            return Ok(PathBuf::from(&model.uri));
        }
        fetch(&self.ctx, &self.destination, &model.uri, &dir.join("model"))
            .await
            .map_err(|e| ServeError::NotFound(format!("cannot download {}: {e}", model.uri)))
    }
}

fn store_error(error: smelt_tracking::Error) -> ServeError {
    match error.code {
        ErrorCode::ResourceDoesNotExist => ServeError::NotFound(error.message),
        ErrorCode::InvalidParameterValue | ErrorCode::BadRequest => {
            ServeError::InvalidInput(error.message)
        }
        _ => ServeError::Internal(format!("the tracking store failed: {}", error.message)),
    }
}
