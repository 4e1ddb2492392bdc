"""Soak test: mixed load on one `smelt server` for a long while, watching its memory.

    python3 scripts/soak.py target/release/smelt                 # 30 minutes
    python3 scripts/soak.py target/debug/smelt --duration 180    # a quick proof
    python3 scripts/soak.py target/release/smelt --auth          # the same behind basic auth

It starts the server on a free port with a fresh SMELT_HOME, trains a first
model with a job (iris MLP, registered as `soak@champion`), serves it on an
endpoint capturing every request, puts a live monitor on that endpoint, then
runs at once, for `--duration` seconds:

  * 8 tracking clients logging metric batches into runs (a new run every 200 steps),
  * searches of runs and experiments,
  * single-row inference at 100 requests/s in all,
  * reads of the monitor's reports (the monitor itself runs inside the server),
  * a training job every minute (registered as a new version of `soak`).

It samples the server's resident memory (VmRSS, and its anonymous part
RssAnon: the heap, without the database file pages SQLite maps, which grow
with the database) every 10 s and reports the RSS and RssAnon slopes after warm-up (least squares over the samples after the first 20 %,
MB/min; the goal is none), errors by kind (goal: none) and p50/p99 per
operation in the first and the last 5 minutes (a sixth of a shorter run).
The report goes to stdout as markdown and, with the raw samples, as JSON and
markdown into `--out`. Exit status 1 when any request failed.

Needs `requests` (the test venv ~/.cache/smelt/venv has it).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT / "datasets"
ADMIN_USER = "soak-admin"
ADMIN_PASSWORD = "soak-password-123"
MODEL = "soak"
ENDPOINT = "soak"
MONITOR = "soak"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def data_root_flags(binary) -> list:
    """`--data-roots datasets/` when the binary has the flag (builds before it
    let jobs read any path), so the jobs may read the iris files."""
    help_text = subprocess.run([str(binary), "server", "--help"], capture_output=True, text=True).stdout
    return ["--data-roots", str(DATASETS)] if "--data-roots" in help_text else []


def percentile(values, q):
    """Nearest-rank percentile of `values` (0 < q <= 100); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def slope_per_minute(samples):
    """Least-squares slope of (seconds, MB) samples, in MB per minute."""
    if len(samples) < 2:
        return None
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    if var == 0:
        return None
    cov = sum((t - mean_t) * (v - mean_v) for t, v in samples)
    return cov / var * 60.0


def rss_mb(pid: int):
    """The process's resident set and its anonymous part (RssAnon) in MB from
    /proc, or None once it is gone."""
    found = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key = line.split(":", 1)[0]
                if key in ("VmRSS", "RssAnon"):
                    found[key] = int(line.split()[1]) / 1024.0
    except OSError:
        return None
    if "VmRSS" not in found:
        return None
    return found["VmRSS"], found.get("RssAnon", found["VmRSS"])


class Recorder:
    """Every request's (time, operation, latency) and every failure's kind."""

    def __init__(self, start):
        self.start = start
        self.lock = threading.Lock()
        self.latencies = []  # (seconds since start, op, ms)
        self.errors = Counter()
        self.error_examples = {}

    def call(self, op, fn, *args, **kwargs):
        """Runs one request; a non-2xx answer or an exception is an error of its kind.
        Returns the response, or None on failure."""
        t0 = time.monotonic()
        try:
            response = fn(*args, **kwargs)
        except requests.RequestException as e:
            self.error(op, type(e).__name__, str(e))
            return None
        ms = (time.monotonic() - t0) * 1000.0
        if response.status_code >= 300:
            self.error(op, f"HTTP {response.status_code}", response.text[:300])
            return None
        with self.lock:
            self.latencies.append((t0 - self.start, op, ms))
        return response

    def error(self, op, kind, detail):
        key = f"{op}: {kind}"
        with self.lock:
            self.errors[key] += 1
            self.error_examples.setdefault(key, detail)


def job_spec(epochs: int) -> str:
    # Absolute paths: the server reads job data only under --data-roots.
    return f"""[data]
train = "{DATASETS / 'iris.train.csv'}"
validation = "{DATASETS / 'iris.test.csv'}"
target = "target"

[model]
kind = "mlp"
hidden = [16]

[training]
epochs = {epochs}
batch_size = 16

[tracking]
experiment = "soak-training"

[register]
name = "{MODEL}"
alias = "champion"
"""


