//! Artifact storage: the [`ArtifactStore`] seam and the stores behind it.
//!
//! A run's artifacts live under an artifact root named by a URI. The server
//! serves them through MLflow's `mlflow-artifacts` proxy API and the client
//! uploads through it, but both only ever talk to an [`ArtifactStore`]:
//!
//! * [`ObjectArtifactStore`] (`object.rs`): a local folder (`/abs/path`,
//!   `./rel`, `file:///abs/path`) or an S3 bucket (`s3://bucket/prefix`), both
//!   through the `object_store` crate;
//! * [`ProxyArtifactStore`] (`proxy.rs`): a client of a remote MLflow
//!   artifact proxy (`http(s)://…/api/2.0/mlflow-artifacts/artifacts/…` or
//!   `mlflow-artifacts:/…` resolved against the tracking URI).
//!
//! Every path a store is given is relative to its root and goes through
//! [`validate_relative_path`] (`path.rs`) first, so no store can be made to
//! read or write outside its root.
//!
//! What users write to name models and artifacts (`models:/NAME@ALIAS`,
//! `runs:/ID/PATH`, `mlflow-artifacts:/…`, `s3://…`, folders) is parsed by
//! [`ModelUri`] (`uri.rs`) and resolved to a store and a path by
//! [`ModelUri::locate`] over [`ArtifactLocations`] (`locate.rs`); the
//! commands, serving, the monitor and the server all go through them.

pub mod data_roots;
pub mod locate;
pub mod object;
pub mod path;
pub mod proxy;
pub mod uri;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};

use crate::entities::FileInfo;
use crate::error::{Error, Result};

pub use data_roots::{DATA_ROOTS_FLAG, DataRoots};
pub use locate::{ArtifactLocations, Downloaded, Located};
pub use object::ObjectArtifactStore;
pub use path::validate_relative_path;
pub use proxy::{ProxyArtifactStore, resolve_artifact_uri, resolve_artifact_uri_with_client};
pub use uri::ModelUri;

/// A body being streamed into or out of a store.
///
/// A producer can carry a crate [`Error`] through the stream by wrapping it in
/// `std::io::Error::other(error)`; stores hand such an error back unchanged
/// (for example a request-size limit keeps its `REQUEST_LIMIT_EXCEEDED` code).
pub type ByteStream = futures::stream::BoxStream<'static, std::io::Result<Bytes>>;

/// One file opened for reading.
pub struct ArtifactObject {
    /// Its size in bytes. A proxy that does not send `Content-Length` leaves it at 0.
    pub size: u64,
    /// Its bytes, in chunks.
    pub stream: ByteStream,
}

impl ArtifactObject {
    /// Reads the whole file into memory; for small files and tests.
    pub async fn into_bytes(self) -> Result<Bytes> {
        let chunks: Vec<Bytes> = self.stream.map_err(read_error).try_collect().await?;
        let mut whole = Vec::with_capacity(usize::try_from(self.size).unwrap_or(0));
        for chunk in chunks {
            whole.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(whole))
    }
}

impl std::fmt::Debug for ArtifactObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactObject")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Where artifacts are kept: one root, addressed by paths relative to it.
#[async_trait]
pub trait ArtifactStore: Send + Sync + std::fmt::Debug {
    /// The URI of the root (e.g. `file:///abs/path`, `s3://bucket/prefix`,
    /// `http://host:port/api/2.0/mlflow-artifacts/artifacts`).
    fn root_uri(&self) -> &str;

    /// Writes one file at `path` (relative to the root, validated), streaming
    /// the body; overwrites an existing file.
    async fn put(&self, path: &str, body: ByteStream) -> Result<()>;

    /// Writes one file from bytes already in memory.
    async fn put_bytes(&self, path: &str, bytes: Bytes) -> Result<()> {
        self.put(
            path,
            futures::stream::once(async move { Ok(bytes) }).boxed(),
        )
        .await
    }

    /// Opens one file for streaming; a missing file (or a folder) is an error
    /// with code `RESOURCE_DOES_NOT_EXIST`.
    async fn get(&self, path: &str) -> Result<ArtifactObject>;

    /// Lists the direct children of folder `path` (`""` is the root):
    /// `FileInfo.path` is the child's basename, folders have `is_dir` and files
    /// a `file_size`. A path that is a file, or does not exist, gives an empty
    /// list (MLflow answers `{}` then). Sorted by name.
    async fn list(&self, path: &str) -> Result<Vec<FileInfo>>;

    /// Deletes a file, or everything under a folder; a missing path is not an error.
    async fn delete(&self, path: &str) -> Result<()>;
}

