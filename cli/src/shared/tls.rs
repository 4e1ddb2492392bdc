//! `--tls-cert` / `--tls-key`: HTTPS for `smelt server` and `smelt serve`.

use std::path::PathBuf;

use clap::Args;
use smelt_tracking::server::{TlsConfig, TlsPart};

use crate::error::hinted;

/// The certificate and key a server answers HTTPS with.
#[derive(Debug, Clone, Args)]
pub struct TlsArgs {
    /// Serve HTTPS with this PEM certificate chain (the server's certificate
    /// first, then intermediates); needs --tls-key. Plain-HTTP requests to
    /// the port are redirected (GET) or refused with a 400 naming https://
    #[arg(
        long,
        env = "SMELT_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,

    /// The PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert
    #[arg(
        long,
        env = "SMELT_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,
}

impl TlsArgs {
    /// Whether HTTPS was asked for.
    pub fn is_set(&self) -> bool {
        self.tls_cert.is_some() || self.tls_key.is_some()
    }

    /// Reads the certificate and key, or `None` for plain HTTP. Errors name
    /// the flag at fault.
    pub fn load(&self) -> anyhow::Result<Option<TlsConfig>> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        TlsConfig::from_pem_files(cert, key).map(Some).map_err(|e| {
            let flag = match e.part {
                TlsPart::Certificate => "--tls-cert",
                TlsPart::PrivateKey => "--tls-key",
                TlsPart::Pair => "--tls-cert/--tls-key",
            };
            hinted(
                format!("{flag}: {e}"),
                "pass a PEM certificate chain with --tls-cert and its private key with --tls-key",
            )
        })
    }
}
