//! From a [`ModelUri`] to files: [`ArtifactLocations`] opens the store an
//! artifact location names, [`ModelUri::model_version`] and
//! [`ModelUri::locate`] follow the registry and runs to a store and a path,
//! and [`Located`] downloads or reads what is there.
//!
//! This is the one resolver of model and artifact URIs: the commands, serving's
//! model source, the monitor's reference profiles and the server's job
//! executor and UI all come through here.
//!
//! Errors name the URI the caller gave (`models:/iris/3`, `runs:/…/model`),
//! never the folder or bucket a store keeps the files in: a server answers
//! them to API clients, who must not learn its filesystem layout. Details
//! that would expose it go to the log.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use super::data_roots::{DATA_ROOTS_FLAG, DataRoots};
use super::uri::ModelUri;
use super::{
    ArtifactStore, open_artifact_store, read_error, resolve_artifact_uri, validate_relative_path,
};
use crate::entities::ModelVersion;
use crate::error::{Error, ErrorCode, Result};
use crate::store::{ModelRegistry, TrackingStore};

/// How many times a registry answer may point at another `models:/` or
/// `runs:/` URI before resolution gives up (a version whose source is a
/// logged model is two hops; a loop is a broken registry).
const MAX_HOPS: usize = 4;

/// How this process reaches artifact locations, in particular
/// `mlflow-artifacts:` ones, which mean "the tracking server's artifact
/// store" and so depend on where the tracking data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactLocations {
    /// Tracking is an http(s) server: `mlflow-artifacts:` goes through its
    /// artifact proxy, as MLflow's client does.
    Proxy {
        /// The tracking server's URL.
        tracking_url: String,
    },
    /// Tracking is a database this process opens itself (as `smelt server`
    /// does): `mlflow-artifacts:/PATH` is PATH under the destination the
    /// server's proxy serves.
    Destination {
        /// A folder, `file://…` or `s3://bucket/prefix`.
        root: String,
        /// Which other locations may be opened: anywhere for the user's
        /// own commands; a server opening them for its callers keeps to
        /// its artifact store and data roots ([`ArtifactLocations::reading_only`]).
        allowed: DataRoots,
    },
}

impl ArtifactLocations {
    /// For a tracking URI: an http(s) URL resolves through its proxy, a
    /// database through `destination` (`smelt server --artifacts-destination`).
    pub fn new(tracking_uri: &str, destination: &str) -> ArtifactLocations {
        let tracking_uri = tracking_uri.trim();
        let lower = tracking_uri.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            ArtifactLocations::Proxy {
                tracking_url: tracking_uri.to_string(),
            }
        } else {
            ArtifactLocations::Destination {
                root: destination.trim().to_string(),
                allowed: DataRoots::anywhere(),
            }
        }
    }

    /// The same locations, opening folders and object-store URIs only where
    /// `allowed` says (a server acting for its callers: a client may name
    /// any folder as an experiment's artifact location or a version's source).
    pub fn reading_only(self, allowed: DataRoots) -> ArtifactLocations {
        match self {
            ArtifactLocations::Destination { root, .. } => {
                ArtifactLocations::Destination { root, allowed }
            }
            proxy => proxy,
        }
    }

    /// Whether a folder or object-store location may be read through these
    /// locations (see [`ArtifactLocations::reading_only`]); the refusal is
    /// `INVALID_PARAMETER_VALUE` naming `uri` as given.
    pub fn allows(&self, uri: &str) -> Result<()> {
        match self {
            ArtifactLocations::Destination { allowed, .. } => allowed.location(uri),
            ArtifactLocations::Proxy { .. } => Ok(()),
        }
    }

    /// Opens the store rooted at an artifact location (a run's or a logged
    /// model's `artifact_uri`, or any location [`ModelUri`] parses as one).
    pub fn open(&self, uri: &str) -> Result<Arc<dyn ArtifactStore>> {
        let uri = uri.trim();
        if uri.is_empty() {
            return Err(Error::invalid("The artifact location is empty"));
        }
        match self {
            ArtifactLocations::Proxy { tracking_url } => {
                resolve_artifact_uri(uri, Some(tracking_url))
            }
            ArtifactLocations::Destination { root, allowed } => match ModelUri::parse(uri)? {
                ModelUri::ServerArtifact { path, .. } => self.open_destination(root, &path, uri),
                ModelUri::Folder(_) | ModelUri::Location { .. } => {
                    allowed.location(uri)?;
                    open_artifact_store(uri)
                }
                other => Err(Error::invalid(format!(
                    "'{other}' is not an artifact location; resolve it with ModelUri::locate"
                ))),
            },
        }
    }

    /// `path` under the destination. Failures are logged with the
    /// destination and answered naming only `uri`.
    fn open_destination(
        &self,
        root: &str,
        path: &str,
        uri: &str,
    ) -> Result<Arc<dyn ArtifactStore>> {
        let local = if path.is_empty() {
            root.to_string()
        } else if root.contains("://") {
            format!("{}/{path}", root.trim_end_matches('/'))
        } else {
            Path::new(root).join(path).display().to_string()
        };
        tracing::debug!(%uri, %local, "mlflow-artifacts: resolved to the artifacts destination");
        open_artifact_store(&local).map_err(|error| {
            tracing::warn!(%uri, %local, %error, "cannot open the artifacts destination");
            Error::new(
                error.code,
                format!(
                    "Cannot open the artifact location '{uri}' in the artifacts destination \
                     (the log has the details)"
                ),
            )
        })
    }
}