/// Opens the store for an artifact root URI:
///
/// * a plain local path or a `file://` URI: a folder, created if missing;
/// * `s3://bucket[/prefix]`: S3 through `object_store`'s
///   `AmazonS3Builder::from_env()`, so `AWS_ENDPOINT_URL` / `AWS_ENDPOINT`
///   (or MLflow's `MLFLOW_S3_ENDPOINT_URL`), `AWS_ACCESS_KEY_ID`,
///   `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION` / `AWS_REGION` and
///   `AWS_ALLOW_HTTP` apply; requests are path-style so S3-compatible servers
///   (MinIO, moto) work;
/// * `http(s)://…/mlflow-artifacts/artifacts/…`: an MLflow artifact proxy.
///
/// `mlflow-artifacts:` URIs need the tracking server's URL; use
/// [`resolve_artifact_uri`] for them. Any other scheme is an
/// `INVALID_PARAMETER_VALUE` error naming the supported ones.
pub fn open_artifact_store(uri: &str) -> Result<Arc<dyn ArtifactStore>> {
    let uri = uri.trim();
    if uri.is_empty() {
        return Err(Error::invalid("The artifact location is empty"));
    }
    match uri_scheme(uri).as_deref() {
        None => Ok(Arc::new(ObjectArtifactStore::local(uri)?)),
        Some("file") => Ok(Arc::new(ObjectArtifactStore::local_uri(uri)?)),
        Some("s3") | Some("s3a") => Ok(Arc::new(ObjectArtifactStore::s3(uri)?)),
        Some("http") | Some("https") => Ok(Arc::new(ProxyArtifactStore::from_http_uri(
            uri,
            proxy::default_client()?,
        )?)),
        Some("mlflow-artifacts") => Err(Error::invalid(format!(
            "The artifact location '{uri}' is an mlflow-artifacts: URI, which only an http(s) \
             tracking URI can resolve; set the tracking URI to the MLflow server"
        ))),
        Some(other) => Err(Error::invalid(format!(
            "Unsupported artifact location scheme '{other}' in '{uri}'; supported are local \
             paths, file://, s3://, http(s):// (an MLflow artifact proxy) and mlflow-artifacts:"
        ))),
    }
}

/// The lower-cased URI scheme of `uri`, or `None` for a plain path. A single
/// letter before the colon is a Windows drive (`C:\x`), not a scheme.
fn uri_scheme(uri: &str) -> Option<String> {
    let (scheme, _) = uri.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (valid && scheme.len() > 1).then(|| scheme.to_ascii_lowercase())
}

/// An error that came out of a [`ByteStream`]: a crate error carried inside
/// keeps its code; anything else means the body could not be read.
pub(crate) fn read_error(error: std::io::Error) -> Error {
    let message = error.to_string();
    match error.into_inner().map(|inner| inner.downcast::<Error>()) {
        Some(Ok(carried)) => *carried,
        _ => Error::new(
            crate::error::ErrorCode::BadRequest,
            format!("Failed to read the artifact body: {message}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn schemes() {
        assert_eq!(uri_scheme("/abs/path"), None);
        assert_eq!(uri_scheme("./rel"), None);
        assert_eq!(uri_scheme("mlartifacts"), None);
        assert_eq!(uri_scheme("C:\\artifacts"), None);
        assert_eq!(uri_scheme("file:///x").as_deref(), Some("file"));
        assert_eq!(uri_scheme("S3://b/p").as_deref(), Some("s3"));
        assert_eq!(
            uri_scheme("mlflow-artifacts:/1/x").as_deref(),
            Some("mlflow-artifacts")
        );
    }

    #[test]
    fn unknown_scheme_is_refused() {
        let error = open_artifact_store("gs://bucket/x").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidParameterValue);
        assert!(error.message.contains("s3://"), "{}", error.message);
        assert!(error.message.contains("'gs'"), "{}", error.message);
        assert!(open_artifact_store("  ").is_err());
    }

    #[test]
    fn mlflow_artifacts_needs_a_tracking_uri() {
        let error = open_artifact_store("mlflow-artifacts:/1/abc/artifacts").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidParameterValue);
        assert!(error.message.contains("tracking URI"), "{}", error.message);
    }

    #[test]
    fn carried_errors_keep_their_code() {
        let carried = std::io::Error::other(Error::new(ErrorCode::RequestLimitExceeded, "too big"));
        let error = read_error(carried);
        assert_eq!(error.code, ErrorCode::RequestLimitExceeded);
        assert_eq!(error.message, "too big");
        let plain = read_error(std::io::Error::other("connection reset"));
        assert_eq!(plain.code, ErrorCode::BadRequest);
        assert!(plain.message.contains("connection reset"));
    }

    #[tokio::test]
    async fn opens_local_paths_and_file_uris() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain/nested");
        let store = open_artifact_store(plain.to_str().unwrap()).unwrap();
        assert!(plain.is_dir(), "the folder is created");
        assert!(
            store.root_uri().starts_with("file:///"),
            "{}",
            store.root_uri()
        );
        store
            .put_bytes("x.txt", Bytes::from_static(b"hi"))
            .await
            .unwrap();
        assert_eq!(std::fs::read(plain.join("x.txt")).unwrap(), b"hi");

        let from_uri = dir.path().join("from uri");
        let uri = url::Url::from_file_path(&from_uri).unwrap().to_string();
        assert!(uri.contains("%20"), "{uri}");
        let store = open_artifact_store(&uri).unwrap();
        assert!(from_uri.is_dir());
        store
            .put_bytes("y.txt", Bytes::from_static(b"yo"))
            .await
            .unwrap();
        assert_eq!(std::fs::read(from_uri.join("y.txt")).unwrap(), b"yo");
    }
}
