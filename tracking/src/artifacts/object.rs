//! [`ObjectArtifactStore`]: artifacts in a local folder or an S3 bucket,
//! through the `object_store` crate.
//!
//! Paths are validated by [`validate_relative_path`] before `object_store`
//! sees them (it refuses `..` itself too), bodies are streamed in both
//! directions, and on a local folder emptied sub-folders are removed so a
//! local root lists the same way as a bucket, where folders exist only while
//! they hold files.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::io::AsyncWriteExt;

use super::{ArtifactObject, ArtifactStore, ByteStream, read_error, validate_relative_path};
use crate::entities::FileInfo;
use crate::error::{Error, Result};

/// Bytes held in memory per upload before it turns into a multipart upload,
/// and the size of each part after that (S3 wants parts of at least 5 MiB).
const WRITE_CHUNK: usize = 8 * 1024 * 1024;

/// Parts of one upload in flight at once; with [`WRITE_CHUNK`] this bounds an
/// upload's memory to about 40 MiB however large the body is.
const WRITE_CONCURRENCY: usize = 4;

/// An [`ArtifactStore`] over any `object_store` backend, under a key prefix.
#[derive(Debug)]
pub struct ObjectArtifactStore {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    root_uri: String,
    /// The canonical folder of a local store. Local listings come back
    /// percent-encoded and emptied folders linger on disk, so a few steps
    /// differ from a bucket's.
    local_root: Option<PathBuf>,
}

