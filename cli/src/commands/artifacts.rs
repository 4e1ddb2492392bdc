//! `smelt artifacts …`: list a run's artifacts, download run or model artifacts.
//!
//! Artifact locations are URIs: `file://`, `s3://`, an `http(s)` artifact
//! proxy, or MLflow's `mlflow-artifacts:/…`, which means "the tracking
//! server's artifact store". Against a server that is its proxy; against a
//! local store it is the artifacts folder a local `smelt server` would serve
//! (`--artifacts-destination`, `SMELT_ARTIFACTS`, or `$SMELT_HOME/artifacts`).

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand};
use futures::StreamExt;
use smelt_tracking::artifacts::{
    ArtifactObject, ArtifactStore, open_artifact_store, resolve_artifact_uri,
};
use smelt_tracking::entities::FileInfo;
use tokio::io::AsyncWriteExt;

use crate::config::{Context, GlobalArgs, default_artifacts_destination, smelt_home};
use crate::error::{NotFoundHint, failure, hinted};
use crate::output::{self, print_json, print_table};

/// The artifact commands.
#[derive(Debug, Subcommand)]
pub enum ArtifactsCommand {
    /// List a run's artifacts (one folder level)
    #[command(visible_alias = "ls")]
    List {
        /// The run's id
        run_id: String,
        /// Folder inside the run's artifacts (default: the top)
        path: Option<String>,
        #[command(flatten)]
        destination: DestinationArgs,
    },
    /// Download a run's artifacts, or a model's files, into a folder
    #[command(
        long_about = "Download artifacts into a local folder, recursively.\n\n\
        Either a run's artifacts (all of them, or one file or folder with --artifact-path):\n  \
        smelt artifacts download --run-id 0123abcd… --artifact-path model --dst ./out\n\
        or anything an artifact URI names:\n  \
        smelt artifacts download --uri runs:/0123abcd…/model --dst ./out\n  \
        smelt artifacts download --uri models:/iris@champion --dst ./out\n  \
        smelt artifacts download --uri models:/iris/3 --dst ./out\n\n\
        Prints the local path of what it downloaded."
    )]
    Download {
        /// The run whose artifacts to download
        #[arg(
            long,
            value_name = "RUN_ID",
            conflicts_with = "uri",
            required_unless_present = "uri"
        )]
        run_id: Option<String>,
        /// A file or folder inside the run's artifacts (default: everything)
        #[arg(long, value_name = "PATH", requires = "run_id")]
        artifact_path: Option<String>,
        /// runs:/RUN_ID/PATH, models:/NAME@ALIAS, models:/NAME/VERSION, or an artifact URI
        #[arg(long, value_name = "URI")]
        uri: Option<String>,
        /// Local folder to download into (created if missing)
        #[arg(short, long, value_name = "DIR")]
        dst: PathBuf,
        #[command(flatten)]
        destination: DestinationArgs,
    },
}

/// Where `mlflow-artifacts:` URIs point when the tracking store is local.
#[derive(Debug, Clone, Args)]
pub struct DestinationArgs {
    /// Artifact store behind mlflow-artifacts: URIs for a local tracking store
    /// (as `smelt server --artifacts-destination`); default $SMELT_HOME/artifacts
    #[arg(long, env = "SMELT_ARTIFACTS", value_name = "URI")]
    artifacts_destination: Option<String>,
}

impl DestinationArgs {
    pub(crate) fn resolve(&self) -> String {
        self.artifacts_destination
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| default_artifacts_destination(&smelt_home()))
    }
}

fn run_hint() -> String {
    "`smelt runs list --experiment NAME` shows the runs of an experiment".to_string()
}