/// Where a URI's files are: a store, a file or folder inside it, and the
/// URI the caller named them by (for messages).
#[derive(Debug, Clone)]
pub struct Located {
    /// The store that holds them.
    pub store: Arc<dyn ArtifactStore>,
    /// The file or folder inside the store, validated; `""` is its root.
    pub path: String,
    /// What the caller asked for, as [`ModelUri`] displays it.
    pub uri: String,
}

/// What a download wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Downloaded {
    /// Files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
}

impl ModelUri {
    /// The registered version a registry form (`@ALIAS`, `/VERSION`,
    /// `/latest`, `/STAGE`) names now. Unknown models, versions and aliases
    /// are `RESOURCE_DOES_NOT_EXIST`; other forms are `INVALID_PARAMETER_VALUE`.
    pub async fn model_version(&self, registry: &dyn ModelRegistry) -> Result<ModelVersion> {
        match self {
            ModelUri::Alias { name, alias } => {
                match registry.get_model_version_by_alias(name, alias).await {
                    Ok(version) => Ok(version),
                    // Only on a miss: say whether the model or the alias is
                    // unknown (the watcher re-resolves aliases every poll).
                    Err(error) if error.is_not_found() => {
                        registry.get_registered_model(name).await?;
                        Err(Error::not_found(format!(
                            "Registered model '{name}' has no alias '{alias}'"
                        )))
                    }
                    Err(error) => Err(error),
                }
            }
            ModelUri::Version { name, version } => registry.get_model_version(name, version).await,
            ModelUri::Latest { name } => newest(registry, name, &[]).await?.ok_or_else(|| {
                Error::not_found(format!("Registered model '{name}' has no versions"))
            }),
            ModelUri::Stage { name, stage } => newest(registry, name, std::slice::from_ref(stage))
                .await?
                .ok_or_else(|| {
                    Error::not_found(format!(
                        "Registered model '{name}' has no version in stage '{stage}'"
                    ))
                }),
            other => Err(Error::invalid(format!(
                "'{other}' does not name a registered model version"
            ))),
        }
    }

