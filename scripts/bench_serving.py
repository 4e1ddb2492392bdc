#!/usr/bin/env python3
"""Serving benchmark: `smelt serve` against `mlflow models serve` and an axum echo ceiling.

Reproduces the method of shared/reference/serving-peers.md on this machine.

Reproduce:
    SMELT_BIN=target/release/smelt python3 scripts/bench_serving.py [--duration 20] \
        [--only smelt,mlflow,echo] [--out DIR]

Needs: wrk (installed with apt-get when missing), cargo (builds benches/serving-echo into
$ECHO_TARGET_DIR, default /work/cache/echo-target), and the venv $SMELT_VENV (default
~/.cache/smelt/venv) with mlflow 3.17.2 + scikit-learn + pandas, as scripts/test.sh makes it.
The harness itself uses only the standard library; the venv runs training and `mlflow models serve`.
Without SMELT_BIN (or when it does not exist) the smelt peer is skipped with a message.

Per peer (server x model): the server is spawned in its own session/process group;
cold start = spawn -> first HTTP 200 on GET /ping (polled every 20 ms); POST /invocations must
answer 200 with 1 and 100 predictions; then for rows in (1, 100), for (threads, conns) in
((1, 8), (2, 32)): a 3 s warm-up with the same settings, then
`wrk -tT -cC -dDs --latency -s scripts/bench_serving/post.lua http://127.0.0.1:PORT`.
After the four runs the RSS of the whole process group is summed, and the group gets SIGTERM
(SIGKILL after 15 s); nothing is left running.

Columns of OUT/serving.md (raw values in OUT/results.json):
    server       echo (axum 0.8 + serde_json, no model: the machine's HTTP+JSON ceiling),
                 mlflow (`mlflow models serve`, sklearn pipeline, 1 uvicorn worker), smelt (`smelt serve`)
    model        logreg (StandardScaler + logistic regression) or mlp (StandardScaler + MLP 64,64); "-" for echo
    rows/req     rows in each request's dataframe_split (1 or 100; test rows of breast_cancer)
    wrk          threads / connections (keep-alive; wrk's default 2 s timeout)
    req/s        wrk "Requests/sec" over the measured run
    rows/s       req/s x rows/req
    p50, p99 ms  wrk --latency percentiles
    errors       non-2xx/3xx responses + socket errors (connect, read, write, timeout)
    RSS MiB      sum of `ps -o rss` over the server's process group after the four runs
    cold s       spawn to first 200 on GET /ping
    load1        1-minute load average just before the measured run (the box is shared);
                 results.json also has busy cores (from /proc/stat, 1 s) before each warm-up
The server's and wrk's sessions get autogroup nice -10 as in the reference (--autogroup-nice);
--quiet-wait S waits up to S s for < 0.3 busy cores before each run (the reference used 30).
Ratio lines follow the table: smelt/echo req/s on 1-row requests (target >= 0.60),
smelt/echo p99 (target <= 2), smelt logreg rows/s on 100-row requests (target >= 500,000),
and smelt/mlflow req/s per cell.
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
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(ROOT, "scripts", "bench_serving")
TRAIN_CSV = os.path.join(ROOT, "datasets", "breast_cancer.train.csv")
TEST_CSV = os.path.join(ROOT, "datasets", "breast_cancer.test.csv")
TARGET = "target"
VENV = os.environ.get("SMELT_VENV", os.path.expanduser("~/.cache/smelt/venv"))
ECHO_MANIFEST = os.path.join(ROOT, "benches", "serving-echo", "Cargo.toml")
ECHO_TARGET_DIR = os.environ.get("ECHO_TARGET_DIR", "/work/cache/echo-target")

ROWS = (1, 100)
LOADS = ((1, 8), (2, 32))
WARMUP_S = 3
COLD_START_TIMEOUT_S = 180
POLL_S = 0.02
MODELS = ("logreg", "mlp")


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------- setup


def ensure_wrk():
    """Install wrk with apt-get when it is not on PATH; return its version line."""
    if shutil.which("wrk") is None:
        log("wrk missing: apt-get install -y wrk")
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return (out.stdout + out.stderr).strip().splitlines()[0].split(" Copyright")[0]


def venv_python():
    """Path of the venv's python (mlflow, scikit-learn, pandas); fail clearly when absent."""
    python = os.path.join(VENV, "bin", "python")
    if not os.access(python, os.X_OK):
        sys.exit(f"no venv at {VENV}: run scripts/test.sh once, or set SMELT_VENV")
    return python


