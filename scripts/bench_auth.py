"""What basic auth costs a request: log-metric and single-row inference p50,
`smelt server` without auth against `smelt server --auth` (goal: under 5 % more).

    python3 scripts/bench_auth.py target/release/smelt [--n 2000]

Both servers share one fresh SMELT_HOME and run one after the other on the same
machine: the first (no auth) trains a small iris MLP with a job and serves it
on an endpoint; the second starts on the same store with `--auth` and an admin
user (SMELT_ADMIN_USERNAME / SMELT_ADMIN_PASSWORD), and every request carries
basic auth. Against each: `--n` sequential log-metric calls into one run and
`--n` single-row /invocations calls, over one keep-alive connection
(requests.Session), after 100 unmeasured warm-up calls of each. Prints p50/p99
per call and the ratio auth / no auth, and writes them as JSON to `--out`.

A binary without the `--auth` flag gets only the first half, with a message.
Needs `requests` (the test venv ~/.cache/smelt/venv has it).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from soak import DATASETS, ROOT, data_root_flags, free_port, job_spec, percentile

USER = "bench-admin"
PASSWORD = "bench-password-123"
MODEL = "soak"  # the name soak.job_spec registers
ENDPOINT = "bench"
WARMUP = 100


class NoAuthFlag(Exception):
    """The binary refused --auth: it predates basic auth."""


class Server:
    def __init__(self, binary, home, auth, log_path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, SMELT_HOME=str(home))
        cmd = [str(binary), "server", "--port", str(self.port), "--job-workers", "1", *data_root_flags(binary)]
        if auth:
            cmd.append("--auth")
            env["SMELT_ADMIN_USERNAME"] = USER
            env["SMELT_ADMIN_PASSWORD"] = PASSWORD
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                self.log.close()
                text = Path(log_path).read_text()
                if auth and "--auth" in text and ("unexpected argument" in text or "unrecognized" in text):
                    raise NoAuthFlag()
                raise SystemExit(f"smelt server exited with {self.proc.returncode}:\n{text[-2000:]}")
            try:
                if requests.get(self.base + "/ready", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"smelt server did not become ready in 120 s; see {log_path}")
            time.sleep(0.25)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def check(r):
    if not r.ok:
        raise SystemExit(f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:500]}")
    return r


def prepare_model(s, base):
    """Trains the model with a job and creates the endpoint (first server only)."""
    job_id = check(s.post(f"{base}/api/2.0/smelt/jobs", json={"spec": job_spec(30)}, timeout=30)).json()["job"]["job_id"]
    deadline = time.monotonic() + 600
    while True:
        job = check(s.get(f"{base}/api/2.0/smelt/jobs/{job_id}", timeout=30)).json()["job"]
        if job["status"] == "SUCCEEDED":
            return
        if job["status"] in ("FAILED", "CANCELLED") or time.monotonic() > deadline:
            raise SystemExit(f"the training job did not succeed: {job}")
        time.sleep(0.5)


def ensure_endpoint(s, base):
    """The endpoint, created when this server does not have it (endpoints may
    or may not outlive a restart; either way the bench needs one)."""
    if s.get(f"{base}/api/2.0/smelt/endpoints/{ENDPOINT}", timeout=30).status_code == 404:
        check(s.post(f"{base}/api/2.0/smelt/endpoints", timeout=60, json={
            "name": ENDPOINT, "variants": [{"model": f"models:/{MODEL}@champion"}]}))
    deadline = time.monotonic() + 120
    while not check(s.get(f"{base}/api/2.0/smelt/endpoints/{ENDPOINT}", timeout=30)).json()["endpoint"]["ready"]:
        if time.monotonic() > deadline:
            raise SystemExit("the endpoint did not become ready in 120 s")
        time.sleep(0.25)


def timed(s, n, method, url, body):
    """ms per call for `n` sequential calls after WARMUP unmeasured ones."""
    out = []
    for i in range(WARMUP + n):
        t0 = time.perf_counter()
        r = s.request(method, url, data=body, headers={"Content-Type": "application/json"}, timeout=30)
        ms = (time.perf_counter() - t0) * 1000.0
        if not r.ok:
            raise SystemExit(f"{method} {url}: {r.status_code} {r.text[:300]}")
        if i >= WARMUP:
            out.append(ms)
    return out


def measure(server, n, auth, first):
    s = requests.Session()
    if auth:
        s.auth = (USER, PASSWORD)
        if requests.get(f"{server.base}/api/2.0/mlflow/experiments/search?max_results=1", timeout=10).status_code != 401:
            raise SystemExit("--auth: the server answered a request without credentials; is auth on?")
    if first:
        prepare_model(s, server.base)
    ensure_endpoint(s, server.base)
    experiment = check(s.post(f"{server.base}/api/2.0/mlflow/experiments/create", timeout=30,
                              json={"name": f"bench-auth-{'on' if auth else 'off'}"})).json()["experiment_id"]
    run_id = check(s.post(f"{server.base}/api/2.0/mlflow/runs/create", timeout=30,
                          json={"experiment_id": experiment, "start_time": int(time.time() * 1000)})
                   ).json()["run"]["info"]["run_id"]
    # One pre-encoded body per call kind, so the client's JSON work is the same on both sides.
    metric = json.dumps({"run_id": run_id, "key": "loss", "value": 0.5, "timestamp": int(time.time() * 1000),
                         "step": 0})
    with open(DATASETS / "iris.test.csv") as f:
        table = list(csv.reader(f))
    target = table[0].index("target")
    columns = [c for j, c in enumerate(table[0]) if j != target]
    row = [float(v) for j, v in enumerate(table[1]) if j != target]
    invocation = json.dumps({"dataframe_split": {"columns": columns, "data": [row]}})
    result = {}
    for name, method, url, body in [
        ("log-metric", "POST", f"{server.base}/api/2.0/mlflow/runs/log-metric", metric),
        ("invocations", "POST", f"{server.base}/endpoints/{ENDPOINT}/invocations", invocation),
    ]:
        ms = timed(s, n, method, url, body)
        result[name] = {"p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99), "n": n}
    return result


def cell(ms):
    return "–" if ms is None else f"{ms:.3f} ms"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("binary", type=Path, help="the smelt binary (target/release/smelt or target/debug/smelt)")
    p.add_argument("--n", type=int, default=2000, help="measured calls of each kind per server (default 2000)")
    p.add_argument("--out", type=Path, default=None, help="report folder (default target/bench-auth-TIMESTAMP)")
    args = p.parse_args()
    binary = args.binary.resolve()
    if not binary.is_file():
        p.error(f"no smelt binary at {binary}")
    out = args.out or ROOT / "target" / time.strftime("bench-auth-%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="smelt-bench-auth-"))
    results = {"binary": str(binary), "n": args.n}
    try:
        for auth in (False, True):
            label = "auth" if auth else "no_auth"
            print(f"{label}: starting smelt server{' --auth' if auth else ''}…", file=sys.stderr)
            try:
                server = Server(binary, home, auth, out / f"server-{label}.log")
            except NoAuthFlag:
                print("skipping the auth run: this smelt binary has no --auth flag "
                      "(build one with basic auth to compare)", file=sys.stderr)
                results[label] = None
                continue
            try:
                results[label] = measure(server, args.n, auth, first=not auth)
            finally:
                server.stop()
    finally:
        shutil.rmtree(home, ignore_errors=True)

    print("\n| call | no auth p50 | no auth p99 | auth p50 | auth p99 | p50 auth / no auth |")
    print("|---|---:|---:|---:|---:|---:|")
    ratios = {}
    for call in ("log-metric", "invocations"):
        off = results["no_auth"][call]
        on = results["auth"][call] if results.get("auth") else None
        ratio = on["p50_ms"] / off["p50_ms"] if on else None
        ratios[call] = ratio
        print(f"| {call} | {cell(off['p50_ms'])} | {cell(off['p99_ms'])} | "
              f"{cell(on['p50_ms'] if on else None)} | {cell(on['p99_ms'] if on else None)} | "
              f"{f'{ratio:.3f}' if ratio else '–'} |")
    results["p50_ratio_auth_over_no_auth"] = ratios
    (out / "bench_auth.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {out / 'bench_auth.json'}", file=sys.stderr)
    if all(r is not None for r in ratios.values()):
        worst = max(ratios.values())
        print(f"worst p50 ratio {worst:.3f}: {'within' if worst < 1.05 else 'OVER'} the 5 % goal")


if __name__ == "__main__":
    main()
