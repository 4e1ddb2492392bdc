//! HTTPS on the tracking server: a CA and a server certificate made here,
//! a client that trusts only that CA, plain HTTP on the same port, clients
//! that fail or stall the handshake, and certificate files that cannot be
//! used.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::extract::ConnectInfo;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use serde_json::{Value, json};
use smelt_tracking::server::{ServerConfig, TlsConfig, TlsPart, bind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A CA, and a server certificate it signed for `localhost` and 127.0.0.1,
/// written as PEM files.
struct Pki {
    ca_pem: String,
    cert: PathBuf,
    key: PathBuf,
}

fn make_pki(dir: &Path, name: &str) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("{name} test CA"));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let mut params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();

    let pki = Pki {
        ca_pem: ca.pem(),
        cert: dir.join(format!("{name}.pem")),
        key: dir.join(format!("{name}-key.pem")),
    };
    std::fs::write(&pki.cert, cert.pem()).unwrap();
    std::fs::write(&pki.key, key.serialize_pem()).unwrap();
    pki
}

/// A client that trusts nothing but `ca_pem`.
fn client_trusting(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The tracking server over TLS on a free port, with one extra route that
/// answers the client address its handler sees; stops when `stop` is sent.
struct Running {
    address: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<smelt_tracking::Result<()>>,
}

async fn start_tls(dir: &Path, pki: &Pki) -> Running {
    let mut config = ServerConfig::local(dir);
    config.port = 0;
    let tls = TlsConfig::from_pem_files(&pki.cert, &pki.key).unwrap();
    let server = bind(&config).await.unwrap().with_tls(tls);
    assert_eq!(server.scheme(), "https");
    let address = server.local_addr().unwrap();
    let app = smelt_tracking::api::router(server.state().clone()).route(
        "/client-address",
        axum::routing::get(|ConnectInfo(client): ConnectInfo<SocketAddr>| async move {
            client.to_string()
        }),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(server.serve_app(app, async move {
        let _ = stopped.await;
    }));
    Running {
        address,
        stop,
        served,
    }
}

#[tokio::test]
async fn a_client_trusting_the_ca_uses_the_mlflow_api_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path(), "server");
    let server = start_tls(dir.path(), &pki).await;
    let port = server.address.port();
    let client = client_trusting(&pki.ca_pem);

    for host in ["localhost", "127.0.0.1"] {
        let health = client
            .get(format!("https://{host}:{port}/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200, "{host}");
    }

    let base = format!("https://localhost:{port}/api/2.0/mlflow");
    let created: Value = client
        .post(format!("{base}/experiments/create"))
        .json(&json!({"name": "over-tls"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["experiment_id"].as_str().unwrap();
    let fetched: Value = client
        .get(format!("{base}/experiments/get?experiment_id={id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["experiment"]["name"], "over-tls");

    // Handlers see the client's address under TLS too (audit logs need it).
    let seen = client
        .get(format!("https://127.0.0.1:{port}/client-address"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let seen: SocketAddr = seen.parse().unwrap();
    assert!(seen.ip().is_loopback(), "{seen}");
    assert_ne!(seen.port(), port);

    // A graceful stop ends serving without an error.
    server.stop.send(()).unwrap();
    server.served.await.unwrap().unwrap();
}

#[tokio::test]
async fn plain_http_on_the_tls_port_is_redirected_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path(), "server");
    let server = start_tls(dir.path(), &pki).await;
    let port = server.address.port();
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let page = plain
        .get(format!("http://localhost:{port}/experiments?view=table"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 307);
    assert_eq!(
        page.headers()["location"],
        format!("https://localhost:{port}/experiments?view=table").as_str()
    );

    let write = plain
        .post(format!(
            "http://127.0.0.1:{port}/api/2.0/mlflow/experiments/create"
        ))
        .json(&json!({"name": "in-clear"}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 400);
    let body: Value = write.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "error_code": "BAD_REQUEST",
            "message": format!("this server speaks HTTPS: use https://127.0.0.1:{port}/")
        })
    );

    // The redirect leads somewhere that works for a client trusting the CA.
    let followed = client_trusting(&pki.ca_pem)
        .get(format!("https://localhost:{port}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(followed.status(), 200);
}

#[tokio::test]
async fn failed_and_stalled_handshakes_do_not_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path(), "server");
    let other = make_pki(dir.path(), "other");
    let server = start_tls(dir.path(), &pki).await;
    let port = server.address.port();
    let url = format!("https://localhost:{port}/health");

    // A client that trusts another CA refuses the certificate.
    let error = client_trusting(&other.ca_pem)
        .get(&url)
        .send()
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{error:?}");

    // Clients that connect and send nothing, or half a handshake, or garbage
    // that is neither TLS nor HTTP, stay open while others are served.
    let silent = tokio::net::TcpStream::connect(server.address)
        .await
        .unwrap();
    let mut half = tokio::net::TcpStream::connect(server.address)
        .await
        .unwrap();
    half.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00])
        .await
        .unwrap();
    let mut garbage = tokio::net::TcpStream::connect(server.address)
        .await
        .unwrap();
    garbage.write_all(b"\x00\x01\x02\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    garbage.read_to_end(&mut answer).await.unwrap();
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 400 "),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    let trusted = client_trusting(&pki.ca_pem);
    for _ in 0..3 {
        assert_eq!(trusted.get(&url).send().await.unwrap().status(), 200);
    }

    // Stopping does not wait for the connections that never finished a
    // handshake: they were never handed to the HTTP server.
    server.stop.send(()).unwrap();
    server.served.await.unwrap().unwrap();
    drop((silent, half));
}

#[test]
fn unusable_certificate_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path(), "server");
    let other = make_pki(dir.path(), "other");
    let missing = dir.path().join("missing.pem");

    let error = TlsConfig::from_pem_files(&missing, &pki.key).unwrap_err();
    assert_eq!(error.part, TlsPart::Certificate);
    assert!(error.message.starts_with("cannot read "), "{error}");
    assert!(error.message.contains("missing.pem"), "{error}");

    let error = TlsConfig::from_pem_files(&pki.cert, &missing).unwrap_err();
    assert_eq!(error.part, TlsPart::PrivateKey);

    // A key where the certificate goes, and the other way round.
    let error = TlsConfig::from_pem_files(&pki.key, &pki.key).unwrap_err();
    assert_eq!(error.part, TlsPart::Certificate, "{error}");
    assert!(error.message.contains("no PEM certificate"), "{error}");
    let error = TlsConfig::from_pem_files(&pki.cert, &pki.cert).unwrap_err();
    assert_eq!(error.part, TlsPart::PrivateKey, "{error}");
    assert!(error.message.contains("no PEM private key"), "{error}");

    // Another certificate's key.
    let error = TlsConfig::from_pem_files(&pki.cert, &other.key).unwrap_err();
    assert_eq!(error.part, TlsPart::Pair, "{error}");
    assert!(error.message.contains("does not belong"), "{error}");

    // A certificate block whose contents are not a certificate.
    let broken = dir.path().join("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let error = TlsConfig::from_pem_files(&broken, &pki.key).unwrap_err();
    assert_ne!(error.part, TlsPart::PrivateKey, "{error}");

    // Still, the right pair loads.
    TlsConfig::from_pem_files(&pki.cert, &pki.key).unwrap();
}
