//! `smelt artifacts …`: list a run's artifacts, download run or model artifacts.
//!
//! Arguments and output only: URIs are parsed and resolved by tracking's
//! `ModelUri` through `crate::shared::artifacts`.

use std::path::PathBuf;

use clap::Subcommand;
use smelt_tracking::artifacts::{ModelUri, validate_relative_path};
use smelt_tracking::entities::FileInfo;

use crate::config::{Context, GlobalArgs};
use crate::error::{NotFoundHint, failure};
use crate::output::{self, print_json, print_table};
use crate::shared::artifacts::{
    DestinationArgs, download, local_target, locate, locations, parse_uri,
};

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
        /// runs:/RUN_ID/PATH, models:/NAME@ALIAS, models:/NAME/VERSION, models:/NAME/latest,
        /// an artifact URI (mlflow-artifacts:/…, s3://…) or a folder
        #[arg(long, value_name = "URI")]
        uri: Option<String>,
        /// Local folder to download into (created if missing)
        #[arg(short, long, value_name = "DIR")]
        dst: PathBuf,
        #[command(flatten)]
        destination: DestinationArgs,
    },
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
            let store = locations(&ctx, &destination.resolve()).open(&run.info.artifact_uri)?;
            let folder = validate_relative_path(path.as_deref().unwrap_or(""))?;
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
            let (located, local) = match (run_id, uri) {
                (Some(run_id), _) => {
                    let uri = ModelUri::Run {
                        run_id,
                        path: validate_relative_path(artifact_path.as_deref().unwrap_or(""))?,
                    };
                    let located = locate(&ctx, &destination, &uri).await?;
                    // --artifact-path keeps its folders under --dst.
                    let local = dst.join(&located.path);
                    (located, local)
                }
                (None, Some(uri)) => {
                    let uri = parse_uri(&uri)?;
                    let located = locate(&ctx, &destination, &uri).await?;
                    let local = local_target(&uri, &located, &dst);
                    (located, local)
                }
                (None, None) => return Err(failure("give --run-id or --uri")),
            };
            tracing::info!(uri = %located.uri, path = %located.path, "downloading artifacts");
            let done = download(&located, &local).await?;
            let (files, bytes) = (done.files, done.bytes);
            let local = std::path::absolute(&local).unwrap_or(local);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_paths_are_joined_under_the_folder() {
        assert_eq!(basename("a/b/c"), "c");
        assert_eq!(basename("a/b/"), "b");
        assert_eq!(join("", "x"), "x");
        assert_eq!(join("model", "MLmodel"), "model/MLmodel");
    }
}
