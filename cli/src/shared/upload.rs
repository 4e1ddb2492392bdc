//! Local data travels with a job: `smelt jobs submit` and `smelt autopilot
//! --server` put each local file a spec names into the server's artifact
//! store, once, and send the spec with `mlflow-artifacts:` URIs instead of
//! paths, so whoever runs the job (the server, or a `smelt worker` on
//! another host) reads it without a shared filesystem.
//!
//! Files are content-addressed: `mlflow-artifacts:/EXPERIMENT_ID/datasets/
//! SHA256/NAME`. A file already there (same digest, same size) is not sent
//! again, so resubmitting a job or sharing a table between jobs costs one
//! listing. The experiment is the job's own, so the server's permissions on
//! it (`smelt server --auth`) cover its data too.

use std::path::{Path, PathBuf};

use futures::StreamExt;
use sha2::{Digest, Sha256};
use smelt_autopilot::AutopilotSpec;
use smelt_tracking::artifacts::{ArtifactStore, ProxyArtifactStore};
use smelt_tracking::store::ExperimentStore;
use smelt_tracking::store::rest::RestStore;
use smelt_trainer::JobSpec;
use tokio::io::AsyncReadExt;

use crate::error::{failure, hinted};

/// The folder of an experiment's artifact space that holds uploaded data.
const DATASETS: &str = "datasets";
const CHUNK: usize = 1 << 20;

/// Uploads the local files of one job to one server.
pub struct Uploader {
    client: reqwest::Client,
    base: String,
    experiment: String,
    experiment_id: Option<String>,
}

/// A location a spec names, after [`Uploader::upload`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// What the spec said.
    pub written: String,
    /// What it says now.
    pub uri: String,
    /// Whether bytes were sent (false: the server already had them).
    pub uploaded: bool,
}

impl Uploader {
    /// For the server at `base` (`http(s)://host:port`), into `experiment`
    /// (created when missing, as the job would create it).
    pub fn new(client: reqwest::Client, base: &str, experiment: &str) -> Self {
        Uploader {
            client,
            base: base.trim_end_matches('/').to_string(),
            experiment: experiment.to_string(),
            experiment_id: None,
        }
    }

    /// `location` as the job should name it: a local file (relative to
    /// `base_dir`) becomes the `mlflow-artifacts:` URI of its uploaded copy;
    /// URIs, and paths that name no file here (the server may have them under
    /// its `--data-roots`), are left as written.
    pub async fn upload(&mut self, location: &str, base_dir: &Path) -> anyhow::Result<Sent> {
        let Some(path) = local_file(location, base_dir) else {
            return Ok(Sent {
                written: location.to_string(),
                uri: location.to_string(),
                uploaded: false,
            });
        };
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| failure(format!("{location} names no file to upload")))?
            .to_string();
        let (digest, size) = file_digest(&path).await.map_err(|e| {
            failure(format!(
                "cannot read the job's data {}: {e}",
                path.display()
            ))
        })?;
        let experiment_id = self.experiment_id().await?;
        let folder = format!("{experiment_id}/{DATASETS}/{digest}");
        let store = ProxyArtifactStore::new(&self.base, self.client.clone(), &folder)?;
        let present = store
            .list("")
            .await
            .map(|files| {
                files.iter().any(|f| {
                    !f.is_dir
                        && f.path.rsplit('/').next() == Some(name.as_str())
                        && f.file_size == Some(size as i64)
                })
            })
            .unwrap_or(false);
        if !present {
            let file = tokio::fs::File::open(&path).await.map_err(|e| {
                failure(format!(
                    "cannot read the job's data {}: {e}",
                    path.display()
                ))
            })?;
            store.put(&name, file_stream(file)).await.map_err(|e| {
                hinted(
                    format!("cannot upload {location} to the server: {}", e.message),
                    "the server keeps a job's data in its artifact store; check that it proxies artifacts (the default, not --no-serve-artifacts)",
                )
            })?;
        }
        Ok(Sent {
            written: location.to_string(),
            uri: format!("mlflow-artifacts:/{folder}/{name}"),
            uploaded: !present,
        })
    }

    /// Uploads what `location` names here, if anything, and points it at
    /// the server's copy; says what it sent on stderr.
    pub async fn rewrite(&mut self, location: &mut String, base_dir: &Path) -> anyhow::Result<()> {
        let sent = self.upload(location, base_dir).await?;
        if sent.uri != sent.written {
            let how = if sent.uploaded {
                "uploaded"
            } else {
                "already on the server"
            };
            eprintln!("{}: {how} as {}", sent.written, sent.uri);
        }
        *location = sent.uri;
        Ok(())
    }

    async fn experiment_id(&mut self) -> anyhow::Result<String> {
        if let Some(id) = &self.experiment_id {
            return Ok(id.clone());
        }
        let store = RestStore::new(&self.base)?;
        let id = match store.get_experiment_by_name(&self.experiment).await? {
            Some(experiment) => experiment.experiment_id,
            None => match store.create_experiment(&self.experiment, None, &[]).await {
                Ok(id) => id,
                // Created by someone else in between.
                Err(e) if e.code == smelt_tracking::ErrorCode::ResourceAlreadyExists => store
                    .get_experiment_by_name(&self.experiment)
                    .await?
                    .map(|e| e.experiment_id)
                    .ok_or_else(|| failure(e.message))?,
                Err(e) => return Err(e.into()),
            },
        };
        self.experiment_id = Some(id.clone());
        Ok(id)
    }
}