    /// The store and path holding what this URI names, following the
    /// registry (a version's download location), logged models and runs.
    ///
    /// For a location (`mlflow-artifacts:`, `s3://`, a folder) the store is
    /// its parent and the path its last segment, so a download lands under
    /// the name the URI ends with.
    pub async fn locate(
        &self,
        tracking: &dyn TrackingStore,
        locations: &ArtifactLocations,
    ) -> Result<Located> {
        let mut current = self.clone();
        for _ in 0..MAX_HOPS {
            current = match &current {
                ModelUri::Run { run_id, path } => {
                    let run = tracking.get_run(run_id).await?;
                    let store = open_named(locations, &run.info.artifact_uri, self)?;
                    return Ok(self.located(store, path.clone()));
                }
                ModelUri::LoggedModel { model_id } => {
                    let model = tracking.get_logged_model(model_id).await?;
                    location(self, &model.info.artifact_uri)?
                }
                ModelUri::Alias { .. }
                | ModelUri::Version { .. }
                | ModelUri::Latest { .. }
                | ModelUri::Stage { .. } => {
                    let version = current.model_version(tracking).await?;
                    let uri = tracking
                        .get_model_version_download_uri(&version.name, &version.version)
                        .await?;
                    location(self, &uri)?
                }
                ModelUri::ServerArtifact { .. }
                | ModelUri::Location { .. }
                | ModelUri::Folder(_) => return locate_location(&current, self, locations),
            };
        }
        Err(Error::invalid(format!(
            "'{self}' leads through more than {MAX_HOPS} models:/ or runs:/ references"
        )))
    }

    /// [`locate`](Self::locate) for the forms that are locations
    /// (`mlflow-artifacts:`, `s3://`, `http(s)://`, folders), which need no
    /// tracking store; the other forms are `INVALID_PARAMETER_VALUE`.
    pub fn locate_location(&self, locations: &ArtifactLocations) -> Result<Located> {
        locate_location(self, self, locations)
    }

    fn located(&self, store: Arc<dyn ArtifactStore>, path: String) -> Located {
        Located {
            store,
            path,
            uri: self.to_string(),
        }
    }
}

/// The parent store and last segment of a location form of `current`;
/// messages name `asked`.
fn locate_location(
    current: &ModelUri,
    asked: &ModelUri,
    locations: &ArtifactLocations,
) -> Result<Located> {
    let Some((root, name)) = current.split_location() else {
        return Err(Error::invalid(format!(
            "'{current}' is not an artifact location; it needs a tracking store to resolve"
        )));
    };
    // Before anything else, so that a refusal says nothing of what exists.
    if matches!(current, ModelUri::Folder(_) | ModelUri::Location { .. }) {
        allowed(locations, &current.to_string(), asked)?;
    }
    let store = match current {
        // Checked first: opening a local store creates its folder, and
        // naming a path must not create one.
        ModelUri::Folder(path) if !path.exists() => {
            return Err(Error::not_found(if current == asked {
                format!("Nothing at '{asked}' on this machine")
            } else {
                format!("The files of '{asked}' are missing from their artifact location")
            }));
        }
        // A folder the caller named on this machine: its own errors (with
        // its path) are the caller's to see. One the registry named is not.
        ModelUri::Folder(_) if current == asked => open_artifact_store(&root)?,
        _ => open_named(locations, &root, asked)?,
    };
    let name = validate_relative_path(&name).map_err(|error| {
        Error::invalid(format!(
            "Invalid artifact path in '{asked}': {}",
            error.message
        ))
    })?;
    Ok(asked.located(store, name))
}

impl ModelUri {
    /// For the location forms (`mlflow-artifacts:`, `s3://`, `http(s)://`,
    /// folders): the parent location, as a URI or path a store opens, and
    /// the last segment (`""` when the URI is a bucket, host or filesystem
    /// root). `None` for the forms that need a tracking store.
    pub fn split_location(&self) -> Option<(String, String)> {
        match self {
            ModelUri::ServerArtifact { authority, path } => {
                let (parent, name) = split_last(path);
                let root = ModelUri::ServerArtifact {
                    authority: authority.clone(),
                    path: parent.to_string(),
                };
                Some((root.to_string(), name.to_string()))
            }
            ModelUri::Location { uri } => {
                let trimmed = uri.trim_end_matches('/');
                // The path starts after the scheme's `//` and the bucket or host.
                let path_start = trimmed
                    .find("://")
                    .map(|i| i + 3)
                    .and_then(|start| trimmed[start..].find('/').map(|i| start + i));
                Some(match path_start {
                    Some(at) => {
                        let (parent, name) = split_last(&trimmed[at + 1..]);
                        let root = if parent.is_empty() {
                            trimmed[..at].to_string()
                        } else {
                            format!("{}/{parent}", &trimmed[..at])
                        };
                        (root, name.to_string())
                    }
                    None => (trimmed.to_string(), String::new()),
                })
            }
            ModelUri::Folder(path) => Some(match (path.parent(), path.file_name()) {
                (Some(parent), Some(name)) => {
                    let parent = if parent.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        parent
                    };
                    (
                        parent.display().to_string(),
                        name.to_string_lossy().into_owned(),
                    )
                }
                _ => (path.display().to_string(), String::new()),
            }),
            _ => None,
        }
    }
}

