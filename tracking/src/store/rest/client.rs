//! How Smelt reaches a tracking server over HTTP, configured from the same
//! environment variables MLflow's Python client reads
//! (`mlflow/utils/rest_utils.py`), so one `export` serves both:
//!
//! | variable | effect |
//! |---|---|
//! | `MLFLOW_TRACKING_USERNAME` + `MLFLOW_TRACKING_PASSWORD` | HTTP Basic |
//! | `MLFLOW_TRACKING_TOKEN` (when not both of the above) | `Authorization: Bearer` |
//! | `MLFLOW_WORKSPACE` | the `X-MLFLOW-WORKSPACE` header |
//! | `MLFLOW_TRACKING_SERVER_CERT_PATH` | also trust this PEM CA bundle |
//! | `MLFLOW_TRACKING_INSECURE_TLS` | `true`: skip certificate checks |
//! | `MLFLOW_TRACKING_CLIENT_CERT_PATH` | a PEM file with a client certificate and its key |
//!
//! Every HTTP client Smelt points at a tracking server is built through
//! [`configure`] — [`super::RestStore`], the artifact proxy client and the
//! `smelt` CLI's calls to Smelt's own API — and turns a refusal into an
//! error through [`Credentials::refusal`], so they log in and explain a 401
//! or 403 the same way.

use reqwest::header::{self, HeaderMap, HeaderValue};

use crate::error::{Error, ErrorCode, Result};

/// What a client says when a server wants a login it did not get.
pub const LOGIN_NEEDED: &str = "the server requires a login: set MLFLOW_TRACKING_USERNAME and \
     MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN)";

/// The login MLflow's client would send.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// No variables set: requests go without `Authorization`.
    Anonymous,
    /// `MLFLOW_TRACKING_USERNAME` and `MLFLOW_TRACKING_PASSWORD`.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// `MLFLOW_TRACKING_TOKEN`.
    Token(String),
}

// Written out so a password or token never reaches a log line.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username}:***)"),
            Credentials::Token(_) => f.write_str("Token(***)"),
        }
    }
}

/// A non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

impl Credentials {
    /// Reads MLflow's variables from this process's environment.
    pub fn from_env() -> Credentials {
        Credentials::from_vars(env)
    }

    /// The login `var` (a variable lookup) describes, by MLflow's rule:
    /// Basic when both a user name and a password are set, else Bearer when
    /// a token is, else none.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Credentials {
        match (
            var("MLFLOW_TRACKING_USERNAME"),
            var("MLFLOW_TRACKING_PASSWORD"),
            var("MLFLOW_TRACKING_TOKEN"),
        ) {
            (Some(username), Some(password), _) => Credentials::Basic { username, password },
            (_, _, Some(token)) => Credentials::Token(token),
            _ => Credentials::Anonymous,
        }
    }

    /// The `Authorization` header to send, marked sensitive so it stays out
    /// of `Debug` output; `None` without credentials.
    pub fn header(&self) -> Result<Option<HeaderValue>> {
        use base64::Engine;
        let text = match self {
            Credentials::Anonymous => return Ok(None),
            Credentials::Basic { username, password } => {
                let encoded = base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{password}"));
                format!("Basic {encoded}")
            }
            Credentials::Token(token) => format!("Bearer {token}"),
        };
        let mut value = HeaderValue::from_str(&text).map_err(|_| {
            Error::invalid(
                "the MLflow tracking credentials hold characters an HTTP header cannot carry",
            )
        })?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    /// The error for a server's 401 or 403 (`None` for other statuses),
    /// saying which variables to set or which ones the server refused.
    /// `server_message` is the server's own words (its JSON `message`, or
    /// the body's text), quoted when it says something.
    pub fn refusal(&self, status: u16, server_message: &str) -> Option<Error> {
        let server_message = server_message.trim();
        let detail = if server_message.is_empty() {
            format!("HTTP {status}")
        } else {
            server_message.to_string()
        };
        match status {
            401 => Some(Error::new(
                ErrorCode::Unauthenticated,
                match self {
                    Credentials::Anonymous => LOGIN_NEEDED.to_string(),
                    Credentials::Basic { username, .. } => format!(
                        "the server did not accept the login of '{username}' \
                         (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD): {detail}"
                    ),
                    Credentials::Token(_) => format!(
                        "the server did not accept MLFLOW_TRACKING_TOKEN (revoked, expired or \
                         mistyped?): {detail}"
                    ),
                },
            )),
            403 => Some(Error::new(
                ErrorCode::PermissionDenied,
                format!("permission denied: {detail}"),
            )),
            _ => None,
        }
    }
}

/// Reads a boolean variable as MLflow does (`true`/`1` or `false`/`0`, any
/// case); anything else is an error naming the variable.
fn env_flag(name: &str) -> Result<bool> {
    match env(name).map(|value| value.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(value) if value == "true" || value == "1" => Ok(true),
        Some(value) if value == "false" || value == "0" => Ok(false),
        Some(value) => Err(Error::invalid(format!(
            "{name} must be true or false, not '{value}'"
        ))),
    }
}