impl ObjectArtifactStore {
    /// Wraps an `object_store` backend: artifact `p` is kept at key `prefix/p`,
    /// and `root_uri` is what [`ArtifactStore::root_uri`] reports. For a local
    /// folder use [`ObjectArtifactStore::local`], which also handles the ways a
    /// disk differs from a bucket.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        prefix: ObjectPath,
        root_uri: impl Into<String>,
    ) -> Self {
        ObjectArtifactStore {
            store,
            prefix,
            root_uri: root_uri.into(),
            local_root: None,
        }
    }

    /// A store in the local folder `dir`, created if missing.
    pub fn local(dir: impl AsRef<std::path::Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let cannot = |error: &dyn std::fmt::Display| {
            Error::invalid(format!(
                "Cannot use '{}' as the artifact folder: {error}",
                dir.display()
            ))
        };
        std::fs::create_dir_all(dir).map_err(|error| cannot(&error))?;
        // Canonical, so the root URI is absolute and prefix checks on disk
        // compare like with like.
        let root = std::fs::canonicalize(dir).map_err(|error| cannot(&error))?;
        let store = LocalFileSystem::new_with_prefix(&root)
            .map_err(|error| cannot(&error))?
            // Deleting a folder's last file removes the emptied folders up to
            // (never including) the root, as on S3.
            .with_automatic_cleanup(true);
        let root_uri = url::Url::from_file_path(&root)
            .map(String::from)
            .unwrap_or_else(|()| format!("file://{}", root.display()));
        Ok(ObjectArtifactStore {
            store: Arc::new(store),
            prefix: ObjectPath::default(),
            root_uri,
            local_root: Some(root),
        })
    }

    /// A local store from a `file:` URI (`file:///abs/path`,
    /// `file://localhost/abs/path`, or `file:relative/path`).
    pub fn local_uri(uri: &str) -> Result<Self> {
        let rest = uri
            .get(..5)
            .filter(|scheme| scheme.eq_ignore_ascii_case("file:"))
            .and_then(|_| uri.get(5..))
            .ok_or_else(|| Error::invalid(format!("'{uri}' is not a file: URI")))?;
        if !rest.starts_with("//") {
            // `file:rel/path` has no authority; the URL parser would make it
            // absolute, so it is taken as the relative path it names.
            let decoded = percent_encoding::percent_decode_str(rest).decode_utf8_lossy();
            return Self::local(decoded.as_ref());
        }
        let url = url::Url::parse(uri)
            .map_err(|error| Error::invalid(format!("Invalid file URI '{uri}': {error}")))?;
        let path = url.to_file_path().map_err(|()| {
            Error::invalid(format!(
                "'{uri}' does not name a folder on this machine (a file URI needs an absolute \
                 path and no host other than localhost)"
            ))
        })?;
        Self::local(path)
    }

    /// An S3 store for `s3://bucket[/prefix]`, configured from the environment
    /// (see [`s3_builder_from_env`]).
    pub fn s3(uri: &str) -> Result<Self> {
        Self::s3_with_builder(uri, s3_builder_from_env())
    }

    /// An S3 store for `s3://bucket[/prefix]` with a builder the caller has
    /// configured (endpoint, credentials); the bucket comes from the URI.
    pub fn s3_with_builder(uri: &str, builder: AmazonS3Builder) -> Result<Self> {
        let url = url::Url::parse(uri)
            .map_err(|error| Error::invalid(format!("Invalid S3 URI '{uri}': {error}")))?;
        let bucket = url
            .host_str()
            .filter(|bucket| !bucket.is_empty())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "The S3 URI '{uri}' names no bucket (s3://bucket/prefix)"
                ))
            })?;
        let prefix = validate_relative_path(url.path().trim_start_matches('/'))?;
        let store = builder.with_bucket_name(bucket).build().map_err(|error| {
            Error::invalid(format!("Cannot open S3 artifact store '{uri}': {error}"))
        })?;
        let root_uri = if prefix.is_empty() {
            format!("s3://{bucket}")
        } else {
            format!("s3://{bucket}/{prefix}")
        };
        let prefix = ObjectPath::parse(&prefix)
            .map_err(|error| Error::invalid(format!("Invalid S3 prefix in '{uri}': {error}")))?;
        Ok(Self::new(Arc::new(store), prefix, root_uri))
    }

    /// Validates `path` and returns it cleaned, with its full object key.
    fn location(&self, path: &str) -> Result<(String, ObjectPath)> {
        let relative = validate_relative_path(path)?;
        let full = match (self.prefix.as_ref(), relative.as_str()) {
            ("", relative) => relative.to_owned(),
            (prefix, "") => prefix.to_owned(),
            (prefix, relative) => format!("{prefix}/{relative}"),
        };
        let location = ObjectPath::parse(&full)
            .map_err(|error| Error::invalid(format!("Invalid path: '{relative}' {error}")))?;
        Ok((relative, location))
    }

    /// The location of a file, which the root never is.
    fn file_location(&self, path: &str) -> Result<(String, ObjectPath)> {
        let (relative, location) = self.location(path)?;
        if relative.is_empty() {
            return Err(Error::invalid(format!(
                "Invalid path: '{}' names the artifact root, not a file",
                path.escape_debug()
            )));
        }
        Ok((relative, location))
    }

    /// A listed name as the client knows it. A local listing percent-encodes
    /// the characters `object_store` keeps out of keys (`%`, `{`, `[`, …),
    /// so it is decoded back; bucket keys come back as they were written.
    fn listed_name(&self, name: &str) -> String {
        if self.local_root.is_some() {
            percent_encoding::percent_decode_str(name)
                .decode_utf8_lossy()
                .into_owned()
        } else {
            name.to_owned()
        }
    }

    /// On a local root, refuses to write a file where a folder is, which
    /// would otherwise fail deep in `object_store` as a server error.
    async fn check_writable(&self, relative: &str) -> Result<()> {
        let Some(root) = &self.local_root else {
            return Ok(());
        };
        if tokio::fs::symlink_metadata(root.join(relative))
            .await
            .is_ok_and(|meta| meta.is_dir())
        {
            return Err(Error::invalid(format!(
                "Invalid path: '{relative}' is a folder, not a file"
            )));
        }
        Ok(())
    }

    /// On a local root, removes the folders left empty under (and above)
    /// the deleted `relative` folder; files are never touched here.
    async fn prune_local(&self, relative: &str) {
        let Some(root) = self.local_root.clone() else {
            return;
        };
        let relative = relative.to_owned();
        let outcome = tokio::task::spawn_blocking(move || prune_below(&root, &relative)).await;
        match outcome {
            Ok(Ok(())) => {}
            // Empty folders are cosmetic; the delete itself has succeeded.
            Ok(Err(error)) => tracing::warn!(%error, "could not remove emptied artifact folders"),
            Err(error) => tracing::warn!(%error, "artifact folder cleanup task failed"),
        }
    }
}

