//! [`ModelUri`]: the one parser of the names MLflow gives models and
//! artifacts.
//!
//! `smelt artifacts download`, `smelt predict`, `smelt serve`, endpoints,
//! monitors and the server all take the same names: `models:/NAME@ALIAS`,
//! `models:/NAME/VERSION`, `models:/NAME/latest`, `models:/NAME/STAGE`,
//! `models:/m-…` (a logged model), `runs:/RUN_ID/PATH`,
//! `mlflow-artifacts:/PATH`, an object-store URI (`s3://`, `http(s)://`) or a
//! local folder (`file://` or a plain path). They are parsed here, once, and
//! resolved to files by [`ModelUri::locate`] (`locate.rs`).
//!
//! Every path inside a URI passes [`validate_relative_path`] while parsing,
//! so a `..` never reaches a store, and a parse error names the text the user
//! wrote and what is wrong with it, never where a store keeps its files.

use std::fmt;
use std::path::PathBuf;

use super::{uri_scheme, validate_relative_path};
use crate::error::{Error, Result};

/// MLflow's model stages, in the spelling its registry stores. Deprecated
/// upstream in favour of aliases, but its client still resolves
/// `models:/NAME/Production`, so Smelt does too.
pub const STAGES: [&str; 4] = ["None", "Staging", "Production", "Archived"];

/// A parsed model or artifact URI. [`fmt::Display`] writes it back in its
/// canonical form (what error messages and logs show).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ModelUri {
    /// `models:/NAME@ALIAS`: the version an alias points at now.
    Alias {
        /// Registered model name.
        name: String,
        /// The alias.
        alias: String,
    },
    /// `models:/NAME/VERSION`: one fixed version.
    Version {
        /// Registered model name.
        name: String,
        /// The version number, digits only.
        version: String,
    },
    /// `models:/NAME/latest`: the newest version.
    Latest {
        /// Registered model name.
        name: String,
    },
    /// `models:/NAME/STAGE`: the newest version in one of [`STAGES`].
    Stage {
        /// Registered model name.
        name: String,
        /// The stage, spelled as in [`STAGES`].
        stage: String,
    },
    /// `models:/m-…`: a logged model by id.
    LoggedModel {
        /// The logged model's id (`m-…`).
        model_id: String,
    },
    /// `runs:/RUN_ID[/PATH]`: a file or folder among a run's artifacts.
    Run {
        /// The run's id.
        run_id: String,
        /// Validated path inside the run's artifacts; `""` is all of them.
        path: String,
    },
    /// `mlflow-artifacts:[//HOST:PORT]/PATH`: a path in the tracking
    /// server's artifact store (its proxy, or the destination behind it).
    ServerArtifact {
        /// `HOST:PORT` when the URI names a server.
        authority: Option<String>,
        /// Validated path inside the server's artifact store.
        path: String,
    },
    /// `s3://BUCKET/PATH` or `http(s)://…/mlflow-artifacts/artifacts/…`: a
    /// location an [`ArtifactStore`](super::ArtifactStore) opens directly.
    Location {
        /// The URI as written (trimmed).
        uri: String,
    },
    /// A local file or folder: a plain path or a `file:` URI.
    Folder(PathBuf),
}