def write_bodies(out_dir):
    """Write MLflow dataframe_split bodies with the first 1 and 100 test rows; return {rows: path}."""
    with open(TEST_CSV, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    keep = [i for i, name in enumerate(header) if name != TARGET]
    columns = [header[i] for i in keep]
    bodies = {}
    for n in ROWS:
        data = [[float(row[i]) for i in keep] for row in rows[:n]]
        if len(data) != n:
            sys.exit(f"{TEST_CSV} has fewer than {n} rows")
        path = os.path.join(out_dir, f"body{n}.json")
        with open(path, "w") as f:
            json.dump({"dataframe_split": {"columns": columns, "data": data}}, f, separators=(",", ":"))
        bodies[n] = path
    return bodies


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- peers: build / train


def build_echo():
    """Build benches/serving-echo (release) and return the binary's path."""
    log("building benches/serving-echo (cargo --release -j1)")
    env = dict(os.environ, CARGO_TARGET_DIR=ECHO_TARGET_DIR)
    subprocess.run(
        ["cargo", "build", "--release", "-j1", "--quiet", "--manifest-path", ECHO_MANIFEST], env=env, check=True
    )
    return os.path.join(ECHO_TARGET_DIR, "release", "serving-echo")


def mlflow_env(out_dir):
    """Environment for training with and serving by mlflow: venv on PATH, sqlite store in out_dir."""
    return dict(
        os.environ,
        PATH=os.path.join(VENV, "bin") + os.pathsep + os.environ.get("PATH", ""),
        MLFLOW_TRACKING_URI=f"sqlite:///{os.path.join(out_dir, 'mlflow.db')}",
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
    )


def train_mlflow(out_dir):
    """Train and log the sklearn peers (train_sklearn.py); return {model: model_uri}."""
    log("training sklearn models and logging them to mlflow")
    models_json = os.path.join(out_dir, "mlflow_models.json")
    subprocess.run(
        [venv_python(), os.path.join(HERE, "train_sklearn.py"), TRAIN_CSV, models_json],
        env=mlflow_env(out_dir),
        cwd=out_dir,
        check=True,
    )
    with open(models_json) as f:
        return {name: info["model_uri"] for name, info in json.load(f).items()}


def smelt_bin():
    """SMELT_BIN when it names an existing file, else None (the smelt peer is skipped)."""
    path = os.environ.get("SMELT_BIN")
    if not path:
        log("SMELT_BIN is not set: skipping smelt (build it with `cargo build --release -p smelt`)")
        return None
    if not os.access(path, os.X_OK):
        log(f"SMELT_BIN={path} does not exist or is not executable: skipping smelt")
        return None
    return os.path.abspath(path)


def smelt_env(out_dir):
    """Environment for smelt: a throwaway SMELT_HOME inside out_dir, no outside tracking URI."""
    env = {k: v for k, v in os.environ.items() if k not in ("SMELT_TRACKING_URI", "MLFLOW_TRACKING_URI")}
    env["SMELT_HOME"] = os.path.join(out_dir, "smelt-home")
    return env


def train_smelt(binary, out_dir):
    """Train logreg and mlp with `smelt train --json`; return {model: run_id}."""
    args = {
        "logreg": ["--model", "logistic_regression"],
        "mlp": ["--model", "mlp", "--param", "hidden=[64,64]"],
    }
    run_ids = {}
    for name, model_args in args.items():
        log(f"smelt train {name}")
        cmd = [binary, "train", "--data", TRAIN_CSV, "--target", TARGET, *model_args]
        cmd += ["--experiment", "bench", "--quiet", "--json"]
        out = subprocess.run(cmd, env=smelt_env(out_dir), cwd=out_dir, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
        result = json.loads(out.stdout)
        run_ids[name] = result["run_id"]
        log(f"  run {result['run_id']}  model {result.get('model_uri')}")
    return run_ids


def peers(only, out_dir):
    """Every (server, model, argv(port), env) to measure, training models as needed."""
    found = []
    if "echo" in only:
        echo = build_echo()
        found.append(("echo", "-", lambda port: [echo, str(port)], dict(os.environ)))
    if "mlflow" in only:
        env = mlflow_env(out_dir)
        mlflow = os.path.join(VENV, "bin", "mlflow")
        for name, uri in train_mlflow(out_dir).items():
            argv = lambda port, uri=uri: [
                mlflow, "models", "serve", "-m", uri, "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port),
            ]
            found.append(("mlflow", name, argv, env))
    if "smelt" in only:
        binary = smelt_bin()
        if binary:
            env = smelt_env(out_dir)
            for name, run_id in train_smelt(binary, out_dir).items():
                argv = lambda port, run_id=run_id: [
                    binary, "serve", "--model", f"runs:/{run_id}/model", "--port", str(port),
                ]
                found.append(("smelt", name, argv, env))
    return found


# ---------------------------------------------------------------- server lifecycle


def http(method, url, body=None, timeout=5.0):
    """One HTTP request; return (status, body bytes), status 0 when nothing answered."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, socket.timeout, OSError):
        return 0, b""


def start_server(argv, port, env, log_path):
    """Spawn the server in its own session; return (Popen, cold start s) once GET /ping is 200."""
    logf = open(log_path, "wb")
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
    logf.close()
    url = f"http://127.0.0.1:{port}/ping"
    while time.perf_counter() - started < COLD_START_TIMEOUT_S:
        if http("GET", url, timeout=1.0)[0] == 200:
            return proc, time.perf_counter() - started
        if proc.poll() is not None:
            stop_group(proc)
            raise RuntimeError(f"server exited with {proc.returncode} before /ping answered; see {log_path}")
        time.sleep(POLL_S)
    stop_group(proc)
    raise RuntimeError(f"no 200 on /ping within {COLD_START_TIMEOUT_S} s; see {log_path}")


def verify(port, bodies):
    """POST each body once; require 200 and one prediction per row. Return the 1-row answer."""
    answers = {}
    for rows, path in bodies.items():
        with open(path, "rb") as f:
            status, body = http("POST", f"http://127.0.0.1:{port}/invocations", f.read(), timeout=30)
        if status != 200:
            raise RuntimeError(f"POST /invocations ({rows} rows) answered {status}: {body[:300]!r}")
        predictions = json.loads(body)["predictions"]
        if len(predictions) != rows:
            raise RuntimeError(f"POST /invocations ({rows} rows) gave {len(predictions)} predictions")
        answers[rows] = predictions[:3]
    return answers


def group_pids(pgid):
    """PIDs whose process group is pgid."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,pgid="], capture_output=True, text=True).stdout
    return [int(p) for p, g in (line.split() for line in out.splitlines()) if int(g) == pgid]


