//! Where served models come from: the [`ModelSource`] seam.
//!
//! Serving names models the way MLflow does (`models:/NAME@ALIAS`,
//! `models:/NAME/VERSION`, `models:/NAME/latest`, `runs:/RUN_ID/PATH`, or a
//! local folder), parsed by tracking's [`ModelUri`] ([`parse_reference`]
//! keeps the forms serving loads). A source resolves such a reference to the
//! concrete version it names *now* and downloads that version's folder.
//! References that can move (an alias, `latest`) are re-resolved
//! periodically; when the answer changes the endpoint hot-swaps (see
//! [`crate::endpoint`]).
//!
//! [`RegistrySource`] implements the trait over a tracking store and the
//! artifact stores, through tracking's one resolver ([`ModelUri::locate`]);
//! [`LocalFolders`] serves folders alone (tests, offline).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use smelt_tracking::TrackingStore;
pub use smelt_tracking::artifacts::ModelUri;
use smelt_tracking::artifacts::{ArtifactLocations, Located};

use crate::error::{Result, ServeError};

/// The forms serving loads, for messages.
const SERVABLE: &str = "use models:/NAME@ALIAS, models:/NAME/VERSION, models:/NAME/latest, \
                        runs:/RUN_ID/PATH or a model folder";

/// Parses what a variant (or `smelt serve --model`) names, through tracking's
/// [`ModelUri`], and keeps the forms serving loads: registry versions,
/// aliases and `latest`, run artifacts and folders. Stages (deprecated in
/// MLflow), logged model ids and bare artifact locations are not part of
/// serving's contract (answers and metrics are labelled with a registered
/// name and version, a run or a folder), so they are refused here, saying
/// what is accepted.
pub fn parse_reference(text: &str) -> Result<ModelUri> {
    let uri = ModelUri::parse(text)
        .map_err(|error| ServeError::InvalidInput(format!("{}; {SERVABLE}", error.message)))?;
    match uri {
        ModelUri::Alias { .. }
        | ModelUri::Version { .. }
        | ModelUri::Latest { .. }
        | ModelUri::Run { .. }
        | ModelUri::Folder(_) => Ok(uri),
        ModelUri::Stage { .. }
        | ModelUri::LoggedModel { .. }
        | ModelUri::ServerArtifact { .. }
        | ModelUri::Location { .. } => Err(ServeError::InvalidInput(format!(
            "'{}' cannot be served; {SERVABLE}",
            text.trim()
        ))),
    }
}

/// The concrete version a reference names now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedModel {
    /// What the user asked for, as written.
    pub reference: String,
    /// Registered model name, or the run id / folder name.
    pub name: String,
    /// Registry version number, or the run id / `local` for folders.
    pub version: String,
    /// An immutable URI for this exact version (`models:/NAME/3`, `runs:/…`, a path).
    pub uri: String,
}

impl ResolvedModel {
    /// `NAME/VERSION`, what response headers and metrics call a version.
    pub fn label(&self) -> String {
        format!("{}/{}", self.name, self.version)
    }
}

#[async_trait]
pub trait ModelSource: Send + Sync {
    /// Which concrete version `reference` (parsed from `text` by
    /// [`parse_reference`]) names now. Unknown models, versions and aliases
    /// are [`ServeError::NotFound`].
    async fn resolve(&self, reference: &ModelUri, text: &str) -> Result<ResolvedModel>;
    /// Puts the version's model folder under `dir` and returns its path.
    async fn download(&self, model: &ResolvedModel, dir: &Path) -> Result<PathBuf>;
}

/// Models from a tracking store's registry and runs, files through
/// [`ArtifactLocations`]: what `smelt serve` and `smelt server` use.
/// Resolution and downloads go through [`ModelUri::model_version`] and
/// [`ModelUri::locate`], the same resolver every command uses.
pub struct RegistrySource {
    store: Arc<dyn TrackingStore>,
    locations: ArtifactLocations,
}

impl RegistrySource {
    /// Models in `store`, artifacts reached through `locations`.
    pub fn new(store: Arc<dyn TrackingStore>, locations: ArtifactLocations) -> RegistrySource {
        RegistrySource { store, locations }
    }
}

