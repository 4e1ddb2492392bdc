//! Jobs over NATS JetStream: `smelt server --queue` and `smelt worker`
//! processes against a `nats-server` each test starts on its own port and
//! folder (so runs never share streams). A worker SIGKILLed mid-job (the job
//! resumes on another worker, in the same run, no epoch missing), cancel
//! reaching the worker, labels routing jobs, a job that keeps losing its
//! worker failed with the reason, a NATS restart losing no queued job, and
//! local data uploaded once so workers need no shared folder; an autopilot
//! search's fold fits spread over every worker, with the same leaderboard
//! on one worker or three, and a worker lost mid-search costing nothing
//! but its folds in flight.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// `nats-server -js` on a free port with file storage in `dir`; killed when
/// dropped. `None` (the test skips) where the binary is missing, unless
/// `SMELT_REQUIRE_PEERS=1`.
struct Nats {
    child: Child,
    port: u16,
    dir: PathBuf,
    binary: &'static str,
}

impl Nats {
    fn start(dir: &Path) -> Option<Nats> {
        let binary = [
            "nats-server",
            "/usr/sbin/nats-server",
            "/usr/local/bin/nats-server",
        ]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok());
        let Some(binary) = binary else {
            assert!(
                std::env::var("SMELT_REQUIRE_PEERS").as_deref() != Ok("1"),
                "nats-server is required (SMELT_REQUIRE_PEERS=1) but not installed"
            );
            eprintln!("skipping: nats-server is not installed");
            return None;
        };
        let port = free_port();
        Some(Nats {
            child: spawn_nats(binary, dir, port),
            port,
            dir: dir.to_path_buf(),
            binary,
        })
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// SIGKILL and start again on the same port and storage.
    fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn_nats(self.binary, &self.dir, self.port);
    }
}