/// The S3 builder `s3://` roots use: `AmazonS3Builder::from_env()` (the
/// `AWS_*` variables), plus MLflow's `MLFLOW_S3_ENDPOINT_URL` when no AWS
/// endpoint is set, path-style requests unless
/// `AWS_VIRTUAL_HOSTED_STYLE_REQUEST` says otherwise (S3-compatible servers
/// such as MinIO and moto need them), and plain HTTP allowed when the
/// endpoint is an `http://` URL and `AWS_ALLOW_HTTP` is not set.
pub fn s3_builder_from_env() -> AmazonS3Builder {
    let env = |key: &str| {
        std::env::var(key)
            .ok()
            .filter(|value| !value.trim().is_empty())
    };
    let mut builder = AmazonS3Builder::from_env();
    let mut endpoint = env("AWS_ENDPOINT_URL")
        .or_else(|| env("AWS_ENDPOINT"))
        .or_else(|| env("AWS_ENDPOINT_URL_S3"));
    if endpoint.is_none()
        && let Some(mlflow_endpoint) = env("MLFLOW_S3_ENDPOINT_URL")
    {
        builder = builder.with_endpoint(mlflow_endpoint.clone());
        endpoint = Some(mlflow_endpoint);
    }
    if env("AWS_VIRTUAL_HOSTED_STYLE_REQUEST").is_none() {
        builder = builder.with_virtual_hosted_style_request(false);
    }
    if env("AWS_ALLOW_HTTP").is_none()
        && endpoint.is_some_and(|endpoint| endpoint.to_ascii_lowercase().starts_with("http://"))
    {
        builder = builder.with_allow_http(true);
    }
    builder
}

#[async_trait]
impl ArtifactStore for ObjectArtifactStore {
    fn root_uri(&self) -> &str {
        &self.root_uri
    }

    async fn put(&self, path: &str, mut body: ByteStream) -> Result<()> {
        let (relative, location) = self.file_location(path)?;
        self.check_writable(&relative).await?;
        // BufWriter keeps small bodies in memory for one plain PUT and turns
        // larger ones into a multipart upload of WRITE_CHUNK parts, so a body
        // is never held whole.
        let mut writer = BufWriter::with_capacity(Arc::clone(&self.store), location, WRITE_CHUNK)
            .with_max_concurrency(WRITE_CONCURRENCY);
        while let Some(chunk) = body.next().await {
            let written = match chunk {
                Ok(bytes) => writer
                    .put(bytes)
                    .await
                    .map_err(|error| storage_error(error, &relative)),
                Err(error) => Err(read_error(error)),
            };
            if let Err(error) = written {
                // Drop the parts uploaded so far; the first error is the one
                // worth reporting, not one from the cleanup.
                if let Err(abort_error) = writer.abort().await {
                    tracing::warn!(error = %abort_error, "could not abort a partial artifact upload");
                }
                return Err(error);
            }
        }
        writer
            .shutdown()
            .await
            .map_err(|error| io_storage_error(error, &relative))
    }

    async fn get(&self, path: &str) -> Result<ArtifactObject> {
        let (relative, location) = self.file_location(path).map_err(|error| {
            // Reading the root is "no such file" to a client, not a bad request.
            if validate_relative_path(path).is_ok() {
                Error::not_found(format!("Artifact not found: '{}'", path.escape_debug()))
            } else {
                error
            }
        })?;
        let result = self
            .store
            .get(&location)
            .await
            .map_err(|error| storage_error(error, &relative))?;
        let size = result.meta.size;
        let stream = result
            .into_stream()
            .map_err(move |error| std::io::Error::other(storage_error(error, &relative)))
            .boxed();
        Ok(ArtifactObject { size, stream })
    }