/// Runs an artifact command.
pub async fn run(global: &GlobalArgs, command: ArtifactsCommand) -> anyhow::Result<()> {
    let ctx = Context::open(global).await?;
    match command {
        ArtifactsCommand::List {
            run_id,
            path,
            destination,
        } => {
            let run = ctx.store.get_run(&run_id).await.hint_not_found(run_hint)?;
            let store = open_location(&ctx, &destination.resolve(), &run.info.artifact_uri)?;
            let folder = clean_path(path.as_deref().unwrap_or(""))?;
            let entries = store.list(&folder).await?;
            let entries: Vec<FileInfo> = entries
                .into_iter()
                .map(|entry| FileInfo {
                    path: join(&folder, basename(&entry.path)),
                    ..entry
                })
                .collect();
            if ctx.json {
                return print_json(serde_json::to_value(&entries)?);
            }
            if entries.is_empty() {
                if folder.is_empty() {
                    println!("Run {run_id} has no artifacts.");
                } else {
                    println!("No artifacts under '{folder}' (or it is a file).");
                }
                return Ok(());
            }
            let mut table = output::table(["path", "type", "size"]);
            for entry in &entries {
                let (kind, size) = if entry.is_dir {
                    ("dir", String::new())
                } else {
                    (
                        "file",
                        entry
                            .file_size
                            .map(|s| output::size(s.max(0) as u64))
                            .unwrap_or_default(),
                    )
                };
                table.add_row([entry.path.clone(), kind.to_string(), size]);
            }
            print_table(&table);
            Ok(())
        }
        ArtifactsCommand::Download {
            run_id,
            artifact_path,
            uri,
            dst,
            destination,
        } => {
            let destination = destination.resolve();
            let located = match (run_id, uri) {
                (Some(run_id), _) => {
                    let run = ctx.store.get_run(&run_id).await.hint_not_found(run_hint)?;
                    let path = clean_path(artifact_path.as_deref().unwrap_or(""))?;
                    let local = if path.is_empty() {
                        dst.clone()
                    } else {
                        dst.join(&path)
                    };
                    Located {
                        root: run.info.artifact_uri,
                        path,
                        local,
                    }
                }
                (None, Some(uri)) => locate(&ctx, &uri, &dst).await?,
                (None, None) => return Err(failure("give --run-id or --uri")),
            };
            tracing::info!(root = %located.root, path = %located.path, "downloading artifacts");
            let store = open_location(&ctx, &destination, &located.root)?;
            let (files, bytes) = download(store.as_ref(), &located.path, &located.local).await?;
            let local = std::path::absolute(&located.local).unwrap_or(located.local);
            if ctx.json {
                return print_json(serde_json::json!({
                    "local_path": local.display().to_string(),
                    "files": files,
                    "bytes": bytes,
                }));
            }
            eprintln!("Downloaded {files} file(s), {}", output::size(bytes));
            println!("{}", local.display());
            Ok(())
        }
    }
}

/// Downloads what `uri` names (`runs:/…`, `models:/…`, an artifact URI)
/// into `dst`; returns the local path of the file or folder.
pub(crate) async fn fetch(
    ctx: &Context,
    destination: &str,
    uri: &str,
    dst: &Path,
) -> anyhow::Result<PathBuf> {
    let located = locate(ctx, uri, dst).await?;
    let store = open_location(ctx, destination, &located.root)?;
    download(store.as_ref(), &located.path, &located.local).await?;
    Ok(located.local)
}

/// What to download: a store root, a path inside it, and where it lands.
struct Located {
    root: String,
    path: String,
    local: PathBuf,
}

/// Resolves `runs:/`, `models:/` and plain artifact URIs.
async fn locate(ctx: &Context, uri: &str, dst: &Path) -> anyhow::Result<Located> {
    let mut uri = uri.trim().to_string();
    // models:/ may resolve to runs:/ or models:/m-…; follow a few hops.
    for _ in 0..4 {
        if let Some(rest) = uri.strip_prefix("runs:") {
            let rest = rest.trim_start_matches('/');
            let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
            if run_id.is_empty() {
                return Err(hinted(
                    format!("'{uri}' names no run"),
                    "use runs:/RUN_ID/PATH",
                ));
            }
            let run = ctx.store.get_run(run_id).await.hint_not_found(run_hint)?;
            let path = clean_path(path)?;
            let local = if path.is_empty() {
                dst.to_path_buf()
            } else {
                dst.join(basename(&path))
            };
            return Ok(Located {
                root: run.info.artifact_uri,
                path,
                local,
            });
        }
        if let Some(rest) = uri.strip_prefix("models:") {
            uri = model_download_uri(ctx, rest.trim_start_matches('/')).await?;
            if uri.starts_with("runs:") || uri.starts_with("models:") {
                continue;
            }
            return Ok(Located {
                root: uri,
                path: String::new(),
                local: dst.to_path_buf(),
            });
        }
        // Any other artifact URI: download its last element into dst.
        let trimmed = uri.trim_end_matches('/');
        let scheme_end = trimmed.find(':').map_or(0, |i| i + 1);
        return match trimmed[scheme_end..].rfind('/') {
            Some(slash) => {
                let (root, name) = trimmed.split_at(scheme_end + slash);
                let name = name.trim_start_matches('/');
                let root = if root.ends_with(':') {
                    format!("{root}/")
                } else {
                    root.to_string()
                };
                let name = clean_path(name)?;
                let local = if name.is_empty() {
                    dst.to_path_buf()
                } else {
                    dst.join(&name)
                };
                Ok(Located {
                    root,
                    path: name,
                    local,
                })
            }
            None => Err(hinted(
                format!("cannot download '{uri}'"),
                "give runs:/RUN_ID/PATH, models:/NAME@ALIAS, models:/NAME/VERSION or an artifact URI such as s3://bucket/path",
            )),
        };
    }
    Err(failure(format!(
        "'{uri}' refers to itself through too many models:/ hops"
    )))
}

