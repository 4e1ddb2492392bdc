"""Logs 10,000 runs into a smelt server, then times the web UI's runs page on
them: first page, sorted by a metric, filtered, sorted by a param.

    python scripts/bench_ui.py http://127.0.0.1:5000

Needs `requests` (the test venv has it). Prints one line per way, median of 5.
"""
import concurrent.futures as cf
import sys
import time

import requests

base = sys.argv[1]
api = f"{base}/api/2.0/mlflow"
s = requests.Session()
exp = s.post(f"{api}/experiments/create", json={"name": f"ui-10k-{int(time.time())}"}).json()["experiment_id"]
def one(i):
    ss = requests.Session()
    r = ss.post(f"{api}/runs/create", json={"experiment_id": exp, "run_name": f"run-{i}", "start_time": 1700000000000 + i}).json()
    rid = r["run"]["info"]["run_id"]
    ss.post(f"{api}/runs/log-batch", json={"run_id": rid,
        "metrics": [{"key": "accuracy", "value": (i * 7919 % 10000) / 10000, "step": 0, "timestamp": 1}, {"key": "loss", "value": i / 10000, "step": 0, "timestamp": 1}],
        "params": [{"key": "lr", "value": str(i % 7)}, {"key": "model", "value": ["mlp", "rf", "svm"][i % 3]}]})
t = time.time()
with cf.ThreadPoolExecutor(8) as pool:
    list(pool.map(one, range(10000)))
print(f"logged 10,000 runs in {time.time() - t:.1f} s")
for label, params in [("first page", {}), ("sorted by accuracy", {"order_by": "metrics.`accuracy` DESC"}),
                      ("filtered", {"filter": "params.model = 'svm' AND metrics.accuracy > 0.5"}),
                      ("sorted by param", {"order_by": "params.`lr` ASC"})]:
    times = []
    for _ in range(5):
        t = time.time(); r = s.get(f"{base}/ui/experiments/{exp}", params=params); times.append(time.time() - t)
        assert r.status_code == 200, r.text[:300]
    print(f"{label}: median {sorted(times)[2]*1000:.0f} ms, {r.text.count('data-run-id')} rows, {len(r.content)//1024} KiB")
