//! Where served models come from: the [`ModelSource`] seam.
//!
//! Serving names models the way MLflow does (`models:/NAME@ALIAS`,
//! `models:/NAME/VERSION`, `models:/NAME/latest`, `runs:/RUN_ID/PATH`, or a
//! local folder). A source resolves such a reference to the concrete version
//! it names *now* and downloads that version's folder. References that can
//! move (an alias, `latest`) are re-resolved periodically; when the answer
//! changes the endpoint hot-swaps (see [`crate::endpoint`]).
//!
//! The `smelt` binary implements the trait over the tracking store and the
//! artifact stores; [`LocalFolders`] serves folders alone (tests, offline).

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::error::{Result, ServeError};

/// A parsed model reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelReference {
    Alias { name: String, alias: String },
    Version { name: String, version: String },
    Latest { name: String },
    Run { run_id: String, path: String },
    Folder(PathBuf),
}

impl ModelReference {
    pub fn parse(text: &str) -> Result<ModelReference> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("models:/") {
            let rest = rest.trim_start_matches('/');
            if let Some((name, alias)) = rest.split_once('@') {
                return non_empty(name, alias, text)
                    .map(|(name, alias)| ModelReference::Alias { name, alias });
            }
            if let Some((name, version)) = rest.rsplit_once('/') {
                let (name, version) = non_empty(name, version, text)?;
                if version.eq_ignore_ascii_case("latest") {
                    return Ok(ModelReference::Latest { name });
                }
                if version.parse::<u64>().is_err() {
                    return Err(bad_reference(text));
                }
                return Ok(ModelReference::Version { name, version });
            }
            return Err(bad_reference(text));
        }
        if let Some(rest) = text.strip_prefix("runs:/") {
            let rest = rest.trim_start_matches('/');
            let (run_id, path) = rest.split_once('/').unwrap_or((rest, "model"));
            let path = if path.is_empty() { "model" } else { path };
            if run_id.is_empty() {
                return Err(bad_reference(text));
            }
            return Ok(ModelReference::Run {
                run_id: run_id.to_string(),
                path: path.trim_end_matches('/').to_string(),
            });
        }
        if text.contains(":/") && !text.starts_with("file:") {
            return Err(bad_reference(text));
        }
        let path = text.strip_prefix("file://").unwrap_or(text);
        if path.is_empty() {
            return Err(bad_reference(text));
        }
        Ok(ModelReference::Folder(PathBuf::from(path)))
    }

    /// Whether the version this names can change while serving.
    pub fn can_move(&self) -> bool {
        matches!(
            self,
            ModelReference::Alias { .. } | ModelReference::Latest { .. }
        )
    }
}

fn non_empty(a: &str, b: &str, text: &str) -> Result<(String, String)> {
    if a.is_empty() || b.is_empty() {
        return Err(bad_reference(text));
    }
    Ok((a.to_string(), b.to_string()))
}

fn bad_reference(text: &str) -> ServeError {
    ServeError::InvalidInput(format!(
        "'{text}' is not a model reference: use models:/NAME@ALIAS, models:/NAME/VERSION, \
         models:/NAME/latest, runs:/RUN_ID/PATH or a model folder"
    ))
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
    /// Which concrete version `reference` names now. Unknown models, versions
    /// and aliases are [`ServeError::NotFound`].
    async fn resolve(&self, reference: &ModelReference, text: &str) -> Result<ResolvedModel>;
    /// Puts the version's model folder under `dir` and returns its path.
    async fn download(&self, model: &ResolvedModel, dir: &Path) -> Result<PathBuf>;
}

/// Serves local model folders only: no registry, nothing moves.
pub struct LocalFolders;

#[async_trait]
impl ModelSource for LocalFolders {
    async fn resolve(&self, reference: &ModelReference, text: &str) -> Result<ResolvedModel> {
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

/// Resolves a [`ModelReference::Folder`]; `None` for other references.
pub fn folder_model(reference: &ModelReference, text: &str) -> Option<Result<ResolvedModel>> {
    let ModelReference::Folder(path) = reference else {
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
    fn references_parse_as_mlflow_writes_them() {
        assert_eq!(
            ModelReference::parse("models:/iris@champion").unwrap(),
            ModelReference::Alias {
                name: "iris".into(),
                alias: "champion".into()
            }
        );
        assert_eq!(
            ModelReference::parse("models:/iris/3").unwrap(),
            ModelReference::Version {
                name: "iris".into(),
                version: "3".into()
            }
        );
        assert!(
            ModelReference::parse("models:/iris/latest")
                .unwrap()
                .can_move()
        );
        assert_eq!(
            ModelReference::parse("runs:/abc/model").unwrap(),
            ModelReference::Run {
                run_id: "abc".into(),
                path: "model".into()
            }
        );
        assert!(!ModelReference::parse("runs:/abc").unwrap().can_move());
        assert_eq!(
            ModelReference::parse("./m").unwrap(),
            ModelReference::Folder("./m".into())
        );
    }

    #[test]
    fn malformed_references_say_what_is_accepted() {
        for bad in [
            "models:/iris",
            "models:/iris/x",
            "models:/@a",
            "runs:/",
            "s3:/x",
            "",
        ] {
            let error = ModelReference::parse(bad).unwrap_err().to_string();
            assert!(error.contains("models:/NAME@ALIAS"), "{bad}: {error}");
        }
    }
}