impl ModelUri {
    /// Parses any of the forms in the module doc. Errors are
    /// `INVALID_PARAMETER_VALUE` and say what is wrong with which part.
    pub fn parse(text: &str) -> Result<ModelUri> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::invalid(
                "The model URI is empty: give models:/NAME@ALIAS, models:/NAME/VERSION, \
                 runs:/RUN_ID/PATH, an artifact URI or a folder",
            ));
        }
        let Some(scheme) = uri_scheme(text) else {
            return Ok(ModelUri::Folder(PathBuf::from(text)));
        };
        // The scheme is ASCII, so its length is a char boundary.
        let rest = &text[scheme.len() + 1..];
        match scheme.as_str() {
            "models" => parse_models(text, rest),
            "runs" => parse_runs(text, rest),
            "mlflow-artifacts" => parse_server_artifact(text, rest),
            "file" => parse_file(text, rest),
            "s3" | "s3a" => parse_location(text, rest, "s3://BUCKET/PATH"),
            "http" | "https" => parse_location(text, rest, "http(s)://HOST/…"),
            // A colon is a legal file-name character (`epoch:3.ckpt`): only
            // `scheme:/…` is taken for a URI Smelt cannot read.
            _ if !rest.starts_with('/') => Ok(ModelUri::Folder(PathBuf::from(text))),
            other => Err(invalid(
                text,
                &format!(
                    "'{other}:' is not a scheme Smelt reads; use models:/, runs:/, \
                     mlflow-artifacts:/, s3://, http(s)://, file:// or a local path"
                ),
            )),
        }
    }

    /// Whether the version this names can change over time (an alias moves,
    /// `latest` and stages follow new versions); serving re-resolves those.
    pub fn can_move(&self) -> bool {
        matches!(
            self,
            ModelUri::Alias { .. } | ModelUri::Latest { .. } | ModelUri::Stage { .. }
        )
    }

    /// The registered model's name, for the forms that name one.
    pub fn registered_model(&self) -> Option<&str> {
        match self {
            ModelUri::Alias { name, .. }
            | ModelUri::Version { name, .. }
            | ModelUri::Latest { name }
            | ModelUri::Stage { name, .. } => Some(name),
            _ => None,
        }
    }
}

impl fmt::Display for ModelUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelUri::Alias { name, alias } => write!(f, "models:/{name}@{alias}"),
            ModelUri::Version { name, version } => write!(f, "models:/{name}/{version}"),
            ModelUri::Latest { name } => write!(f, "models:/{name}/latest"),
            ModelUri::Stage { name, stage } => write!(f, "models:/{name}/{stage}"),
            ModelUri::LoggedModel { model_id } => write!(f, "models:/{model_id}"),
            ModelUri::Run { run_id, path } if path.is_empty() => write!(f, "runs:/{run_id}"),
            ModelUri::Run { run_id, path } => write!(f, "runs:/{run_id}/{path}"),
            ModelUri::ServerArtifact { authority, path } => match authority {
                Some(authority) => write!(f, "mlflow-artifacts://{authority}/{path}"),
                None => write!(f, "mlflow-artifacts:/{path}"),
            },
            ModelUri::Location { uri } => f.write_str(uri),
            ModelUri::Folder(path) => write!(f, "{}", path.display()),
        }
    }
}

impl std::str::FromStr for ModelUri {
    type Err = Error;

    fn from_str(text: &str) -> Result<ModelUri> {
        ModelUri::parse(text)
    }
}

/// `models:` + `NAME@ALIAS`, `NAME/VERSION`, `NAME/latest`, `NAME/STAGE` or `m-…`.
fn parse_models(text: &str, rest: &str) -> Result<ModelUri> {
    let reference = rest.trim_start_matches('/').trim_end_matches('/');
    if reference.is_empty() {
        return Err(invalid(text, "no model name after 'models:/'"));
    }
    if let Some((name, alias)) = reference.split_once('@') {
        let name = model_name(text, name)?;
        if alias.is_empty() {
            return Err(invalid(text, "the alias after '@' is empty"));
        }
        if alias.contains(['/', '@']) {
            return Err(invalid(
                text,
                &format!("the alias '{alias}' contains '/' or '@'"),
            ));
        }
        return Ok(ModelUri::Alias {
            name,
            alias: alias.to_string(),
        });
    }
    let Some((name, which)) = reference.split_once('/') else {
        if reference.starts_with("m-") {
            return Ok(ModelUri::LoggedModel {
                model_id: reference.to_string(),
            });
        }
        return Err(invalid(
            text,
            &format!(
                "'{reference}' names no version: add @ALIAS, /VERSION or /latest \
                 (models:/{reference}@champion, models:/{reference}/1)"
            ),
        ));
    };
    let name = model_name(text, name)?;
    if which.contains('/') {
        return Err(invalid(
            text,
            "too many '/': a model URI is models:/NAME/VERSION, with no path after it",
        ));
    }
    if which.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(ModelUri::Version {
            name,
            version: which.to_string(),
        });
    }
    if which.eq_ignore_ascii_case("latest") {
        return Ok(ModelUri::Latest { name });
    }
    if let Some(stage) = STAGES.iter().find(|s| s.eq_ignore_ascii_case(which)) {
        return Ok(ModelUri::Stage {
            name,
            stage: (*stage).to_string(),
        });
    }
    Err(invalid(
        text,
        &format!(
            "'{which}' is not a version number, 'latest' or a stage ({})",
            STAGES.join(", ")
        ),
    ))
}

