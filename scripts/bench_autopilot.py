#!/usr/bin/env python3
"""Autopilot quality against FLAML, on the identical split files of datasets/.

    python3 scripts/bench_autopilot.py [--smelt-budget 30] [--flaml-budget 120]
                                       [--datasets breast_cancer,wine,digits,diabetes]
    python3 scripts/bench_autopilot.py --resplits 8 --datasets diabetes

For each dataset: `smelt autopilot` on <name>.train.csv with the time budget,
scored once on <name>.test.csv; FLAML 2.7 (`AutoML.fit`, 5-fold CV, seed 0)
with its budget on the same rows, scored on the same test rows; and, for
diabetes, plain linear regression (scikit-learn) as the floor the issue names.
Classification is scored by accuracy, regression by R². Every side runs in its
own process, one after another, so none competes for the 2 cores.

The smelt binary is $SMELT_BIN, else target/release/smelt or
/work/cache/release-target/release/smelt. FLAML runs from the venv
~/.cache/smelt/flaml-venv, created on first use with
`pip install "flaml[automl]==2.7.0" scikit-learn pandas` under
scripts/constraints/flaml.txt (exact versions; about 2 minutes).
Prints one table and writes it as JSON to --out.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_venv

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT / "datasets"
VENV = Path.home() / ".cache/smelt/flaml-venv"
FLAML_PY = VENV / "bin/python"

PEER = r'''
import json, sys, time
import pandas as pd
from flaml import AutoML
from sklearn.linear_model import LinearRegression
from sklearn.metrics import accuracy_score, r2_score
train, test, target, task, budget = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
tr, te = pd.read_csv(train), pd.read_csv(test)
X_tr, y_tr = tr.drop(columns=[target]), tr[target]
X_te, y_te = te.drop(columns=[target]), te[target]
out = {}
if task == "regression":
    lr = LinearRegression().fit(X_tr, y_tr)
    out["linear_regression_r2"] = r2_score(y_te, lr.predict(X_te))
automl = AutoML()
start = time.time()
automl.fit(X_tr, y_tr, task=task, metric="accuracy" if task == "classification" else "r2",
           time_budget=budget, eval_method="cv", n_splits=5, seed=0, verbose=0)
out["seconds"] = time.time() - start
pred = automl.predict(X_te)
out["score"] = accuracy_score(y_te, pred) if task == "classification" else r2_score(y_te, pred)
out["best_learner"] = automl.best_estimator
print(json.dumps(out))
'''

TASKS = {
    "breast_cancer": "classification",
    "wine": "classification",
    "digits": "classification",
    "diabetes": "regression",
    "iris": "classification",
    "penguins": "classification",
}
TARGETS = {"penguins": "species"}


def smelt_bin() -> str:
    for c in [os.environ.get("SMELT_BIN"), ROOT / "target/release/smelt",
              "/work/cache/release-target/release/smelt"]:
        if c and Path(c).is_file():
            return str(c)
    raise SystemExit("smelt binary not found (set SMELT_BIN, or cargo build --release)")


def ensure_venv():
    bench_venv.ensure(VENV, ["flaml[automl]==2.7.0", "scikit-learn", "pandas"], "flaml.txt")


def run_smelt(binary, name, budget, seed, train=None, test=None):
    train = train or DATASETS / f"{name}.train.csv"
    test = test or DATASETS / f"{name}.test.csv"
    task = TASKS[name]
    target = TARGETS.get(name, "target")
    metric = "accuracy" if task == "classification" else "r2"
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, SMELT_HOME=home)
        env.pop("SMELT_TRACKING_URI", None)
        env.pop("MLFLOW_TRACKING_URI", None)
        start = time.time()
        done = subprocess.run(
            [binary, "--json", "autopilot", "--data", str(train),
             "--test", str(test), "--target", target,
             "--metric", metric, "--time-budget", f"{budget}s", "--seed", str(seed), "--quiet"],
            env=env, capture_output=True, text=True)
        wall = time.time() - start
    if done.returncode != 0:
        raise SystemExit(f"smelt autopilot failed on {name}:\n{done.stderr}")
    outcome = json.loads(done.stdout)
    return {
        "score": outcome["test_metrics"][metric],
        "cv_score": outcome["best_score"],
        "best_model": outcome["best_model"],
        "best_learner": outcome["leaderboard"]["entries"][0]["learner"],
        "trials": outcome["leaderboard"]["trials_started"],
        "seconds": wall,
    }


def run_flaml(name, budget):
    task = TASKS[name]
    target = TARGETS.get(name, "target")
    start = time.time()
    done = subprocess.run(
        [str(FLAML_PY), "-c", PEER, str(DATASETS / f"{name}.train.csv"),
         str(DATASETS / f"{name}.test.csv"), target, task, str(budget)],
        capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"FLAML failed on {name}:\n{done.stderr[-3000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["wall_seconds"] = time.time() - start
    return out


def least_squares_r2(train, test, target):
    """R² on `test` of ordinary least squares with an intercept fitted on `train`."""
    import numpy as np
    tr = np.genfromtxt(train, delimiter=",", names=True)
    te = np.genfromtxt(test, delimiter=",", names=True)
    cols = [c for c in tr.dtype.names if c != target]
    design = lambda t: np.column_stack([np.ones(len(t))] + [t[c] for c in cols])
    coef, *_ = np.linalg.lstsq(design(tr), tr[target], rcond=None)
    residual = te[target] - design(te) @ coef
    return 1 - (residual ** 2).sum() / ((te[target] - te[target].mean()) ** 2).sum()


def resplit(binary, name, budget, seed, count):
    """Smelt against least squares on `count` fresh random 75/25 splits of the
    dataset's rows (train and test files together), seeds 1..count: one
    111-row test split cannot rank models whose R² differ by a few hundredths."""
    import random
    if TASKS[name] != "regression":
        raise SystemExit(f"--resplits compares with least squares: {name} is not a regression dataset")
    target = TARGETS.get(name, "target")
    lines = (DATASETS / f"{name}.train.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:] + (DATASETS / f"{name}.test.csv").read_text().splitlines()[1:]
    print(f"\n| split seed | Smelt {budget:.0f} s R² | least squares R² | Smelt − least squares | Smelt's model |")
    print("|---|---|---|---|---|")
    diffs = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(1, count + 1):
            shuffled = rows[:]
            random.Random(k).shuffle(shuffled)
            n_test = len(shuffled) // 4
            train, test = Path(tmp, f"train{k}.csv"), Path(tmp, f"test{k}.csv")
            train.write_text("\n".join([header] + shuffled[n_test:]) + "\n")
            test.write_text("\n".join([header] + shuffled[:n_test]) + "\n")
            smelt = run_smelt(binary, name, budget, seed, train, test)
            floor = least_squares_r2(train, test, target)
            diffs.append(smelt["score"] - floor)
            print(f"| {k} | {smelt['score']:.4f} | {floor:.4f} | {diffs[-1]:+.4f} | {smelt['best_model']} |", flush=True)
    wins = sum(d >= 0 for d in diffs)
    mean = sum(diffs) / len(diffs)
    print(f"\nSmelt at least equals least squares on {wins} of {count} splits; mean difference {mean:+.4f} R²")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smelt-budget", type=float, default=30)
    ap.add_argument("--flaml-budget", type=float, default=120)
    ap.add_argument("--datasets", default="breast_cancer,wine,digits,diabetes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-flaml", action="store_true")
    ap.add_argument("--out", default="/tmp/bench_autopilot.json")
    ap.add_argument("--resplits", type=int, default=0,
                    help="instead: Smelt against least squares on this many random resplits of each dataset")
    args = ap.parse_args()
    binary = smelt_bin()
    if args.resplits:
        for name in args.datasets.split(","):
            resplit(binary, name, args.smelt_budget, args.seed, args.resplits)
        return
    if not args.skip_flaml:
        ensure_venv()
    results = {}
    for name in args.datasets.split(","):
        print(f"{name}: smelt autopilot {args.smelt_budget:.0f} s…", file=sys.stderr)
        row = {"smelt": run_smelt(binary, name, args.smelt_budget, args.seed)}
        if not args.skip_flaml:
            print(f"{name}: FLAML {args.flaml_budget:.0f} s…", file=sys.stderr)
            row["flaml"] = run_flaml(name, args.flaml_budget)
        results[name] = row
    Path(args.out).write_text(json.dumps(results, indent=2))

    metric = lambda n: "accuracy" if TASKS[n] == "classification" else "R²"
    print(f"\n| dataset | metric | Smelt {args.smelt_budget:.0f} s | FLAML {args.flaml_budget:.0f} s "
          "| Smelt − FLAML | linear regression | Smelt best | FLAML best | time Smelt ÷ FLAML |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, row in results.items():
        s = row["smelt"]
        f = row.get("flaml")
        fscore = f"{f['score']:.4f}" if f else "–"
        diff = f"{s['score'] - f['score']:+.4f}" if f else "–"
        lr = f"{f['linear_regression_r2']:.4f}" if f and "linear_regression_r2" in f else "–"
        ratio = f"{s['seconds'] / f['wall_seconds']:.2f}" if f else "–"
        print(f"| {name} | {metric(name)} | {s['score']:.4f} | {fscore} | {diff} | {lr} "
              f"| {s['best_learner']} ({s['trials']} trials) | {f['best_learner'] if f else '–'} | {ratio} |")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