/// The newest of `get_latest_versions` (one per stage) by version number.
async fn newest(
    registry: &dyn ModelRegistry,
    name: &str,
    stages: &[String],
) -> Result<Option<ModelVersion>> {
    let versions = registry.get_latest_versions(name, stages).await?;
    Ok(versions
        .into_iter()
        .max_by_key(|v| v.version.parse::<u64>().unwrap_or(0)))
}

/// A location the registry or a logged model answered, parsed; a bad one is
/// a broken record, reported against what the caller asked for.
fn location(asked: &ModelUri, uri: &str) -> Result<ModelUri> {
    ModelUri::parse(uri).map_err(|error| {
        tracing::warn!(%asked, location = %uri, %error, "unreadable artifact location");
        Error::new(
            ErrorCode::InvalidState,
            format!("'{asked}' points at an artifact location Smelt cannot read"),
        )
    })
}

/// Whether `locations` may open `uri`, which `asked` led to. The caller's
/// own path is named in the refusal; a location the registry or a run
/// named is not (it may be a folder of the server's).
fn allowed(locations: &ArtifactLocations, uri: &str, asked: &ModelUri) -> Result<()> {
    locations.allows(uri).map_err(|error| {
        if asked.to_string() == uri {
            return error;
        }
        tracing::warn!(%asked, location = %uri, %error, "refused an artifact location");
        Error::invalid(format!(
            "The artifacts of '{asked}' are stored outside this server's artifact store, so \
             the server does not read them for a caller; ask its operator to allow the \
             folder with {DATA_ROOTS_FLAG}"
        ))
    })
}

/// Opens `uri` through `locations`; an error names `asked` rather than the
/// location (which may be a folder of the server's).
fn open_named(
    locations: &ArtifactLocations,
    uri: &str,
    asked: &ModelUri,
) -> Result<Arc<dyn ArtifactStore>> {
    allowed(locations, uri, asked)?;
    locations.open(uri).map_err(|error| {
        tracing::warn!(%asked, location = %uri, %error, "cannot open an artifact location");
        Error::new(
            error.code,
            format!("Cannot open the artifacts of '{asked}' (the log has the details)"),
        )
    })
}

