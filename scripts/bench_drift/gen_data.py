"""Generate reference/current drift tables as described in drift-peers.md §2.

Usage: python gen_data.py OUTDIR ROWS
Writes OUTDIR/{reference,current}.{parquet,csv}. numpy default_rng(0), one
stream consumed reference first then current, column by column.
"""
import json
import math
import sys
import time
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

# (kind, params) for num_00..num_19
NORMAL = [(0.0, 1.0), (10.0, 2.0), (-5.0, 0.5), (100.0, 15.0), (0.0, 3.0), (50.0, 10.0)]
LOGNORMAL = [(0.0, 0.5), (1.0, 0.25), (0.5, 0.75), (2.0, 0.4), (0.0, 1.0), (1.5, 0.3)]
UNIFORM = [(0.0, 1.0), (-10.0, 10.0), (5.0, 25.0), (0.0, 1000.0), (-1.0, 3.0)]
MIXTURE = ["bimodal", "normal_lognormal", "normal_uniform"]
CAT_LEVELS = [5, 10, 20, 35, 50]
SHIFT = {"num_01", "num_04", "num_07", "num_09", "num_13"}
SCALE = {"num_02", "num_10", "num_14"}


def spec():
    cols = []
    for mu, sd in NORMAL:
        cols.append(("normal", (mu, sd), mu, sd))
    for m, s in LOGNORMAL:
        mean = math.exp(m + s * s / 2)
        sd = math.sqrt((math.exp(s * s) - 1) * math.exp(2 * m + s * s))
        cols.append(("lognormal", (m, s), mean, sd))
    for a, b in UNIFORM:
        cols.append(("uniform", (a, b), (a + b) / 2, (b - a) / math.sqrt(12)))
    for kind in MIXTURE:
        cols.append((kind, (), None, None))
    return cols


def draw_numeric(rng, kind, params, n):
    if kind == "normal":
        return rng.normal(params[0], params[1], n)
    if kind == "lognormal":
        return rng.lognormal(params[0], params[1], n)
    if kind == "uniform":
        return rng.uniform(params[0], params[1], n)
    if kind == "bimodal":
        comp = rng.random(n) < 0.5
        return np.where(comp, rng.normal(-2.0, 1.0, n), rng.normal(3.0, 1.5, n))
    if kind == "normal_lognormal":
        comp = rng.random(n) < 0.7
        return np.where(comp, rng.normal(5.0, 1.0, n), rng.lognormal(1.5, 0.5, n))
    if kind == "normal_uniform":
        comp = rng.random(n) < 0.6
        return np.where(comp, rng.normal(0.0, 2.0, n), rng.uniform(-10.0, 10.0, n))
    raise ValueError(kind)


def zipf_p(k):
    p = 1.0 / np.arange(1, k + 1)
    return p / p.sum()


def make_frame(rng, n, current):
    data = {}
    for i, (kind, params, mean, sd) in enumerate(spec()):
        name = f"num_{i:02d}"
        x = draw_numeric(rng, kind, params, n)
        if current and name in SHIFT:
            x = x + 0.1 * sd
        if current and name in SCALE:
            x = mean + 1.2 * (x - mean)
        data[name] = np.round(x, 6)
    for j, k in enumerate(CAT_LEVELS):
        name = f"cat_{j}"
        p = zipf_p(k)
        if current and name == "cat_1":
            p = 0.8 * p + 0.2 / k
        if current and name == "cat_3":
            p = 0.85 * p + 0.15 * p[::-1]
        p = p / p.sum()
        labels = np.array([f"c{c:02d}" for c in range(k)], dtype=object)
        data[name] = labels[rng.choice(k, size=n, p=p)]
    return pd.DataFrame(data)


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    info = {"rows": n}
    for name, cur in (("reference", False), ("current", True)):
        df = make_frame(rng, n, cur)
        table = pa.Table.from_pandas(df, preserve_index=False)
        pq.write_table(table, f"{out}/{name}.parquet", compression="snappy")
        df.to_csv(f"{out}/{name}.csv", index=False)
    # Spot check: CSV parses to the same float64 bits as Parquet (first 20k rows).
    for name in ("reference", "current"):
        a = pd.read_parquet(f"{out}/{name}.parquet").head(20000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            b = pd.read_csv(f"{out}/{name}.csv", nrows=20000, float_precision="round_trip")
        for c in a.columns:
            if c.startswith("num_"):
                assert np.array_equal(a[c].to_numpy(), b[c].to_numpy()), (name, c)
    info["gen_seconds"] = time.perf_counter() - t0
    with open(f"{out}/gen_info.json", "w") as f:
        json.dump(info, f)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
