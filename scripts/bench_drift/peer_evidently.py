"""Evidently 0.7.23 default data drift report: python peer_evidently.py DATADIR OUT.json"""
import json
import os
import sys
import time

os.environ.setdefault("DO_NOT_TRACK", "1")
t_start = time.perf_counter()
import pandas as pd
import evidently
from evidently import Report
from evidently.presets import DataDriftPreset


def main():
    d, out = sys.argv[1], sys.argv[2]
    phases = {"import": time.perf_counter() - t_start}
    t = time.perf_counter()
    ref = pd.read_parquet(f"{d}/reference.parquet")
    cur = pd.read_parquet(f"{d}/current.parquet")
    phases["load"] = time.perf_counter() - t
    t = time.perf_counter()
    snap = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
    phases["report_run"] = time.perf_counter() - t
    t = time.perf_counter()
    res = snap.dict()
    phases["to_dict"] = time.perf_counter() - t
    cols, summary = {}, {}
    for m in res["metrics"]:
        cfg = m.get("config", {})
        typ = cfg.get("type", "")
        if typ.endswith("ValueDrift"):
            thr = cfg.get("threshold")
            val = m["value"]
            method = cfg.get("method", "")
            # distance tests: drift if value >= threshold; p-value tests: drift if value < threshold
            is_p = "p_value" in method or "test" in method.lower() and "distance" not in method.lower()
            drift = (val < thr) if is_p else (val >= thr)
            cols[cfg["column"]] = {"method": method, "threshold": thr, "value": val, "drift": bool(drift)}
        elif typ.endswith("DriftedColumnsCount"):
            summary = m["value"]
    phases["total_in_process"] = time.perf_counter() - t_start
    with open(out, "w") as f:
        json.dump({"evidently_version": evidently.__version__, "pandas_version": pd.__version__,
                   "phases": phases, "summary": summary, "columns": cols}, f, indent=1)
    print(json.dumps({"phases": phases, "summary": summary}))


if __name__ == "__main__":
    main()
