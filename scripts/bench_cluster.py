#!/usr/bin/env python3
"""Scale-out benchmark: capture sinks, tracking writes on PostgreSQL, autopilot over workers.

Reproduce (each mode measures Smelt and its comparison peer in the same run):

    python3 scripts/bench_cluster.py capture   [--smelt target/release/smelt] [--duration 20] [--out DIR]
    python3 scripts/bench_cluster.py tracking  [--smelt …] [--duration 20] [--out DIR]
    python3 scripts/bench_cluster.py autopilot [--smelt …] [--time-budget 30] [--fold-slots N] [--out DIR]
    python3 scripts/bench_cluster.py all       [...]

Needs: a smelt binary (--smelt, else $SMELT_BIN, else target/release/smelt, target/debug/smelt);
wrk (installed with apt-get when missing); nats-server 2.9+ on PATH or /usr/sbin (capture,
autopilot); PostgreSQL at 127.0.0.1:5432 with trust auth for user postgres, and createdb/dropdb
(tracking). The tracking peer runs from the venv ~/.cache/smelt/mlflow-pg-venv, created on first
use by scripts/bench_venv.py with mlflow==3.17.2 and psycopg2-binary under
scripts/constraints/mlflow-postgres.txt (exact versions; a few minutes once). The harness itself
uses only the standard library. Every process it starts runs in its own session and is stopped
(SIGTERM to its process group, SIGKILL after 10 s) when its case ends, and again at exit, on
error or Ctrl-C; every database it creates is dropped at the end.

Every case gets fresh processes: its own SMELT_HOME (and working folder) in OUT/work/, its own
nats-server where it needs one (`-js`, free ports, storage in OUT/work/), its own PostgreSQL
database where it needs one (smeltbench_<pid>_<case>). capture and tracking load comes from wrk on
the same machine (loopback): -t2 -c8, keep-alive, --latency, a 3 s warm-up with the same settings
(its requests are not counted), then --duration seconds measured. From wrk's output:
req/s = "Requests/sec"; p50, p99 = its latency percentiles; errors = non-2xx/3xx answers +
socket errors (connect, read, write, timeout), always reported.

capture: `smelt server` (SQLite store) with endpoint `bc` over models:/bc/1, a logistic regression
  trained by `smelt train --register bc` on datasets/breast_cancer.train.csv through the server.
  Single-row POSTs to /endpoints/bc/invocations (dataframe_split, the first row of
  breast_cancer.test.csv). Three cases: off (--capture-percent 0), jsonl (100 %, JSON-lines files
  under --capture-dir), jetstream (100 %, server started with --capture-sink nats://…).
  Before load the endpoint must answer 200 with one prediction. From /metrics, read 1 s after the
  warm-up and 2 s after the measured run (so every record of the measured requests is counted
  once): written/s = Δ smelt_serving_capture_records_total{outcome="written"} / duration;
  dropped = Δ …{outcome="dropped"}; captured share = (written + dropped) / Δ
  smelt_serving_requests_total{status="200"} (1.0 at 100 %). stored = lines in the JSON-lines
  files, which must equal every record written, or messages in the SMELT_CAPTURE_bc stream
  (nats-server's /jsz; a message is a batch of records as JSON lines, so there must be at least
  one and no more than records written; records per message is reported). p99 / off = the case's p99 over the off case's (goal <= 1.10).
tracking: POST /api/2.0/mlflow/runs/log-metric (key "loss", step 1, 2, … per wrk thread), each wrk
  thread writing to its own run created beforehand (a new set of runs for the measured run).
  Cases: smelt (one `smelt server --backend-store-uri postgresql://…`), smelt x2 (two replicas
  on one database, started one after the other; one wrk -t1 -c4 against each at the same time, so
  the total is still 2 threads and 8 connections; writes/s = the sum, p50/p99 = the worse of the
  two), mlflow (`mlflow server --backend-store-uri postgresql+psycopg2://… --workers 2
  --default-artifact-root DIR`, MLflow 3.17.2, uvicorn; +psycopg2 because SQLAlchemy 2.1 reads a
  plain postgresql:// as psycopg 3). Before load one write must answer 200 and
  be readable through runs/get (for two replicas: written through one, read through the other).
  After the run, stored = points in metrics/get-history of the measured runs, which must be at
  least the 2xx answers. Ratios: Smelt writes/s over MLflow's (goal >= 30). On a 2-core machine
  the server(s), PostgreSQL and wrk share the cores: smelt x2 shows what a second process on the
  same database costs or gains on this machine, not what a second machine would add.
autopilot: one search of breast_cancer (target `target`, time_budget_s 30, seed 0) submitted as
  an [autopilot] spec over POST /api/2.0/smelt/jobs, the CSV uploaded once to the server's
  artifact store (mlflow-artifacts:/0/datasets/bench/bc.csv). Cases: local (`smelt server
  --job-workers 1`: fold fits on the job's own threads), queue-1w and queue-2w (`smelt server
  --queue nats://…` with 1 or 2 `smelt worker`, RUST_LOG=warn,smelt_cluster=info, default
  --fold-slots unless --fold-slots is given). The job must end SUCCEEDED. trials started /
  complete = trials_started / trials_complete of `smelt autopilot leaderboard RUN --json`; search
  s = the job record's finished_at - started_at; trials/s = trials complete / search s; folds per
  worker = lines containing "fold fitted" in each worker's log.

Output: a markdown table per mode on stdout and in OUT/cluster.md, one JSON line per case on
stdout, everything in OUT/results.json, wrk's raw output in OUT/raw/, every process's log in
OUT/logs/. The machine (nproc, CPU model, load), date and versions head the report.
"""

