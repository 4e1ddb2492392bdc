//! Runs the tracking server: opens the stores a configuration names and serves
//! the MLflow REST API on a socket, over HTTP or HTTPS (`server/tls.rs`),
//! until asked to stop.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::api::{self, AppState};
use crate::artifacts::open_artifact_store;
use crate::error::{Error, Result};
use crate::store::sql::SqlStore;

mod plain_http;
mod tls;

pub use tls::{TlsConfig, TlsError, TlsListener, TlsPart};

/// What `smelt server` needs to know; flags are named as `mlflow server` names them.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Interface to bind.
    pub host: String,
    /// Port to bind (0 picks a free one).
    pub port: u16,
    /// `sqlite:///path` or `postgresql://…`.
    pub backend_store_uri: String,
    /// Where artifacts are stored: a local folder, `file://…` or `s3://bucket/prefix`.
    pub artifacts_destination: String,
    /// The artifact root recorded for new experiments when artifacts are not
    /// proxied; `None` means `artifacts_destination`.
    pub default_artifact_root: Option<String>,
    /// Whether the server proxies artifact uploads and downloads (MLflow's
    /// `--serve-artifacts`, on by default): experiments then get
    /// `mlflow-artifacts:/<id>` locations.
    pub serve_artifacts: bool,
}

impl ServerConfig {
    /// The zero-configuration default: everything under `home` (`./.smelt`).
    pub fn local(home: &std::path::Path) -> ServerConfig {
        ServerConfig {
            host: "127.0.0.1".to_string(),
            port: 5000,
            backend_store_uri: format!("sqlite:///{}", home.join("smelt.db").display()),
            artifacts_destination: home.join("artifacts").display().to_string(),
            default_artifact_root: None,
            serve_artifacts: true,
        }
    }
}

/// A server bound to its socket, not yet serving.
pub struct BoundServer {
    listener: TcpListener,
    state: Arc<AppState>,
    tls: Option<TlsConfig>,
}

impl BoundServer {
    /// The address it listens on (useful with port 0).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener
            .local_addr()
            .map_err(|e| Error::internal(format!("no local address: {e}")))
    }

    /// Serves HTTPS with this certificate instead of plain HTTP.
    pub fn with_tls(mut self, tls: TlsConfig) -> BoundServer {
        self.tls = Some(tls);
        self
    }

    /// `https` when serving TLS, else `http`: for the URL a server prints.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// The opened stores, for components that share the server process
    /// (the job executor writes runs to the same store).
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        self.serve_with(axum::Router::new(), shutdown).await
    }

    /// [`serve`](Self::serve) with more routes beside MLflow's (they must
    /// not overlap them).
    pub async fn serve_with(
        self,
        extra: axum::Router,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let router = api::router(self.state.clone()).merge(extra);
        self.serve_app(router, shutdown).await
    }

    /// Serves a whole application the caller built (MLflow's routes from
    /// [`api::router`] plus its own, with whatever layers wrap them, such as
    /// authentication) until `shutdown` completes.
    pub async fn serve_app(
        self,
        app: axum::Router,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        serve_router(self.listener, app, self.tls.as_ref(), shutdown).await
    }
}

/// The one place Smelt's servers serve an application (`smelt server` and
/// `smelt serve` both come here): over plain HTTP, or over TLS when `tls` is
/// given, until `shutdown` completes, then finishing requests in flight.
/// Handlers can take `ConnectInfo<SocketAddr>` (the client's address) either way.
pub async fn serve_router(
    listener: TcpListener,
    app: axum::Router,
    tls: Option<&TlsConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let served = match tls {
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        Some(tls) => {
            let listener = TlsListener::new(listener, tls)
                .map_err(|e| Error::internal(format!("no local address: {e}")))?;
            // axum gives `ConnectInfo<SocketAddr>` for its own TCP listener and
            // for tapped listeners of any kind; an empty tap is how a custom
            // listener gets it.
            axum::serve(listener.tap_io(|_| {}), app)
                .with_graceful_shutdown(shutdown)
                .await
        }
    };
    served.map_err(|e| Error::internal(format!("server error: {e}")))
}

/// Opens the stores and binds the socket.
pub async fn bind(config: &ServerConfig) -> Result<BoundServer> {
    let artifact_root = if config.serve_artifacts {
        "mlflow-artifacts:".to_string()
    } else {
        let root = config
            .default_artifact_root
            .clone()
            .unwrap_or_else(|| config.artifacts_destination.clone());
        to_uri(&root)
    };
    let store = Arc::new(SqlStore::open(&config.backend_store_uri, &artifact_root).await?);
    let artifacts = open_artifact_store(&config.artifacts_destination)?;
    let state = Arc::new(
        AppState::new(store.clone(), artifacts, config.serve_artifacts).with_identity(store),
    );
    let address = format!("{}:{}", config.host, config.port);
    let listener = TcpListener::bind(&address).await.map_err(|e| {
        Error::invalid(format!(
            "cannot listen on {address}: {e} (is another server using the port?)"
        ))
    })?;
    Ok(BoundServer {
        listener,
        state,
        tls: None,
    })
}

/// Turns a local folder into an absolute `file://` URI; leaves URIs alone.
fn to_uri(location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let path = PathBuf::from(location);
    let absolute = if path.is_absolute() {
        path
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(&path))
            .unwrap_or(path)
    };
    format!("file://{}", absolute.display())
}