    async fn list(&self, path: &str) -> Result<Vec<FileInfo>> {
        let (relative, folder) = self.location(path)?;
        let listing = match self.store.list_with_delimiter(Some(&folder)).await {
            Ok(listing) => listing,
            Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
            Err(error) => return Err(storage_error(error, &relative)),
        };
        // Only direct children: this also skips S3 "folder marker" keys
        // (`dir/`), which come back as the listed folder itself.
        let child_depth = folder.parts_count() + 1;
        let mut files = Vec::with_capacity(listing.common_prefixes.len() + listing.objects.len());
        for folder_path in &listing.common_prefixes {
            if folder_path.parts_count() != child_depth {
                continue;
            }
            if let Some(name) = folder_path.filename() {
                files.push(FileInfo {
                    path: self.listed_name(name),
                    is_dir: true,
                    file_size: None,
                });
            }
        }
        for object in &listing.objects {
            if object.location.parts_count() != child_depth {
                continue;
            }
            if let Some(name) = object.location.filename() {
                files.push(FileInfo {
                    path: self.listed_name(name),
                    is_dir: false,
                    file_size: Some(i64::try_from(object.size).unwrap_or(i64::MAX)),
                });
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path).then(b.is_dir.cmp(&a.is_dir)));
        Ok(files)
    }

    async fn delete(&self, path: &str) -> Result<()> {
        let (relative, location) = self.location(path)?;
        // Everything under the folder. Prefixes match whole segments, so
        // deleting `a/b` never touches `a/bc`.
        let below = self
            .store
            .list(Some(&location))
            .map_ok(|meta| meta.location)
            .boxed();
        let mut deleted = self.store.delete_stream(below);
        while let Some(outcome) = deleted.next().await {
            match outcome {
                // Gone already (a concurrent delete) is what we wanted.
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => return Err(storage_error(error, &relative)),
            }
        }
        // Then the path itself, if it is a file. `head` first, because a
        // local folder cannot be deleted as a file and reads as "not found".
        if !relative.is_empty() {
            match self.store.head(&location).await {
                Ok(_) => match self.store.delete(&location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(error) => return Err(storage_error(error, &relative)),
                },
                Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => return Err(storage_error(error, &relative)),
            }
        }
        self.prune_local(&relative).await;
        Ok(())
    }
}

/// Removes the empty folders inside `root/relative`, then the folder itself
/// and its parents while they are empty, stopping at `root`. Symbolic links
/// are never followed, and nothing outside `root` is touched.
fn prune_below(root: &std::path::Path, relative: &str) -> std::io::Result<()> {
    let target = root.join(relative);
    let canonical = match std::fs::canonicalize(&target) {
        Ok(canonical) => canonical,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    // A symbolic link inside the root could lead elsewhere; leave it alone.
    if !canonical.starts_with(root) {
        return Ok(());
    }
    remove_empty_folders(&canonical)?;
    let mut current = Some(canonical.as_path());
    while let Some(folder) = current {
        if folder == root || !folder.starts_with(root) || std::fs::remove_dir(folder).is_err() {
            break;
        }
        current = folder.parent();
    }
    Ok(())
}

/// Removes every empty folder below `folder` (not `folder` itself).
fn remove_empty_folders(folder: &std::path::Path) -> std::io::Result<()> {
    if !std::fs::symlink_metadata(folder)?.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        // DirEntry::file_type does not follow symbolic links.
        if entry.file_type()?.is_dir() {
            let child = entry.path();
            remove_empty_folders(&child)?;
            // Fails, harmlessly, while the folder still holds something.
            let _ = std::fs::remove_dir(&child);
        }
    }
    Ok(())
}

