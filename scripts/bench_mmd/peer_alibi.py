"""Alibi Detect's MMDDrift (TensorFlow CPU backend) on the benchmark tables.

Usage: python peer_alibi.py REF.csv CUR.csv PERMUTATIONS
Columns are z-scored with the reference's mean and population std first, as
Smelt does (drift-peers.md: the median heuristic on raw columns misses real
shifts). Prints one JSON line: init/predict seconds, MMD², p-value, drift.
"""
import json
import sys
import time

import numpy as np

ref_path, cur_path, permutations = sys.argv[1], sys.argv[2], int(sys.argv[3])
x_ref = np.loadtxt(ref_path, delimiter=",", skiprows=1, dtype=np.float32)
x_cur = np.loadtxt(cur_path, delimiter=",", skiprows=1, dtype=np.float32)
mean, std = x_ref.mean(axis=0), x_ref.std(axis=0)
std[std == 0] = 1.0
x_ref = (x_ref - mean) / std
x_cur = (x_cur - mean) / std

t0 = time.perf_counter()
from alibi_detect.cd import MMDDrift  # noqa: E402  (import time is not the test's)

t1 = time.perf_counter()
detector = MMDDrift(x_ref, backend="tensorflow", p_val=0.05, n_permutations=permutations)
t2 = time.perf_counter()
result = detector.predict(x_cur)
t3 = time.perf_counter()
data = result["data"]
print(json.dumps({
    "import_s": t1 - t0,
    "init_s": t2 - t1,
    "predict_s": t3 - t2,
    "test_s": t3 - t1,
    "mmd2": float(data["distance"]),
    "p_value": float(data["p_val"]),
    "drifted": bool(data["is_drift"]),
}))
