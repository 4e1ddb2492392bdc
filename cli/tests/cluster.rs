//! Smelt across hosts: NATS, two `smelt server` replicas on one PostgreSQL
//! database and two `smelt worker`s, each on a host of its own. Hosts are
//! network namespaces joined by a bridge (`ip netns`, veth pairs), so a link
//! can be cut with `ip link set … down`; where namespaces cannot be made
//! (not root, no iproute2) the same scenarios run on 127.0.0.x addresses,
//! and a cut link is a stopped process.
//!
//! One cluster, scenarios in order: a worker SIGKILLed mid-job (the job
//! finishes on the other, in the same run, no epoch missing); an endpoint
//! created through one replica served by both, and an alias moved through
//! the other swapping on both (the poll interval is ten minutes, so only the
//! change feed can do it); captured traffic from both replicas windowed by a
//! monitor, each window once; one server killed (the other keeps answering,
//! logging and monitoring); a NATS restart (workers come back, nothing
//! lost); a worker's link cut mid-job and healed.

mod common;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// The test's hosts: network namespaces on a bridge, or loopback addresses.
struct Hosts {
    /// `Some(id)` when hosts are namespaces (`smeltID-hN`, bridge `smbID`).
    namespaces: Option<u32>,
    addresses: Vec<String>,
    /// How processes on the hosts reach this machine (the bridge address).
    gateway: String,
}

impl Hosts {
    fn new(count: usize) -> Hosts {
        let id = (std::process::id() ^ now_nanos()) % 90_000 + 10_000;
        match Hosts::namespaced(id, count) {
            Ok(hosts) => hosts,
            Err(reason) => {
                eprintln!("network namespaces unavailable ({reason}); hosts are 127.0.0.x");
                // The last octet keeps concurrent test binaries apart.
                let base = 2 + (id % 50) * 5;
                Hosts {
                    namespaces: None,
                    addresses: (0..count)
                        .map(|i| format!("127.0.{}.{}", id % 200 + 1, base as usize + i))
                        .collect(),
                    gateway: "127.0.0.1".into(),
                }
            }
        }
    }

    fn namespaced(id: u32, count: usize) -> Result<Hosts, String> {
        let subnet = format!("10.{}.{}", 100 + id % 100, id / 100 % 250);
        let bridge = format!("smb{id}");
        let mut hosts = Hosts {
            namespaces: Some(id),
            addresses: Vec::new(),
            gateway: format!("{subnet}.1"),
        };
        ip(&["link", "add", &bridge, "type", "bridge"])?;
        ip(&["addr", "add", &format!("{subnet}.1/24"), "dev", &bridge])?;
        ip(&["link", "set", &bridge, "up"])?;
        for i in 0..count {
            let ns = hosts.namespace(i);
            let (outer, inner) = (format!("smv{id}h{i}"), format!("smp{id}h{i}"));
            let address = format!("{subnet}.{}", 10 + i);
            ip(&["netns", "add", &ns])?;
            ip(&[
                "link", "add", &outer, "type", "veth", "peer", "name", &inner,
            ])?;
            ip(&["link", "set", &inner, "netns", &ns])?;
            ip(&["link", "set", &outer, "master", &bridge])?;
            ip(&["link", "set", &outer, "up"])?;
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{address}/24"),
                "dev",
                &inner,
            ])?;
            ip(&["-n", &ns, "link", "set", &inner, "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            hosts.addresses.push(address);
        }
        Ok(hosts)
    }

    fn namespace(&self, host: usize) -> String {
        format!("smelt{}-h{host}", self.namespaces.unwrap_or(0))
    }

    fn address(&self, host: usize) -> &str {
        &self.addresses[host]
    }