/// Maps an `object_store` failure on artifact `relative`: the message names the
/// artifact, not the server's file-system path.
fn storage_error(error: object_store::Error, relative: &str) -> Error {
    match error {
        object_store::Error::NotFound { .. } => {
            Error::not_found(format!("Artifact not found: '{relative}'"))
        }
        object_store::Error::InvalidPath { source } => {
            Error::invalid(format!("Invalid path: '{relative}' {source}"))
        }
        other => {
            tracing::error!(error = %other, artifact = relative, "artifact storage error");
            Error::from(other)
        }
    }
}

/// [`storage_error`] for the `std::io::Error` that `BufWriter` wraps around it.
fn io_storage_error(error: std::io::Error, relative: &str) -> Error {
    let message = error.to_string();
    match error
        .into_inner()
        .map(|inner| inner.downcast::<object_store::Error>())
    {
        Some(Ok(inner)) => storage_error(*inner, relative),
        _ => Error::internal(format!("artifact storage error on '{relative}': {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use bytes::Bytes;

    fn body(chunks: Vec<&'static [u8]>) -> ByteStream {
        futures::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from_static(c)))).boxed()
    }

    async fn read(store: &dyn ArtifactStore, path: &str) -> Vec<u8> {
        store
            .get(path)
            .await
            .unwrap()
            .into_bytes()
            .await
            .unwrap()
            .to_vec()
    }

    fn names(listing: &[FileInfo]) -> Vec<(&str, bool, Option<i64>)> {
        listing
            .iter()
            .map(|f| (f.path.as_str(), f.is_dir, f.file_size))
            .collect()
    }

    /// Every file below `dir`, relative, sorted.
    fn files_on_disk(dir: &std::path::Path) -> Vec<String> {
        fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let entry = entry.unwrap();
                let path = entry.path();
                if entry.file_type().unwrap().is_dir() {
                    out.push(format!("{}/", path.strip_prefix(base).unwrap().display()));
                    walk(base, &path, out);
                } else {
                    out.push(path.strip_prefix(base).unwrap().display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(dir, dir, &mut out);
        out.sort();
        out
    }

    #[tokio::test]
    async fn local_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectArtifactStore::local(dir.path().join("root")).unwrap();
        let root = std::fs::canonicalize(dir.path().join("root")).unwrap();
        assert_eq!(
            store.root_uri(),
            url::Url::from_file_path(&root).unwrap().as_str()
        );

        store
            .put("model/MLmodel", body(vec![b"flavors:", b"\n  x: 1\n"]))
            .await
            .unwrap();
        store
            .put_bytes("model/data/weights.bin", Bytes::from_static(b"0123456789"))
            .await
            .unwrap();
        store
            .put_bytes("metrics.json", Bytes::from_static(b"{}"))
            .await
            .unwrap();
        store.put_bytes("empty.txt", Bytes::new()).await.unwrap();

        assert_eq!(read(&store, "model/MLmodel").await, b"flavors:\n  x: 1\n");
        let object = store.get("model/data/weights.bin").await.unwrap();
        assert_eq!(object.size, 10);
        assert_eq!(
            read(&store, "./model//data/weights.bin").await,
            b"0123456789"
        );
        assert_eq!(read(&store, "empty.txt").await, b"");
        // Files really are where a person browsing the folder expects them.
        assert_eq!(
            std::fs::read(root.join("model/data/weights.bin")).unwrap(),
            b"0123456789"
        );

        // Overwrite.
        store
            .put_bytes("metrics.json", Bytes::from_static(b"{\"a\":1}"))
            .await
            .unwrap();
        assert_eq!(read(&store, "metrics.json").await, b"{\"a\":1}");

        assert_eq!(
            names(&store.list("").await.unwrap()),
            vec![
                ("empty.txt", false, Some(0)),
                ("metrics.json", false, Some(7)),
                ("model", true, None),
            ]
        );
        assert_eq!(
            names(&store.list("model").await.unwrap()),
            vec![("MLmodel", false, Some(16)), ("data", true, None)]
        );
        assert_eq!(
            names(&store.list("model/data/").await.unwrap()),
            vec![("weights.bin", false, Some(10))]
        );
        // A file, or nothing, lists as empty.
        assert!(store.list("model/MLmodel").await.unwrap().is_empty());
        assert!(store.list("nope").await.unwrap().is_empty());
        assert!(store.list("nope/deeper").await.unwrap().is_empty());

        // Delete one file.
        store.delete("metrics.json").await.unwrap();
        assert!(store.get("metrics.json").await.unwrap_err().is_not_found());
        // Delete a folder: everything under it, and the emptied folder too.
        store.delete("model").await.unwrap();
        assert!(store.get("model/MLmodel").await.unwrap_err().is_not_found());
        assert_eq!(
            names(&store.list("").await.unwrap()),
            vec![("empty.txt", false, Some(0))]
        );
        assert_eq!(files_on_disk(&root), vec!["empty.txt"]);
        // Deleting what is not there is fine.
        store.delete("model").await.unwrap();
        store.delete("never/was").await.unwrap();
    }

    #[tokio::test]
    async fn delete_keeps_siblings_and_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectArtifactStore::local(dir.path()).unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        for path in ["a/b/x.txt", "a/bc/y.txt", "a/b.txt", "z.txt"] {
            store
                .put_bytes(path, Bytes::from_static(b"1"))
                .await
                .unwrap();
        }
        std::fs::create_dir_all(root.join("a/b/empty/deeper")).unwrap();
        store.delete("a/b").await.unwrap();
        assert_eq!(
            files_on_disk(&root),
            vec!["a/", "a/b.txt", "a/bc/", "a/bc/y.txt", "z.txt"]
        );
        store.delete("").await.unwrap();
        assert!(root.is_dir(), "the root itself stays");
        assert!(files_on_disk(&root).is_empty());
    }

    #[tokio::test]
    async fn missing_and_root_reads_are_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectArtifactStore::local(dir.path()).unwrap();
        store
            .put_bytes("d/f.txt", Bytes::from_static(b"1"))
            .await
            .unwrap();
        for path in ["missing.txt", "d/missing.txt", "d", ""] {
            let error = store.get(path).await.unwrap_err();
            assert_eq!(error.code, ErrorCode::ResourceDoesNotExist, "{path}");
            assert_eq!(error.code.http_status(), 404);
            // The message names the artifact, not the server's disk.
            let disk = dir.path().to_string_lossy().into_owned();
            assert!(!error.message.contains(&disk), "{}", error.message);
        }
    }

    #[tokio::test]
    async fn writing_over_a_folder_is_a_client_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectArtifactStore::local(dir.path()).unwrap();
        store
            .put_bytes("d/f.txt", Bytes::from_static(b"1"))
            .await
            .unwrap();
        let error = store
            .put_bytes("d", Bytes::from_static(b"2"))
            .await
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidParameterValue);
        let error = store
            .put_bytes("", Bytes::from_static(b"2"))
            .await
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidParameterValue);
    }

    #[tokio::test]
    async fn traversal_is_refused_and_nothing_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectArtifactStore::local(dir.path().join("root")).unwrap();
        std::fs::write(dir.path().join("secret.txt"), b"secret").unwrap();
        let attacks = [
            "../escape.txt",
            "a/../../escape.txt",
            "1/../../etc/passwd",
            "%2e%2e/escape.txt",
            "%252e%252e%252fescape.txt",
            "..\\escape.txt",
            "/tmp/escape.txt",
            "C:/escape.txt",
            "a\u{0}b",
            "file:///tmp/escape.txt",
        ];
        for attack in attacks {
            let error = store
                .put_bytes(attack, Bytes::from_static(b"pwned"))
                .await
                .unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidParameterValue, "put {attack}");
            let error = store.put(attack, body(vec![b"pwned"])).await.unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidParameterValue, "put {attack}");
            let error = store.get(attack).await.unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidParameterValue, "get {attack}");
            let error = store.list(attack).await.unwrap_err();
            assert_eq!(
                error.code,
                ErrorCode::InvalidParameterValue,
                "list {attack}"
            );
            let error = store.delete(attack).await.unwrap_err();
            assert_eq!(
                error.code,
                ErrorCode::InvalidParameterValue,
                "delete {attack}"
            );
        }
        assert_eq!(files_on_disk(dir.path()), vec!["root/", "secret.txt"]);
        assert_eq!(
            std::fs::read(dir.path().join("secret.txt")).unwrap(),
            b"secret"
        );
    }

    #[tokio::test]
    async fn odd_file_names_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectArtifactStore::local(dir.path()).unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let odd = [
            "100%.txt",
            "my file.txt",
            "{braces}[x]~.txt",
            "epoch:3.ckpt",
            "ünï.txt",
        ];
        for name in odd {
            store
                .put_bytes(&format!("d/{name}"), Bytes::from(name.as_bytes().to_vec()))
                .await
                .unwrap();
            assert!(root.join("d").join(name).is_file(), "{name} on disk as is");
            assert_eq!(read(&store, &format!("d/{name}")).await, name.as_bytes());
        }
        let listed: Vec<String> = store
            .list("d")
            .await
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        let mut expected: Vec<String> = odd.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(listed, expected);
    }

    #[tokio::test]
    async fn streams_a_20_mb_body() {
        const CHUNK: usize = 1024 * 1024;
        const CHUNKS: usize = 20;
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectArtifactStore::local(dir.path()).unwrap();
        // Each chunk is made when asked for, so the body never exists whole.
        let chunks = futures::stream::iter(0..CHUNKS).map(|i| {
            let byte = u8::try_from(i % 251).unwrap_or(0);
            Ok(Bytes::from(vec![byte; CHUNK]))
        });
        store.put("big/blob.bin", chunks.boxed()).await.unwrap();

        let listing = store.list("big").await.unwrap();
        assert_eq!(
            names(&listing),
            vec![("blob.bin", false, Some((CHUNK * CHUNKS) as i64))]
        );
        let object = store.get("big/blob.bin").await.unwrap();
        assert_eq!(object.size, (CHUNK * CHUNKS) as u64);
        let mut offset = 0usize;
        let mut stream = object.stream;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.unwrap();
            for (i, byte) in chunk.iter().enumerate() {
                let expected = u8::try_from(((offset + i) / CHUNK) % 251).unwrap_or(0);
                assert_eq!(*byte, expected, "byte {}", offset + i);
            }
            offset += chunk.len();
        }
        assert_eq!(offset, CHUNK * CHUNKS);
        // No staging files left next to it.
        let root = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(files_on_disk(&root), vec!["big/", "big/blob.bin"]);
    }

    #[tokio::test]
    async fn a_failing_body_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectArtifactStore::local(dir.path()).unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        // Past the in-memory threshold, so a multipart upload is under way
        // when the body fails.
        let chunks = futures::stream::iter(0..12).map(|i| {
            if i == 11 {
                Err(std::io::Error::other(Error::new(
                    ErrorCode::RequestLimitExceeded,
                    "body too large",
                )))
            } else {
                Ok(Bytes::from(vec![7u8; 1024 * 1024]))
            }
        });
        let error = store.put("partial.bin", chunks.boxed()).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::RequestLimitExceeded);
        assert!(store.get("partial.bin").await.unwrap_err().is_not_found());
        assert!(
            files_on_disk(&root).is_empty(),
            "{:?}",
            files_on_disk(&root)
        );
    }

    #[tokio::test]
    async fn in_memory_backend_with_prefix() {
        let store = ObjectArtifactStore::new(
            Arc::new(object_store::memory::InMemory::new()),
            ObjectPath::parse("exp/run").unwrap(),
            "memory:///exp/run",
        );
        store
            .put_bytes("a/b.txt", Bytes::from_static(b"b"))
            .await
            .unwrap();
        store
            .put_bytes("c.txt", Bytes::from_static(b"cc"))
            .await
            .unwrap();
        assert_eq!(
            names(&store.list("").await.unwrap()),
            vec![("a", true, None), ("c.txt", false, Some(2))]
        );
        assert_eq!(read(&store, "a/b.txt").await, b"b");
        store.delete("a").await.unwrap();
        assert_eq!(
            names(&store.list("").await.unwrap()),
            vec![("c.txt", false, Some(2))]
        );
    }

    /// Runs against an S3-compatible server when `SMELT_TEST_S3_ENDPOINT` is set.
    #[tokio::test]
    async fn s3_round_trip() {
        let Ok(endpoint) = std::env::var("SMELT_TEST_S3_ENDPOINT") else {
            if std::env::var("SMELT_REQUIRE_PEERS").as_deref() == Ok("1") {
                panic!("SMELT_REQUIRE_PEERS=1 but SMELT_TEST_S3_ENDPOINT is not set");
            }
            eprintln!("skipped s3_round_trip: SMELT_TEST_S3_ENDPOINT is not set");
            return;
        };
        let bucket =
            std::env::var("SMELT_TEST_S3_BUCKET").unwrap_or_else(|_| "smelt-test".to_owned());
        let mut builder = s3_builder_from_env()
            .with_endpoint(endpoint.clone())
            .with_allow_http(true);
        // moto accepts any credentials; real ones come from the environment.
        if std::env::var("AWS_ACCESS_KEY_ID").is_err() {
            builder = builder
                .with_access_key_id("testing")
                .with_secret_access_key("testing");
        }
        if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
            builder = builder.with_region("us-east-1");
        }
        let run = format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let uri = format!("s3://{bucket}/smelt-tests/{run}");
        let store = ObjectArtifactStore::s3_with_builder(&uri, builder).unwrap();
        assert_eq!(store.root_uri(), uri);

        store
            .put("model/MLmodel", body(vec![b"flavors: ", b"{}\n"]))
            .await
            .unwrap();
        store
            .put_bytes("model/data/w.bin", Bytes::from_static(b"0123456789"))
            .await
            .unwrap();
        store
            .put_bytes("odd name %.txt", Bytes::from_static(b"%"))
            .await
            .unwrap();
        assert_eq!(read(&store, "model/MLmodel").await, b"flavors: {}\n");
        assert_eq!(
            names(&store.list("").await.unwrap()),
            vec![("model", true, None), ("odd name %.txt", false, Some(1))]
        );
        assert_eq!(
            names(&store.list("model").await.unwrap()),
            vec![("MLmodel", false, Some(12)), ("data", true, None)]
        );
        assert!(store.list("model/MLmodel").await.unwrap().is_empty());
        assert!(store.list("missing").await.unwrap().is_empty());
        assert!(store.get("missing.txt").await.unwrap_err().is_not_found());

        // A multipart upload (over the 8 MiB in-memory threshold).
        let chunks = futures::stream::iter(0..20)
            .map(|i: u8| Ok(Bytes::from(vec![i; 1024 * 1024])))
            .boxed();
        store.put("big.bin", chunks).await.unwrap();
        let object = store.get("big.bin").await.unwrap();
        assert_eq!(object.size, 20 * 1024 * 1024);
        let all = object.into_bytes().await.unwrap();
        assert_eq!(all[19 * 1024 * 1024], 19);

        store.delete("model").await.unwrap();
        assert!(store.get("model/MLmodel").await.unwrap_err().is_not_found());
        store.delete("big.bin").await.unwrap();
        assert_eq!(
            names(&store.list("").await.unwrap()),
            vec![("odd name %.txt", false, Some(1))]
        );
        store.delete("").await.unwrap();
        assert!(store.list("").await.unwrap().is_empty());
    }
}
