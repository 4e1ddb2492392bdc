//! [`ProxyArtifactStore`]: a client of MLflow's artifact proxy
//! (`{tracking}/api/2.0/mlflow-artifacts/artifacts/<path>`), and
//! [`resolve_artifact_uri`], which turns a run's artifact URI, including
//! `mlflow-artifacts:/…`, into a store.
//!
//! The wire format (reference §1.6): a file is `PUT` as raw bytes, `GET`
//! streams it back and `DELETE` removes it; a folder is listed with
//! `GET …/artifacts?path=<dir>`, which answers
//! `{"files":[{"path","is_dir","file_size"}]}` with basenames, or `{}`.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use super::{
    ArtifactObject, ArtifactStore, ByteStream, ModelUri, open_artifact_store,
    validate_relative_path,
};
use crate::entities::FileInfo;
use crate::error::{Error, ErrorCode, Result};
use crate::store::rest::Credentials;

/// Where MLflow serves the artifact proxy, below the tracking URL.
pub const ARTIFACTS_API_PATH: &str = "/api/2.0/mlflow-artifacts/artifacts";

/// The part of [`ARTIFACTS_API_PATH`] MLflow's client splits an `http(s)`
/// artifact URI on (`http_artifact_repo.py`); what comes before it is the
/// base, what comes after is the root.
const ARTIFACTS_ENDPOINT_MARKER: &str = "/mlflow-artifacts/artifacts";

/// Characters left as they are in a path segment: RFC 3986's unreserved
/// ones, as Python's `quote` leaves them.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// How much of a non-JSON error body is quoted in an error message.
const ERROR_BODY_QUOTE: usize = 300;

/// An [`ArtifactStore`] that keeps artifacts on a remote MLflow (or Smelt)
/// tracking server through its `mlflow-artifacts` proxy.
#[derive(Debug, Clone)]
pub struct ProxyArtifactStore {
    client: reqwest::Client,
    /// `{base}/api/2.0/mlflow-artifacts/artifacts`, without a trailing slash.
    endpoint: String,
    /// The folder under the proxy this store is rooted at (validated; `""` is the proxy root).
    root: String,
    root_uri: String,
}

impl ProxyArtifactStore {
    /// A store rooted at `root` (e.g. `1/<run_id>/artifacts`) under the proxy
    /// of the tracking server at `tracking_base_url` (`http(s)://host:port`,
    /// possibly with a path prefix). `client` carries any authentication
    /// headers the server needs.
    pub fn new(tracking_base_url: &str, client: reqwest::Client, root: &str) -> Result<Self> {
        let base = http_base(tracking_base_url)?;
        Self::with_endpoint(format!("{base}{ARTIFACTS_API_PATH}"), client, root)
    }