    /// `command` run on `host`.
    fn on(&self, host: usize, command: Command) -> Command {
        if self.namespaces.is_none() {
            return command;
        }
        let mut wrapped = Command::new("ip");
        wrapped
            .args(["netns", "exec", &self.namespace(host)])
            .arg(command.get_program())
            .args(command.get_args());
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => wrapped.env(key, value),
                None => wrapped.env_remove(key),
            };
        }
        wrapped.stdin(Stdio::null());
        wrapped
    }

    /// Takes `host` off the network (its link down; on loopback, the
    /// process stops answering).
    fn cut(&self, host: usize, process: &Child) {
        match self.namespaces {
            Some(id) => ip(&["link", "set", &format!("smv{id}h{host}"), "down"]).unwrap(),
            None => signal("-STOP", process.id()),
        }
    }

    fn heal(&self, host: usize, process: &Child) {
        match self.namespaces {
            Some(id) => ip(&["link", "set", &format!("smv{id}h{host}"), "up"]).unwrap(),
            None => signal("-CONT", process.id()),
        }
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        if let Some(id) = self.namespaces {
            for host in 0..self.addresses.len() {
                let _ = ip(&["netns", "del", &self.namespace(host)]);
            }
            let _ = ip(&["link", "del", &format!("smb{id}")]);
        }
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn signal(which: &str, pid: u32) {
    let status = Command::new("kill")
        .args([which, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn now_nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

fn nats_binary() -> Option<&'static str> {
    [
        "nats-server",
        "/usr/sbin/nats-server",
        "/usr/local/bin/nats-server",
    ]
    .into_iter()
    .find(|b| Command::new(b).arg("--version").output().is_ok())
}

/// A fresh PostgreSQL database, dropped at the end; `None` (the test skips)
/// without PostgreSQL, unless `SMELT_REQUIRE_PEERS=1`.
struct Database {
    name: String,
}

impl Database {
    fn create() -> Option<Database> {
        let name = format!("smelt_cluster_{}_{}", std::process::id(), now_nanos());
        let created = Command::new("createdb")
            .args(["-h", "127.0.0.1", "-U", "postgres", &name])
            .output();
        match created {
            Ok(out) if out.status.success() => Some(Database { name }),
            other => {
                assert!(
                    std::env::var("SMELT_REQUIRE_PEERS").as_deref() != Ok("1"),
                    "PostgreSQL is required (SMELT_REQUIRE_PEERS=1): {other:?}"
                );
                eprintln!("skipping: cannot create a PostgreSQL database ({other:?})");
                None
            }
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = Command::new("dropdb")
            .args(["-h", "127.0.0.1", "-U", "postgres", "--force", &self.name])
            .output();
    }
}

/// Forwards `gateway:PORT` to PostgreSQL on this machine's loopback, so
/// processes on other hosts reach it as a database host. Runs until the
/// test process ends.
fn forward_postgres(gateway: &str) -> u16 {
    let listener = TcpListener::bind((gateway, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(database) = TcpStream::connect(("127.0.0.1", 5432)) else {
                continue;
            };
            let pipe = |mut from: TcpStream, mut to: TcpStream| {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(std::net::Shutdown::Both);
                });
            };
            pipe(client.try_clone().unwrap(), database.try_clone().unwrap());
            pipe(database, client);
        }
    });
    port
}

/// A process on a host, its output in `log`; killed when dropped.
struct Process {
    child: Child,
    log: PathBuf,
}

impl Process {
    fn start(hosts: &Hosts, host: usize, command: Command, log: PathBuf) -> Process {
        let out = std::fs::File::create(&log).unwrap();
        let child = hosts
            .on(host, command)
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("the process starts");
        Process { child, log }
    }

    fn log_text(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.log) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // A stopped process must run again to die cleanly.
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .output();
        self.kill();
    }
}

/// The whole cluster.
struct Cluster {
    hosts: Hosts,
    dir: PathBuf,
    nats: Process,
    servers: Vec<Option<Process>>,
    workers: Vec<Process>,
    /// The home of the test's own `smelt` commands.
    client: PathBuf,
    _database: Database,
}

const NATS: usize = 0;
const SERVER_A: usize = 1;
const SERVER_B: usize = 2;
const WORKER_1: usize = 3;
const PORT: u16 = 5000;
const NATS_PORT: u16 = 4222;