/// Reads a PEM file named by a variable; the error names the variable (the
/// path is the caller's own, so it may be shown).
fn read_pem(name: &str, path: &str) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|error| Error::invalid(format!("{name}: cannot read '{path}': {error}")))
}

/// Adds to `builder` what the environment asks of a client of a tracking
/// server: the credentials and workspace as default headers, and the TLS
/// trust settings. No request is made.
pub fn configure(builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder> {
    let mut headers = HeaderMap::new();
    if let Some(auth) = Credentials::from_env().header()? {
        headers.insert(header::AUTHORIZATION, auth);
    }
    if let Some(workspace) = env("MLFLOW_WORKSPACE") {
        let value = HeaderValue::from_str(&workspace).map_err(|_| {
            Error::invalid("MLFLOW_WORKSPACE holds characters an HTTP header cannot carry")
        })?;
        headers.insert("x-mlflow-workspace", value);
    }
    let mut builder = builder.default_headers(headers);

    let insecure = env_flag("MLFLOW_TRACKING_INSECURE_TLS")?;
    let server_cert = env("MLFLOW_TRACKING_SERVER_CERT_PATH");
    if insecure && server_cert.is_some() {
        // MLflow refuses the same pair: one asks to check, the other not to.
        return Err(Error::invalid(
            "MLFLOW_TRACKING_INSECURE_TLS=true and MLFLOW_TRACKING_SERVER_CERT_PATH cannot both \
             be set: unset one",
        ));
    }
    if insecure {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    if let Some(path) = server_cert {
        let name = "MLFLOW_TRACKING_SERVER_CERT_PATH";
        let certs =
            reqwest::Certificate::from_pem_bundle(&read_pem(name, &path)?).map_err(|error| {
                Error::invalid(format!(
                    "{name}: '{path}' is not a PEM certificate bundle: {error}"
                ))
            })?;
        if certs.is_empty() {
            return Err(Error::invalid(format!(
                "{name}: '{path}' holds no PEM certificate"
            )));
        }
        builder = builder.tls_certs_merge(certs);
    }
    if let Some(path) = env("MLFLOW_TRACKING_CLIENT_CERT_PATH") {
        let name = "MLFLOW_TRACKING_CLIENT_CERT_PATH";
        let identity = reqwest::Identity::from_pem(&read_pem(name, &path)?).map_err(|error| {
            Error::invalid(format!(
                "{name}: '{path}' needs a PEM certificate and its private key: {error}"
            ))
        })?;
        builder = builder.identity(identity);
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn credentials_follow_mlflow_precedence() {
        let both = Credentials::from_vars(vars(&[
            ("MLFLOW_TRACKING_USERNAME", "user"),
            ("MLFLOW_TRACKING_PASSWORD", "pass"),
            ("MLFLOW_TRACKING_TOKEN", "token"),
        ]));
        let basic = both.header().unwrap().unwrap();
        assert_eq!(basic.to_str().unwrap(), "Basic dXNlcjpwYXNz");
        assert!(basic.is_sensitive());
        // A user name without a password falls through to the token.
        let token = Credentials::from_vars(vars(&[
            ("MLFLOW_TRACKING_USERNAME", "user"),
            ("MLFLOW_TRACKING_TOKEN", "token"),
        ]));
        assert_eq!(
            token.header().unwrap().unwrap().to_str().unwrap(),
            "Bearer token"
        );
        assert_eq!(Credentials::from_vars(vars(&[])), Credentials::Anonymous);
        assert!(
            Credentials::from_vars(vars(&[]))
                .header()
                .unwrap()
                .is_none()
        );
        assert!(Credentials::Token("bad\ntoken".into()).header().is_err());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let basic = Credentials::Basic {
            username: "alice".into(),
            password: "hunter2hunter2".into(),
        };
        assert_eq!(format!("{basic:?}"), "Basic(alice:***)");
        assert!(!format!("{:?}", Credentials::Token("s3cret".into())).contains("s3cret"));
    }

    #[test]
    fn refusals_say_what_to_set() {
        let anonymous = Credentials::Anonymous.refusal(401, "").unwrap();
        assert_eq!(anonymous.code, ErrorCode::Unauthenticated);
        assert_eq!(anonymous.message, LOGIN_NEEDED);
        let token = Credentials::Token("x".into())
            .refusal(401, "Invalid token")
            .unwrap();
        assert!(
            token.message.contains("MLFLOW_TRACKING_TOKEN"),
            "{}",
            token.message
        );
        assert!(token.message.ends_with("Invalid token"));
        let denied = Credentials::Anonymous
            .refusal(403, "Read-only tokens cannot write.")
            .unwrap();
        assert_eq!(denied.code, ErrorCode::PermissionDenied);
        assert_eq!(
            denied.message,
            "permission denied: Read-only tokens cannot write."
        );
        assert!(Credentials::Anonymous.refusal(404, "x").is_none());
    }
}
