"""SciPy drift peer (drift-peers.md §3): python peer_scipy.py DATADIR OUT.json"""
import json
import sys
import time

t_start = time.perf_counter()
import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

EPS = 1e-4


def psi(p, q):
    p = np.maximum(p, EPS)
    q = np.maximum(q, EPS)
    return float(np.sum((q - p) * np.log(q / p)))


def main():
    d, out = sys.argv[1], sys.argv[2]
    phases = {"import": time.perf_counter() - t_start}
    t = time.perf_counter()
    ref = pd.read_parquet(f"{d}/reference.parquet")
    cur = pd.read_parquet(f"{d}/current.parquet")
    phases["load"] = time.perf_counter() - t
    for k in ("ks_auto", "ks_asymp", "wasserstein", "quantile_psi_js", "categorical"):
        phases[k] = 0.0
    cols = {}
    for c in ref.columns:
        r = ref[c].dropna()
        q = cur[c].dropna()
        res = {}
        if c.startswith("num_"):
            r = r.to_numpy(np.float64)
            q = q.to_numpy(np.float64)
            t = time.perf_counter()
            ka = ks_2samp(r, q, method="auto")
            phases["ks_auto"] += time.perf_counter() - t
            t = time.perf_counter()
            ks = ks_2samp(r, q, method="asymp")
            phases["ks_asymp"] += time.perf_counter() - t
            t = time.perf_counter()
            w1 = wasserstein_distance(r, q)
            phases["wasserstein"] += time.perf_counter() - t
            t = time.perf_counter()
            edges = np.quantile(r, np.arange(1, 10) / 10)
            pr = np.bincount(np.searchsorted(edges, r, side="right"), minlength=10) / len(r)
            pc = np.bincount(np.searchsorted(edges, q, side="right"), minlength=10) / len(q)
            phases["quantile_psi_js"] += time.perf_counter() - t
            wn = w1 / max(float(np.std(r)), 0.001)
            res = {
                "kind": "numeric",
                "ks_auto_stat": float(ka.statistic), "ks_auto_p": float(ka.pvalue),
                "ks_asymp_stat": float(ks.statistic), "ks_asymp_p": float(ks.pvalue),
                "wasserstein": float(w1), "wasserstein_normed": float(wn),
                "psi": psi(pr, pc), "js_base2": float(jensenshannon(pr, pc, base=2)),
                "evidently_rule": {"test": "wasserstein_normed", "value": float(wn), "drift": bool(wn >= 0.1)},
            }
        else:
            t = time.perf_counter()
            vr = r.value_counts()
            vc = q.value_counts()
            cats = sorted(set(vr.index) | set(vc.index))
            cr = vr.reindex(cats, fill_value=0).to_numpy(np.float64)
            cc = vc.reindex(cats, fill_value=0).to_numpy(np.float64)
            chi = chi2_contingency(np.vstack([cr, cc]))
            pr, pc = cr / cr.sum(), cc / cc.sum()
            js_e = float(jensenshannon(pr, pc))
            res = {
                "kind": "categorical",
                "chi2": float(chi.statistic), "chi2_p": float(chi.pvalue), "dof": int(chi.dof),
                "js_base2": float(jensenshannon(pr, pc, base=2)), "js_natural": js_e,
                "psi": psi(pr, pc),
                "evidently_rule": {"test": "jensenshannon", "value": js_e, "drift": bool(js_e >= 0.1)},
            }
            phases["categorical"] += time.perf_counter() - t
        cols[c] = res
    phases["total_in_process"] = time.perf_counter() - t_start
    with open(out, "w") as f:
        json.dump({"phases": phases, "columns": cols}, f, indent=1)
    print(json.dumps(phases))


if __name__ == "__main__":
    main()