def group_rss_mib(pgid):
    """Sum of RSS (ps -o rss, KiB) over the process group, in MiB."""
    out = subprocess.run(["ps", "-e", "-o", "pgid=,rss="], capture_output=True, text=True).stdout
    kib = sum(int(rss) for g, rss in (line.split() for line in out.splitlines()) if int(g) == pgid)
    return kib / 1024


def stop_group(proc, grace_s=15.0):
    """SIGTERM the server's process group (pgid = its pid), SIGKILL after grace_s; reap it."""
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        proc.poll()
        if not group_pids(pgid):
            break
        time.sleep(0.1)
    else:
        log(f"process group {pgid} still alive after SIGTERM: SIGKILL")
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


# ---------------------------------------------------------------- load


def loadavg():
    """The three load averages from /proc/loadavg."""
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def to_ms(value, unit):
    """wrk's latency value with unit (us, ms, s, m) in milliseconds."""
    return round(float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}[unit], 3)


def parse_wrk(text):
    """req/s, p50/p90/p99 ms, non-2xx and socket errors from wrk --latency output."""
    result = {"req_s": None, "p50_ms": None, "p90_ms": None, "p99_ms": None, "non_2xx": 0,
              "sock_connect": 0, "sock_read": 0, "sock_write": 0, "sock_timeout": 0, "requests": None}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", text):
        result["req_s"] = float(m.group(1))
    for pct in ("50", "90", "99"):
        if m := re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M):
            result[f"p{pct}_ms"] = to_ms(*m.groups())
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text):
        result["non_2xx"] = int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        for key, value in zip(("connect", "read", "write", "timeout"), m.groups()):
            result[f"sock_{key}"] = int(value)
    if m := re.search(r"(\d+) requests in", text):
        result["requests"] = int(m.group(1))
    result["errors"] = result["non_2xx"] + sum(result[f"sock_{k}"] for k in ("connect", "read", "write", "timeout"))
    return result