/// `nats-server -js` on `port` with file storage in `dir`, once it listens.
fn spawn_nats(binary: &str, dir: &Path, port: u16) -> Child {
    std::fs::create_dir_all(dir).unwrap();
    let log = std::fs::File::create(dir.with_extension(format!("nats-{port}.log"))).unwrap();
    let child = Command::new(binary)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(dir)
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("nats-server starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `smelt worker` as a child process; killed when dropped.
struct Worker {
    child: Child,
    log: PathBuf,
}

impl Worker {
    fn start(home: &Path, nats: &Nats, server: &Server, extra: &[&str]) -> Worker {
        let log = home.with_extension(format!(
            "worker-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let out = std::fs::File::create(&log).unwrap();
        let child = smelt_command(home)
            .args([
                "worker",
                "--queue",
                &nats.url(),
                "--server",
                &server.uri(),
                "--ack-wait",
                "3s",
            ])
            .args(extra)
            // Each fold fit is logged at info.
            .env("RUST_LOG", "warn,smelt_cluster=info")
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("smelt worker starts");
        let worker = Worker { child, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !worker.log_text().contains("taking jobs from") {
            assert!(
                Instant::now() < deadline,
                "the worker did not start:\n{}",
                worker.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        worker
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

fn dataset(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../datasets")
        .join(name)
        .display()
        .to_string()
}

/// A wine MLP spec in `dir`, its data beside it (relative paths).
fn write_spec(dir: &Path, name: &str, epochs: usize, hidden: &str, extra: &str) -> PathBuf {
    for file in ["wine.train.csv", "wine.test.csv"] {
        std::fs::copy(dataset(file), dir.join(file)).unwrap();
    }
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "[data]\ntrain = \"wine.train.csv\"\nvalidation_fraction = 0.25\ntest = \"wine.test.csv\"\ntarget = \"target\"\n[model]\nkind = \"mlp\"\nhidden = {hidden}\n[training]\nepochs = {epochs}\nbatch_size = 8\n{extra}[tracking]\nexperiment = \"workers\"\n",
        ),
    )
    .unwrap();
    path
}

fn submit(home: &Path, server: &Server, spec: &Path) -> String {
    smelt_ok(
        home,
        &[
            "jobs",
            "submit",
            spec.to_str().unwrap(),
            "--server",
            &server.uri(),
        ],
    )
    .trim()
    .to_string()
}

fn run(home: &Path, server: &Server, run_id: &str) -> Value {
    smelt_json(
        home,
        &["--tracking-uri", &server.uri(), "runs", "show", run_id],
    )
}

fn history_steps(home: &Path, server: &Server, run_id: &str, key: &str) -> Vec<i64> {
    let points = smelt_json(
        home,
        &[
            "--tracking-uri",
            &server.uri(),
            "runs",
            "history",
            run_id,
            key,
        ],
    );
    let mut steps: Vec<i64> = points
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["step"].as_i64().unwrap())
        .collect();
    steps.sort_unstable();
    steps.dedup();
    steps
}

fn tag(run: &Value, key: &str) -> Option<String> {
    run["data"]["tags"]
        .as_array()?
        .iter()
        .find(|t| t["key"] == key)
        .and_then(|t| t["value"].as_str().map(str::to_string))
}

#[test]
fn a_worker_killed_mid_job_is_replaced_and_the_run_continues() {
    let dir = tempfile::tempdir().unwrap();
    let Some(nats) = Nats::start(&dir.path().join("nats")) else {
        return;
    };
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    // No --data-roots: the job's data reaches the workers only by upload.
    let server = Server::start(&home, &["--queue", &nats.url()]);
    let mut first = Worker::start(&home, &nats, &server, &[]);

    // Long enough that the kill below lands mid-job on any machine.
    let epochs = 120;
    let spec = write_spec(dir.path(), "job.toml", epochs, "[256, 256]", "");
    let out = smelt(
        &home,
        &[
            "jobs",
            "submit",
            spec.to_str().unwrap(),
            "--server",
            &server.uri(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("wine.train.csv: uploaded as mlflow-artifacts:/"),
        "{said}"
    );
    let id = stdout(&out).trim().to_string();
    let record = wait_for_job(&home, &server, &id, |j| {
        j["status"] == "RUNNING" && j["run_id"].is_string()
    });
    let run_id = record["run_id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(300);
    while history_steps(&home, &server, &run_id, "val_accuracy").len() < 3 {
        assert!(
            Instant::now() < deadline,
            "no epochs logged:\n{}",
            first.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let tagged = tag(&run(&home, &server, &run_id), "smelt.worker").unwrap();
    assert!(
        tagged.ends_with(&format!("-{}", first.pid())),
        "{tagged} is not worker {}",
        first.pid()
    );
    // The second worker joins, then the first dies without a word.
    let second = Worker::start(&home, &nats, &server, &[]);
    first.kill();

    let record = wait_for_job(&home, &server, &id, |j| j["status"] == "SUCCEEDED");
    assert_eq!(
        record["run_id"].as_str(),
        Some(run_id.as_str()),
        "the same run"
    );
    assert_eq!(record["attempts"], 2, "{record}");
    let run = run(&home, &server, &run_id);
    assert_eq!(run["info"]["status"], "FINISHED");
    let tagged = tag(&run, "smelt.worker").unwrap();
    assert!(tagged.ends_with(&format!("-{}", second.pid())), "{tagged}");
    let expected: Vec<i64> = (1..=epochs as i64).collect();
    assert_eq!(
        history_steps(&home, &server, &run_id, "val_accuracy"),
        expected,
        "every epoch logged once the run continued"
    );
    let logs = smelt_ok(&home, &["jobs", "logs", &id, "--server", &server.uri()]);
    assert!(logs.contains("attempt 1 started on worker"), "{logs}");
    assert!(
        logs.contains("attempt 2 started on worker") && logs.contains("resuming run"),
        "{logs}"
    );
    assert!(logs.contains(&format!("epoch {epochs}/{epochs}")), "{logs}");

    // The same data again is not uploaded twice.
    let out = smelt(
        &home,
        &[
            "jobs",
            "submit",
            spec.to_str().unwrap(),
            "--server",
            &server.uri(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("wine.train.csv: already on the server"),
        "{}",
        stderr(&out)
    );
    let again = stdout(&out).trim().to_string();
    smelt_ok(
        &home,
        &["jobs", "cancel", &again, "--server", &server.uri()],
    );
}

#[test]
fn cancel_reaches_the_worker_and_labels_route_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let Some(nats) = Nats::start(&dir.path().join("nats")) else {
        return;
    };
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let server = Server::start(&home, &["--queue", &nats.url()]);
    // A second server on the same queue shows the same jobs.
    let home2 = dir.path().join("home2");
    std::fs::create_dir_all(&home2).unwrap();
    let replica = Server::start(&home2, &["--queue", &nats.url()]);
    let _plain = Worker::start(&home, &nats, &server, &[]);

    let long = write_spec(dir.path(), "long.toml", 5000, "[256, 256]", "");
    let id = submit(&home, &server, &long);
    let record = wait_for_job(&home, &server, &id, |j| {
        j["status"] == "RUNNING" && j["run_id"].is_string()
    });
    // Cancelled through the other replica.
    smelt_ok(&home, &["jobs", "cancel", &id, "--server", &replica.uri()]);
    let record2 = wait_for_job(&home, &server, &id, |j| j["status"] == "CANCELLED");
    assert_eq!(record2["run_id"], record["run_id"]);
    let run_id = record["run_id"].as_str().unwrap();
    assert_eq!(run(&home, &server, run_id)["info"]["status"], "KILLED");
    let logs = smelt_ok(&home, &["jobs", "logs", &id, "--server", &replica.uri()]);
    assert!(logs.contains("cancel requested"), "{logs}");
    assert!(
        logs.contains("cancelled; the run is closed as KILLED"),
        "{logs}"
    );

    // A job needing `highmem` waits for a worker that has it.
    let needy = write_spec(
        dir.path(),
        "needy.toml",
        2,
        "[8]",
        "labels = [\"highmem\"]\n",
    );
    let id = submit(&home, &server, &needy);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(job_record(&home, &server, &id)["status"], "QUEUED");
    let big = Worker::start(&home, &nats, &server, &["--labels", "highmem"]);
    wait_for_job(&home, &server, &id, |j| j["status"] == "SUCCEEDED");
    let listed = smelt_json(&home, &["jobs", "list", "--server", &replica.uri()]);
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert!(
        big.log_text().contains("labels: highmem"),
        "{}",
        big.log_text()
    );

    // Bad worker flags are clear errors.
    let out = smelt(
        &home,
        &[
            "worker",
            "--queue",
            &nats.url(),
            "--server",
            &server.uri(),
            "--labels",
            "GPU",
        ],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("'GPU'"), "{}", stderr(&out));
    let out = smelt(
        &home,
        &["worker", "--queue", "http://x:1", "--server", &server.uri()],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("nats://HOST:PORT"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_job_that_keeps_losing_its_worker_fails_and_nats_restarts_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut nats) = Nats::start(&dir.path().join("nats")) else {
        return;
    };
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let server = Server::start(&home, &["--queue", &nats.url()]);

    // Queued with no worker, then NATS restarts: the jobs are still there.
    let quick = write_spec(dir.path(), "quick.toml", 2, "[8]", "");
    let queued: Vec<String> = (0..3).map(|_| submit(&home, &server, &quick)).collect();
    nats.restart();
    let worker = Worker::start(&home, &nats, &server, &[]);
    for id in &queued {
        wait_for_job(&home, &server, id, |j| j["status"] == "SUCCEEDED");
    }
    // A worker that was connected through a restart comes back.
    nats.restart();
    let id = submit_when_up(&home, &server, &quick);
    wait_for_job(&home, &server, &id, |j| j["status"] == "SUCCEEDED");
    drop(worker);

    // A job whose worker dies every time: failed after --max-attempts.
    let long = write_spec(dir.path(), "long.toml", 5000, "[256, 256]", "");
    let id = submit(&home, &server, &long);
    for attempt in 1..=2 {
        let mut doomed = Worker::start(&home, &nats, &server, &["--max-attempts", "2"]);
        wait_for_job(&home, &server, &id, |j| {
            j["status"] == "RUNNING" && j["attempts"] == attempt
        });
        doomed.kill();
    }
    let _last = Worker::start(&home, &nats, &server, &["--max-attempts", "2"]);
    let record = wait_for_job(&home, &server, &id, |j| j["status"] == "FAILED");
    let error = record["error"].as_str().unwrap();
    assert!(
        error.contains("started 2 times") && error.contains("worker was lost"),
        "{error}"
    );
}

/// Submits once the server's queue connection is back after a restart
/// (a 503 in between is what a client sees while NATS is away).
fn submit_when_up(home: &Path, server: &Server, spec: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = smelt(
            home,
            &[
                "jobs",
                "submit",
                spec.to_str().unwrap(),
                "--server",
                &server.uri(),
            ],
        );
        if out.status.success() {
            return stdout(&out).trim().to_string();
        }
        assert!(
            Instant::now() < deadline,
            "the server never queued again: {}",
            stderr(&out)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An autopilot search on the server, through `smelt autopilot --server`;
/// answers the finished job's record.
fn autopilot_job(home: &Path, server: &Server, dir: &Path) -> Value {
    std::fs::copy(dataset("wine.train.csv"), dir.join("wine.train.csv")).unwrap();
    let id = smelt_ok(
        home,
        &[
            "autopilot",
            "--data",
            dir.join("wine.train.csv").to_str().unwrap(),
            "--target",
            "target",
            "--max-trials",
            "12",
            "--seed",
            "11",
            "--time-budget",
            "600",
            "--learners",
            "gaussian_nb,logistic_regression,gbdt",
            "--server",
            &server.uri(),
            "--quiet",
        ],
    )
    .trim()
    .to_string();
    wait_for_job(home, server, &id, |j| {
        matches!(j["status"].as_str(), Some("SUCCEEDED" | "FAILED"))
    })
}

/// What a leaderboard decided (not how long it took).
fn decisions(home: &Path, server: &Server, record: &Value) -> Value {
    assert_eq!(
        record["status"],
        "SUCCEEDED",
        "{record}\n{}",
        server.log_text()
    );
    let run_id = record["run_id"].as_str().unwrap();
    let board = smelt_json(
        home,
        &[
            "autopilot",
            "leaderboard",
            run_id,
            "--tracking-uri",
            &server.uri(),
        ],
    );
    let entries: Vec<Value> = board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            serde_json::json!({
                "rank": e["rank"], "model": e["model"], "learner": e["learner"],
                "score": e["score"], "params": e["params"],
            })
        })
        .collect();
    serde_json::json!({
        "started": board["trials_started"], "complete": board["trials_complete"],
        "pruned": board["trials_pruned"], "failed": board["trials_failed"],
        "entries": entries,
    })
}

/// Fold fits a worker's log shows.
fn folds_fitted(worker: &Worker) -> usize {
    worker.log_text().matches("fold fitted").count()
}

#[test]
fn autopilot_folds_spread_over_workers_with_one_leaderboard() {
    let dir = tempfile::tempdir().unwrap();
    let Some(nats) = Nats::start(&dir.path().join("nats")) else {
        return;
    };
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let server = Server::start(&home, &["--queue", &nats.url()]);
    let one = [Worker::start(&home, &nats, &server, &["--fold-slots", "1"])];
    let alone = decisions(&home, &server, &autopilot_job(&home, &server, dir.path()));
    assert_eq!(alone["started"], 12, "{alone}");
    assert!(folds_fitted(&one[0]) > 0, "{}", one[0].log_text());

    // Three workers: the folds spread, the leaderboard is the same.
    let mut more = [
        Worker::start(&home, &nats, &server, &["--fold-slots", "1"]),
        Worker::start(&home, &nats, &server, &["--fold-slots", "1"]),
    ];
    let three = decisions(&home, &server, &autopilot_job(&home, &server, dir.path()));
    assert_eq!(three, alone);
    assert!(
        more.iter().any(|w| folds_fitted(w) > 0),
        "the new workers fitted folds too"
    );

    // A worker killed mid-search costs only its folds in flight: the search
    // ends as it would have.
    let before: Vec<usize> = more.iter().map(folds_fitted).collect();
    let job = std::thread::scope(|scope| {
        let running = scope.spawn(|| autopilot_job(&home, &server, dir.path()));
        let deadline = Instant::now() + Duration::from_secs(120);
        // Kill the first worker seen fitting a fold of this search.
        let victim = loop {
            if let Some(i) = (0..more.len()).find(|&i| folds_fitted(&more[i]) > before[i]) {
                break Some(i);
            }
            if running.is_finished() || Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let victim = victim.expect("a second worker fitted folds of the search");
        more[victim].kill();
        running.join().unwrap()
    });
    let survived = decisions(&home, &server, &job);
    assert_eq!(survived, alone);
}
