//! Artifacts for commands: the `--artifacts-destination` flag, and model or
//! artifact URIs to local files through tracking's one resolver
//! ([`ModelUri`], [`ArtifactLocations`]), with the hints a person needs when
//! something is missing.
//!
//! `mlflow-artifacts:/…` means "the tracking server's artifact store".
//! Against a server that is its proxy; against a local store it is the
//! artifacts folder a local `smelt server` would serve
//! (`--artifacts-destination`, `SMELT_ARTIFACTS`, or `$SMELT_HOME/artifacts`).

use std::path::{Path, PathBuf};

use clap::Args;
use smelt_tracking::artifacts::{ArtifactLocations, Downloaded, Located, ModelUri};

use crate::config::{Context, default_artifacts_destination, smelt_home};
use crate::error::{NotFoundHint, hinted};

/// The URI forms, for hints.
pub const URI_FORMS: &str = "give runs:/RUN_ID/PATH, models:/NAME@ALIAS, models:/NAME/VERSION, \
                             models:/NAME/latest, an artifact URI such as s3://bucket/path, or a folder";

/// Where `mlflow-artifacts:` URIs point when the tracking store is local.
#[derive(Debug, Clone, Args)]
pub struct DestinationArgs {
    /// Artifact store behind mlflow-artifacts: URIs for a local tracking store
    /// (as `smelt server --artifacts-destination`); default $SMELT_HOME/artifacts
    #[arg(long, env = "SMELT_ARTIFACTS", value_name = "URI")]
    artifacts_destination: Option<String>,
}

impl DestinationArgs {
    /// The destination: the flag, else `$SMELT_ARTIFACTS`, else `$SMELT_HOME/artifacts`.
    pub fn resolve(&self) -> String {
        self.artifacts_destination
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| default_artifacts_destination(&smelt_home()))
    }
}

/// How this command reaches artifact locations: through the server's proxy
/// when the tracking URI is a server, else `destination`.
pub fn locations(ctx: &Context, destination: &str) -> ArtifactLocations {
    ArtifactLocations::new(&ctx.tracking_uri, destination)
}

/// Parses a model or artifact URI; a bad one gets the forms as a hint.
pub fn parse_uri(text: &str) -> anyhow::Result<ModelUri> {
    ModelUri::parse(text).map_err(|error| hinted(error.message, URI_FORMS))
}

/// What to try when `uri` names something the store does not have.
pub fn not_found_hint(uri: &ModelUri) -> String {
    match uri {
        ModelUri::Run { .. } => {
            "`smelt runs list --experiment NAME` shows the runs of an experiment, \
             `smelt artifacts list RUN_ID` what a run has"
                .to_string()
        }
        ModelUri::LoggedModel { .. } => "check the logged model id (m-…)".to_string(),
        other => match other.registered_model() {
            Some(name) => format!(
                "`smelt models show {name}` lists its versions and aliases, \
                 `smelt models list` the registered models"
            ),
            None => "check the URI: is something stored there?".to_string(),
        },
    }
}

/// The store and path holding what `uri` names.
pub async fn locate(ctx: &Context, destination: &str, uri: &ModelUri) -> anyhow::Result<Located> {
    uri.locate(ctx.store.as_ref(), &locations(ctx, destination))
        .await
        .hint_not_found(|| not_found_hint(uri))
}

/// Where a download of `uri` lands under `dst`: a model (registry or logged)
/// is its folder's contents, straight in `dst`; a run's file or folder, or a
/// location, keeps its last name (`runs:/ID/model` → `dst/model`).
pub fn local_target(uri: &ModelUri, located: &Located, dst: &Path) -> PathBuf {
    let model = uri.registered_model().is_some() || matches!(uri, ModelUri::LoggedModel { .. });
    let name = located.path.rsplit('/').next().unwrap_or_default();
    if model || name.is_empty() {
        dst.to_path_buf()
    } else {
        dst.join(name)
    }
}

/// Downloads `located` into `local`, with a hint when it is missing.
pub async fn download(located: &Located, local: &Path) -> anyhow::Result<Downloaded> {
    located
        .download(local)
        .await
        .hint_not_found(|| "`smelt artifacts list RUN_ID` shows what a run has".to_string())
}

/// Downloads what `uri` names into `dst` (see [`local_target`]); returns
/// the local path of the file or folder.
pub async fn fetch(
    ctx: &Context,
    destination: &str,
    uri: &str,
    dst: &Path,
) -> anyhow::Result<PathBuf> {
    let uri = parse_uri(uri)?;
    let located = locate(ctx, destination, &uri).await?;
    let local = local_target(&uri, &located, dst);
    download(&located, &local).await?;
    Ok(local)
}

/// One artifact file of a run, with errors that say what to do: an unknown run
/// gets `run_hint`; a run without the file gets `missing` (message, hint).
pub async fn read_run_artifact(
    ctx: &Context,
    destination: &str,
    run_id: &str,
    path: &str,
    run_hint: &str,
    missing: (&str, &str),
) -> anyhow::Result<Vec<u8>> {
    let run = ModelUri::Run {
        run_id: run_id.to_string(),
        path: String::new(),
    };
    let located = run
        .locate(ctx.store.as_ref(), &locations(ctx, destination))
        .await
        .hint_not_found(|| run_hint.to_string())?;
    let bytes = located.read(path).await.map_err(|error| {
        if error.is_not_found() {
            hinted(missing.0, missing.1)
        } else {
            error.into()
        }
    })?;
    Ok(bytes.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(uri: &str, path: &str) -> PathBuf {
        let uri = ModelUri::parse(uri).unwrap();
        let located = Located {
            store: smelt_tracking::artifacts::open_artifact_store(
                tempfile::tempdir().unwrap().path().to_str().unwrap(),
            )
            .unwrap(),
            path: path.to_string(),
            uri: uri.to_string(),
        };
        local_target(&uri, &located, Path::new("out"))
    }

    #[test]
    fn downloads_land_where_they_always_did() {
        assert_eq!(target("models:/iris@champion", "model"), Path::new("out"));
        assert_eq!(target("models:/iris/1", "model"), Path::new("out"));
        assert_eq!(target("models:/m-1", "model"), Path::new("out"));
        assert_eq!(target("runs:/abc/model", "model"), Path::new("out/model"));
        assert_eq!(
            target("runs:/abc/a/b.txt", "a/b.txt"),
            Path::new("out/b.txt")
        );
        assert_eq!(target("runs:/abc", ""), Path::new("out"));
        assert_eq!(
            target("s3://bucket/p/model", "model"),
            Path::new("out/model")
        );
    }
}
