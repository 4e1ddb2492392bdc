#!/usr/bin/env python3
"""Jobs through the local executor against jobs over NATS JetStream.

    python3 scripts/bench_queue.py [--jobs 200] [--smelt target/release/smelt]

Submits N short training jobs (an MLP on wine, a few epochs) over the jobs
API to: `smelt server --job-workers 1` (the in-process executor), then
`smelt server --queue nats://…` with 1 and with 2 `smelt worker` processes
(a fresh `nats-server -js` on a free port). Prints jobs per minute and the
overhead per job: wall time not spent inside jobs, per job, for one slot
(wall × slots − Σ job run time) / jobs; the queue's own cost is the
difference between a queue run's overhead and the local executor's.

Standard library only; needs nats-server on PATH (or /usr/sbin).
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, raw=None, content_type="application/json"):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=60) as response:
        text = response.read()
        return json.loads(text) if text else None


def wait_http(base, deadline=120):
    end = time.time() + deadline
    while time.time() < end:
        try:
            urllib.request.urlopen(base + "/health", timeout=2)
            return
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"{base} never answered")


def start(cmd, log, env):
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)


def spec(train_uri, epochs):
    return (
        f'[data]\ntrain = "{train_uri}"\nvalidation_fraction = 0.25\ntarget = "target"\n'
        f'[model]\nkind = "mlp"\nhidden = [16]\n'
        f"[training]\nepochs = {epochs}\nbatch_size = 16\ncheckpoint_every = 0\n"
        f'[tracking]\nexperiment = "bench-queue"\n'
    )


def run_case(name, smelt, work, jobs, epochs, queue_url=None, workers=0):
    home = os.path.join(work, name)
    os.makedirs(home)
    env = dict(os.environ, SMELT_HOME=home, RUST_LOG="warn")
    for key in ["SMELT_TRACKING_URI", "MLFLOW_TRACKING_URI", "SMELT_DATABASE_URL", "SMELT_QUEUE"]:
        env.pop(key, None)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(os.path.join(work, f"{name}.log"), "w")
    args = [smelt, "server", "--port", str(port)]
    args += ["--queue", queue_url] if queue_url else ["--job-workers", "1"]
    procs = [start(args, log, env)]
    try:
        wait_http(base)
        for i in range(workers):
            procs.append(
                start([smelt, "worker", "--queue", queue_url, "--server", base], log, env)
            )
        # The data once into the server's artifact store, as `jobs submit` does.
        with open(os.path.join(ROOT, "datasets", "wine.train.csv"), "rb") as f:
            call(base, "PUT", "/api/2.0/mlflow-artifacts/artifacts/0/datasets/bench/wine.csv",
                 raw=f.read(), content_type="text/csv")
        text = spec("mlflow-artifacts:/0/datasets/bench/wine.csv", epochs)
        if workers:
            time.sleep(2)  # workers connected
        started = time.time()
        ids = [call(base, "POST", "/api/2.0/smelt/jobs", {"spec": text})["job"]["job_id"]
               for _ in range(jobs)]
        submitted = time.time()
        while True:
            listed = call(base, "GET", "/api/2.0/smelt/jobs")["jobs"]
            done = [j for j in listed if j["status"] in ("SUCCEEDED", "FAILED", "CANCELLED")]
            if len(done) >= len(ids):
                break
            time.sleep(0.2)
        wall = max(j["finished_at"] for j in done) / 1000 - started
        failed = [j for j in done if j["status"] != "SUCCEEDED"]
        inside = sum((j["finished_at"] - j["started_at"]) / 1000 for j in done)
        slots = max(workers, 1)
        overhead_ms = (wall * slots - inside) / jobs * 1000
        return {
            "case": name,
            "jobs": jobs,
            "failed": len(failed),
            "submit_s": round(submitted - started, 2),
            "wall_s": round(wall, 2),
            "jobs_per_min": round(jobs / wall * 60, 1),
            "mean_job_s": round(inside / jobs, 3),
            "overhead_ms_per_job": round(overhead_ms, 1),
        }
    finally:
        for p in procs:
            p.kill()
            p.wait()
        log.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--smelt", default=None)
    args = parser.parse_args()
    smelt = args.smelt
    if smelt is None:
        for candidate in ["target/release/smelt", "target/debug/smelt"]:
            if os.path.exists(os.path.join(ROOT, candidate)):
                smelt = os.path.join(ROOT, candidate)
                break
    if not smelt:
        raise SystemExit("build smelt first (cargo build --release -p smelt)")
    nats = shutil.which("nats-server") or "/usr/sbin/nats-server"
    work = tempfile.mkdtemp(prefix="smelt-bench-queue.")
    print(f"binary {smelt}; work folder {work}", file=sys.stderr)
    results = [run_case("local", smelt, work, args.jobs, args.epochs)]
    for workers in (1, 2):
        nats_port = free_port()
        nats_dir = os.path.join(work, f"nats-{workers}")
        nats_proc = subprocess.Popen(
            [nats, "-a", "127.0.0.1", "-p", str(nats_port), "-js", "-sd", nats_dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            results.append(run_case(f"queue-{workers}w", smelt, work, args.jobs, args.epochs,
                                    f"nats://127.0.0.1:{nats_port}", workers))
        finally:
            nats_proc.kill()
            nats_proc.wait()
    local = results[0]["overhead_ms_per_job"]
    for r in results:
        r["queue_cost_ms_per_job"] = round(r["overhead_ms_per_job"] - local, 1)
        print(json.dumps(r))


if __name__ == "__main__":
    main()