import argparse
import csv
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_venv  # noqa: E402  (scripts/, beside this file)
from bench_serving import ensure_wrk, parse_wrk  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TRAIN_CSV = ROOT / "datasets" / "breast_cancer.train.csv"
TEST_CSV = ROOT / "datasets" / "breast_cancer.test.csv"
TARGET = "target"

WARMUP_S = 3
THREADS, CONNS = 2, 8
ENDPOINT = "bc"
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
MLFLOW_VENV = Path.home() / ".cache" / "smelt" / "mlflow-pg-venv"
MLFLOW_REQUIREMENTS = ["mlflow==3.17.2", "psycopg2-binary==2.9.13"]
MLFLOW_CONSTRAINTS = "mlflow-postgres.txt"
METRIC_KEY = "loss"
HISTORY_PAGE = 25_000
CAPTURE_GOAL_P99 = 1.10
TRACKING_GOAL = 30.0

# wrk: POST the JSON body in file $BENCH_BODY to path $BENCH_PATH.
POST_LUA = """\
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH")
wrk.body = f:read("*a")
wrk.headers["Content-Type"] = "application/json"
f:close()
"""

# wrk: runs/log-metric, each thread to its own run ($BENCH_RUNS: one run id per thread, comma
# separated), step 1, 2, … per thread; the timestamp is the thread's start (ms) + step, so no two
# points of a run are alike.
LOG_METRIC_LUA = """\
local runs = {}
for id in string.gmatch(os.getenv("BENCH_RUNS") or "", "[^,]+") do runs[#runs + 1] = id end
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("run_id", runs[threads])
end
function init(args)
  step = 0
  t0 = os.time() * 1000
  headers = {["Content-Type"] = "application/json"}
end
function request()
  step = step + 1
  local body = string.format('{"run_id":"%s","key":"loss","value":%.6f,"timestamp":%d,"step":%d}',
                             run_id, 1 / step, t0 + step, step)
  return wrk.format("POST", "/api/2.0/mlflow/runs/log-metric", headers, body)
end
"""


# ---------------------------------------------------------------- shared helpers


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, raw=None, content_type="application/json", timeout=60):
    """One request; (status, body bytes), status 0 when nothing answered."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, socket.timeout, OSError):
        return 0, b""


def call(base, method, path, body=None, raw=None, content_type="application/json"):
    """A JSON API call that must answer 2xx; its decoded answer."""
    status, text = http(method, base + path, body, raw, content_type)
    if not 200 <= status < 300:
        raise RuntimeError(f"{method} {path} answered {status}: {text[:300]!r}")
    return json.loads(text) if text else None


class Session:
    """The processes and databases of one benchmark run, and its output folder.

    Every process starts in its own session (its pid is its process group), so stopping one
    stops its children too (mlflow's uvicorn workers)."""

    def __init__(self, out, smelt):
        self.out = out
        self.smelt = smelt
        self.procs = []
        self.databases = []
        for sub in ("logs", "raw", "work"):
            (out / sub).mkdir(parents=True, exist_ok=True)

    def folder(self, name):
        path = self.out / "work" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def log_path(self, name):
        return self.out / "logs" / f"{name}.log"

    def start(self, name, argv, env, log_path=None, cwd=None):
        path = log_path or self.log_path(name)
        with open(path, "wb") as f:
            proc = subprocess.Popen([str(a) for a in argv], env=env, stdout=f, stderr=subprocess.STDOUT,
                                    start_new_session=True, cwd=cwd or ROOT)
        proc.name, proc.log = name, path
        self.procs.append(proc)
        return proc

    def stop(self, proc, grace_s=10.0):
        """SIGTERM proc's process group, SIGKILL after grace_s; reaped and forgotten."""
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                pass
        if group_alive(proc.pid):  # the process, or children it left in its group
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log(f"{proc.name} (pid {proc.pid}) did not exit after SIGKILL")
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self):
        for proc in reversed(list(self.procs)):
            self.stop(proc)

    def createdb(self, case, scheme="postgresql"):
        """A fresh database for a case; its URI with this scheme."""
        name = f"smeltbench_{os.getpid()}_{re.sub(r'[^a-z0-9]', '_', case.lower())}"
        pg(["dropdb", "--if-exists", "--force", name])
        pg(["createdb", name])
        self.databases.append(name)
        return f"{scheme}://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"

    def drop_databases(self):
        for name in self.databases:
            try:
                pg(["dropdb", "--if-exists", "--force", name])
            except Exception as e:  # keep dropping the others
                log(f"dropdb {name} failed: {e}")
        self.databases = []


