//! Running the `smelt` binary from tests, isolated from the caller's environment.

#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const SMELT: &str = env!("CARGO_BIN_EXE_smelt");

/// A `smelt` command isolated from the caller's environment, with `home` as SMELT_HOME.
pub fn smelt_command(home: &Path) -> Command {
    let mut command = Command::new(SMELT);
    command
        .env("SMELT_HOME", home)
        .env_remove("SMELT_TRACKING_URI")
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("SMELT_DATABASE_URL")
        .env_remove("SMELT_ARTIFACTS")
        .env_remove("SMELT_HOST")
        .env_remove("SMELT_PORT")
        .env_remove("SMELT_DATA_ROOTS")
        .env_remove("SMELT_ALLOW_WEBHOOK_HOSTS")
        .env_remove("SMELT_QUEUE")
        .env_remove("SMELT_SERVER")
        .env_remove("SMELT_WORKER_LABELS")
        .env_remove("SMELT_WORKER_CONCURRENCY")
        .env_remove("SMELT_WORKER_ACK_WAIT")
        .env_remove("SMELT_WORKER_MAX_ATTEMPTS")
        .env_remove("SMELT_WORKER_FOLD_SLOTS")
        .env_remove("SMELT_CAPTURE_SINK")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    command
}

/// Runs `smelt ARGS` to completion.
pub fn smelt(home: &Path, args: &[&str]) -> Output {
    smelt_command(home)
        .args(args)
        .output()
        .expect("the smelt binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `smelt ARGS` and insists it succeeds; returns stdout.
pub fn smelt_ok(home: &Path, args: &[&str]) -> String {
    let output = smelt(home, args);
    assert!(
        output.status.success(),
        "smelt {args:?} failed with {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        stdout(&output),
        stderr(&output)
    );
    stdout(&output)
}

/// Runs `smelt ARGS --json` and parses its output.
pub fn smelt_json(home: &Path, args: &[&str]) -> Value {
    let mut all: Vec<&str> = args.to_vec();
    all.push("--json");
    let text = smelt_ok(home, &all);
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("smelt {all:?} printed invalid JSON ({e}):\n{text}"))
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal HTTP/1.1 client: one request per connection.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> std::io::Result<(u16, String)> {
    http_to("127.0.0.1", port, method, path, body)
}

/// [`http`] to a server at `host` (an address another test host listens on).
pub fn http_to(
    host: &str,
    port: u16,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> std::io::Result<(u16, String)> {
    let address: std::net::SocketAddr = format!("{host}:{port}")
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{e}")))?;
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(60)))?;
    let body = body.unwrap_or(b"");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let raw = read_response(&mut stream)?;
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut payload = raw[split + 4..].to_vec();
    let status: u16 = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    if is_chunked(&head) {
        payload = dechunk(&payload).ok_or_else(|| bad("bad chunked body"))?;
    }
    Ok((status, String::from_utf8_lossy(&payload).into_owned()))
}

fn is_chunked(head: &str) -> bool {
    head.lines().any(|line| {
        let line = line.to_ascii_lowercase();
        line.starts_with("transfer-encoding:") && line.contains("chunked")
    })
}

/// Reads one response: up to its declared length or last chunk, else to the
/// end of the stream (some servers, chromedriver among them, keep the
/// connection open despite `Connection: close`).
fn read_response(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut raw = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            return Ok(raw);
        }
        raw.extend_from_slice(&buffer[..read]);
        let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        let body = &raw[split + 4..];
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok());
        let complete = match length {
            Some(length) => body.len() >= length,
            None if is_chunked(&head) => dechunk(body).is_some(),
            None => false,
        };
        if complete {
            return Ok(raw);
        }
    }
}

pub fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

pub fn http_json(port: u16, method: &str, path: &str, body: Value) -> Value {
    let text = body.to_string();
    let body = if method == "GET" {
        None
    } else {
        Some(text.as_bytes())
    };
    let (status, reply) =
        http(port, method, path, body).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    assert_eq!(status, 200, "{method} {path} answered {status}: {reply}");
    serde_json::from_str(&reply)
        .unwrap_or_else(|e| panic!("{method} {path}: invalid JSON ({e}): {reply}"))
}

/// `smelt server` as a child process; killed when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Server {
    /// Starts `smelt server --port <free port>` on `home` and waits for `/health`.
    pub fn start(home: &Path, extra: &[&str]) -> Server {
        let port = free_port();
        let log = home.with_extension(format!("server-{port}.log"));
        let out = File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = smelt_command(home)
            .args(["server", "--port", &port.to_string()])
            .args(extra)
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("smelt server starts");
        let mut server = Server { child, port, log };
        server.wait_healthy();
        server
    }

    pub fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "smelt server exited early with {status}:\n{}",
                    self.log_text()
                );
            }
            if let Ok((200, _)) = http(self.port, "GET", "/health", None) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "smelt server never became healthy:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `smelt quickstart` until it prints its addresses; returns the child
/// and everything it printed.
pub fn start_quickstart(home: &std::path::Path, port: u16) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = smelt_command(home)
        .args(["quickstart", "--port", &port.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("smelt quickstart starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.starts_with("  MLflow clients") {
            // Keep draining so the server never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return (child, printed);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("smelt quickstart ended early, printing:\n{printed}");
}

/// Ctrl-C: the quickstart's server stops cleanly.
pub fn interrupt(mut child: std::process::Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "Ctrl-C ends the quickstart with {exit}");
}

/// A job's record, as `smelt jobs status --json` prints it.
pub fn job_record(home: &Path, server: &Server, id: &str) -> Value {
    smelt_json(home, &["jobs", "status", id, "--server", &server.uri()])
}

/// Polls a job until `what` holds (at most five minutes); returns its record.
pub fn wait_for_job(
    home: &Path,
    server: &Server,
    id: &str,
    what: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let record = job_record(home, server, id);
        if what(&record) {
            return record;
        }
        assert!(
            Instant::now() < deadline,
            "job never got there: {record}\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
