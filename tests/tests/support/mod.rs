//! Harness shared by the end-to-end tests: backends to run the store suite
//! against (SQLite, PostgreSQL, a Smelt server over HTTP, a real MLflow
//! server) and the rule for peers that may be missing.

#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use smelt_tracking::TrackingStore;
use smelt_tracking::server::{ServerConfig, bind};
use smelt_tracking::store::rest::RestStore;
use smelt_tracking::store::sql::SqlStore;

/// Whether a missing peer (PostgreSQL, MLflow, S3) must fail the test rather
/// than skip it; `scripts/test.sh` and CI set `SMELT_REQUIRE_PEERS=1`.
pub fn peers_required() -> bool {
    std::env::var("SMELT_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Returns the value of `var`, or `None` after saying the test is skipped
/// (panicking instead when peers are required).
pub fn peer_env(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Some(value),
        _ => {
            assert!(
                !peers_required(),
                "{var} is not set but SMELT_REQUIRE_PEERS=1: run scripts/test.sh"
            );
            eprintln!("skipped: {var} is not set (scripts/test.sh sets it)");
            None
        }
    }
}

/// A store on a fresh SQLite file in `dir`.
pub async fn sqlite_store(dir: &std::path::Path) -> Arc<dyn TrackingStore> {
    let uri = format!("sqlite:///{}", dir.join("smelt.db").display());
    Arc::new(
        SqlStore::open(&uri, "mlflow-artifacts:")
            .await
            .expect("open sqlite store"),
    )
}

/// A fresh PostgreSQL database, dropped when this value is dropped.
pub struct PostgresDatabase {
    pub uri: String,
    admin_uri: String,
    name: String,
}

impl PostgresDatabase {
    pub async fn create(admin_uri: &str) -> PostgresDatabase {
        use sqlx::Connection;
        let name = format!("smelt_t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin_uri)
            .await
            .expect("connect to PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let base = admin_uri
            .rsplit_once('/')
            .map_or(admin_uri, |(base, _)| base);
        PostgresDatabase {
            uri: format!("{base}/{name}"),
            admin_uri: admin_uri.to_string(),
            name,
        }
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        // Best effort, from a plain thread: Drop cannot be async.
        let admin_uri = self.admin_uri.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_uri).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(&mut conn)
                        .await;
                    }
                });
            }
        })
        .join();
    }
}

/// A Smelt server on a free loopback port, serving until the test ends.
pub async fn smelt_server(dir: &std::path::Path) -> String {
    let mut config = ServerConfig::local(dir);
    config.port = 0;
    let server = bind(&config).await.expect("bind smelt server");
    let address = server.local_addr().expect("local address");
    tokio::spawn(server.serve(std::future::pending()));
    format!("http://{address}")
}

/// A REST client store for a server URL.
pub fn rest_store(url: &str) -> Arc<dyn TrackingStore> {
    Arc::new(RestStore::new(url).expect("rest store"))
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A real MLflow server started from the venv `scripts/test.sh` prepares.
pub struct MlflowServer {
    pub url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl MlflowServer {
    pub fn start(mlflow_bin: &str) -> MlflowServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("mlflow.log")).expect("log file");
        // Its own process group: `mlflow server` forks uvicorn and job-runner
        // workers, and all of them must go when the test ends.
        let child = Command::new(mlflow_bin)
            .process_group(0)
            .args([
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--workers",
                "1",
            ])
            .arg("--backend-store-uri")
            .arg(format!(
                "sqlite:///{}",
                dir.path().join("mlflow.db").display()
            ))
            .arg("--artifacts-destination")
            .arg(dir.path().join("mlartifacts"))
            .env("MLFLOW_DISABLE_TELEMETRY", "true")
            .env("DO_NOT_TRACK", "true")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start mlflow server");
        let url = format!("http://127.0.0.1:{port}");
        let server = MlflowServer {
            url,
            child,
            _dir: dir,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok(response) = reqwest::blocking_get(&format!("{}/health", self.url))
                && response
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        let log = std::fs::read_to_string(self._dir.path().join("mlflow.log")).unwrap_or_default();
        panic!("the MLflow server did not become ready in 120 s; its log:\n{log}");
    }
}

impl Drop for MlflowServer {
    fn drop(&mut self) {
        // SIGKILL the whole group (the server and the workers it forked),
        // through bash's builtin `kill`: procps-ng 4.0.2's kill(1) misparses
        // `kill -9 -PGID`, and calling kill(2) directly would need unsafe code.
        if let Ok(pgid) = i32::try_from(self.child.id())
            && pgid > 1
        {
            let _ = std::process::Command::new("bash")
                .args(["-c", &format!("kill -KILL -- -{pgid}")])
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

mod reqwest {
    /// A tiny blocking GET for readiness polls: `Ok(true)` on HTTP 200.
    pub fn blocking_get(url: &str) -> std::io::Result<bool> {
        use std::io::{Read, Write};
        let rest = url.strip_prefix("http://").unwrap_or(url);
        let (host, path) = rest
            .split_once('/')
            .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
        let mut stream = std::net::TcpStream::connect(host)?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(2)))?;
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n")?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"))
    }
}