impl Cluster {
    fn start(dir: &Path) -> Option<Cluster> {
        let Some(binary) = nats_binary() else {
            assert!(
                std::env::var("SMELT_REQUIRE_PEERS").as_deref() != Ok("1"),
                "nats-server is required (SMELT_REQUIRE_PEERS=1) but not installed"
            );
            eprintln!("skipping: nats-server is not installed");
            return None;
        };
        let database = Database::create()?;
        let hosts = Hosts::new(5);
        let postgres = if hosts.namespaces.is_some() {
            format!(
                "postgresql://postgres@{}:{}/{}",
                hosts.gateway,
                forward_postgres(&hosts.gateway),
                database.name
            )
        } else {
            format!("postgresql://postgres@127.0.0.1:5432/{}", database.name)
        };
        let nats = start_nats(&hosts, binary, dir);
        let client = dir.join("client");
        std::fs::create_dir_all(&client).unwrap();
        let mut cluster = Cluster {
            hosts,
            dir: dir.to_path_buf(),
            nats,
            servers: vec![None, None],
            workers: Vec::new(),
            client,
            _database: database,
        };
        for (slot, host) in [SERVER_A, SERVER_B].into_iter().enumerate() {
            cluster.servers[slot] = Some(cluster.start_server(host, &postgres));
        }
        for host in [WORKER_1, WORKER_1 + 1] {
            let worker = cluster.start_worker(host);
            cluster.workers.push(worker);
        }
        Some(cluster)
    }

    fn nats_url(&self) -> String {
        format!("nats://{}:{NATS_PORT}", self.hosts.address(NATS))
    }

    fn url(&self, host: usize) -> String {
        format!("http://{}:{PORT}", self.hosts.address(host))
    }