/// The storage location of `NAME@ALIAS`, `NAME/VERSION`, `NAME/latest`,
/// `NAME/STAGE` or a logged model id (`m-…`).
async fn model_download_uri(ctx: &Context, reference: &str) -> anyhow::Result<String> {
    let store = ctx.store.as_ref();
    let model_hint = || "`smelt models list` shows the registered models".to_string();
    let reference = reference.trim_end_matches('/');
    let version = if let Some((name, alias)) = reference.rsplit_once('@') {
        store
            .get_registered_model(name)
            .await
            .hint_not_found(model_hint)?;
        store
            .get_model_version_by_alias(name, alias)
            .await
            .hint_not_found(|| format!("`smelt models show {name}` lists its aliases"))?
    } else if let Some((name, which)) = reference.rsplit_once('/') {
        store
            .get_registered_model(name)
            .await
            .hint_not_found(model_hint)?;
        if which.chars().all(|c| c.is_ascii_digit()) && !which.is_empty() {
            store
                .get_model_version(name, which)
                .await
                .hint_not_found(|| format!("`smelt models show {name}` lists its versions"))?
        } else {
            let stages = if which.eq_ignore_ascii_case("latest") {
                Vec::new()
            } else {
                vec![which.to_string()]
            };
            let versions = store.get_latest_versions(name, &stages).await?;
            versions
                .into_iter()
                .max_by_key(|v| v.version.parse::<u64>().unwrap_or(0))
                .ok_or_else(|| {
                    hinted(
                        format!("model '{name}' has no version for '{which}'"),
                        format!("`smelt models show {name}` lists its versions"),
                    )
                })?
        }
    } else if reference.starts_with("m-") {
        let model = store
            .get_logged_model(reference)
            .await
            .hint_not_found(|| "check the logged model id (m-…)".to_string())?;
        return Ok(model.info.artifact_uri);
    } else {
        return Err(hinted(
            format!("'models:/{reference}' names no version"),
            "use models:/NAME@ALIAS or models:/NAME/VERSION",
        ));
    };
    Ok(store
        .get_model_version_download_uri(&version.name, &version.version)
        .await?)
}

/// Opens the artifact store at a location URI.
fn open_location(
    ctx: &Context,
    destination: &str,
    uri: &str,
) -> anyhow::Result<Arc<dyn ArtifactStore>> {
    open_location_at(&ctx.tracking_uri, destination, uri)
}

/// [`open_location`] for a tracking URI and the local store's artifact
/// destination (what the trainer is given to reach run artifacts).
pub(crate) fn open_location_at(
    tracking_uri: &str,
    destination: &str,
    uri: &str,
) -> anyhow::Result<Arc<dyn ArtifactStore>> {
    if uri.trim().is_empty() {
        return Err(failure("the artifact location is empty"));
    }
    if crate::config::is_remote(tracking_uri) {
        return Ok(resolve_artifact_uri(uri, Some(tracking_uri))?);
    }
    if let Some(rest) = uri.strip_prefix("mlflow-artifacts:") {
        // `mlflow-artifacts:/path` or `mlflow-artifacts://host:port/path`.
        let path = match rest.strip_prefix("//") {
            Some(with_host) => with_host.split_once('/').map_or("", |(_, path)| path),
            None => rest,
        };
        let path = clean_path(path)?;
        let local = if path.is_empty() {
            destination.to_string()
        } else if destination.contains("://") {
            format!("{}/{path}", destination.trim_end_matches('/'))
        } else {
            Path::new(destination).join(&path).display().to_string()
        };
        tracing::debug!(%uri, %local, "mlflow-artifacts: resolved to the local artifact store");
        return Ok(open_artifact_store(&local)?);
    }
    Ok(open_artifact_store(uri)?)
}

/// A relative artifact path without leading/trailing slashes; `..` is refused.
fn clean_path(path: &str) -> anyhow::Result<String> {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(failure(format!(
            "the artifact path '{path}' may not contain '..'"
        )));
    }
    Ok(parts.join("/"))
}

fn basename(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
}

fn join(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        name.to_string()
    } else {
        format!("{folder}/{name}")
    }
}