/// `a/b/c` → (`a/b`, `c`); `c` → (`""`, `c`).
fn split_last(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

impl Located {
    /// Copies the file or folder tree into `local` (a file lands at `local`,
    /// a folder's contents under it). A run or folder with no artifacts at
    /// all gives an empty folder; a missing path is `RESOURCE_DOES_NOT_EXIST`.
    pub async fn download(&self, local: &Path) -> Result<Downloaded> {
        let store = self.store.as_ref();
        let entries = store
            .list(&self.path)
            .await
            .map_err(|error| self.storage_error(&self.path, error))?;
        if entries.is_empty() {
            if self.path.is_empty() {
                self.create_dir(local).await?;
                return Ok(Downloaded::default());
            }
            // Not a folder with contents: a file, or nothing at all.
            return match store.get(&self.path).await {
                Ok(object) => {
                    let bytes = self.write_file(object, &self.path, local).await?;
                    Ok(Downloaded { files: 1, bytes })
                }
                Err(error) if error.is_not_found() => {
                    Err(Error::not_found(format!("No artifact at '{}'", self.uri)))
                }
                Err(error) => Err(self.storage_error(&self.path, error)),
            };
        }
        let mut done = Downloaded::default();
        let mut pending = vec![(self.path.clone(), local.to_path_buf(), entries)];
        while let Some((folder, local_folder, entries)) = pending.pop() {
            self.create_dir(&local_folder).await?;
            for entry in entries {
                let name = self.entry_name(&entry.path)?;
                let remote = join(&folder, &name);
                let target = local_folder.join(&name);
                if entry.is_dir {
                    let children = store
                        .list(&remote)
                        .await
                        .map_err(|error| self.storage_error(&remote, error))?;
                    pending.push((remote, target, children));
                } else {
                    let object = store
                        .get(&remote)
                        .await
                        .map_err(|error| self.storage_error(&remote, error))?;
                    done.bytes += self.write_file(object, &remote, &target).await?;
                    done.files += 1;
                }
            }
        }
        Ok(done)
    }

    /// Reads one file, `relative` to [`Located::path`], into memory; a
    /// missing file is `RESOURCE_DOES_NOT_EXIST` naming it inside the URI.
    pub async fn read(&self, relative: &str) -> Result<Bytes> {
        let relative = validate_relative_path(relative)?;
        let path = join(&self.path, &relative);
        match self.store.get(&path).await {
            Ok(object) => object
                .into_bytes()
                .await
                .map_err(|error| self.storage_error(&path, error)),
            Err(error) if error.is_not_found() => Err(Error::not_found(format!(
                "'{}' has no file '{relative}'",
                self.uri
            ))),
            Err(error) => Err(self.storage_error(&path, error)),
        }
    }

    /// A listed name as one safe path segment: listings come from stores
    /// (or remote servers) and must not steer a download outside `local`.
    fn entry_name(&self, listed: &str) -> Result<String> {
        let name = listed
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(listed);
        match validate_relative_path(name) {
            Ok(clean) if !clean.is_empty() && !clean.contains('/') => Ok(clean),
            _ => Err(Error::invalid(format!(
                "Refusing to download an artifact named '{}' from '{}'",
                name.escape_debug(),
                self.uri
            ))),
        }
    }

    async fn create_dir(&self, path: &Path) -> Result<()> {
        tokio::fs::create_dir_all(path)
            .await
            .map_err(|error| self.local_error("a folder", &error))
    }

    /// Streams one opened file to `local`; returns its size. Local failures
    /// name the artifact, not the local path (a server's temporary folder).
    async fn write_file(
        &self,
        object: super::ArtifactObject,
        path: &str,
        local: &Path,
    ) -> Result<u64> {
        if let Some(parent) = local.parent() {
            self.create_dir(parent).await?;
        }
        tracing::debug!(%path, local = %local.display(), "downloading");
        let mut stream = object.stream;
        let mut file = tokio::fs::File::create(local)
            .await
            .map_err(|error| self.local_error(path, &error))?;
        let mut written = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|error| self.storage_error(path, read_error(error)))?;
            file.write_all(&chunk)
                .await
                .map_err(|error| self.local_error(path, &error))?;
            written += chunk.len() as u64;
        }
        file.flush()
            .await
            .map_err(|error| self.local_error(path, &error))?;
        Ok(written)
    }

    /// A store's failure at `path`, said without the store's own words,
    /// which may name its folder or bucket; those go to the log. The code
    /// is kept (a proxy's 503 stays retryable).
    fn storage_error(&self, path: &str, error: Error) -> Error {
        tracing::warn!(uri = %self.uri, %path, %error, "artifact storage failed");
        Error::new(
            error.code,
            format!(
                "Cannot read '{path}' of '{}' from the artifact store (the log has the details)",
                self.uri
            ),
        )
    }

    fn local_error(&self, what: &str, error: &std::io::Error) -> Error {
        Error::internal(format!(
            "Cannot write {what} of '{}' to local disk: {error}",
            self.uri
        ))
    }
}