fn model_name(text: &str, name: &str) -> Result<String> {
    if name.is_empty() {
        return Err(invalid(text, "the model name is empty"));
    }
    Ok(name.to_string())
}

/// `runs:` + `RUN_ID[/PATH]`.
fn parse_runs(text: &str, rest: &str) -> Result<ModelUri> {
    let rest = rest.trim_start_matches('/');
    let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
    if run_id.is_empty() {
        return Err(invalid(
            text,
            "no run id after 'runs:/' (runs:/RUN_ID/PATH)",
        ));
    }
    Ok(ModelUri::Run {
        run_id: run_id.to_string(),
        // `runs:/ID//model` doubles the separator; the path is still relative.
        path: inner_path(text, path.trim_start_matches('/'))?,
    })
}

/// `mlflow-artifacts:` + `/PATH` or `//HOST:PORT/PATH`.
fn parse_server_artifact(text: &str, rest: &str) -> Result<ModelUri> {
    let (authority, path) = match rest.strip_prefix("//") {
        Some(after) => {
            let (authority, path) = after.split_at(after.find('/').unwrap_or(after.len()));
            if authority.is_empty() {
                (None, path)
            } else {
                (Some(authority.to_string()), path)
            }
        }
        None => (None, rest),
    };
    Ok(ModelUri::ServerArtifact {
        authority,
        path: inner_path(text, path.trim_start_matches('/'))?,
    })
}

/// `file:///abs/path`, `file://localhost/abs/path` or `file:relative/path`.
fn parse_file(text: &str, rest: &str) -> Result<ModelUri> {
    if !rest.starts_with("//") {
        let decoded = percent_encoding::percent_decode_str(rest).decode_utf8_lossy();
        if decoded.is_empty() {
            return Err(invalid(text, "no path after 'file:'"));
        }
        return Ok(ModelUri::Folder(PathBuf::from(decoded.as_ref())));
    }
    let url = url::Url::parse(text).map_err(|error| invalid(text, &error.to_string()))?;
    url.to_file_path().map(ModelUri::Folder).map_err(|()| {
        invalid(
            text,
            "a file URI needs an absolute path and no host other than localhost",
        )
    })
}

/// `s3://BUCKET[/PATH]`, `http(s)://HOST/…`: kept as written, once it has a host.
fn parse_location(text: &str, rest: &str, form: &str) -> Result<ModelUri> {
    let host = rest
        .strip_prefix("//")
        .map(|after| after.split('/').next().unwrap_or_default())
        .unwrap_or_default();
    if host.is_empty() {
        return Err(invalid(
            text,
            &format!("it names no bucket or host ({form})"),
        ));
    }
    Ok(ModelUri::Location {
        uri: text.to_string(),
    })
}

/// A path inside a URI: validated and normalised, or an error naming the URI.
fn inner_path(text: &str, path: &str) -> Result<String> {
    validate_relative_path(path).map_err(|error| invalid(text, &error.message))
}