/// A training spec with its local data uploaded (see the module's docs).
pub async fn send_training_data(
    spec: &mut JobSpec,
    base_dir: &Path,
    client: &reqwest::Client,
    base: &str,
) -> anyhow::Result<()> {
    let experiment = spec.tracking.experiment.as_deref().unwrap_or("Default");
    let mut uploader = Uploader::new(client.clone(), base, experiment);
    uploader.rewrite(&mut spec.data.train, base_dir).await?;
    if let Some(validation) = spec.data.validation.as_mut() {
        uploader.rewrite(validation, base_dir).await?;
    }
    if let Some(test) = spec.data.test.as_mut() {
        uploader.rewrite(test, base_dir).await?;
    }
    Ok(())
}

/// An autopilot spec with its local data uploaded.
pub async fn send_autopilot_data(
    spec: &mut AutopilotSpec,
    base_dir: &Path,
    client: &reqwest::Client,
    base: &str,
) -> anyhow::Result<()> {
    let experiment = spec.experiment.as_deref().unwrap_or("Default");
    let mut uploader = Uploader::new(client.clone(), base, experiment);
    uploader.rewrite(&mut spec.train, base_dir).await?;
    if let Some(test) = spec.test.as_mut() {
        uploader.rewrite(test, base_dir).await?;
    }
    Ok(())
}

/// The file a location names on this machine, if it is one.
fn local_file(location: &str, base_dir: &Path) -> Option<PathBuf> {
    if location.contains(":/") {
        return None;
    }
    let path = base_dir.join(location);
    path.is_file().then_some(path)
}

/// SHA-256 (hex) and size of a file, read in chunks.
async fn file_digest(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let read = file.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// A file as the chunks an artifact store's `put` streams.
fn file_stream(file: tokio::fs::File) -> smelt_tracking::artifacts::ByteStream {
    futures::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buffer = vec![0u8; CHUNK];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(read) => {
                buffer.truncate(read);
                Some((Ok(bytes::Bytes::from(buffer)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_existing_local_files_are_uploaded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("train.csv"), "a,b\n1,2\n").unwrap();
        assert_eq!(
            local_file("train.csv", dir.path()),
            Some(dir.path().join("train.csv"))
        );
        assert_eq!(local_file("missing.csv", dir.path()), None);
        assert_eq!(local_file("runs:/abc/data/train.csv", dir.path()), None);
        assert_eq!(local_file("s3://bucket/train.csv", dir.path()), None);
        // A folder is not a file to send.
        assert_eq!(local_file(".", dir.path()), None);
    }

    #[tokio::test]
    async fn the_digest_is_the_sha256_of_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "abc").unwrap();
        let (digest, size) = file_digest(&path).await.unwrap();
        assert_eq!(size, 3);
        assert_eq!(
            digest,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