#[async_trait]
impl ModelSource for RegistrySource {
    async fn resolve(&self, reference: &ModelUri, text: &str) -> Result<ResolvedModel> {
        let resolved = |name: &str, version: &str| ResolvedModel {
            reference: text.to_string(),
            name: name.to_string(),
            version: version.to_string(),
            uri: format!("models:/{name}/{version}"),
        };
        match reference {
            ModelUri::Alias { .. } | ModelUri::Version { .. } | ModelUri::Latest { .. } => {
                let version = reference
                    .model_version(self.store.as_ref())
                    .await
                    .map_err(ServeError::from)?;
                Ok(resolved(&version.name, &version.version))
            }
            ModelUri::Run { run_id, path } => {
                self.store.get_run(run_id).await.map_err(ServeError::from)?;
                // A run without a path serves its `model` folder, where
                // `smelt train` and MLflow's `log_model` put it.
                let path = if path.is_empty() { "model" } else { path };
                Ok(ResolvedModel {
                    reference: text.to_string(),
                    name: run_id.clone(),
                    version: run_id.chars().take(8).collect(),
                    uri: format!("runs:/{run_id}/{path}"),
                })
            }
            ModelUri::Folder(_) => {
                // A server serves folders only under its store or data roots.
                self.locations.allows(text).map_err(ServeError::from)?;
                folder_model(reference, text).unwrap_or_else(|| {
                    Err(ServeError::Internal(
                        "a folder reference was not read as one".into(),
                    ))
                })
            }
            other => Err(ServeError::InvalidInput(format!(
                "'{other}' cannot be served; {SERVABLE}"
            ))),
        }
    }

    async fn download(&self, model: &ResolvedModel, dir: &Path) -> Result<PathBuf> {
        if model.version == "local" {
            return Ok(PathBuf::from(&model.uri));
        }
        let uri = ModelUri::parse(&model.uri).map_err(ServeError::from)?;
        let located = uri
            .locate(self.store.as_ref(), &self.locations)
            .await
            .map_err(ServeError::from)?;
        let folder = dir.join("model");
        download_model(&located, &folder).await?;
        Ok(folder)
    }
}

/// Downloads a model folder, and says so clearly when what the URI names is
/// not one (a version whose files were deleted, a run without a model).
async fn download_model(located: &Located, folder: &Path) -> Result<()> {
    let uri = &located.uri;
    let done = located.download(folder).await.map_err(|error| {
        if error.is_not_found() {
            ServeError::NotFound(format!(
                "{uri} has no model files: its artifacts are missing from the artifact store"
            ))
        } else {
            ServeError::from(error)
        }
    })?;
    if !folder.join("MLmodel").is_file() {
        return Err(ServeError::NotFound(format!(
            "{uri} is not a model: {} file(s) but no MLmodel among its artifacts",
            done.files
        )));
    }
    Ok(())
}

/// Serves local model folders only: no registry, nothing moves.
pub struct LocalFolders;

#[async_trait]
impl ModelSource for LocalFolders {
    async fn resolve(&self, reference: &ModelUri, text: &str) -> Result<ResolvedModel> {
        folder_model(reference, text).unwrap_or_else(|| {
            Err(ServeError::InvalidInput(format!(
                "'{text}' needs a tracking store; only model folders can be served without one"
            )))
        })
    }

    async fn download(&self, model: &ResolvedModel, _dir: &Path) -> Result<PathBuf> {
        Ok(PathBuf::from(&model.uri))
    }
}

