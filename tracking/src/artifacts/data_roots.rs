//! Where the server may read files for a caller: a job's data, an
//! endpoint's model folder, a monitor's reference. `smelt train` on the
//! user's own machine reads whatever the user can ([`DataRoots::anywhere`]).
//! A server acts for whoever calls its API, so it reads only from its
//! artifact store (`runs:/…`, `mlflow-artifacts:/…`) and from the folders
//! its operator allows (`smelt server --data-roots`): a spec naming
//! `/etc/passwd` is refused before anything is opened. Local paths are judged after
//! canonicalisation, so neither a symlink nor `..` leads out of a root, and
//! refusals name the path as the caller wrote it, never what a symlink hid.

use std::path::{Component, Path, PathBuf};

use super::ModelUri;
use crate::error::{Error, Result};

/// The flag (and its variable) that allows data folders; refusals name it.
pub const DATA_ROOTS_FLAG: &str = "smelt server --data-roots DIR (SMELT_DATA_ROOTS)";

/// The places a job may read data from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRoots {
    restricted: bool,
    /// Allowed folders, canonical.
    folders: Vec<PathBuf>,
    /// The server's own artifact locations: local ones canonical, remote
    /// ones (`s3://…`) as URI prefixes ending in `/`.
    store_folders: Vec<PathBuf>,
    store_prefixes: Vec<String>,
}

impl DataRoots {
    /// No restriction: the user's own process reads what the user can.
    pub fn anywhere() -> DataRoots {
        DataRoots {
            restricted: false,
            folders: Vec::new(),
            store_folders: Vec::new(),
            store_prefixes: Vec::new(),
        }
    }

    /// Only the artifact store and `folders` (each must exist). The error
    /// names the folder that does not.
    pub fn only(folders: &[PathBuf]) -> Result<DataRoots> {
        let folders = folders
            .iter()
            .map(|folder| {
                std::fs::canonicalize(folder)
                    .ok()
                    .filter(|c| c.is_dir())
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "the data root {} is not a folder that exists",
                            folder.display()
                        ))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(DataRoots {
            restricted: true,
            folders,
            store_folders: Vec::new(),
            store_prefixes: Vec::new(),
        })
    }

    /// Adds the server's own artifact locations (its artifacts destination,
    /// its default artifact root): a `runs:/…` URI is read only when its
    /// run's artifacts live under one of them (a client may create an
    /// experiment whose artifact location is any folder) or under a data root.
    pub fn with_artifact_stores<S: AsRef<str>>(mut self, stores: &[S]) -> DataRoots {
        for store in stores.iter().map(|s| s.as_ref().trim()) {
            match ModelUri::parse(store) {
                Ok(ModelUri::Folder(folder)) => {
                    // Resolved as far as it exists: the store's folder may
                    // be made only when the first artifact is written.
                    if let Some(real) = resolved(&folder) {
                        self.store_folders.push(real);
                    }
                }
                Ok(ModelUri::Location { uri }) => {
                    self.store_prefixes
                        .push(format!("{}/", uri.trim_end_matches('/')));
                }
                _ => {}
            }
        }
        self
    }

    /// Whether reads are limited (a server's jobs) or not (`smelt train`).
    pub fn is_restricted(&self) -> bool {
        self.restricted
    }

    /// The allowed folders, canonical.
    pub fn folders(&self) -> &[PathBuf] {
        &self.folders
    }

    /// The file to read for the local path `path`, which the caller wrote
    /// as `given`: the canonical path when it lies under a data root.
    pub fn local(&self, given: &str, path: &Path) -> Result<PathBuf> {
        if !self.restricted {
            return Ok(path.to_path_buf());
        }
        match resolved(path) {
            Some(real) if under(&real, &self.folders) => Ok(real),
            _ => Err(self.refusal(given)),
        }
    }

    /// Checks a run's artifact location `root` (and `path` inside it), which
    /// `given` (`runs:/…`) resolved to.
    pub fn run_artifacts(&self, given: &str, root: &str, path: &str) -> Result<()> {
        if !self.restricted {
            return Ok(());
        }
        let allowed = match ModelUri::parse(root) {
            Ok(ModelUri::ServerArtifact { .. }) => true,
            Ok(ModelUri::Folder(folder)) => resolved(&folder.join(path)).is_some_and(|real| {
                under(&real, &self.store_folders) || under(&real, &self.folders)
            }),
            Ok(ModelUri::Location { uri }) => self.in_store(&uri),
            _ => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "'{given}' is stored outside this server's artifact store, so the server \
                 does not read it for a caller; log it to a run of this server, or ask \
                 its operator to allow the folder with {DATA_ROOTS_FLAG}"
            )))
        }
    }

    /// Checks an artifact location the server is about to open for a
    /// caller (a run's, a model version's source, a monitor's reference):
    /// `mlflow-artifacts:` is the server's own store; a folder must lie
    /// under the store's folders or a data root, an object-store URI inside
    /// the store. Registry and run forms are checked once resolved to one.
    pub fn location(&self, uri: &str) -> Result<()> {
        if !self.restricted {
            return Ok(());
        }
        match ModelUri::parse(uri)? {
            ModelUri::Folder(folder) => match resolved(&folder) {
                Some(real) if under(&real, &self.store_folders) || under(&real, &self.folders) => {
                    Ok(())
                }
                _ => Err(self.refusal(uri.trim())),
            },
            ModelUri::Location { uri: location } => self.remote(&location),
            _ => Ok(()),
        }
    }

    /// Checks an object-store URI given directly (`s3://…`, `http(s)://…`):
    /// allowed only inside the server's own artifact store.
    pub fn remote(&self, given: &str) -> Result<()> {
        if !self.restricted || self.in_store(given.trim()) {
            return Ok(());
        }
        Err(Error::invalid(format!(
            "'{given}' is outside this server's artifact store, so the server does not \
             read it for a caller; name it as runs:/RUN_ID/path or mlflow-artifacts:/path"
        )))
    }

    fn in_store(&self, uri: &str) -> bool {
        let uri = format!("{}/", uri.trim_end_matches('/'));
        // No `..` may climb out of the prefix.
        !uri.split('/').any(|segment| segment == "..")
            && self
                .store_prefixes
                .iter()
                .any(|prefix| uri.starts_with(prefix.as_str()))
    }

    fn refusal(&self, given: &str) -> Error {
        Error::invalid(format!(
            "'{given}' is outside the folders this server reads from for its callers; \
             name it as runs:/RUN_ID/path or mlflow-artifacts:/path (upload it first), \
             or ask the operator to allow its folder with {DATA_ROOTS_FLAG}"
        ))
    }
}