/// A listed name that is safe to create locally: one normal path component.
fn safe_name(name: &str) -> anyhow::Result<&str> {
    let name = basename(name);
    let mut components = Path::new(name).components();
    match (components.next(), components.next()) {
        (Some(Component::Normal(_)), None) => Ok(name),
        _ => Err(failure(format!(
            "refusing to download an artifact named '{name}'"
        ))),
    }
}

/// Downloads a file or a folder tree; returns (files, bytes).
async fn download(
    store: &dyn ArtifactStore,
    path: &str,
    local: &Path,
) -> anyhow::Result<(u64, u64)> {
    let entries = store.list(path).await?;
    if entries.is_empty() {
        if path.is_empty() {
            create_dir(local).await?;
            return Ok((0, 0));
        }
        // Not a folder with contents: a file, or nothing at all.
        return match store.get(path).await {
            Ok(object) => {
                let bytes = write_file(object, path, local).await?;
                Ok((1, bytes))
            }
            Err(e) if e.is_not_found() => Err(hinted(
                format!("no artifact at '{path}' in {}", store.root_uri()),
                "`smelt artifacts list RUN_ID` shows what the run has",
            )),
            Err(e) => Err(e.into()),
        };
    }
    let (mut files, mut bytes) = (0, 0);
    let mut pending = vec![(path.to_string(), local.to_path_buf(), entries)];
    while let Some((folder, local_folder, entries)) = pending.pop() {
        create_dir(&local_folder).await?;
        for entry in entries {
            let name = safe_name(&entry.path)?;
            let remote = join(&folder, name);
            let target = local_folder.join(name);
            if entry.is_dir {
                let children = store.list(&remote).await?;
                pending.push((remote, target, children));
            } else {
                bytes += download_file(store, &remote, &target).await?;
                files += 1;
            }
        }
    }
    Ok((files, bytes))
}

async fn create_dir(path: &Path) -> anyhow::Result<()> {
    tokio::fs::create_dir_all(path)
        .await
        .map_err(|e| failure(format!("cannot create the folder {}: {e}", path.display())))
}

/// Streams one file to disk; returns its size.
async fn download_file(store: &dyn ArtifactStore, path: &str, local: &Path) -> anyhow::Result<u64> {
    let object = store.get(path).await?;
    write_file(object, path, local).await
}

/// Writes an opened artifact to a local file; returns its size.
async fn write_file(object: ArtifactObject, path: &str, local: &Path) -> anyhow::Result<u64> {
    if let Some(parent) = local.parent() {
        create_dir(parent).await?;
    }
    tracing::debug!(%path, local = %local.display(), "downloading");
    let mut stream = object.stream;
    let mut file = tokio::fs::File::create(local)
        .await
        .map_err(|e| failure(format!("cannot write {}: {e}", local.display())))?;
    let mut written = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| failure(format!("download of '{path}' failed: {e}")))?;
        file.write_all(&chunk)
            .await
            .map_err(|e| failure(format!("cannot write {}: {e}", local.display())))?;
        written += chunk.len() as u64;
    }
    file.flush()
        .await
        .map_err(|e| failure(format!("cannot write {}: {e}", local.display())))?;
    Ok(written)
}

/// One artifact file of a run, with errors that say what to do: an unknown run
/// gets `run_hint`; a run without the file gets `missing` (message, hint).
pub(crate) async fn read_run_artifact(
    ctx: &crate::config::Context,
    destination: &str,
    run_id: &str,
    path: &str,
    run_hint: &str,
    missing: (&str, &str),
) -> anyhow::Result<Vec<u8>> {
    let run = ctx.store.get_run(run_id).await.map_err(|e| {
        if e.is_not_found() {
            crate::error::hinted(e.message, run_hint)
        } else {
            e.into()
        }
    })?;
    let store = open_location_at(&ctx.tracking_uri, destination, &run.info.artifact_uri)?;
    let object = store.get(path).await.map_err(|e| {
        if e.is_not_found() {
            crate::error::hinted(missing.0, missing.1)
        } else {
            e.into()
        }
    })?;
    Ok(object.into_bytes().await?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned() {
        assert_eq!(clean_path("/model//MLmodel/").unwrap(), "model/MLmodel");
        assert_eq!(clean_path("").unwrap(), "");
        assert!(clean_path("a/../b").is_err());
        assert_eq!(basename("a/b/c"), "c");
        assert!(safe_name("..").is_err());
        assert_eq!(safe_name("x.txt").unwrap(), "x.txt");
        assert_eq!(safe_name("dir/x.txt").unwrap(), "x.txt");
    }
}