/// Resolves a [`ModelUri::Folder`]; `None` for other references.
pub fn folder_model(reference: &ModelUri, text: &str) -> Option<Result<ResolvedModel>> {
    let ModelUri::Folder(path) = reference else {
        return None;
    };
    Some(if path.join("MLmodel").is_file() {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
        let name = absolute
            .file_name()
            .map_or_else(|| "model".to_string(), |n| n.to_string_lossy().into_owned());
        Ok(ResolvedModel {
            reference: text.to_string(),
            name,
            version: "local".into(),
            uri: absolute.display().to_string(),
        })
    } else {
        Err(ServeError::NotFound(format!(
            "{} is not a model folder (it has no MLmodel file)",
            path.display()
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serving_takes_registry_run_and_folder_references() {
        assert_eq!(
            parse_reference("models:/iris@champion").unwrap(),
            ModelUri::Alias {
                name: "iris".into(),
                alias: "champion".into()
            }
        );
        assert_eq!(
            parse_reference("models:/iris/3").unwrap(),
            ModelUri::Version {
                name: "iris".into(),
                version: "3".into()
            }
        );
        assert!(parse_reference("models:/iris/latest").unwrap().can_move());
        assert_eq!(
            parse_reference("runs:/abc/model").unwrap(),
            ModelUri::Run {
                run_id: "abc".into(),
                path: "model".into()
            }
        );
        assert!(!parse_reference("runs:/abc").unwrap().can_move());
        assert_eq!(
            parse_reference("./m").unwrap(),
            ModelUri::Folder("./m".into())
        );
    }

    #[test]
    fn malformed_or_unservable_references_say_what_is_accepted() {
        for bad in [
            "models:/iris",
            "models:/iris/x",
            "models:/@a",
            "models:/iris/Production",
            "models:/m-123",
            "runs:/",
            "runs:/abc/../x",
            "s3:/x",
            "s3://bucket/model",
            "mlflow-artifacts:/1/x",
            "",
        ] {
            let error = parse_reference(bad).unwrap_err();
            assert!(matches!(error, ServeError::InvalidInput(_)), "{bad}");
            let message = error.to_string();
            assert!(message.contains("models:/NAME@ALIAS"), "{bad}: {message}");
        }
    }

    /// Resolution and download go through tracking's resolver; a run
    /// whose model files are missing, or are not a model, is a clear 404
    /// naming the URI, never the artifacts destination.
    #[tokio::test]
    async fn a_registry_source_downloads_run_models_and_says_what_is_missing() {
        use smelt_tracking::store::CreateRun;

        let dir = tempfile::tempdir().unwrap();
        let store = smelt_tracking::open_store(
            &format!("sqlite:///{}", dir.path().join("t.db").display()),
            "mlflow-artifacts:",
        )
        .await
        .unwrap();
        let destination = dir.path().join("artifacts");
        let locations = ArtifactLocations::new("sqlite:///t.db", destination.to_str().unwrap());
        let run = store
            .create_run(&CreateRun {
                experiment_id: "0".into(),
                ..CreateRun::default()
            })
            .await
            .unwrap();
        let run_id = run.info.run_id.clone();
        let files = locations.open(&run.info.artifact_uri).unwrap();
        let source = RegistrySource::new(store, locations);

        let reference = parse_reference(&format!("runs:/{run_id}")).unwrap();
        let resolved = source.resolve(&reference, "r").await.unwrap();
        assert_eq!(resolved.uri, format!("runs:/{run_id}/model"));
        let hidden = destination.display().to_string();
        let missing = source
            .download(&resolved, &dir.path().join("d1"))
            .await
            .unwrap_err();
        assert!(matches!(missing, ServeError::NotFound(_)), "{missing:?}");
        let message = missing.to_string();
        assert!(message.contains(&resolved.uri), "{message}");
        assert!(message.contains("missing"), "{message}");
        assert!(!message.contains(&hidden), "{message}");

        files
            .put_bytes("other/notes.txt", "hi".into())
            .await
            .unwrap();
        let other = parse_reference(&format!("runs:/{run_id}/other")).unwrap();
        let resolved_other = source.resolve(&other, "o").await.unwrap();
        let not_a_model = source
            .download(&resolved_other, &dir.path().join("d2"))
            .await
            .unwrap_err()
            .to_string();
        assert!(not_a_model.contains("no MLmodel"), "{not_a_model}");

        files
            .put_bytes("model/MLmodel", "flavors: {}\n".into())
            .await
            .unwrap();
        let folder = source
            .download(&resolved, &dir.path().join("d3"))
            .await
            .unwrap();
        assert!(folder.join("MLmodel").is_file());

        let unknown = parse_reference("runs:/0123456789abcdef0123456789abcdef/model").unwrap();
        let error = source.resolve(&unknown, "u").await.unwrap_err();
        assert!(matches!(error, ServeError::NotFound(_)), "{error:?}");
    }

    #[tokio::test]
    async fn a_folder_without_mlmodel_is_not_a_model() {
        let dir = tempfile::tempdir().unwrap();
        let reference = parse_reference(dir.path().to_str().unwrap()).unwrap();
        let error = LocalFolders.resolve(&reference, "x").await.unwrap_err();
        assert!(error.to_string().contains("no MLmodel file"), "{error}");
    }
}