    /// A store for an `http(s)://…/mlflow-artifacts/artifacts/<root>` artifact URI.
    pub fn from_http_uri(uri: &str, client: reqwest::Client) -> Result<Self> {
        let parsed = url::Url::parse(uri)
            .map_err(|error| Error::invalid(format!("Invalid artifact URI '{uri}': {error}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::invalid(format!(
                "'{uri}' is not an http(s) artifact URI"
            )));
        }
        let mut without_query = parsed.clone();
        without_query.set_query(None);
        without_query.set_fragment(None);
        let text = without_query.as_str();
        let Some(at) = text.find(ARTIFACTS_ENDPOINT_MARKER) else {
            return Err(Error::invalid(format!(
                "The artifact URI '{uri}' is not an MLflow artifact proxy location \
                 (http(s)://host{ARTIFACTS_API_PATH}/…)"
            )));
        };
        let split = at + ARTIFACTS_ENDPOINT_MARKER.len();
        let (endpoint, rest) = text.split_at(split);
        if !(rest.is_empty() || rest.starts_with('/')) {
            return Err(Error::invalid(format!(
                "The artifact URI '{uri}' is not an MLflow artifact proxy location \
                 (http(s)://host{ARTIFACTS_API_PATH}/…)"
            )));
        }
        Self::with_endpoint(endpoint.to_owned(), client, rest.trim_start_matches('/'))
    }

    fn with_endpoint(endpoint: String, client: reqwest::Client, root: &str) -> Result<Self> {
        let root = validate_relative_path(root)?;
        let root_uri = if root.is_empty() {
            endpoint.clone()
        } else {
            format!("{endpoint}/{}", encode_path(&root))
        };
        Ok(ProxyArtifactStore {
            client,
            endpoint,
            root,
            root_uri,
        })
    }

    /// The path under the proxy for artifact `path` of this store.
    fn proxy_path(&self, path: &str) -> Result<String> {
        let relative = validate_relative_path(path)?;
        Ok(match (self.root.as_str(), relative.as_str()) {
            ("", relative) => relative.to_owned(),
            (root, "") => root.to_owned(),
            (root, relative) => format!("{root}/{relative}"),
        })
    }

    /// The URL of one file: `{endpoint}/<each segment percent-encoded>`.
    fn file_url(&self, path: &str) -> Result<String> {
        let full = self.proxy_path(path)?;
        if full.is_empty() {
            return Ok(self.endpoint.clone());
        }
        Ok(format!("{}/{}", self.endpoint, encode_path(&full)))
    }

    /// The URL that lists folder `path`: `{endpoint}?path=<folder>`.
    fn list_url(&self, path: &str) -> Result<url::Url> {
        let folder = self.proxy_path(path)?;
        let mut url = url::Url::parse(&self.endpoint).map_err(|error| {
            Error::internal(format!(
                "Invalid artifact proxy URL '{}': {error}",
                self.endpoint
            ))
        })?;
        url.query_pairs_mut().append_pair("path", &folder);
        Ok(url)
    }

    /// Sends a request and turns transport failures and non-2xx answers into errors.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<reqwest::Response> {
        let response = request.send().await.map_err(|error| {
            Error::new(
                ErrorCode::TemporarilyUnavailable,
                format!("Cannot reach the artifact proxy ({what}): {error}"),
            )
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        // An error body is small; a failure to read it only loses detail.
        let body = response.bytes().await.unwrap_or_default();
        let refused = Credentials::from_env().refusal(status.as_u16(), &refusal_detail(&body));
        Err(refused.unwrap_or_else(|| error_from_response(status.as_u16(), &body, what)))
    }
}