def group_alive(pgid):
    """Whether any process is still in process group pgid (then the id cannot have been reused)."""
    out = subprocess.run(["ps", "-e", "-o", "pgid="], capture_output=True, text=True).stdout
    return any(int(g) == pgid for g in out.split())


def pg(argv):
    """A PostgreSQL client command (createdb, dropdb, psql) against the benchmark's server."""
    out = subprocess.run([argv[0], "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, *argv[1:]],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {out.stderr.strip()}")
    return out.stdout


def log_tail(proc, chars=2000):
    try:
        return Path(proc.log).read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def wait_http(url, proc, timeout=180):
    """Poll GET url until 200; fail with the process's log when it exits first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if http("GET", url, timeout=2)[0] == 200:
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.name} exited ({proc.returncode}) before {url} answered:\n{log_tail(proc)}")
        time.sleep(0.1)
    raise RuntimeError(f"{url} never answered 200 within {timeout} s; see {proc.log}")


def wait_log(proc, text, timeout=120):
    """Wait until proc's log contains text."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if text in Path(proc.log).read_text(errors="replace"):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.name} exited ({proc.returncode}):\n{log_tail(proc)}")
        time.sleep(0.1)
    raise RuntimeError(f"{proc.name} never logged {text!r}; see {proc.log}")


def smelt_env(home, rust_log="warn"):
    """The environment of a smelt process: no SMELT_*/MLFLOW_* from outside, its own SMELT_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMELT_", "MLFLOW_"))}
    env.update(SMELT_HOME=str(home), RUST_LOG=rust_log)
    return env


def smelt_cli(sess, home, *args, timeout=300):
    """Run a smelt command to the end (in home); its stdout (it must succeed)."""
    out = subprocess.run([sess.smelt, *map(str, args)], env=smelt_env(home), cwd=home,
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"smelt {' '.join(map(str, args))} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return out.stdout


def json_output(text):
    """The JSON document a `smelt --json` command printed (anything before its first '{' skipped)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return json.loads(text[text.index("{"):])


def start_smelt_server(sess, name, args, home):
    """`smelt server` on a free port, SMELT_HOME and working folder home; (base URL, process) once
    /health is 200."""
    port = free_port()
    proc = sess.start(name, [sess.smelt, "server", "--port", port, *args], smelt_env(home), cwd=home)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/health", proc)
    return base, proc


def start_nats(sess, name):
    """A fresh `nats-server -js` (storage in OUT/work/name); (nats URL, monitoring URL, process)."""
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    port, monitor = free_port(), free_port()
    proc = sess.start(name, [binary, "-a", "127.0.0.1", "-p", port, "-m", monitor, "-js",
                             "-sd", sess.folder(name)], dict(os.environ))
    monitor_url = f"http://127.0.0.1:{monitor}"
    wait_http(monitor_url + "/healthz", proc, timeout=30)
    return f"nats://127.0.0.1:{port}", monitor_url, proc


def write_file(path, text):
    path.write_text(text)
    return path


def wrk_start(sess, tag, url, script, env, threads, conns, duration):
    """Start wrk (its output to OUT/raw/tag.txt); pass the result to wrk_finish."""
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--latency", "-s", script, url]
    proc = sess.start(f"wrk-{tag}", cmd, dict(os.environ, **env), log_path=sess.out / "raw" / f"{tag}.txt")
    return proc, duration


def wrk_finish(sess, started):
    """Wait for a wrk started by wrk_start; its parsed numbers (parse_wrk of bench_serving.py)."""
    proc, duration = started
    try:
        proc.wait(timeout=duration + 60)
    except subprocess.TimeoutExpired:
        sess.stop(proc)
        raise RuntimeError(f"wrk did not finish within {duration + 60} s")
    sess.stop(proc)
    text = Path(proc.log).read_text(errors="replace")
    if proc.returncode != 0 or "Requests/sec" not in text:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {text[-800:]}")
    result = parse_wrk(text)
    return {k: result[k] for k in ("req_s", "p50_ms", "p90_ms", "p99_ms", "requests", "non_2xx", "errors")}


def wrk_run(sess, tag, url, script, env, threads, conns, duration):
    return wrk_finish(sess, wrk_start(sess, tag, url, script, env, threads, conns, duration))


def prom_sum(text, name, **labels):
    """Sum of the samples of metric `name` in Prometheus text whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        m = re.match(r"([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if all(got.get(k) == str(v) for k, v in labels.items()):
            total += float(m.group(3))
    return total


def capture_counters(base):
    """(written, dropped, served 200) of endpoint bc, from the server's /metrics."""
    status, text = http("GET", base + "/metrics")
    if status != 200:
        raise RuntimeError(f"GET /metrics answered {status}")
    text = text.decode()
    count = lambda outcome: prom_sum(text, "smelt_serving_capture_records_total", endpoint=ENDPOINT, outcome=outcome)
    served = prom_sum(text, "smelt_serving_requests_total", endpoint=ENDPOINT, status="200")
    return count("written"), count("dropped"), served


def jsonl_lines(folder):
    """Lines in every .jsonl file under folder."""
    total = 0
    for path in Path(folder).rglob("*.jsonl"):
        with open(path, "rb") as f:
            total += sum(1 for line in f if line.strip())
    return total


def stream_messages(monitor_url, prefix="SMELT_CAPTURE_"):
    """Messages in the JetStream streams whose name starts with prefix (nats-server's /jsz)."""
    status, text = http("GET", monitor_url + "/jsz?accounts=true&streams=true")
    if status != 200:
        raise RuntimeError(f"nats /jsz answered {status}")
    total = 0
    for account in json.loads(text).get("account_details") or []:
        for stream in account.get("stream_detail") or []:
            if stream.get("name", "").startswith(prefix):
                total += stream.get("state", {}).get("messages", 0)
    return total


def one_row_body(out):
    """The dataframe_split body with the first test row of breast_cancer (as bench_serving.py's)."""
    with open(TEST_CSV, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        row = next(reader)
    keep = [i for i, name in enumerate(header) if name != TARGET]
    body = {"dataframe_split": {"columns": [header[i] for i in keep], "data": [[float(row[i]) for i in keep]]}}
    path = out / "body1.json"
    path.write_text(json.dumps(body, separators=(",", ":")))
    return path


def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def goal(met):
    """' (met)' or ' (MISSED)' after a ratio with a goal; nothing without one."""
    return {True: " (met)", False: " (MISSED)"}.get(met, "")


def short(text, chars=160):
    """One line of at most chars characters (an error in a table cell)."""
    text = " ".join(str(text).split())
    return text if len(text) <= chars else text[:chars - 1] + "…"


def fmt(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# ---------------------------------------------------------------- capture


def capture_case(sess, opts, name, percent, sink):
    """One endpoint under single-row load with capture off (percent 0), to files or to JetStream."""
    home = sess.folder(name)
    args, nats = [], None
    if sink == "jetstream":
        nats_url, monitor_url, nats = start_nats(sess, f"{name}-nats")
        args += ["--capture-sink", nats_url]
    else:
        args += ["--capture-dir", home / "capture"]
    record = {"mode": "capture", "case": name, "capture_percent": percent, "sink": sink}
    procs = [nats] if nats else []
    try:
        base, server = start_smelt_server(sess, name, args, home)
        procs.append(server)
        trained = json_output(smelt_cli(sess, home, "--json", "--tracking-uri", base, "train", "--data", TRAIN_CSV,
                                       "--target", TARGET, "--model", "logistic_regression", "--register", ENDPOINT,
                                       "--quiet"))
        version = trained.get("registered_version") or "1"
        smelt_cli(sess, home, "endpoints", "create", ENDPOINT, "--variant", f"models:/{ENDPOINT}/{version}",
                  "--capture-percent", percent, "--server", base)
        path = f"/endpoints/{ENDPOINT}/invocations"
        body = one_row_body(sess.out)
        status, answer = http("POST", base + path, raw=body.read_bytes())
        if status != 200 or len(json.loads(answer).get("predictions", [])) != 1:
            raise RuntimeError(f"POST {path} answered {status}: {answer[:300]!r}")
        script = write_file(sess.out / "post.lua", POST_LUA)
        env = {"BENCH_BODY": str(body), "BENCH_PATH": path}
        threads, conns = opts.capture_load
        wrk_run(sess, f"{name}-warmup", base, script, env, threads, conns, WARMUP_S)
        time.sleep(1)  # warm-up records leave the capture queue
        before = capture_counters(base)
        run = wrk_run(sess, name, base, script, env, threads, conns, opts.duration)
        time.sleep(2)  # the measured requests' records are written or dropped
        after = capture_counters(base)
        written, dropped, served = (a - b for a, b in zip(after, before))
        record.update(run)
        record.update(written=int(written), dropped=int(dropped), served_200=int(served),
                      written_per_s=round(written / opts.duration, 1))
        if percent:
            record["captured_share"] = ratio(written + dropped, served)
            written_all = int(after[0])
            if sink == "jetstream":
                # A message holds a batch of records (JSON lines): there are
                # fewer messages than records, and at least one.
                stored = stream_messages(monitor_url)
                consistent = 0 < stored <= written_all
                record["records_per_message"] = round(written_all / stored, 1) if stored else None
            else:
                stored = jsonl_lines(home / "capture")
                consistent = stored == written_all
            record.update(stored=stored, written_all=written_all, stored_matches_written=consistent)
            if not consistent:
                log(f"{name}: {stored} stored, but the server counted {written_all} records written")
    finally:
        for proc in reversed(procs):
            sess.stop(proc)
    return record


def run_capture(sess, opts):
    cases = [("capture-off", 0, "jsonl"), ("capture-jsonl", 100, "jsonl"), ("capture-jetstream", 100, "jetstream")]
    records = [attempt(capture_case, sess, opts, *case) for case in cases]
    off = records[0].get("p99_ms")
    for r in records[1:]:
        r["p99_vs_off"] = ratio(r.get("p99_ms"), off)
        r["p99_goal_met"] = r["p99_vs_off"] <= CAPTURE_GOAL_P99 if r["p99_vs_off"] is not None else None
    return records


def stored_cell(r):
    mark = "" if r["stored_matches_written"] else " (MISMATCH)"
    return f"{fmt(r['stored'])} / {fmt(r['written_all'])}{mark}"


def capture_table(records):
    out = ["| case | req/s | p50 ms | p99 ms | p99 / off | written/s | dropped | captured share | stored / written | errors |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        if r.get("error"):
            out.append(f"| {r['case']} | FAILED: {short(r['error'])} |||||||||")
            continue
        p = r["capture_percent"]
        out.append(f"| {r['case']} | {fmt(r['req_s'])} | {fmt(r['p50_ms'], 3)} | {fmt(r['p99_ms'], 3)} | "
                   f"{fmt(r.get('p99_vs_off'), 3)}{goal(r.get('p99_goal_met'))} | "
                   f"{fmt(r['written_per_s']) if p else '-'} | {fmt(r['dropped']) if p else '-'} | "
                   f"{fmt(r.get('captured_share'), 3)} | "
                   f"{stored_cell(r) if p else '-'} | {r['errors']} |")
    out.append("")
    out.append(f"p99 / off: the goal is <= {CAPTURE_GOAL_P99:.2f}. written/s, dropped, captured share: the measured "
               "run's records. stored / written: records in the files (lines) or the stream (messages) against "
               "every record the server counted written since it started; they must be equal.")
    return out


# ---------------------------------------------------------------- tracking


def create_runs(base, experiment_id, count):
    now = int(time.time() * 1000)
    return [call(base, "POST", "/api/2.0/mlflow/runs/create",
                 {"experiment_id": experiment_id, "start_time": now})["run"]["info"]["run_id"]
            for _ in range(count)]


def history_points(base, run_id):
    """Points of metric METRIC_KEY of a run, through metrics/get-history, page by page."""
    total, token = 0, None
    while True:
        query = {"run_id": run_id, "metric_key": METRIC_KEY, "max_results": HISTORY_PAGE}
        if token:
            query["page_token"] = token
        page = call(base, "GET", "/api/2.0/mlflow/metrics/get-history?" + urllib.parse.urlencode(query))
        total += len(page.get("metrics", []))
        token = page.get("next_page_token")
        if not token:
            return total


def measure_writes(sess, opts, name, bases):
    """log-metric load against every base at once (threads and connections split among them)."""
    threads, conns = max(THREADS // len(bases), 1), max(CONNS // len(bases), 1)
    experiment = call(bases[0], "POST", "/api/2.0/mlflow/experiments/create",
                      {"name": f"bench-cluster-{int(time.time())}"})["experiment_id"]
    # Correctness first: one write answers 200 and is readable (through the other replica).
    check_run = create_runs(bases[0], experiment, 1)[0]
    call(bases[0], "POST", "/api/2.0/mlflow/runs/log-metric",
         {"run_id": check_run, "key": METRIC_KEY, "value": 0.5, "timestamp": int(time.time() * 1000), "step": 0})
    metrics = call(bases[-1], "GET", f"/api/2.0/mlflow/runs/get?run_id={check_run}")["run"]["data"].get("metrics", [])
    if not any(m["key"] == METRIC_KEY for m in metrics):
        raise RuntimeError(f"a metric written through {bases[0]} is not in runs/get through {bases[-1]}")
    script = write_file(sess.out / "log_metric.lua", LOG_METRIC_LUA)

    def load(tag, duration):
        runs = {base: create_runs(base, experiment, threads) for base in bases}
        started = [wrk_start(sess, f"{tag}-{i}", base, script, {"BENCH_RUNS": ",".join(runs[base])},
                             threads, conns, duration) for i, base in enumerate(bases)]
        return runs, [wrk_finish(sess, s) for s in started]

    load(f"{name}-warmup", WARMUP_S)
    runs, results = load(name, opts.duration)
    ok = sum(r["requests"] - r["non_2xx"] for r in results)
    stored = 0
    for _ in range(20):  # stored points must reach the 2xx answers (wait up to 10 s for late writes)
        stored = sum(history_points(bases[0], run) for ids in runs.values() for run in ids)
        if stored >= ok:
            break
        time.sleep(0.5)
    return {
        "mode": "tracking", "case": name, "replicas": len(bases), "wrk": f"{len(bases)} x -t{threads} -c{conns}",
        "writes_per_s": round(sum(r["req_s"] for r in results), 1),
        "p50_ms": max(r["p50_ms"] for r in results), "p99_ms": max(r["p99_ms"] for r in results),
        "requests": sum(r["requests"] for r in results), "ok_2xx": ok,
        "non_2xx": sum(r["non_2xx"] for r in results), "errors": sum(r["errors"] for r in results),
        "stored": stored, "stored_all_2xx": stored >= ok, "per_replica": results,
    }


def tracking_smelt(sess, opts, name, replicas):
    db = sess.createdb(name)
    artifacts = sess.folder(f"{name}-artifacts")
    procs, bases = [], []
    try:
        for i in range(replicas):  # one after the other: the first creates the schema
            base, proc = start_smelt_server(sess, f"{name}-{i}", ["--backend-store-uri", db,
                                                                   "--artifacts-destination", artifacts],
                                            sess.folder(f"{name}-{i}"))
            procs.append(proc)
            bases.append(base)
        return measure_writes(sess, opts, name, bases)
    finally:
        for proc in reversed(procs):
            sess.stop(proc)


def mlflow_python():
    return bench_venv.ensure(MLFLOW_VENV, MLFLOW_REQUIREMENTS, MLFLOW_CONSTRAINTS, timeout=1800)


def tracking_mlflow(sess, opts, name):
    python = mlflow_python()
    # SQLAlchemy 2.1 reads plain postgresql:// as psycopg 3; the peer venv has psycopg2.
    db = sess.createdb(name, "postgresql+psycopg2")
    port = free_port()
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true",
               PATH=f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    for key in [k for k in env if k.startswith("MLFLOW_TRACKING") or k.startswith("SMELT_")]:
        env.pop(key)
    proc = sess.start(name, [python.parent / "mlflow", "server", "--backend-store-uri", db, "--default-artifact-root",
                             sess.folder(f"{name}-artifacts"), "--host", "127.0.0.1", "--port", port,
                             "--workers", "2"], env, cwd=sess.folder(name))
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/health", proc)
        return measure_writes(sess, opts, name, [base])
    finally:
        sess.stop(proc)


def run_tracking(sess, opts):
    try:
        mlflow_python()  # install the peer before anything is measured
    except Exception as e:  # the mlflow case reports it; the smelt cases still run
        log(f"cannot install the MLflow venv: {e}")
    records = [attempt(tracking_smelt, sess, opts, "smelt", 1),
               attempt(tracking_smelt, sess, opts, "smelt-x2", 2),
               attempt(tracking_mlflow, sess, opts, "mlflow")]
    mlflow = records[2].get("writes_per_s")
    for r in records[:2]:
        r["vs_mlflow"] = ratio(r.get("writes_per_s"), mlflow)
        r["goal_met"] = r["vs_mlflow"] >= TRACKING_GOAL if r["vs_mlflow"] is not None else None
    return records


def tracking_table(records):
    out = ["| case | wrk | writes/s | p50 ms | p99 ms | × MLflow | 2xx | stored | errors |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        if r.get("error"):
            out.append(f"| {r['case']} | FAILED: {short(r['error'])} |||||||")
            continue
        out.append(f"| {r['case']} | {r['wrk']} | {fmt(r['writes_per_s'])} | {fmt(r['p50_ms'], 3)} | "
                   f"{fmt(r['p99_ms'], 3)} | {fmt(r.get('vs_mlflow'), 1)}{goal(r.get('goal_met'))} | {fmt(r['ok_2xx'])} | "
                   f"{fmt(r['stored'])}{'' if r['stored_all_2xx'] else ' (SHORT)'} | {r['errors']} |")
    out.append("")
    out.append(f"× MLflow: Smelt's writes/s over MLflow's (goal >= {TRACKING_GOAL:.0f}); stored: metric points "
               "read back through get-history, at least the 2xx answers. On a 2-core machine the replicas, "
               "PostgreSQL and wrk share the same cores.")
    return out


# ---------------------------------------------------------------- autopilot


def autopilot_spec(budget):
    return (f'[autopilot]\ntrain = "mlflow-artifacts:/0/datasets/bench/bc.csv"\ntarget = "{TARGET}"\n'
            f"time_budget_s = {float(budget)}\nseed = 0\n")


def wait_job(base, job_id, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = call(base, "GET", f"/api/2.0/smelt/jobs/{job_id}")["job"]
        if job["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return job
        time.sleep(0.5)
    raise RuntimeError(f"job {job_id} did not finish within {timeout} s")


def autopilot_case(sess, opts, name, workers):
    """One search through the local executor (workers 0) or through NATS to `workers` workers."""
    home = sess.folder(name)
    procs, worker_procs = [], []
    try:
        if workers:
            nats_url, _, nats = start_nats(sess, f"{name}-nats")
            procs.append(nats)
            args = ["--queue", nats_url]
        else:
            args = ["--job-workers", "1"]
        base, server = start_smelt_server(sess, name, args, home)
        procs.append(server)
        for i in range(workers):
            argv = [sess.smelt, "worker", "--queue", nats_url, "--server", base]
            if opts.fold_slots is not None:
                argv += ["--fold-slots", opts.fold_slots]
            worker_home = sess.folder(f"{name}-worker{i}")
            proc = sess.start(f"{name}-worker{i}", argv, smelt_env(worker_home, "warn,smelt_cluster=info"),
                              cwd=worker_home)
            procs.append(proc)
            worker_procs.append(proc)
        for proc in worker_procs:
            wait_log(proc, "taking jobs from")
        call(base, "PUT", "/api/2.0/mlflow-artifacts/artifacts/0/datasets/bench/bc.csv",
             raw=TRAIN_CSV.read_bytes(), content_type="text/csv")
        job_id = call(base, "POST", "/api/2.0/smelt/jobs", {"spec": autopilot_spec(opts.time_budget)})["job"]["job_id"]
        job = wait_job(base, job_id, opts.time_budget + 600)
        if job["status"] != "SUCCEEDED":
            raise RuntimeError(f"job {job_id} ended {job['status']}: {job.get('error')}")
        board = json_output(smelt_cli(sess, home, "--json", "autopilot", "leaderboard", job["run_id"],
                                     "--tracking-uri", base))
        search_s = (job["finished_at"] - job["started_at"]) / 1000
        folds = [Path(p.log).read_text(errors="replace").count("fold fitted") for p in worker_procs]
        return {
            "mode": "autopilot", "case": name, "workers": workers, "job_id": job_id, "run_id": job["run_id"],
            "status": job["status"], "attempts": job.get("attempts"),
            "trials_started": board["trials_started"], "trials_complete": board["trials_complete"],
            "search_s": round(search_s, 2),
            "trials_per_s": round(board["trials_complete"] / search_s, 2) if search_s > 0 else None,
            "folds_per_worker": folds if workers else None,
            "best_model": (board.get("entries") or [{}])[0].get("model"),
        }
    finally:
        for proc in reversed(procs):
            sess.stop(proc)


def run_autopilot(sess, opts):
    return [attempt(autopilot_case, sess, opts, "autopilot-local", 0),
            attempt(autopilot_case, sess, opts, "autopilot-queue-1w", 1),
            attempt(autopilot_case, sess, opts, "autopilot-queue-2w", 2)]


def autopilot_table(records):
    out = ["| case | trials started | trials complete | search s | trials/s | fold fits per worker |",
           "|---|---|---|---|---|---|"]
    for r in records:
        if r.get("error"):
            out.append(f"| {r['case']} | FAILED: {short(r['error'])} |||||")
            continue
        folds = " + ".join(str(n) for n in r["folds_per_worker"]) if r["folds_per_worker"] else "-"
        out.append(f"| {r['case']} | {fmt(r['trials_started'])} | {fmt(r['trials_complete'])} | "
                   f"{fmt(r['search_s'], 2)} | {fmt(r['trials_per_s'], 2)} | {folds} |")
    out.append("")
    out.append("search s: the job's finished_at - started_at (the whole job: search, refit, saving); "
               "trials/s: trials complete / search s.")
    return out


# ---------------------------------------------------------------- main


def attempt(case, sess, opts, *args):
    """A case's record, or {case, error} when it failed (the other cases still run)."""
    name = args[0] if args and isinstance(args[0], str) else case.__name__
    log(f"{name}: starting")
    try:
        record = case(sess, opts, *args)
    except Exception as e:
        log(f"{name}: FAILED: {e}")
        return {"case": name, "error": str(e)}
    log(f"{name}: {json.dumps({k: v for k, v in record.items() if k != 'per_replica'})}")
    return record


def version_of(argv):
    try:
        out = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=30)
        return (out.stdout + out.stderr).strip().splitlines()[0]
    except Exception:
        return None


def machine(opts, smelt, wrk_version):
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    with open("/proc/loadavg") as f:
        load = [float(x) for x in f.read().split()[:3]]
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "platform": platform.platform(),
        "loadavg_start": load,
        "smelt": smelt,
        "smelt_version": version_of([smelt, "--version"]),
        "wrk": wrk_version,
        "mode": opts.mode,
        "duration_s": opts.duration,
        "warmup_s": WARMUP_S,
    }
    if opts.mode in ("capture", "autopilot", "all"):
        meta["nats_server"] = version_of([shutil.which("nats-server") or "/usr/sbin/nats-server", "--version"])
    if opts.mode in ("tracking", "all"):
        meta["postgresql"] = pg(["psql", "-Atc", "show server_version"]).strip()
        meta["mlflow"] = MLFLOW_REQUIREMENTS
    if opts.mode in ("autopilot", "all"):
        meta["time_budget_s"] = opts.time_budget
        meta["fold_slots"] = opts.fold_slots
    return meta


def find_smelt(given):
    candidates = [given, os.environ.get("SMELT_BIN"), ROOT / "target/release/smelt", ROOT / "target/debug/smelt"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(Path(candidate).resolve())
    if given:
        raise SystemExit(f"--smelt {given}: no such executable")
    raise SystemExit("no smelt binary: build it (cargo build --release -p smelt) or pass --smelt")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["capture", "tracking", "autopilot", "all"])
    parser.add_argument("--smelt", help="the smelt binary (default $SMELT_BIN, else target/release/smelt)")
    parser.add_argument("--duration", type=int, default=20, help="seconds of each measured wrk run (default 20)")
    parser.add_argument("--time-budget", type=int, default=30, help="autopilot time_budget_s (default 30)")
    parser.add_argument("--fold-slots", type=int, help="smelt worker --fold-slots (default: the worker's, one per core)")
    parser.add_argument("--out", help="output folder (default: a new temp folder)")
    parser.add_argument("--capture-load", default=f"{THREADS},{CONNS}", metavar="T,C",
                        help="wrk threads and connections of the capture cases (default 2,8: the "
                             "machine saturated; 1,1 measures one client's latency)")
    opts = parser.parse_args()
    try:
        opts.capture_load = tuple(int(x) for x in opts.capture_load.split(","))
        assert len(opts.capture_load) == 2 and min(opts.capture_load) >= 1
    except (ValueError, AssertionError):
        parser.error(f"--capture-load takes THREADS,CONNECTIONS, got {opts.capture_load!r}")
    return opts


def main():
    opts = parse_args()
    smelt = find_smelt(opts.smelt)
    if "/debug/" in smelt:
        log(f"WARNING: {smelt} is a debug build; its numbers say little")
    out = Path(opts.out or tempfile.mkdtemp(prefix="smelt-bench-cluster.")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    sess = Session(out, smelt)
    # SIGTERM (and SIGHUP) end the run through the finally below, as Ctrl-C does.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    log(f"output in {out}")
    meta = machine(opts, smelt, ensure_wrk())
    print(f"{meta['date']}; {meta['nproc']} CPUs ({meta['cpu_model']}); load {meta['loadavg_start']}; "
          f"{meta['smelt_version'] or smelt}; {meta['wrk']}", flush=True)
    modes = {"capture": (run_capture, capture_table, "Capture: single-row invocations"),
             "tracking": (run_tracking, tracking_table, "Tracking writes on PostgreSQL (runs/log-metric)"),
             "autopilot": (run_autopilot, autopilot_table, "Autopilot trial throughput")}
    chosen = list(modes) if opts.mode == "all" else [opts.mode]
    results, report = {}, [
        "# Cluster benchmark", "",
        f"{meta['date']} on {meta['nproc']} CPUs ({meta['cpu_model']}, {meta['platform']}), load {meta['loadavg_start']}; "
        f"{meta['smelt_version'] or smelt}; {meta['wrk']}, -t{THREADS} -c{CONNS}, {opts.duration} s after a "
        f"{WARMUP_S} s warm-up. Loopback; wrk shares the cores with the servers.",
    ]
    try:
        for mode in chosen:
            run, table, title = modes[mode]
            results[mode] = run(sess, opts)
            report += ["", f"## {title}", ""] + table(results[mode])
    finally:
        sess.stop_all()
        sess.drop_databases()
    text = "\n".join(report) + "\n"
    (out / "cluster.md").write_text(text)
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2, default=str))
    print()
    print(text)
    for records in results.values():
        for record in records:
            print(json.dumps(record, default=str))
    log(f"results: {out}/cluster.md and {out}/results.json")
    failed = [r["case"] for records in results.values() for r in records if r.get("error")]
    if failed:
        log(f"failed cases: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