class Soak:
    def __init__(self, args):
        self.args = args
        self.base = f"http://127.0.0.1:{args.port}"
        self.stop = threading.Event()
        self.recorder = None
        self.rss = []  # (seconds since start, MB)
        self.anon = []  # (seconds since start, MB of RssAnon)
        self.jobs = Counter()
        self.auth = (ADMIN_USER, ADMIN_PASSWORD) if args.auth else None

    def session(self):
        s = requests.Session()
        s.auth = self.auth
        return s

    # ------------------------------------------------------------ setup ----
    def wait_ready(self, proc, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"smelt server exited with {proc.returncode}; see {self.args.out / 'server.log'}")
            try:
                if requests.get(self.base + "/ready", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.25)
        raise SystemExit(f"smelt server did not become ready in {timeout} s")

    def wait_job(self, s, job_id, timeout=600):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stop.is_set():
            job = s.get(f"{self.base}/api/2.0/smelt/jobs/{job_id}", timeout=30).json()["job"]
            if job["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                return job
            time.sleep(1)
        return None

    def first_model(self, s):
        print("training the first model (iris MLP job)…", file=sys.stderr)
        r = s.post(f"{self.base}/api/2.0/smelt/jobs", json={"spec": job_spec(30)}, timeout=30)
        r.raise_for_status()
        job = self.wait_job(s, r.json()["job"]["job_id"])
        if not job or job["status"] != "SUCCEEDED":
            raise SystemExit(f"the first training job did not succeed: {job}")

    def endpoint_and_monitor(self, s):
        spec = {
            "name": ENDPOINT,
            "variants": [{"model": f"models:/{MODEL}@champion"}],
            "capture": {"sample_percent": 100},
        }
        r = s.post(f"{self.base}/api/2.0/smelt/endpoints", json=spec, timeout=60)
        if not r.ok:
            raise SystemExit(f"creating the endpoint failed: {r.status_code} {r.text}")
        deadline = time.monotonic() + 120
        while not s.get(f"{self.base}/api/2.0/smelt/endpoints/{ENDPOINT}", timeout=30).json()["endpoint"]["ready"]:
            if time.monotonic() > deadline:
                raise SystemExit("the endpoint did not become ready in 120 s")
            time.sleep(0.5)
        monitor = {
            "name": MONITOR,
            "endpoint": ENDPOINT,
            "reference": f"models:/{MODEL}@champion",
            "window": {"rows": 1000},
            "every_seconds": 10,
        }
        r = s.post(f"{self.base}/api/2.0/smelt/monitors", json=monitor, timeout=60)
        if not r.ok:
            raise SystemExit(f"creating the monitor failed: {r.status_code} {r.text}")

    # ------------------------------------------------------------- load ----
    def paced(self, rate, body):
        """Calls body() `rate` times a second on a fixed schedule (no catch-up
        bursts after a slow call: a late tick is skipped)."""
        interval = 1.0 / rate
        next_at = time.monotonic() + random.random() * interval
        while not self.stop.is_set():
            now = time.monotonic()
            if now < next_at:
                self.stop.wait(next_at - now)
                continue
            body()
            next_at += interval
            if next_at < time.monotonic():
                next_at = time.monotonic() + interval

    def logger(self, i):
        s = self.session()
        rec = self.recorder
        experiment_id = self.experiment_id
        run_id, step = None, 0

        def one():
            nonlocal run_id, step
            if run_id is None or step >= 200:
                if run_id is not None:
                    rec.call("update-run", s.post, f"{self.base}/api/2.0/mlflow/runs/update",
                             json={"run_id": run_id, "status": "FINISHED", "end_time": int(time.time() * 1000)},
                             timeout=30)
                r = rec.call("create-run", s.post, f"{self.base}/api/2.0/mlflow/runs/create",
                             json={"experiment_id": experiment_id, "run_name": f"client-{i}",
                                   "start_time": int(time.time() * 1000),
                                   "tags": [{"key": "soak.client", "value": str(i)}]}, timeout=30)
                if r is None:
                    return
                run_id, step = r.json()["run"]["info"]["run_id"], 0
                rec.call("log-batch", s.post, f"{self.base}/api/2.0/mlflow/runs/log-batch",
                         json={"run_id": run_id, "params": [{"key": "client", "value": str(i)},
                                                             {"key": "lr", "value": str(0.001 * (i + 1))}]},
                         timeout=30)
                return
            step += 1
            now = int(time.time() * 1000)
            rec.call("log-batch", s.post, f"{self.base}/api/2.0/mlflow/runs/log-batch",
                     json={"run_id": run_id, "metrics": [
                         {"key": "loss", "value": 1.0 / step, "timestamp": now, "step": step},
                         {"key": "accuracy", "value": 1.0 - 1.0 / (step + 1), "timestamp": now, "step": step},
                     ]}, timeout=30)
            if step % 10 == 0:
                rec.call("log-metric", s.post, f"{self.base}/api/2.0/mlflow/runs/log-metric",
                         json={"run_id": run_id, "key": "throughput", "value": random.random(),
                               "timestamp": now, "step": step}, timeout=30)

        self.paced(self.args.log_rate, one)

    def searcher(self):
        s = self.session()
        rec = self.recorder
        queries = [
            "metrics.accuracy > 0.9",
            "params.client = '3'",
            "attributes.status = 'FINISHED' AND metrics.loss < 0.1",
            "",
        ]
        n = 0

        def one():
            nonlocal n
            n += 1
            rec.call("search-runs", s.post, f"{self.base}/api/2.0/mlflow/runs/search",
                     json={"experiment_ids": [self.experiment_id], "filter": queries[n % len(queries)],
                           "max_results": 100, "order_by": ["metrics.accuracy DESC"]}, timeout=30)
            if n % 5 == 0:
                rec.call("search-experiments", s.post, f"{self.base}/api/2.0/mlflow/experiments/search",
                         json={"max_results": 100}, timeout=30)

        self.paced(self.args.search_rate, one)

    def inference(self, rate):
        s = self.session()
        rec = self.recorder
        rows = self.rows

        def one():
            row = random.choice(rows)
            rec.call("invocations", s.post, f"{self.base}/endpoints/{ENDPOINT}/invocations",
                     json={"dataframe_split": {"columns": self.columns, "data": [row]}}, timeout=30)

        self.paced(rate, one)

    def monitor_reader(self):
        s = self.session()
        rec = self.recorder

        def one():
            rec.call("monitor-reports", s.get, f"{self.base}/api/2.0/smelt/monitors/{MONITOR}/reports", timeout=30)
            rec.call("monitor-get", s.get, f"{self.base}/api/2.0/smelt/monitors/{MONITOR}", timeout=30)

        self.paced(0.2, one)

    def trainer(self):
        s = self.session()
        rec = self.recorder
        waiting = []

        def check():
            for job_id in list(waiting):
                r = rec.call("job-status", s.get, f"{self.base}/api/2.0/smelt/jobs/{job_id}", timeout=30)
                if r is None:
                    continue
                job = r.json()["job"]
                if job["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                    waiting.remove(job_id)
                    self.jobs[job["status"]] += 1
                    if job["status"] != "SUCCEEDED":
                        rec.error("training-job", job["status"], job.get("error") or "")

        next_submit = time.monotonic()
        while not self.stop.is_set():
            if time.monotonic() >= next_submit:
                r = rec.call("submit-job", s.post, f"{self.base}/api/2.0/smelt/jobs",
                             json={"spec": job_spec(20)}, timeout=30)
                if r is not None:
                    waiting.append(r.json()["job"]["job_id"])
                    self.jobs["submitted"] += 1
                next_submit += 60
            check()
            self.stop.wait(2)
        check()
        self.jobs["unfinished at the end"] += len(waiting)

    def sampler(self, pid, start):
        while not self.stop.is_set():
            sample = rss_mb(pid)
            if sample is None:
                self.recorder.error("server", "exited", "the server process is gone")
                self.stop.set()
                return
            now = time.monotonic() - start
            self.rss.append((now, sample[0]))
            self.anon.append((now, sample[1]))
            self.stop.wait(10)

    # -------------------------------------------------------------- run ----
    def run(self):
        args = self.args
        args.out.mkdir(parents=True, exist_ok=True)
        home = Path(tempfile.mkdtemp(prefix="smelt-soak-"))
        env = dict(os.environ, SMELT_HOME=str(home))
        cmd = [str(args.binary), "server", "--port", str(args.port), "--job-workers", "1",
               *data_root_flags(args.binary)]
        if args.auth:
            cmd.append("--auth")
            env["SMELT_ADMIN_USERNAME"] = ADMIN_USER
            env["SMELT_ADMIN_PASSWORD"] = ADMIN_PASSWORD
        log = open(args.out / "server.log", "w")
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            self.wait_ready(proc)
            s = self.session()
            # Not through the session, whose login every request carries.
            if args.auth and requests.get(f"{self.base}/api/2.0/mlflow/experiments/search?max_results=1",
                                          timeout=10).status_code != 401:
                raise SystemExit("--auth: the server answered without credentials; is auth on?")
            self.first_model(s)
            self.endpoint_and_monitor(s)
            r = s.post(f"{self.base}/api/2.0/mlflow/experiments/create", json={"name": "soak-logging"}, timeout=30)
            r.raise_for_status()
            self.experiment_id = r.json()["experiment_id"]
            with open(DATASETS / "iris.test.csv") as f:
                table = list(csv.reader(f))
            target = table[0].index("target")
            self.columns = [c for j, c in enumerate(table[0]) if j != target]
            self.rows = [[float(v) for j, v in enumerate(row) if j != target] for row in table[1:]]
            return self.load(proc)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            log.close()
            shutil.rmtree(home, ignore_errors=True)

    def load(self, proc):
        args = self.args
        start = time.monotonic()
        self.recorder = Recorder(start)
        threads = [threading.Thread(target=self.sampler, args=(proc.pid, start), daemon=True)]
        threads += [threading.Thread(target=self.logger, args=(i,), daemon=True) for i in range(args.loggers)]
        threads.append(threading.Thread(target=self.searcher, daemon=True))
        inference_threads = 4
        threads += [threading.Thread(target=self.inference, args=(args.inference_rate / inference_threads,),
                                     daemon=True) for _ in range(inference_threads)]
        threads.append(threading.Thread(target=self.monitor_reader, daemon=True))
        threads.append(threading.Thread(target=self.trainer, daemon=True))
        print(f"load running for {args.duration} s against {self.base} (server pid {proc.pid})…", file=sys.stderr)
        for t in threads:
            t.start()
        last_print = start
        while time.monotonic() - start < args.duration and not self.stop.is_set():
            self.stop.wait(1)
            if time.monotonic() - last_print >= 60:
                last_print = time.monotonic()
                rss = f"{self.rss[-1][1]:.1f} MB" if self.rss else "?"
                print(f"  {last_print - start:6.0f} s: RSS {rss}, {len(self.recorder.latencies)} requests, "
                      f"{sum(self.recorder.errors.values())} errors", file=sys.stderr)
        elapsed = time.monotonic() - start
        self.stop.set()
        for t in threads:
            t.join(timeout=60)
        monitor = requests.get(f"{self.base}/api/2.0/smelt/monitors/{MONITOR}", auth=self.auth, timeout=30)
        status = monitor.json().get("status", {}) if monitor.ok else {}
        return self.report(elapsed, status)

    # ----------------------------------------------------------- report ----
    def report(self, elapsed, monitor_status):
        args = self.args
        rec = self.recorder
        window = min(300.0, elapsed / 6)
        after_warmup = [(t, v) for t, v in self.rss if t >= 0.2 * elapsed]
        by_op = defaultdict(lambda: {"first": [], "last": [], "all": []})
        for t, op, ms in rec.latencies:
            by_op[op]["all"].append(ms)
            if t < window:
                by_op[op]["first"].append(ms)
            if t >= elapsed - window:
                by_op[op]["last"].append(ms)
        ops = {}
        for op, v in sorted(by_op.items()):
            ops[op] = {
                "count": len(v["all"]),
                "per_second": round(len(v["all"]) / elapsed, 2),
                "first": {"p50_ms": percentile(v["first"], 50), "p99_ms": percentile(v["first"], 99),
                          "count": len(v["first"])},
                "last": {"p50_ms": percentile(v["last"], 50), "p99_ms": percentile(v["last"], 99),
                         "count": len(v["last"])},
            }
        result = {
            "binary": str(args.binary),
            "auth": args.auth,
            "duration_s": round(elapsed, 1),
            "window_s": round(window, 1),
            "rss_mb": {
                "first": self.rss[0][1] if self.rss else None,
                "max": max((v for _, v in self.rss), default=None),
                "last": self.rss[-1][1] if self.rss else None,
                "slope_after_warmup_mb_per_min": slope_per_minute(after_warmup),
                "samples_after_warmup": len(after_warmup),
                "samples": [[round(t, 1), round(v, 2)] for t, v in self.rss],
            },
            "anon_mb": {
                "first": self.anon[0][1] if self.anon else None,
                "last": self.anon[-1][1] if self.anon else None,
                "slope_after_warmup_mb_per_min": slope_per_minute(
                    [(t, v) for t, v in self.anon if t >= 0.2 * elapsed]),
                "samples": [[round(t, 1), round(v, 2)] for t, v in self.anon],
            },
            "errors": dict(rec.errors),
            "error_examples": rec.error_examples,
            "jobs": dict(self.jobs),
            "monitor": {k: monitor_status.get(k) for k in ("windows", "pending_rows", "malformed_lines")},
            "operations": ops,
        }
        (args.out / "soak.json").write_text(json.dumps(result, indent=2) + "\n")
        md = markdown(result)
        (args.out / "soak.md").write_text(md)
        print(md)
        print(f"report: {args.out / 'soak.json'}, {args.out / 'soak.md'}; server log: {args.out / 'server.log'}",
              file=sys.stderr)
        return 1 if rec.errors else 0


def fmt(x, digits=1):
    return "–" if x is None else f"{x:.{digits}f}"


def ms(x):
    return "–" if x is None else f"{x:.2f} ms"


def markdown(r):
    rss = r["rss_mb"]
    lines = [
        f"## Soak: {r['duration_s']:.0f} s{' with --auth' if r['auth'] else ''} ({r['binary']})",
        "",
        f"RSS: {fmt(rss['first'])} MB at the start, {fmt(rss['last'])} MB at the end, max {fmt(rss['max'])} MB; "
        f"slope after warm-up {fmt(rss['slope_after_warmup_mb_per_min'], 3)} MB/min "
        f"({rss['samples_after_warmup']} samples after the first 20 %).",
        "",
        f"Of it, anonymous memory (RssAnon: heap, not the database pages SQLite maps): "
        f"{fmt(r['anon_mb']['first'])} MB at the start, {fmt(r['anon_mb']['last'])} MB at the end; "
        f"slope after warm-up {fmt(r['anon_mb']['slope_after_warmup_mb_per_min'], 3)} MB/min.",
        "",
        f"Errors: {sum(r['errors'].values())}" + ("" if not r["errors"] else ""),
    ]
    for kind, n in sorted(r["errors"].items()):
        lines.append(f"- {kind}: {n} (e.g. `{r['error_examples'][kind][:160]}`)")
    lines += [
        "",
        f"Training jobs: {', '.join(f'{k} {v}' for k, v in r['jobs'].items()) or 'none'}. "
        f"Monitor: {r['monitor'].get('windows')} windows closed, {r['monitor'].get('pending_rows')} rows pending.",
        "",
        f"| operation | requests | req/s | p50 first {r['window_s']:.0f} s | p99 first | p50 last {r['window_s']:.0f} s | p99 last |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for op, v in r["operations"].items():
        lines.append(f"| {op} | {v['count']} | {v['per_second']} | {ms(v['first']['p50_ms'])} | "
                     f"{ms(v['first']['p99_ms'])} | {ms(v['last']['p50_ms'])} | {ms(v['last']['p99_ms'])} |")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("binary", type=Path, help="the smelt binary (target/release/smelt or target/debug/smelt)")
    p.add_argument("--duration", type=float, default=1800, help="seconds of load (default 1800)")
    p.add_argument("--auth", action="store_true",
                   help="start the server with --auth and an admin user; every client sends basic auth")
    p.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    p.add_argument("--out", type=Path, default=None, help="report folder (default target/soak-TIMESTAMP)")
    p.add_argument("--loggers", type=int, default=8, help="tracking clients (default 8)")
    p.add_argument("--log-rate", type=float, default=20, help="requests/s per tracking client (default 20)")
    p.add_argument("--search-rate", type=float, default=2, help="searches/s (default 2)")
    p.add_argument("--inference-rate", type=float, default=100, help="inference requests/s in all (default 100)")
    args = p.parse_args()
    args.binary = args.binary.resolve()
    if not args.binary.is_file():
        p.error(f"no smelt binary at {args.binary}")
    if args.port == 0:
        args.port = free_port()
    if args.out is None:
        args.out = ROOT / "target" / time.strftime("soak-%Y%m%d-%H%M%S")
    sys.exit(Soak(args).run())


if __name__ == "__main__":
    main()