/// `path` with symlinks and `..` resolved. A path that does not exist is
/// resolved as far as it exists and the rest is taken lexically (it cannot
/// be read anyway, but the answer must not say whether it exists).
fn resolved(path: &Path) -> Option<PathBuf> {
    if let Ok(real) = std::fs::canonicalize(path) {
        return Some(real);
    }
    let absolute = std::path::absolute(path).ok()?;
    let mut rest = Vec::new();
    let mut existing = absolute.as_path();
    let base = loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            break real;
        }
        rest.push(existing.file_name()?.to_os_string());
        existing = existing.parent()?;
    };
    let mut out = base;
    for name in rest.iter().rev() {
        match Path::new(name).components().next() {
            Some(Component::ParentDir) => {
                out.pop();
            }
            Some(Component::CurDir) | None => {}
            Some(_) => out.push(name),
        }
    }
    Some(out)
}

fn under(path: &Path, folders: &[PathBuf]) -> bool {
    folders.iter().any(|folder| path.starts_with(folder))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<impl std::fmt::Debug>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn only_files_under_the_roots_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data");
        let outside = dir.path().join("secret");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(root.join("sub/train.csv"), "a\n1\n").unwrap();
        std::fs::write(outside.join("keys.csv"), "k\n1\n").unwrap();
        let roots = DataRoots::only(std::slice::from_ref(&root)).unwrap();
        let real_root = std::fs::canonicalize(&root).unwrap();

        let inside = roots
            .local("sub/train.csv", &root.join("sub/train.csv"))
            .unwrap();
        assert_eq!(inside, real_root.join("sub/train.csv"));
        // A missing file inside a root is the reader's to report.
        assert!(roots.local("new.csv", &root.join("new.csv")).is_ok());

        for (given, path) in [
            ("/etc/passwd", PathBuf::from("/etc/passwd")),
            ("../secret/keys.csv", root.join("../secret/keys.csv")),
            (
                "sub/../../secret/keys.csv",
                root.join("sub/../../secret/keys.csv"),
            ),
            ("../secret/missing.csv", root.join("../secret/missing.csv")),
            (
                "missing/../../secret/keys.csv",
                root.join("missing/../../secret/keys.csv"),
            ),
        ] {
            let error = message(roots.local(given, &path));
            assert!(error.contains(&format!("'{given}' is outside")), "{error}");
            assert!(error.contains("--data-roots"), "{error}");
        }

        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outside.join("keys.csv"), root.join("link.csv")).unwrap();
            std::os::unix::fs::symlink(&outside, root.join("linked")).unwrap();
            for given in ["link.csv", "linked/keys.csv"] {
                let error = message(roots.local(given, &root.join(given)));
                assert!(error.contains(&format!("'{given}' is outside")), "{error}");
                assert!(
                    !error.contains("secret"),
                    "the target stays hidden: {error}"
                );
            }
        }

        assert!(
            DataRoots::anywhere()
                .local("/etc/passwd", Path::new("/etc/passwd"))
                .is_ok()
        );
        assert!(message(DataRoots::only(&[dir.path().join("nope")])).contains("nope"));
    }

    #[test]
    fn run_artifacts_must_live_in_the_servers_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("artifacts");
        std::fs::create_dir_all(store.join("1/abc/artifacts")).unwrap();
        let roots = DataRoots::only(&[])
            .unwrap()
            .with_artifact_stores(&[store.display().to_string(), "s3://bucket/prefix".into()]);
        let given = "runs:/abc/data.csv";
        assert!(
            roots
                .run_artifacts(given, "mlflow-artifacts:/1/abc/artifacts", "data.csv")
                .is_ok()
        );
        let local = store.join("1/abc/artifacts").display().to_string();
        assert!(roots.run_artifacts(given, &local, "data.csv").is_ok());
        assert!(
            roots
                .run_artifacts(given, "s3://bucket/prefix/1/abc", "data.csv")
                .is_ok()
        );
        for root in [
            "/etc",
            "file:///etc",
            "s3://other/prefix",
            "s3://bucket/prefixed",
        ] {
            let error = message(roots.run_artifacts(given, root, "passwd"));
            assert!(
                error.contains("outside this server's artifact store"),
                "{error}"
            );
            assert!(!error.contains("/etc"), "{error}");
        }
        assert!(message(roots.remote("s3://other/x.csv")).contains("'s3://other/x.csv'"));
        assert!(roots.remote("s3://bucket/prefix/x.csv").is_ok());
        assert!(roots.remote("s3://bucket/prefix/../x.csv").is_err());
        assert!(DataRoots::anywhere().remote("s3://other/x.csv").is_ok());
    }
}
