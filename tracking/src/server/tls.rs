//! HTTPS for Smelt's servers: the certificate and key from PEM files, and a
//! listener that hands axum finished TLS connections.
//!
//! Handshakes run in a task per connection with a deadline, so a client that
//! stalls, fails the handshake or speaks plain HTTP never holds up the next
//! one; plain HTTP gets an answer pointing at `https://`
//! ([`super::plain_http`]).

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

use super::plain_http;

/// How long a new connection has to send its first byte and finish the TLS
/// handshake (or its plain-HTTP request head) before it is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The first byte of a TLS connection: a handshake record (RFC 8446 §5.1).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Connections whose handshake finished and that axum has not taken yet.
const READY_QUEUE: usize = 128;

/// A server certificate chain and its private key, ready to serve HTTPS.
#[derive(Clone)]
pub struct TlsConfig {
    server: Arc<rustls::ServerConfig>,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsConfig { .. }")
    }
}

/// Which of the two files a [`TlsError`] is about, so a front end can name
/// its own flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsPart {
    /// The certificate chain file.
    Certificate,
    /// The private key file.
    PrivateKey,
    /// Both: the key does not belong to the certificate.
    Pair,
}

/// A certificate or key that cannot be used, with a message for a person.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct TlsError {
    /// The file at fault.
    pub part: TlsPart,
    /// What is wrong with it, naming the file.
    pub message: String,
}

impl TlsError {
    fn new(part: TlsPart, message: String) -> TlsError {
        TlsError { part, message }
    }
}

impl TlsConfig {
    /// Reads a PEM certificate chain (the server's certificate first, then
    /// any intermediates) and a PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsConfig, TlsError> {
        let read = |path: &Path, part: TlsPart| {
            std::fs::read(path)
                .map_err(|e| TlsError::new(part, format!("cannot read {}: {e}", path.display())))
        };
        let cert_pem = read(cert, TlsPart::Certificate)?;
        let key_pem = read(key, TlsPart::PrivateKey)?;

        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                TlsError::new(
                    TlsPart::Certificate,
                    format!("{} is not a PEM certificate file: {e}", cert.display()),
                )
            })?;
        if chain.is_empty() {
            return Err(TlsError::new(
                TlsPart::Certificate,
                format!(
                    "{} holds no PEM certificate (a \"BEGIN CERTIFICATE\" block)",
                    cert.display()
                ),
            ));
        }
        let private_key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
            let why = match e {
                rustls::pki_types::pem::Error::NoItemsFound => {
                    "no PEM private key (PKCS#8, PKCS#1 or SEC1) in it".to_string()
                }
                other => other.to_string(),
            };
            TlsError::new(
                TlsPart::PrivateKey,
                format!("{} is not a usable private key: {why}", key.display()),
            )
        })?;

        // The provider reqwest already builds rustls with, named rather than
        // taken from the process default, which would panic if another
        // dependency ever enabled a second provider.
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::new(TlsPart::Pair, format!("TLS setup failed: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain, private_key)
            .map_err(|e| match e {
                rustls::Error::InconsistentKeys(_) => TlsError::new(
                    TlsPart::Pair,
                    format!(
                        "the private key in {} does not belong to the certificate in {}",
                        key.display(),
                        cert.display()
                    ),
                ),
                rustls::Error::InvalidCertificate(why) => TlsError::new(
                    TlsPart::Certificate,
                    format!("{} holds an invalid certificate: {why}", cert.display()),
                ),
                other => TlsError::new(
                    TlsPart::PrivateKey,
                    format!("{} is not a usable private key: {other}", key.display()),
                ),
            })?;
        // axum serves HTTP/1.1 only; saying so lets clients skip h2.
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConfig {
            server: Arc::new(server),
        })
    }
}

/// An axum [`Listener`](axum::serve::Listener) of TLS connections over a
/// TCP listener. A background task accepts sockets and spawns one handshake
/// task per connection; `accept` hands out the connections whose handshake
/// succeeded. Dropping it (axum does when shutting down) stops accepting.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
    acceptor: JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting on `listener` with `tls`'s certificate.
    pub fn new(listener: TcpListener, tls: &TlsConfig) -> std::io::Result<TlsListener> {
        let local_addr = listener.local_addr()?;
        let (sender, ready) = mpsc::channel(READY_QUEUE);
        let acceptor = tokio::spawn(accept_loop(
            listener,
            TlsAcceptor::from(tls.server.clone()),
            sender,
        ));
        Ok(TlsListener {
            ready,
            local_addr,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop only ends when this listener is dropped, so
            // this is not reached while axum still polls it.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(connection) => connection,
            Err(e) => {
                pause_after_accept_error(e).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(stream, &acceptor));
            match handshake.await {
                Ok(Some(tls)) => {
                    // A closed queue means the server is shutting down.
                    let _ = ready.send((tls, remote)).await;
                }
                Ok(None) => {}
                Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
            }
        });
    }
}

/// Finishes the TLS handshake, or answers a plain-HTTP request and closes.
async fn handshake(stream: TcpStream, acceptor: &TlsAcceptor) -> Option<TlsStream<TcpStream>> {
    let mut first = [0u8; 1];
    match stream.peek(&mut first).await {
        Ok(1) if first[0] == TLS_HANDSHAKE_RECORD => {}
        Ok(1) => {
            plain_http::answer(stream).await;
            return None;
        }
        // Closed before sending anything, or a socket error.
        _ => return None,
    }
    match acceptor.accept(stream).await {
        Ok(tls) => Some(tls),
        Err(e) => {
            // Usually a client that does not trust the certificate: its
            // problem to report, not the server's.
            tracing::debug!("TLS handshake failed: {e}");
            None
        }
    }
}

/// What axum does for plain TCP: errors about one connection are retried at
/// once; others (such as too many open files) wait a second so the loop does
/// not spin.
async fn pause_after_accept_error(e: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!("accept error: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