def wrk(port, body_path, threads, conns, duration, nice):
    """Run wrk once against /invocations in its own session (autogroup nice as the server's); return stdout."""
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--latency",
           "-s", os.path.join(HERE, "post.lua"), f"http://127.0.0.1:{port}"]
    env = dict(os.environ, BENCH_BODY=body_path)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    set_autogroup_nice(proc.pid, nice)
    try:
        stdout, stderr = proc.communicate(timeout=duration + 60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise RuntimeError(f"wrk did not finish within {duration + 60} s")
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {stderr[-500:]}")
    return stdout


def set_autogroup_nice(pid, nice):
    """Give pid's session autogroup this nice value (the reference used -10 for server and wrk); best effort."""
    if nice is None:
        return
    try:
        with open(f"/proc/{pid}/autogroup", "w") as f:
            f.write(str(nice))
    except OSError as e:
        log(f"cannot set autogroup nice of {pid}: {e}")


def busy_cores(sample_s=1.0):
    """Cores busy (not idle/iowait) on the whole machine over sample_s, from /proc/stat."""
    def totals():
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        return sum(fields), fields[3] + fields[4]
    total0, idle0 = totals()
    time.sleep(sample_s)
    total1, idle1 = totals()
    return (os.cpu_count() or 1) * (1 - (idle1 - idle0) / max(total1 - total0, 1))


def wait_for_quiet(max_wait_s, threshold=0.3):
    """Wait up to max_wait_s for fewer than threshold busy cores (reference: 30 s); return the last sample."""
    deadline = time.monotonic() + max_wait_s
    busy = busy_cores()
    while busy >= threshold and time.monotonic() < deadline:
        busy = busy_cores()
    return busy


def load_runs(port, bodies, opts, raw_dir, tag):
    """The four measured wrk runs (each after a 3 s warm-up); return their parsed results."""
    runs = []
    duration = opts.duration
    for rows in ROWS:
        for threads, conns in LOADS:
            busy = wait_for_quiet(opts.quiet_wait)
            wrk(port, bodies[rows], threads, conns, WARMUP_S, opts.autogroup_nice)
            load = loadavg()
            text = wrk(port, bodies[rows], threads, conns, duration, opts.autogroup_nice)
            with open(os.path.join(raw_dir, f"{tag}.rows{rows}.t{threads}c{conns}.txt"), "w") as f:
                f.write(text)
            run = {"rows": rows, "threads": threads, "conns": conns, "duration_s": duration,
                   "loadavg_before": load, "busy_cores_before": round(busy, 2), **parse_wrk(text)}
            run["rows_s"] = run["req_s"] * rows if run["req_s"] is not None else None
            log(f"  rows={rows:<3} -t{threads} -c{conns}: {run['req_s']} req/s  p50 {run['p50_ms']} ms  "
                f"p99 {run['p99_ms']} ms  errors {run['errors']}  (load1 {load[0]}, busy cores {busy:.2f} before)")
            runs.append(run)
    return runs


def measure(server, model, argv_of, env, bodies, opts, out_dir):
    """Cold start, verify, load and RSS for one peer; the server is always stopped."""
    tag = f"{server}-{model}" if model != "-" else server
    port = free_port()
    argv = argv_of(port)
    log(f"{tag}: starting {' '.join(argv)}")
    record = {"server": server, "model": model, "command": argv, "port": port}
    proc, record["cold_start_s"] = start_server(argv, port, env, os.path.join(out_dir, "logs", f"{tag}.log"))
    set_autogroup_nice(proc.pid, opts.autogroup_nice)
    try:
        log(f"{tag}: /ping 200 after {record['cold_start_s']:.3f} s")
        record["sample_predictions"] = verify(port, bodies)
        record["rss_idle_mib"] = group_rss_mib(proc.pid)
        record["runs"] = load_runs(port, bodies, opts, os.path.join(out_dir, "raw"), tag)
        record["rss_mib"] = group_rss_mib(proc.pid)
        record["group_pids_after_load"] = group_pids(proc.pid)
    finally:
        stop_group(proc)
    left = group_pids(proc.pid)
    record["left_running"] = left
    if left:
        log(f"{tag}: WARNING processes left running: {left}")
    return record


# ---------------------------------------------------------------- report


def cell(record, rows, threads, conns):
    """The run of a record with these rows/threads/conns, or None."""
    for run in record.get("runs", []):
        if (run["rows"], run["threads"], run["conns"]) == (rows, threads, conns):
            return run
    return None


def ratio(a, b):
    return a / b if a is not None and b else None


def ratios(records):
    """The ratio lines: smelt vs echo, smelt logreg batch rows/s, smelt vs mlflow."""
    by = {(r["server"], r["model"]): r for r in records if r.get("runs")}
    echo = by.get(("echo", "-"))
    lines = []
    for model in MODELS:
        smelt = by.get(("smelt", model))
        mlflow = by.get(("mlflow", model))
        for rows in ROWS:
            for threads, conns in LOADS:
                key = {"model": model, "rows": rows, "threads": threads, "conns": conns}
                s = cell(smelt, rows, threads, conns) if smelt else None
                if s and echo and (e := cell(echo, rows, threads, conns)):
                    if rows == 1:
                        lines.append({**key, "name": "smelt/echo req/s", "value": ratio(s["req_s"], e["req_s"]),
                                      "target": ">= 0.60"})
                    lines.append({**key, "name": "smelt/echo p99", "value": ratio(s["p99_ms"], e["p99_ms"]),
                                  "target": "<= 2"})
                if s and model == "logreg" and rows == 100:
                    lines.append({**key, "name": "smelt logreg rows/s", "value": s["rows_s"],
                                  "target": ">= 500000"})
                if s and mlflow and (m := cell(mlflow, rows, threads, conns)):
                    lines.append({**key, "name": "smelt/mlflow req/s", "value": ratio(s["req_s"], m["req_s"]),
                                  "target": None})
    for line in lines:
        line["met"] = target_met(line["value"], line["target"])
    return lines


def target_met(value, target):
    """True/False against '>= x' or '<= x', None without a target or value."""
    if value is None or target is None:
        return None
    op, bound = target.split()
    return value >= float(bound) if op == ">=" else value <= float(bound)


def fmt(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def markdown(meta, records, ratio_lines):
    """serving.md: machine line, the main table, ratio lines, failures."""
    out = [
        "# Serving benchmark",
        "",
        f"{meta['started']} on {meta['machine']}; wrk {meta['wrk']}; {meta['duration_s']} s per run "
        f"after a {WARMUP_S} s warm-up; method of shared/reference/serving-peers.md "
        "(loopback, wrk on the same cores; the box may be shared: see load1).",
        "",
        "| server | model | rows/req | wrk -t/-c | req/s | rows/s | p50 ms | p99 ms | errors | RSS MiB | cold s | load1 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        for run in r.get("runs", []):
            out.append(
                f"| {r['server']} | {r['model']} | {run['rows']} | {run['threads']}/{run['conns']} | "
                f"{fmt(run['req_s'])} | {fmt(run['rows_s'], 0)} | {fmt(run['p50_ms'], 2)} | {fmt(run['p99_ms'], 2)} | "
                f"{run['errors']} | {fmt(r.get('rss_mib'), 0)} | {fmt(r['cold_start_s'], 3)} | "
                f"{run['loadavg_before'][0]:.2f} |"
            )
    out += ["", "## Ratios", ""]
    if not ratio_lines:
        out.append("(none: they need smelt and echo/mlflow in the same run)")
    for line in ratio_lines:
        met = {True: "met", False: "MISSED", None: ""}[line["met"]]
        target = f" (target {line['target']}: {met})" if line["target"] else ""
        digits = 0 if line["name"].endswith("rows/s") else 3
        out.append(
            f"- {line['name']}, {line['model']}, {line['rows']} row(s), -t{line['threads']} -c{line['conns']}: "
            f"{fmt(line['value'], digits)}{target}"
        )
    failed = [r for r in records if r.get("error")]
    if failed:
        out += ["", "## Failures", ""]
        out += [f"- {r['server']} {r['model']}: {r['error']}" for r in failed]
    return "\n".join(out) + "\n"


def machine_meta(args, wrk_version):
    """Where and with what the benchmark ran."""
    mlflow_version = subprocess.run(
        [venv_python(), "-c", "import importlib.metadata as m; print(m.version('mlflow'), m.version('scikit-learn'))"],
        capture_output=True, text=True,
    ).stdout.split()
    return {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{os.cpu_count()} CPUs, {platform.platform()}",
        "cpu_model": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
        "wrk": wrk_version,
        "mlflow": mlflow_version[0] if mlflow_version else None,
        "scikit_learn": mlflow_version[1] if len(mlflow_version) > 1 else None,
        "smelt_bin": os.environ.get("SMELT_BIN"),
        "duration_s": args.duration,
        "warmup_s": WARMUP_S,
        "only": sorted(args.only),
        "quiet_wait_s": args.quiet_wait,
        "autogroup_nice": args.autogroup_nice,
        "loadavg_start": loadavg(),
    }


# ---------------------------------------------------------------- main


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds per measured wrk run (default 20)")
    parser.add_argument("--only", default="smelt,mlflow,echo", help="comma-separated peers (default all)")
    parser.add_argument("--out", help="output folder (default: a new temp folder)")
    parser.add_argument("--quiet-wait", type=float, default=0, metavar="S",
                        help="before each run wait up to S s for < 0.3 busy cores (reference: 30; default 0)")
    parser.add_argument("--autogroup-nice", type=int, default=-10, metavar="N",
                        help="autogroup nice for the server's and wrk's sessions (reference: -10)")
    args = parser.parse_args()
    args.only = {p.strip() for p in args.only.split(",") if p.strip()}
    unknown = args.only - {"smelt", "mlflow", "echo"}
    if unknown:
        parser.error(f"unknown peers: {', '.join(sorted(unknown))}")
    return args


def main():
    args = parse_args()
    out_dir = os.path.abspath(args.out or tempfile.mkdtemp(prefix="smelt-bench-serving."))
    for sub in ("logs", "raw"):
        os.makedirs(os.path.join(out_dir, sub), exist_ok=True)
    log(f"output in {out_dir}")
    meta = machine_meta(args, ensure_wrk())
    bodies = write_bodies(out_dir)
    records = []
    for server, model, argv_of, env in peers(args.only, out_dir):
        try:
            records.append(measure(server, model, argv_of, env, bodies, args, out_dir))
        except Exception as e:  # one failing peer must not hide the others' numbers
            log(f"{server} {model}: FAILED: {e}")
            records.append({"server": server, "model": model, "error": str(e)})
    ratio_lines = ratios(records)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"meta": meta, "servers": records, "ratios": ratio_lines}, f, indent=2)
    report = markdown(meta, records, ratio_lines)
    with open(os.path.join(out_dir, "serving.md"), "w") as f:
        f.write(report)
    print()
    print(report)
    log(f"results: {out_dir}/serving.md and {out_dir}/results.json")


if __name__ == "__main__":
    main()