    fn start_server(&self, host: usize, postgres: &str) -> Process {
        let home = self.dir.join(format!("server-{host}"));
        std::fs::create_dir_all(&home).unwrap();
        let mut command = smelt_command(&home);
        command.args([
            "server",
            "--host",
            self.hosts.address(host),
            "--port",
            &PORT.to_string(),
            "--backend-store-uri",
            postgres,
            "--artifacts-destination",
            self.dir.join("artifacts").to_str().unwrap(),
            "--queue",
            &self.nats_url(),
            "--capture-sink",
            &self.nats_url(),
            // Ten minutes: whatever moves sooner moved by the change feed.
            "--poll-interval-ms",
            "600000",
        ]);
        let server = Process::start(
            &self.hosts,
            host,
            command,
            self.dir.join(format!("server-{host}.log")),
        );
        let deadline = Instant::now() + Duration::from_secs(120);
        while !matches!(
            http_to(self.hosts.address(host), PORT, "GET", "/health", None),
            Ok((200, _))
        ) {
            assert!(
                Instant::now() < deadline,
                "server on host {host} never became healthy:\n{}",
                server.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// A worker on `host`, reporting to server B (server A is the one
    /// killed later).
    fn start_worker(&self, host: usize) -> Process {
        let home = self.dir.join(format!("worker-{host}"));
        std::fs::create_dir_all(&home).unwrap();
        let mut command = smelt_command(&home);
        command.args([
            "worker",
            "--queue",
            &self.nats_url(),
            "--server",
            &self.url(SERVER_B),
            "--ack-wait",
            "6s",
        ]);
        // Worker names start with the host name.
        command.env("HOSTNAME", format!("worker-on-host-{host}"));
        Process::start(
            &self.hosts,
            host,
            command,
            self.dir.join(format!("worker-{host}-{}.log", now_nanos())),
        )
    }

    fn logs(&self) -> String {
        let mut text = format!("--- nats\n{}\n", self.nats.log_text());
        for (i, server) in self.servers.iter().enumerate() {
            if let Some(server) = server {
                text.push_str(&format!("--- server {i}\n{}\n", server.log_text()));
            }
        }
        for (i, worker) in self.workers.iter().enumerate() {
            text.push_str(&format!("--- worker {i}\n{}\n", worker.log_text()));
        }
        text
    }

    fn smelt_ok(&self, args: &[&str]) -> String {
        let out = smelt(&self.client, args);
        assert!(
            out.status.success(),
            "smelt {args:?} failed: {}\n{}",
            stderr(&out),
            self.logs()
        );
        stdout(&out)
    }

    fn json(&self, host: usize, method: &str, path: &str, body: Value) -> Value {
        let text = body.to_string();
        let body = (method != "GET").then_some(text.as_bytes());
        let (status, reply) = http_to(self.hosts.address(host), PORT, method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path} on host {host}: {e}"));
        assert_eq!(status, 200, "{method} {path} on host {host}: {reply}");
        serde_json::from_str(&reply).unwrap()
    }

    fn job(&self, host: usize, id: &str) -> Value {
        self.json(
            host,
            "GET",
            &format!("/api/2.0/smelt/jobs/{id}"),
            Value::Null,
        )["job"]
            .clone()
    }

    /// Polls a job through `host` until `what` holds (five minutes at most).
    fn wait_job(&self, host: usize, id: &str, what: impl Fn(&Value) -> bool) -> Value {
        wait_until(&format!("job {id}"), 300, || {
            let record = self.job(host, id);
            what(&record).then_some(record)
        })
        .unwrap_or_else(|| panic!("job {id} never got there\n{}", self.logs()))
    }

    /// Submits a spec through `host`, retrying while the queue is away.
    fn submit(&self, host: usize, spec: &Path) -> String {
        wait_until("a submit", 60, || {
            let out = smelt(
                &self.client,
                &[
                    "jobs",
                    "submit",
                    spec.to_str().unwrap(),
                    "--server",
                    &self.url(host),
                ],
            );
            out.status
                .success()
                .then(|| stdout(&out).trim().to_string())
        })
        .unwrap_or_else(|| panic!("the server never queued the job\n{}", self.logs()))
    }

    /// The steps of a run's `val_accuracy` history, sorted, duplicates kept.
    fn steps(&self, host: usize, run_id: &str) -> Vec<i64> {
        let history = self.json(
            host,
            "GET",
            &format!(
                "/api/2.0/mlflow/metrics/get-history?run_id={run_id}&metric_key=val_accuracy&max_results=25000"
            ),
            Value::Null,
        );
        let mut steps: Vec<i64> = history["metrics"]
            .as_array()
            .map(|points| points.iter().map(|p| p["step"].as_i64().unwrap()).collect())
            .unwrap_or_default();
        steps.sort_unstable();
        steps
    }

    fn run_tag(&self, host: usize, run_id: &str, key: &str) -> Option<String> {
        let run = self.json(
            host,
            "GET",
            &format!("/api/2.0/mlflow/runs/get?run_id={run_id}"),
            Value::Null,
        );
        run["run"]["data"]["tags"]
            .as_array()?
            .iter()
            .find(|t| t["key"] == key)
            .and_then(|t| t["value"].as_str().map(str::to_string))
    }

    /// Waits until the job runs with at least 3 epochs logged; answers its
    /// run and the index (in `workers`) of the worker running it.
    fn running(&self, id: &str) -> (String, usize) {
        let record = self.wait_job(SERVER_B, id, |j| {
            j["status"] == "RUNNING" && j["run_id"].is_string()
        });
        let run_id = record["run_id"].as_str().unwrap().to_string();
        wait_until("three epochs", 120, || {
            (self.steps(SERVER_B, &run_id).len() >= 3).then_some(())
        })
        .unwrap_or_else(|| panic!("no epochs logged\n{}", self.logs()));
        let worker = self.run_tag(SERVER_B, &run_id, "smelt.worker").unwrap();
        let index = (0..self.workers.len())
            .find(|&i| worker.starts_with(&format!("worker-on-host-{}-", WORKER_1 + i)))
            .unwrap_or_else(|| panic!("unknown worker {worker}"));
        (run_id, index)
    }

    /// A job finished after losing its first worker: SUCCEEDED in one run,
    /// on its second attempt, every epoch logged, by the other worker.
    fn assert_resumed(&self, id: &str, run_id: &str, epochs: i64, lost: usize) {
        let record = self.wait_job(SERVER_B, id, |j| {
            matches!(j["status"].as_str(), Some("SUCCEEDED" | "FAILED"))
        });
        assert_eq!(record["status"], "SUCCEEDED", "{record}\n{}", self.logs());
        assert_eq!(record["run_id"], run_id, "{record}");
        assert_eq!(record["attempts"], 2, "{record}");
        let steps = self.steps(SERVER_B, run_id);
        let mut distinct = steps.clone();
        distinct.dedup();
        assert_eq!(
            distinct,
            (1..=epochs).collect::<Vec<_>>(),
            "no epoch missing"
        );
        let finisher = self.run_tag(SERVER_B, run_id, "smelt.worker").unwrap();
        assert!(
            !finisher.starts_with(&format!("worker-on-host-{}-", WORKER_1 + lost)),
            "the other worker finished it: {finisher}"
        );
    }

    fn infer(&self, host: usize, rows: &[Vec<f64>]) -> Result<(u16, String), std::io::Error> {
        let body = json!({ "dataframe_split": { "columns": wine_columns(), "data": rows } });
        http_to(
            self.hosts.address(host),
            PORT,
            "POST",
            "/endpoints/wine/invocations",
            Some(body.to_string().as_bytes()),
        )
    }

    fn serving_version(&self, host: usize) -> Option<String> {
        let (status, reply) = http_to(
            self.hosts.address(host),
            PORT,
            "GET",
            "/api/2.0/smelt/endpoints/wine",
            None,
        )
        .ok()?;
        if status != 200 {
            return None;
        }
        let view: Value = serde_json::from_str(&reply).ok()?;
        view["endpoint"]["variants"][0]["serving"]["version"]
            .as_str()
            .map(str::to_string)
    }

    /// Capture records `host` has written to the stream so far.
    fn captured(&self, host: usize) -> u64 {
        let (_, metrics) =
            http_to(self.hosts.address(host), PORT, "GET", "/metrics", None).unwrap();
        metrics
            .lines()
            .find(|l| {
                l.starts_with("smelt_serving_capture_records_total")
                    && l.contains(r#"endpoint="wine""#)
                    && l.contains(r#"outcome="written""#)
            })
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0)
    }

    /// The monitor's windows as `host` reports them.
    fn windows(&self, host: usize) -> Vec<Value> {
        let reports = self.json(
            host,
            "GET",
            "/api/2.0/smelt/monitors/drift/reports",
            Value::Null,
        );
        reports["windows"].as_array().cloned().unwrap_or_default()
    }

    fn wait_windows(&self, host: usize, count: usize) -> Vec<Value> {
        wait_until(&format!("{count} windows"), 120, || {
            let windows = self.windows(host);
            (windows.len() >= count).then_some(windows)
        })
        .unwrap_or_else(|| panic!("fewer than {count} windows\n{}", self.logs()))
    }
}

fn start_nats(hosts: &Hosts, binary: &str, dir: &Path) -> Process {
    let storage = dir.join("nats");
    std::fs::create_dir_all(&storage).unwrap();
    let mut command = Command::new(binary);
    command
        .args([
            "-a",
            hosts.address(NATS),
            "-p",
            &NATS_PORT.to_string(),
            "-js",
            "-sd",
        ])
        .arg(&storage);
    let nats = Process::start(
        hosts,
        NATS,
        command,
        dir.join(format!("nats-{}.log", now_nanos())),
    );
    let address: std::net::SocketAddr = format!("{}:{NATS_PORT}", hosts.address(NATS))
        .parse()
        .unwrap();
    wait_until("nats-server to listen", 20, || {
        TcpStream::connect_timeout(&address, Duration::from_millis(200))
            .ok()
            .map(|_| ())
    })
    .unwrap_or_else(|| panic!("nats-server did not listen:\n{}", nats.log_text()));
    nats
}

/// Polls `what` every 100 ms for at most `seconds`.
fn wait_until<T>(what: &str, seconds: u64, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(found) = check() {
            return Some(found);
        }
        if Instant::now() > deadline {
            eprintln!("gave up waiting for {what}");
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn dataset(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../datasets")
        .join(name)
}

fn wine_columns() -> Vec<String> {
    let text = std::fs::read_to_string(dataset("wine.train.csv")).unwrap();
    text.lines()
        .next()
        .unwrap()
        .split(',')
        .filter(|c| *c != "target")
        .map(str::to_string)
        .collect()
}

/// Feature rows of the wine training split.
fn wine_rows(count: usize) -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(dataset("wine.train.csv")).unwrap();
    text.lines()
        .skip(1)
        .cycle()
        .take(count)
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            cells[..cells.len() - 1]
                .iter()
                .map(|c| c.parse().unwrap())
                .collect()
        })
        .collect()
}

/// A wine MLP spec in `dir` (data beside it, uploaded at submit).
fn spec(dir: &Path, name: &str, epochs: usize, extra: &str) -> PathBuf {
    for file in ["wine.train.csv", "wine.test.csv"] {
        std::fs::copy(dataset(file), dir.join(file)).unwrap();
    }
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "[data]\ntrain = \"wine.train.csv\"\nvalidation_fraction = 0.25\ntarget = \"target\"\n[model]\nkind = \"mlp\"\nhidden = [256, 256]\n[training]\nepochs = {epochs}\nbatch_size = 8\n[tracking]\nexperiment = \"cluster\"\n{extra}",
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_cluster_across_hosts_survives_losing_workers_servers_nats_and_links() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut cluster) = Cluster::start(dir.path()) else {
        return;
    };
    let a = SERVER_A;
    let b = SERVER_B;

    // 1. A worker SIGKILLed mid-job: the other worker resumes the run.
    let epochs = 120;
    let first = spec(
        dir.path(),
        "first.toml",
        epochs,
        "[register]\nname = \"wine-cluster\"\nalias = \"champion\"\n",
    );
    let id = cluster.submit(a, &first);
    let (run_id, victim) = cluster.running(&id);
    cluster.workers[victim].kill();
    cluster.assert_resumed(&id, &run_id, epochs as i64, victim);
    cluster.workers[victim] = cluster.start_worker(WORKER_1 + victim);

    // 2. An endpoint created through A is served by B, at once.
    cluster.smelt_ok(&[
        "endpoints",
        "create",
        "wine",
        "--variant",
        "models:/wine-cluster@champion",
        "--capture-percent",
        "100",
        "--server",
        &cluster.url(a),
    ]);
    wait_until("B to serve the endpoint", 30, || {
        (cluster.serving_version(b).as_deref() == Some("1")).then_some(())
    })
    .unwrap_or_else(|| panic!("B never served the endpoint\n{}", cluster.logs()));
    let (status, reply) = cluster.infer(b, &wine_rows(2)).unwrap();
    assert_eq!(status, 200, "{reply}");

    // 3. The alias moved through B swaps A's endpoint (the change feed: the
    // poll interval is ten minutes).
    let version = cluster.json(
        b,
        "GET",
        "/api/2.0/mlflow/model-versions/get?name=wine-cluster&version=1",
        Value::Null,
    );
    cluster.json(
        b,
        "POST",
        "/api/2.0/mlflow/model-versions/create",
        json!({
            "name": "wine-cluster",
            "source": version["model_version"]["source"],
            "run_id": version["model_version"]["run_id"],
        }),
    );
    let moved = Instant::now();
    cluster.json(
        b,
        "POST",
        "/api/2.0/mlflow/registered-models/alias",
        json!({"name": "wine-cluster", "alias": "champion", "version": "2"}),
    );
    for host in [a, b] {
        wait_until("the swap", 30, || {
            (cluster.serving_version(host).as_deref() == Some("2")).then_some(())
        })
        .unwrap_or_else(|| panic!("host {host} never swapped\n{}", cluster.logs()));
    }
    eprintln!(
        "alias moved through B: both replicas serve version 2 after {:?}",
        moved.elapsed()
    );

    // 4. Traffic through both replicas, windowed once by one monitor.
    cluster.smelt_ok(&[
        "monitor",
        "create",
        "drift",
        "--endpoint",
        "wine",
        "--reference",
        "models:/wine-cluster/1",
        "--window-rows",
        "20",
        "--every-seconds",
        "1",
        "--server",
        &cluster.url(a),
    ]);
    let rows = wine_rows(60);
    for (i, pair) in rows.chunks(2).enumerate() {
        let host = if i % 2 == 0 { a } else { b };
        let (status, reply) = cluster.infer(host, pair).unwrap();
        assert_eq!(status, 200, "{reply}");
    }
    let windows = cluster.wait_windows(b, 3);
    let numbers: Vec<u64> = windows
        .iter()
        .map(|w| w["window"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2, 3], "each window once: {windows:?}");
    assert!(windows.iter().all(|w| w["rows"] == 20), "{windows:?}");
    assert_eq!(cluster.windows(a).len(), 3, "both replicas see one history");

    // 5. Server A killed: B answers, logs and monitors on its own.
    if let Some(mut server) = cluster.servers[0].take() {
        server.kill();
    }
    let (status, reply) = cluster.infer(b, &wine_rows(2)).unwrap();
    assert_eq!(status, 200, "{reply}");
    let experiment = cluster.json(
        b,
        "GET",
        "/api/2.0/mlflow/experiments/get-by-name?experiment_name=cluster",
        Value::Null,
    );
    let run = cluster.json(
        b,
        "POST",
        "/api/2.0/mlflow/runs/create",
        json!({"experiment_id": experiment["experiment"]["experiment_id"]}),
    );
    let logged_run = run["run"]["info"]["run_id"].as_str().unwrap().to_string();
    cluster.json(
        b,
        "POST",
        "/api/2.0/mlflow/runs/log-metric",
        json!({"run_id": logged_run, "key": "after_a_died", "value": 1.0, "timestamp": 0, "step": 0}),
    );
    for pair in wine_rows(18).chunks(2) {
        let (status, reply) = cluster.infer(b, pair).unwrap();
        assert_eq!(status, 200, "{reply}");
    }
    let windows = cluster.wait_windows(b, 4);
    assert_eq!(windows[3]["window"], 4);
    assert_eq!(windows[3]["rows"], 20);

    // 6. NATS restarts: the workers come back, a job runs, capture goes on.
    cluster.nats.kill();
    cluster.nats = start_nats(&cluster.hosts, nats_binary().unwrap(), dir.path());
    let quick = spec(dir.path(), "quick.toml", 2, "");
    let id = cluster.submit(b, &quick);
    let record = cluster.wait_job(b, &id, |j| {
        matches!(j["status"].as_str(), Some("SUCCEEDED" | "FAILED"))
    });
    assert_eq!(record["status"], "SUCCEEDED", "{record}");
    // Capture is off the request path: records sent while the capture
    // connection is still reconnecting are dropped (and counted). One
    // request of 20 rows, once it is written, closes window 5.
    wait_until("capture after the restart", 90, || {
        let before = cluster.captured(b);
        let (status, reply) = cluster.infer(b, &wine_rows(20)).ok()?;
        assert_eq!(status, 200, "{reply}");
        wait_until("the record written", 10, || {
            (cluster.captured(b) > before).then_some(())
        })
    })
    .unwrap_or_else(|| panic!("capture never resumed\n{}", cluster.logs()));
    let windows = cluster.wait_windows(b, 5);
    let numbers: Vec<u64> = windows
        .iter()
        .map(|w| w["window"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5], "nothing lost or counted twice");

    // 7. A worker's link cut mid-job: the other worker finishes the run;
    // healed, the first one works again.
    let long = spec(dir.path(), "long.toml", epochs, "");
    let id = cluster.submit(b, &long);
    let (lost_run, cut) = cluster.running(&id);
    let host = WORKER_1 + cut;
    cluster.hosts.cut(host, &cluster.workers[cut].child);
    cluster.assert_resumed(&id, &lost_run, epochs as i64, cut);
    cluster.hosts.heal(host, &cluster.workers[cut].child);
    let other = 1 - cut;
    cluster.workers[other].kill();
    let id = cluster.submit(b, &quick);
    let record = cluster.wait_job(b, &id, |j| {
        matches!(j["status"].as_str(), Some("SUCCEEDED" | "FAILED"))
    });
    assert_eq!(
        record["status"],
        "SUCCEEDED",
        "{record}\n{}",
        cluster.logs()
    );
    let run_id = record["run_id"].as_str().unwrap();
    let runner = cluster.run_tag(b, run_id, "smelt.worker").unwrap();
    assert!(
        runner.starts_with(&format!("worker-on-host-{host}-")),
        "the healed worker ran it: {runner}"
    );
    // Its slot free again, the healed worker has let go of the job it lost,
    // leaving the run the other worker finished as it was.
    let run = cluster.json(
        b,
        "GET",
        &format!("/api/2.0/mlflow/runs/get?run_id={lost_run}"),
        Value::Null,
    );
    assert_eq!(run["run"]["info"]["status"], "FINISHED", "{run}");
    let steps = cluster.steps(b, &lost_run);
    assert_eq!(steps.last(), Some(&(epochs as i64)), "{steps:?}");
}