/// Checks a tracking URL is http(s) and returns it without a trailing slash,
/// query or fragment.
fn http_base(tracking_base_url: &str) -> Result<String> {
    let mut url = url::Url::parse(tracking_base_url.trim()).map_err(|error| {
        Error::invalid(format!(
            "Invalid tracking URL '{tracking_base_url}': {error}"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::invalid(format!(
            "The artifact proxy needs an http(s) tracking URL, got '{tracking_base_url}'"
        )));
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Percent-encodes each segment of a validated relative path.
fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|segment| utf8_percent_encode(segment, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// MLflow's error body.
#[derive(Deserialize)]
struct ErrorBody {
    error_code: Option<String>,
    message: Option<String>,
}

/// Builds the error for a non-2xx answer: MLflow's JSON error body when there
/// is one, else one derived from the HTTP status (404 is "does not exist").
/// The server's words in a 401 or 403: its JSON `message`, else the text.
fn refusal_detail(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody {
            message: Some(message),
            ..
        }) => message,
        _ => String::from_utf8_lossy(body)
            .trim()
            .chars()
            .take(ERROR_BODY_QUOTE)
            .collect(),
    }
}

fn error_from_response(status: u16, body: &[u8], what: &str) -> Error {
    let status_code = match status {
        401 => ErrorCode::Unauthenticated,
        403 => ErrorCode::PermissionDenied,
        404 => ErrorCode::ResourceDoesNotExist,
        413 => ErrorCode::RequestLimitExceeded,
        503 => ErrorCode::TemporarilyUnavailable,
        400..=499 => ErrorCode::BadRequest,
        _ => ErrorCode::InternalError,
    };
    if let Ok(ErrorBody {
        error_code: Some(name),
        message,
    }) = serde_json::from_slice::<ErrorBody>(body)
    {
        let code = serde_json::from_value::<ErrorCode>(serde_json::Value::String(name.clone()))
            .unwrap_or(ErrorCode::Unknown);
        let message = message.unwrap_or_default();
        return match code {
            // A code this build does not know keeps its name in the message
            // and takes its meaning from the status.
            ErrorCode::Unknown => Error::new(status_code, format!("{name}: {message}")),
            code => Error::new(code, message),
        };
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let quoted: String = text.chars().take(ERROR_BODY_QUOTE).collect();
    let ellipsis = if text.chars().count() > ERROR_BODY_QUOTE {
        "…"
    } else {
        ""
    };
    let detail = if quoted.is_empty() {
        String::new()
    } else {
        format!(": {quoted}{ellipsis}")
    };
    Error::new(
        status_code,
        format!("The artifact proxy answered HTTP {status} to {what}{detail}"),
    )
}

/// The listing answer; an absent `files` is an empty folder (or a file).
#[derive(Deserialize)]
struct ListBody {
    #[serde(default)]
    files: Vec<FileInfo>,
}

/// Parses a listing answer into basenames, sorted.
fn parse_listing(body: &[u8]) -> Result<Vec<FileInfo>> {
    // A 200 with an empty body means `{}` to MLflow's client.
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let listing: ListBody = serde_json::from_slice(body).map_err(|error| {
        Error::internal(format!(
            "The artifact proxy sent a listing that is not valid: {error}"
        ))
    })?;
    let mut files: Vec<FileInfo> = listing
        .files
        .into_iter()
        .map(|mut file| {
            // MLflow sends basenames; older servers sent paths from the root.
            if let Some((_, name)) = file.path.trim_end_matches('/').rsplit_once('/') {
                file.path = name.to_owned();
            }
            file
        })
        .filter(|file| !file.path.is_empty())
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path).then(b.is_dir.cmp(&a.is_dir)));
    Ok(files)
}

/// The HTTP client stores build when the caller gives none: it logs in to
/// the proxy as `RestStore` logs in to the tracking server (MLflow's client
/// sends the tracking credentials to the artifact proxy too).
pub(crate) fn default_client() -> Result<reqwest::Client> {
    crate::store::rest::client::configure(reqwest::Client::builder())?
        .build()
        .map_err(|error| Error::internal(format!("Cannot build an HTTP client: {error}")))
}

#[async_trait]
impl ArtifactStore for ProxyArtifactStore {
    fn root_uri(&self) -> &str {
        &self.root_uri
    }

    async fn put(&self, path: &str, body: ByteStream) -> Result<()> {
        let url = self.file_url(path)?;
        let request = self
            .client
            .put(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(reqwest::Body::wrap_stream(body));
        self.send(request, &format!("PUT {url}")).await?;
        Ok(())
    }

    async fn put_bytes(&self, path: &str, bytes: Bytes) -> Result<()> {
        // A whole body goes with its Content-Length, as MLflow's client sends it.
        let url = self.file_url(path)?;
        let request = self
            .client
            .put(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes);
        self.send(request, &format!("PUT {url}")).await?;
        Ok(())
    }

    async fn get(&self, path: &str) -> Result<ArtifactObject> {
        let url = self.file_url(path)?;
        let response = self
            .send(self.client.get(&url), &format!("GET {url}"))
            .await?;
        let size = response.content_length().unwrap_or(0);
        let stream = response
            .bytes_stream()
            .map_err(std::io::Error::other)
            .boxed();
        Ok(ArtifactObject { size, stream })
    }

    async fn list(&self, path: &str) -> Result<Vec<FileInfo>> {
        let url = self.list_url(path)?;
        let what = format!("GET {url}");
        let response = self.send(self.client.get(url), &what).await?;
        let body = response.bytes().await.map_err(|error| {
            Error::new(
                ErrorCode::TemporarilyUnavailable,
                format!("Cannot read the artifact proxy's answer to {what}: {error}"),
            )
        })?;
        parse_listing(&body)
    }

    async fn delete(&self, path: &str) -> Result<()> {
        let url = self.file_url(path)?;
        self.send(self.client.delete(&url), &format!("DELETE {url}"))
            .await?;
        Ok(())
    }
}

/// Opens the store for a run's artifact URI. `mlflow-artifacts:/<path>`
/// (optionally `mlflow-artifacts://host:port/<path>`) resolves against the
/// http(s) tracking server at `tracking_base_url`, as MLflow's client does;
/// any other URI goes to [`open_artifact_store`].
pub fn resolve_artifact_uri(
    uri: &str,
    tracking_base_url: Option<&str>,
) -> Result<Arc<dyn ArtifactStore>> {
    if is_mlflow_artifacts_uri(uri) {
        return resolve_artifact_uri_with_client(uri, tracking_base_url, default_client()?);
    }
    open_artifact_store(uri)
}

/// [`resolve_artifact_uri`] with the HTTP client (and its authentication
/// headers) to use for a proxy.
pub fn resolve_artifact_uri_with_client(
    uri: &str,
    tracking_base_url: Option<&str>,
    client: reqwest::Client,
) -> Result<Arc<dyn ArtifactStore>> {
    let uri = uri.trim();
    if !is_mlflow_artifacts_uri(uri) {
        if has_http_scheme(uri) {
            return Ok(Arc::new(ProxyArtifactStore::from_http_uri(uri, client)?));
        }
        return open_artifact_store(uri);
    }
    let Some(tracking) = tracking_base_url else {
        return Err(Error::invalid(format!(
            "The artifact location '{uri}' is an mlflow-artifacts: URI, which needs an \
             http(s) tracking URI to resolve against; set the tracking URI to the MLflow server"
        )));
    };
    let mut base = url::Url::parse(&http_base(tracking).map_err(|error| {
        Error::invalid(format!(
            "The artifact location '{uri}' is an mlflow-artifacts: URI, which needs an \
             http(s) tracking URI: {}",
            error.message
        ))
    })?)
    .map_err(|error| Error::invalid(format!("Invalid tracking URL '{tracking}': {error}")))?;
    // Split by `ModelUri` rather than a URL parser, which would quietly
    // resolve `..` segments that validation must see and refuse.
    let ModelUri::ServerArtifact { authority, path } = ModelUri::parse(uri)? else {
        return Err(Error::invalid(format!(
            "'{uri}' is not an mlflow-artifacts: URI"
        )));
    };
    // `mlflow-artifacts://host:port/…` names the server; the scheme and any
    // path prefix still come from the tracking URL (mlflow_artifacts_repo.py).
    if let Some(authority) = authority {
        let named = url::Url::parse(&format!("http://{authority}"))
            .ok()
            .filter(|named| named.path() == "/" && named.username().is_empty())
            .ok_or_else(|| Error::invalid(format!("Invalid server '{authority}' in '{uri}'")))?;
        base.set_host(named.host_str())
            .map_err(|error| Error::invalid(format!("Invalid host in '{uri}': {error}")))?;
        base.set_port(named.port())
            .map_err(|()| Error::invalid(format!("Invalid port in '{uri}'")))?;
    }
    let mut root = path.as_str();
    // `mlflow-artifacts:/api/2.0/mlflow-artifacts/artifacts/x` is `x`.
    if let Some(rest) = root.strip_prefix(ARTIFACTS_API_PATH.trim_start_matches('/'))
        && (rest.is_empty() || rest.starts_with('/'))
    {
        root = rest.trim_start_matches('/');
    }
    let base = base.as_str().trim_end_matches('/').to_owned();
    Ok(Arc::new(ProxyArtifactStore::new(&base, client, root)?))
}

fn is_mlflow_artifacts_uri(uri: &str) -> bool {
    uri.trim()
        .get(..17)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("mlflow-artifacts:"))
}

fn has_http_scheme(uri: &str) -> bool {
    let lower = uri.get(..8).unwrap_or(uri).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(base: &str, root: &str) -> ProxyArtifactStore {
        ProxyArtifactStore::new(base, reqwest::Client::new(), root).unwrap()
    }

    #[test]
    fn builds_urls() {
        let s = store("http://127.0.0.1:5000/", "1/abc/artifacts");
        assert_eq!(
            s.root_uri(),
            "http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts"
        );
        assert_eq!(
            s.file_url("model/MLmodel").unwrap(),
            "http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model/MLmodel"
        );
        assert_eq!(
            s.file_url("my file#?%.txt").unwrap_err().code,
            ErrorCode::InvalidParameterValue,
            "'#' is refused like MLflow does"
        );
        assert_eq!(
            s.file_url("a b/ü?&=+.txt").unwrap(),
            "http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/a%20b/%C3%BC%3F%26%3D%2B.txt"
        );
        assert_eq!(
            s.list_url("").unwrap().as_str(),
            "http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts?path=1%2Fabc%2Fartifacts"
        );
        assert_eq!(
            s.list_url("model dir").unwrap().as_str(),
            "http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts?path=1%2Fabc%2Fartifacts%2Fmodel+dir"
        );
        for attack in ["../x", "%2e%2e/x", "/etc/passwd"] {
            assert!(s.file_url(attack).is_err(), "{attack}");
            assert!(s.list_url(attack).is_err(), "{attack}");
        }

        // A tracking URL with a path prefix keeps it; the proxy root is "".
        let s = store("https://example.com/mlflow", "");
        assert_eq!(
            s.root_uri(),
            "https://example.com/mlflow/api/2.0/mlflow-artifacts/artifacts"
        );
        assert_eq!(
            s.file_url("").unwrap(),
            "https://example.com/mlflow/api/2.0/mlflow-artifacts/artifacts"
        );
        assert_eq!(
            s.list_url("").unwrap().as_str(),
            "https://example.com/mlflow/api/2.0/mlflow-artifacts/artifacts?path="
        );

        assert!(ProxyArtifactStore::new("file:///x", reqwest::Client::new(), "").is_err());
        assert!(ProxyArtifactStore::new("http://h", reqwest::Client::new(), "../x").is_err());
    }

    #[test]
    fn parses_http_artifact_uris() {
        let s = ProxyArtifactStore::from_http_uri(
            "http://h:5000/api/2.0/mlflow-artifacts/artifacts/2/r/artifacts",
            reqwest::Client::new(),
        )
        .unwrap();
        assert_eq!(
            s.endpoint,
            "http://h:5000/api/2.0/mlflow-artifacts/artifacts"
        );
        assert_eq!(s.root, "2/r/artifacts");
        let s = ProxyArtifactStore::from_http_uri(
            "http://h:5000/api/2.0/mlflow-artifacts/artifacts",
            reqwest::Client::new(),
        )
        .unwrap();
        assert_eq!(s.root, "");
        assert!(
            ProxyArtifactStore::from_http_uri("http://h/files/x", reqwest::Client::new()).is_err()
        );
        assert!(
            ProxyArtifactStore::from_http_uri(
                "http://h/api/2.0/mlflow-artifacts/artifactsX/y",
                reqwest::Client::new()
            )
            .is_err()
        );
        let opened =
            open_artifact_store("http://h:5000/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts")
                .unwrap();
        assert_eq!(
            opened.root_uri(),
            "http://h:5000/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts"
        );
    }

    #[test]
    fn resolves_mlflow_artifacts_uris() {
        let resolved = resolve_artifact_uri(
            "mlflow-artifacts:/1/abc/artifacts",
            Some("http://127.0.0.1:5000"),
        )
        .unwrap();
        assert_eq!(
            resolved.root_uri(),
            "http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts"
        );
        let resolved = resolve_artifact_uri(
            "mlflow-artifacts://other:6000/1/abc/artifacts",
            Some("https://tracking.example.com/prefix/"),
        )
        .unwrap();
        assert_eq!(
            resolved.root_uri(),
            "https://other:6000/prefix/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts"
        );
        let resolved = resolve_artifact_uri(
            "mlflow-artifacts:/api/2.0/mlflow-artifacts/artifacts/1/x",
            Some("http://h"),
        )
        .unwrap();
        assert_eq!(
            resolved.root_uri(),
            "http://h/api/2.0/mlflow-artifacts/artifacts/1/x"
        );

        let error = resolve_artifact_uri("mlflow-artifacts:/1/abc", None).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidParameterValue);
        assert!(error.message.contains("tracking URI"), "{}", error.message);
        let error = resolve_artifact_uri("mlflow-artifacts:/1/abc", Some("sqlite:///mlflow.db"))
            .unwrap_err();
        assert!(error.message.contains("http(s)"), "{}", error.message);
        assert!(resolve_artifact_uri("mlflow-artifacts:/1/../../x", Some("http://h")).is_err());

        // Other schemes fall through to open_artifact_store.
        let dir = tempfile::tempdir().unwrap();
        let local = resolve_artifact_uri(dir.path().to_str().unwrap(), Some("http://h")).unwrap();
        assert!(local.root_uri().starts_with("file:///"));
        assert!(resolve_artifact_uri("gs://b/x", None).is_err());
    }

    #[test]
    fn parses_error_bodies() {
        let error = error_from_response(
            404,
            br#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"File not found: x"}"#,
            "GET u",
        );
        assert_eq!(error.code, ErrorCode::ResourceDoesNotExist);
        assert_eq!(error.message, "File not found: x");

        let error = error_from_response(
            400,
            br#"{"error_code":"INVALID_PARAMETER_VALUE","message":"Invalid path","sqlstate":"x"}"#,
            "PUT u",
        );
        assert_eq!(error.code, ErrorCode::InvalidParameterValue);
        assert_eq!(error.message, "Invalid path");

        // A code this build does not know keeps its name; the status decides.
        let error = error_from_response(
            403,
            br#"{"error_code":"SOMETHING_NEWER","message":"no"}"#,
            "GET u",
        );
        assert_eq!(error.code, ErrorCode::PermissionDenied);
        assert_eq!(error.message, "SOMETHING_NEWER: no");

        // Bare or HTML answers: the status decides, and 404 means "does not exist".
        let error = error_from_response(404, b"", "GET http://h/x");
        assert_eq!(error.code, ErrorCode::ResourceDoesNotExist);
        assert_eq!(
            error.message,
            "The artifact proxy answered HTTP 404 to GET http://h/x"
        );
        let error = error_from_response(500, b"<html>boom</html>", "GET u");
        assert_eq!(error.code, ErrorCode::InternalError);
        assert!(
            error.message.ends_with(": <html>boom</html>"),
            "{}",
            error.message
        );
        assert_eq!(
            error_from_response(503, b"", "GET u").code,
            ErrorCode::TemporarilyUnavailable
        );
        assert_eq!(
            error_from_response(413, b"{}", "PUT u").code,
            ErrorCode::RequestLimitExceeded
        );
        let long = "x".repeat(1000);
        let error = error_from_response(502, long.as_bytes(), "GET u");
        assert!(error.message.len() < 400, "{}", error.message.len());
    }

    #[test]
    fn parses_listings() {
        assert!(parse_listing(b"").unwrap().is_empty());
        assert!(parse_listing(b"{}").unwrap().is_empty());
        assert!(parse_listing(br#"{"files":[]}"#).unwrap().is_empty());
        let files = parse_listing(
            br#"{"files":[
                {"path":"model","is_dir":true},
                {"path":"MLmodel","is_dir":false,"file_size":230},
                {"path":"1/r/artifacts/big.bin","is_dir":false,"file_size":"9007199254740993"},
                {"path":"conda.yaml","file_size":12}
            ]}"#,
        )
        .unwrap();
        let got: Vec<(&str, bool, Option<i64>)> = files
            .iter()
            .map(|f| (f.path.as_str(), f.is_dir, f.file_size))
            .collect();
        assert_eq!(
            got,
            vec![
                ("MLmodel", false, Some(230)),
                ("big.bin", false, Some(9_007_199_254_740_993)),
                ("conda.yaml", false, Some(12)),
                ("model", true, None),
            ]
        );
        let error = parse_listing(b"<html>").unwrap_err();
        assert_eq!(error.code, ErrorCode::InternalError);
    }
}