fn join(folder: &str, name: &str) -> String {
    match (folder.is_empty(), name.is_empty()) {
        (true, _) => name.to_string(),
        (_, true) => folder.to_string(),
        _ => format!("{folder}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_opens_for_callers_only_its_store_and_data_roots() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("artifacts");
        let data = dir.path().join("data");
        let secret = dir.path().join("secret");
        for folder in [&destination, &data, &secret] {
            std::fs::create_dir_all(folder).unwrap();
        }
        let destination_text = destination.display().to_string();
        let roots = DataRoots::only(std::slice::from_ref(&data))
            .unwrap()
            .with_artifact_stores(&[destination_text.as_str(), "s3://bucket/store"]);
        let server =
            ArtifactLocations::new("sqlite:///x.db", &destination_text).reading_only(roots);
        assert!(server.open("mlflow-artifacts:/1/abc/artifacts").is_ok());
        assert!(
            server
                .open(&destination.join("1/abc").display().to_string())
                .is_ok()
        );
        assert!(server.open(&data.display().to_string()).is_ok());
        assert!(server.open("s3://bucket/store/1/abc").is_ok());
        for outside in [
            secret.display().to_string(),
            format!("{}/../secret", data.display()),
            "/etc".to_string(),
            "file:///etc".to_string(),
            "s3://other/store".to_string(),
        ] {
            let Err(error) = server.open(&outside) else {
                panic!("{outside} was opened");
            };
            assert_eq!(error.code, ErrorCode::InvalidParameterValue, "{outside}");
            assert!(
                error.message.contains("--data-roots") || error.message.contains("artifact store"),
                "{}",
                error.message
            );
        }
        // The user's own commands open what the user can.
        let own = ArtifactLocations::new("sqlite:///x.db", &destination_text);
        assert!(own.open(&secret.display().to_string()).is_ok());
    }

    #[test]
    fn tracking_uri_decides_where_mlflow_artifacts_go() {
        assert_eq!(
            ArtifactLocations::new("http://127.0.0.1:5000", "/ignored"),
            ArtifactLocations::Proxy {
                tracking_url: "http://127.0.0.1:5000".into()
            }
        );
        assert_eq!(
            ArtifactLocations::new("sqlite:///tmp/x.db", " /srv/artifacts "),
            ArtifactLocations::Destination {
                root: "/srv/artifacts".into(),
                allowed: DataRoots::anywhere(),
            }
        );
        let local = ArtifactLocations::new("sqlite:///tmp/x.db", "/srv/artifacts");
        let traversal = local.open("mlflow-artifacts:/1/../../etc").unwrap_err();
        assert!(
            traversal.message.contains("'..' segment"),
            "{}",
            traversal.message
        );
        let model = local.open("models:/iris/1").unwrap_err();
        assert!(
            model.message.contains("not an artifact location"),
            "{}",
            model.message
        );
        assert!(local.open("  ").is_err());
    }

    #[test]
    fn locations_split_into_a_parent_and_a_name() {
        let split = |text: &str| ModelUri::parse(text).unwrap().split_location();
        let pair = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        assert_eq!(split("s3://bucket/p/model"), pair("s3://bucket/p", "model"));
        assert_eq!(split("s3://bucket/model/"), pair("s3://bucket", "model"));
        assert_eq!(split("s3://bucket"), pair("s3://bucket", ""));
        assert_eq!(
            split("mlflow-artifacts:/1/abc/artifacts/model"),
            pair("mlflow-artifacts:/1/abc/artifacts", "model")
        );
        assert_eq!(
            split("mlflow-artifacts://h:1/x"),
            pair("mlflow-artifacts://h:1/", "x")
        );
        assert_eq!(split("/data/train.csv"), pair("/data", "train.csv"));
        assert_eq!(split("train.csv"), pair(".", "train.csv"));
        assert_eq!(split("runs:/abc/model"), None);
        assert_eq!(split("models:/iris/1"), None);
    }

    #[tokio::test]
    async fn mlflow_artifacts_open_under_the_destination() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("artifacts");
        let locations = ArtifactLocations::new("sqlite:///x.db", root.to_str().unwrap());
        let store = locations.open("mlflow-artifacts:/1/abc/artifacts").unwrap();
        store
            .put_bytes("model/MLmodel", Bytes::from_static(b"flavors: {}\n"))
            .await
            .unwrap();
        assert!(root.join("1/abc/artifacts/model/MLmodel").is_file());
        // The same file through a URI to a file inside it.
        let uri = ModelUri::parse("mlflow-artifacts:/1/abc/artifacts/model").unwrap();
        let located = uri.locate_location(&locations).unwrap();
        assert_eq!(located.path, "model");
        assert_eq!(located.uri, "mlflow-artifacts:/1/abc/artifacts/model");
        assert_eq!(
            located.read("MLmodel").await.unwrap().as_ref(),
            b"flavors: {}\n"
        );
        let missing = located.read("profile.json").await.unwrap_err();
        assert!(missing.is_not_found());
        assert!(
            !missing.message.contains(dir.path().to_str().unwrap()),
            "{}",
            missing.message
        );
        assert!(
            missing
                .message
                .contains("mlflow-artifacts:/1/abc/artifacts/model")
        );
    }

    #[test]
    fn a_destination_that_fails_is_not_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the destination folder should be: opening fails.
        let blocked = dir.path().join("not-a-folder");
        std::fs::write(&blocked, "x").unwrap();
        let locations = ArtifactLocations::new("sqlite:///x.db", blocked.to_str().unwrap());
        let error = locations.open("mlflow-artifacts:/1/abc").unwrap_err();
        assert!(
            error.message.contains("'mlflow-artifacts:/1/abc'"),
            "{}",
            error.message
        );
        assert!(
            !error.message.contains(dir.path().to_str().unwrap()),
            "{}",
            error.message
        );
        let uri = ModelUri::parse("mlflow-artifacts:/1/abc/model").unwrap();
        let error = uri.locate_location(&locations).unwrap_err();
        assert!(
            error.message.contains("mlflow-artifacts:/1/abc/model"),
            "{}",
            error.message
        );
        assert!(
            !error.message.contains(dir.path().to_str().unwrap()),
            "{}",
            error.message
        );
    }

    #[tokio::test]
    async fn downloads_folders_files_and_says_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("source");
        std::fs::create_dir_all(source.join("model/weights")).unwrap();
        std::fs::write(source.join("model/MLmodel"), "flavors: {}\n").unwrap();
        std::fs::write(source.join("model/weights/w.bin"), "0123456789").unwrap();
        let locations = ArtifactLocations::new("sqlite:///x.db", "unused");

        let folder = ModelUri::Folder(source.join("model"));
        let located = folder.locate_location(&locations).unwrap();
        let out = dir.path().join("out");
        let done = located.download(&out).await.unwrap();
        assert_eq!(
            done,
            Downloaded {
                files: 2,
                bytes: 22
            }
        );
        assert_eq!(
            std::fs::read_to_string(out.join("weights/w.bin")).unwrap(),
            "0123456789"
        );

        let file = ModelUri::Folder(source.join("model/MLmodel"));
        let located = file.locate_location(&locations).unwrap();
        let one = dir.path().join("one/MLmodel");
        assert_eq!(located.download(&one).await.unwrap().files, 1);
        assert_eq!(std::fs::read_to_string(&one).unwrap(), "flavors: {}\n");

        let gone = ModelUri::Folder(source.join("model/nothing"));
        let error = gone.locate_location(&locations).unwrap_err();
        assert!(error.is_not_found(), "{error:?}");
        assert!(!source.join("model/nothing").exists());

        // A location that opens but holds nothing at the path.
        let server = ArtifactLocations::new("sqlite:///x.db", source.to_str().unwrap());
        let missing = ModelUri::parse("mlflow-artifacts:/model/nothing").unwrap();
        let located = missing.locate_location(&server).unwrap();
        let error = located.download(&dir.path().join("x")).await.unwrap_err();
        assert!(error.is_not_found(), "{error:?}");
        assert!(
            error.message.contains("No artifact at"),
            "{}",
            error.message
        );
    }

    #[test]
    fn listed_names_must_be_one_plain_segment() {
        let located = Located {
            store: open_artifact_store(tempfile::tempdir().unwrap().path().to_str().unwrap())
                .unwrap(),
            path: String::new(),
            uri: "runs:/abc".into(),
        };
        assert_eq!(located.entry_name("x.txt").unwrap(), "x.txt");
        assert_eq!(located.entry_name("dir/x.txt").unwrap(), "x.txt");
        assert_eq!(located.entry_name("my%20file").unwrap(), "my file");
        for bad in ["..", "a%2Fb", "%2e%2e", "a\\b", "."] {
            let error = located.entry_name(bad).unwrap_err();
            assert!(
                error.message.contains("runs:/abc"),
                "{bad}: {}",
                error.message
            );
        }
    }
}