fn invalid(text: &str, reason: &str) -> Error {
    Error::invalid(format!("Invalid model or artifact URI '{text}': {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn parsed(text: &str) -> ModelUri {
        match ModelUri::parse(text) {
            Ok(uri) => uri,
            Err(error) => panic!("{text:?} should parse, got {error}"),
        }
    }

    /// The error for `text`, which must be refused as INVALID_PARAMETER_VALUE
    /// naming the text.
    fn refused(text: &str) -> String {
        match ModelUri::parse(text) {
            Ok(uri) => panic!("{text:?} should be refused, got {uri:?}"),
            Err(error) => {
                assert_eq!(error.code, ErrorCode::InvalidParameterValue, "{text:?}");
                assert!(
                    error.message.contains(text.trim()),
                    "{text:?}: {}",
                    error.message
                );
                error.message
            }
        }
    }

    fn alias(name: &str, alias: &str) -> ModelUri {
        ModelUri::Alias {
            name: name.into(),
            alias: alias.into(),
        }
    }

    fn version(name: &str, version: &str) -> ModelUri {
        ModelUri::Version {
            name: name.into(),
            version: version.into(),
        }
    }

    fn run(run_id: &str, path: &str) -> ModelUri {
        ModelUri::Run {
            run_id: run_id.into(),
            path: path.into(),
        }
    }

    #[test]
    fn registry_forms() {
        assert_eq!(parsed("models:/iris@champion"), alias("iris", "champion"));
        assert_eq!(
            parsed("  models:/iris@champion/ "),
            alias("iris", "champion")
        );
        assert_eq!(parsed("models:iris@champion"), alias("iris", "champion"));
        assert_eq!(parsed("models:/iris/3"), version("iris", "3"));
        assert_eq!(parsed("models:///iris/12/"), version("iris", "12"));
        assert_eq!(
            parsed("models:/iris/latest"),
            ModelUri::Latest {
                name: "iris".into()
            }
        );
        assert_eq!(
            parsed("models:/iris/LATEST"),
            ModelUri::Latest {
                name: "iris".into()
            }
        );
        assert_eq!(
            parsed("models:/iris/production"),
            ModelUri::Stage {
                name: "iris".into(),
                stage: "Production".into()
            }
        );
        assert_eq!(
            parsed("models:/m-0123abcd"),
            ModelUri::LoggedModel {
                model_id: "m-0123abcd".into()
            }
        );
        // A name may hold characters other than '/' and '@'.
        assert_eq!(
            parsed("models:/wine quality.v2/1"),
            version("wine quality.v2", "1")
        );
        assert_eq!(parsed("MODELS:/iris/1"), version("iris", "1"));
    }

    #[test]
    fn run_forms() {
        assert_eq!(parsed("runs:/abc/model"), run("abc", "model"));
        assert_eq!(
            parsed("runs:/abc/model/MLmodel"),
            run("abc", "model/MLmodel")
        );
        assert_eq!(parsed("runs:/abc"), run("abc", ""));
        assert_eq!(parsed("runs:/abc/"), run("abc", ""));
        assert_eq!(parsed("runs:/abc//model/./x/"), run("abc", "model/x"));
        assert_eq!(parsed("runs:/abc/my%20file.txt"), run("abc", "my file.txt"));
    }

    #[test]
    fn artifact_locations_and_folders() {
        assert_eq!(
            parsed("mlflow-artifacts:/1/abc/artifacts/model"),
            ModelUri::ServerArtifact {
                authority: None,
                path: "1/abc/artifacts/model".into()
            }
        );
        assert_eq!(
            parsed("mlflow-artifacts://host:5000/1/abc"),
            ModelUri::ServerArtifact {
                authority: Some("host:5000".into()),
                path: "1/abc".into()
            }
        );
        assert_eq!(
            parsed("mlflow-artifacts:/"),
            ModelUri::ServerArtifact {
                authority: None,
                path: String::new()
            }
        );
        assert_eq!(
            parsed("s3://bucket/prefix/model"),
            ModelUri::Location {
                uri: "s3://bucket/prefix/model".into()
            }
        );
        assert_eq!(
            parsed("https://host/api/2.0/mlflow-artifacts/artifacts/1/x"),
            ModelUri::Location {
                uri: "https://host/api/2.0/mlflow-artifacts/artifacts/1/x".into()
            }
        );
        assert_eq!(parsed("./model"), ModelUri::Folder("./model".into()));
        assert_eq!(parsed("/abs/model"), ModelUri::Folder("/abs/model".into()));
        assert_eq!(parsed("model"), ModelUri::Folder("model".into()));
        assert_eq!(parsed("epoch:3"), ModelUri::Folder("epoch:3".into()));
        assert_eq!(
            parsed("C:\\models\\x"),
            ModelUri::Folder("C:\\models\\x".into())
        );
        assert_eq!(
            parsed("file:///abs/my%20model"),
            ModelUri::Folder("/abs/my model".into())
        );
        assert_eq!(
            parsed("file:rel/model"),
            ModelUri::Folder("rel/model".into())
        );
    }

    #[test]
    fn display_is_canonical_and_parses_back() {
        for (text, shown) in [
            ("models:/iris@champion", "models:/iris@champion"),
            ("models:iris/3/", "models:/iris/3"),
            ("models:/iris/Latest", "models:/iris/latest"),
            ("models:/iris/staging", "models:/iris/Staging"),
            ("models:/m-1", "models:/m-1"),
            ("runs:/abc//model/", "runs:/abc/model"),
            ("runs:/abc", "runs:/abc"),
            ("mlflow-artifacts:/1/x/", "mlflow-artifacts:/1/x"),
            ("mlflow-artifacts://h:1/1/x", "mlflow-artifacts://h:1/1/x"),
            ("s3://b/p", "s3://b/p"),
            ("./m", "./m"),
        ] {
            let uri = parsed(text);
            assert_eq!(uri.to_string(), shown, "{text}");
            assert_eq!(parsed(shown), uri, "{text}");
        }
    }

    #[test]
    fn what_can_move() {
        assert!(parsed("models:/iris@champion").can_move());
        assert!(parsed("models:/iris/latest").can_move());
        assert!(parsed("models:/iris/Production").can_move());
        assert!(!parsed("models:/iris/1").can_move());
        assert!(!parsed("models:/m-1").can_move());
        assert!(!parsed("runs:/abc/model").can_move());
        assert!(!parsed("./m").can_move());
        assert_eq!(parsed("models:/iris/1").registered_model(), Some("iris"));
        assert_eq!(parsed("runs:/abc").registered_model(), None);
    }

    #[test]
    fn bad_model_forms_say_what_is_wrong() {
        assert!(refused("models:/").contains("no model name"));
        assert!(refused("models:").contains("no model name"));
        let no_version = refused("models:/iris");
        assert!(no_version.contains("names no version"), "{no_version}");
        assert!(no_version.contains("models:/iris@champion"), "{no_version}");
        assert!(refused("models:/@champion").contains("model name is empty"));
        assert!(refused("models:/iris@").contains("alias after '@' is empty"));
        assert!(refused("models:/iris@a/b").contains("contains '/' or '@'"));
        assert!(refused("models:/iris@a@b").contains("contains '/' or '@'"));
        assert!(refused("models:/iris//1").contains("too many '/'"));
        assert!(refused("models:/iris/1/MLmodel").contains("too many '/'"));
        assert!(refused("models:/a/b/c").contains("too many '/'"));
        assert!(refused("models:/iris/x").contains("'x' is not a version number"));
        assert!(refused("models:/iris/-1").contains("'-1' is not a version number"));
        assert!(refused("models:/iris/1.0").contains("'1.0' is not a version number"));
        assert!(refused("models:/iris/x").contains("Production"));
    }

    #[test]
    fn bad_run_forms_say_what_is_wrong() {
        assert!(refused("runs:/").contains("no run id"));
        assert!(refused("runs:").contains("no run id"));
        assert!(refused("runs:/abc/../other/model").contains("'..' segment"));
        assert!(refused("runs:/abc/a/%2e%2e/%2e%2e/x").contains("'..' segment"));
        assert!(refused("runs:/abc/a\\b").contains("backslash"));
        assert!(refused("runs:/abc/a#1").contains("'#'"));
        assert!(refused("runs:/abc/s3://bucket/x").contains("URL"));
    }

    #[test]
    fn bad_locations_say_what_is_wrong() {
        assert!(refused("mlflow-artifacts:/../etc").contains("'..' segment"));
        assert!(refused("mlflow-artifacts://h:1/a/../../x").contains("'..' segment"));
        assert!(refused("s3:/x").contains("no bucket or host"));
        assert!(refused("s3://").contains("no bucket or host"));
        assert!(refused("https:///x").contains("no bucket or host"));
        let unknown = refused("gs://bucket/model");
        assert!(unknown.contains("'gs:'"), "{unknown}");
        assert!(unknown.contains("s3://"), "{unknown}");
        assert!(refused("file:").contains("no path after 'file:'"));
        assert!(refused("file://remote-host/x").contains("absolute path"));
        let empty = ModelUri::parse("   ").unwrap_err();
        assert_eq!(empty.code, ErrorCode::InvalidParameterValue);
        assert!(empty.message.contains("empty"), "{}", empty.message);
    }
}
