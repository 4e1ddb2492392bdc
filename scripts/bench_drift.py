#!/usr/bin/env python3
"""Drift-detection benchmark: Smelt vs SciPy vs Evidently 0.7.23.

    python3 scripts/bench_drift.py [--rows 1000000] [--out DIR] [--only smelt,scipy,evidently]

Data and peers follow shared/reference/drift-peers.md (§2 data, §3 SciPy,
§4 Evidently). Every peer runs as its own process under /usr/bin/time -v on
the same Parquet files; wall seconds and "Maximum resident set size" come from
there. Needs only the Python standard library itself; the peers run in the venv
~/.cache/smelt/drift-venv (created here if missing, exact versions from
scripts/constraints/drift.txt: evidently==0.7.23,
pandas<3, scipy, numpy, pyarrow). Writes OUT/results.json and OUT/drift.md.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import bench_venv

HERE = Path(__file__).resolve().parent
HELPERS = HERE / "bench_drift"
ROOT = HERE.parent
VENV = Path.home() / ".cache/smelt/drift-venv"
VENV_PY = VENV / "bin/python"
SHIFTED = ["num_01", "num_04", "num_07", "num_09", "num_13"]
SCALED = ["num_02", "num_10", "num_14"]
CAT_DRIFT = ["cat_1", "cat_3"]
INJECTED = set(SHIFTED + SCALED + CAT_DRIFT)
COLUMNS = [f"num_{i:02d}" for i in range(20)] + [f"cat_{j}" for j in range(5)]
PEER_TIMEOUT = 1800
# Published reference points (drift-peers.md §5, 1M rows, min wall).
PUBLISHED = {"evidently_1M": {"wall_s": 219.05, "peak_rss_mib": 2335},
             "scipy_1M": {"wall_s": 42.25, "peak_rss_mib": 1134}}


def log(msg):
    print(f"[bench_drift {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def find_smelt():
    cands = [os.environ.get("SMELT_BIN"),
             "/work/cache/release-target/release/smelt",
             str(ROOT / "target/release/smelt")]
    for c in cands:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return c
    raise SystemExit("smelt binary not found (set SMELT_BIN)")


def ensure_venv(notes):
    """Returns (python for peers, evidently available?)."""
    def has(mod):
        return subprocess.run([str(VENV_PY), "-c", f"import {mod}"],
                              capture_output=True).returncode == 0
    t = time.time()
    try:
        bench_venv.ensure(VENV, ["evidently==0.7.23", "pandas<3", "scipy", "numpy", "pyarrow"],
                          "drift.txt", timeout=360)
        ok = True
    except subprocess.TimeoutExpired:
        ok = False
        notes.append("pip install exceeded 6 minutes")
    except subprocess.CalledProcessError as e:
        ok = False
        notes.append(f"pip install failed ({e})")
    log(f"venv ready after {time.time() - t:.0f}s (ok={ok})")
    if has("numpy, pandas, pyarrow, scipy"):
        ev = has("evidently")
        if not ev:
            notes.append("evidently 0.7.23 could not be installed/imported: Evidently skipped")
        return str(VENV_PY), ev
    notes.append("drift venv unusable; falling back to the current interpreter, Evidently skipped")
    return sys.executable, False


def parse_time_v(text):
    out = {}
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text)
    if m:
        parts = [float(p) for p in m.group(1).split(":")]
        secs = 0.0
        for p in parts:
            secs = secs * 60 + p
        out["wall_s_time_v"] = secs
    for key, pat in (("peak_rss_kb", r"Maximum resident set size \(kbytes\): (\d+)"),
                     ("user_s", r"User time \(seconds\): ([\d.]+)"),
                     ("sys_s", r"System time \(seconds\): ([\d.]+)"),
                     ("major_faults", r"Major \(requiring I/O\) page faults: (\d+)"),
                     ("minor_faults", r"Minor \(reclaiming a frame\) page faults: (\d+)"),
                     ("vol_ctx", r"Voluntary context switches: (\d+)"),
                     ("invol_ctx", r"Involuntary context switches: (\d+)"),
                     ("cpu_percent", r"Percent of CPU this job got: (\d+)%")):
        m = re.search(pat, text)
        if m:
            out[key] = float(m.group(1))
    return out


def timed(name, cmd, out_dir):
    """Run cmd under /usr/bin/time -v; return measurement dict."""
    log(f"{name}: {' '.join(cmd)}")
    load = os.getloadavg()[0]
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True,
                       timeout=PEER_TIMEOUT)
    wall = time.perf_counter() - t
    (out_dir / f"{name}.stdout").write_text(p.stdout)
    (out_dir / f"{name}.stderr").write_text(p.stderr)
    rec = {"peer": name, "cmd": cmd, "rc": p.returncode, "wall_s": wall, "loadavg_1m": load}
    rec.update(parse_time_v(p.stderr))
    if "peak_rss_kb" in rec:
        rec["peak_rss_mib"] = rec["peak_rss_kb"] / 1024
    log(f"{name}: rc={p.returncode} wall={wall:.2f}s rss={rec.get('peak_rss_mib', 0):.0f}MiB "
        f"user={rec.get('user_s')} sys={rec.get('sys_s')}")
    if p.returncode != 0:
        log(p.stderr[-2000:])
    return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--out", default=None, help="output dir (default target/bench-drift/<rows>)")
    ap.add_argument("--only", default="smelt,scipy,evidently")
    ap.add_argument("--no-csv", action="store_true", help="skip the Smelt CSV variant")
    args = ap.parse_args()
    peers = [p.strip() for p in args.only.split(",") if p.strip()]
    out = Path(args.out or ROOT / "target/bench-drift" / str(args.rows)).resolve()
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    notes = []
    smelt = find_smelt() if "smelt" in peers else None
    py, have_ev = ensure_venv(notes)
    if "evidently" in peers and not have_ev:
        peers.remove("evidently")

    files = [data / f"{n}.{e}" for n in ("reference", "current") for e in ("parquet", "csv")]
    gen = None
    if all(f.exists() for f in files):
        log(f"data exists in {data}; skipping generation")
    else:
        gen = timed("generate", [py, str(HELPERS / "gen_data.py"), str(data), str(args.rows)], out)
        if gen["rc"] != 0:
            raise SystemExit("data generation failed")
    rp, cp = str(data / "reference.parquet"), str(data / "current.parquet")

    runs, verdicts = [], {}
    if "smelt" in peers:
        r = timed("smelt", [smelt, "monitor", "compare", rp, cp, "--json-report", str(out / "smelt.json")], out)
        r.update(peer="smelt", format="parquet")
        runs.append(r)
        if not args.no_csv:
            r = timed("smelt_csv", [smelt, "monitor", "compare", str(data / "reference.csv"),
                                    str(data / "current.csv"), "--json-report", str(out / "smelt_csv.json")], out)
            r.update(peer="smelt (csv)", format="csv")
            runs.append(r)
    if "scipy" in peers:
        r = timed("scipy", [py, str(HELPERS / "peer_scipy.py"), str(data), str(out / "scipy.json")], out)
        r.update(peer="scipy", format="parquet")
        runs.append(r)
    if "evidently" in peers:
        env_cmd = ["env", "DO_NOT_TRACK=1", py, str(HELPERS / "peer_evidently.py"), str(data), str(out / "evidently.json")]
        r = timed("evidently", env_cmd, out)
        r.update(peer="evidently", format="parquet")
        runs.append(r)

    # Per-column verdicts.
    def load(name):
        f = out / name
        return json.loads(f.read_text()) if f.exists() else None
    sm, smc, sp, ev = load("smelt.json"), load("smelt_csv.json"), load("scipy.json"), load("evidently.json")
    if sm:
        verdicts["smelt"] = {c["column"]: {"stat": c["statistic"], "drift": c["drifted"], "test": c["test"]}
                             for c in sm["columns"]}
    if smc:
        verdicts["smelt_csv"] = {c["column"]: {"stat": c["statistic"], "drift": c["drifted"]} for c in smc["columns"]}
    if sp:
        verdicts["scipy_evidently_rule"] = {k: {"stat": v["evidently_rule"]["value"], "drift": v["evidently_rule"]["drift"]}
                                            for k, v in sp["columns"].items()}
    if ev:
        verdicts["evidently"] = {k: {"stat": v["value"], "drift": v["drift"]} for k, v in ev["columns"].items()}

    by = {r["peer"]: r for r in runs if r["rc"] == 0}
    ratios = {}
    s = by.get("smelt")
    if s and "evidently" in by:
        ratios["evidently_wall_over_smelt"] = {"value": by["evidently"]["wall_s"] / s["wall_s"], "target": ">= 40"}
        ratios["smelt_rss_over_evidently"] = {"value": s["peak_rss_mib"] / by["evidently"]["peak_rss_mib"], "target": "<= 0.2"}
    if s and "scipy" in by:
        ratios["scipy_wall_over_smelt"] = {"value": by["scipy"]["wall_s"] / s["wall_s"], "target": ">= 5"}
    if s and args.rows == 1_000_000:
        ratios["published_evidently_219s_over_smelt"] = {"value": PUBLISHED["evidently_1M"]["wall_s"] / s["wall_s"], "target": ">= 40"}
        ratios["smelt_rss_over_published_evidently_2335MiB"] = {"value": s["peak_rss_mib"] / PUBLISHED["evidently_1M"]["peak_rss_mib"], "target": "<= 0.2"}
    for k, v in ratios.items():
        t = v["target"]
        v["met"] = v["value"] >= float(t[3:]) if t.startswith(">=") else v["value"] <= float(t[3:])

    agreement = {}
    if "smelt" in verdicts:
        flagged = {c for c, v in verdicts["smelt"].items() if v["drift"]}
        agreement["smelt_flagged"] = sorted(flagged)
        agreement["injected"] = sorted(INJECTED)
        agreement["injected_missed_by_smelt"] = sorted(INJECTED - flagged)
        agreement["false_positives_smelt"] = sorted(flagged - INJECTED)
        agreement["smelt_matches_injected"] = flagged == INJECTED
        agreement["smelt_dataset_drifted"] = sm.get("dataset_drifted")
        agreement["smelt_drifted_share"] = sm.get("drifted_share")
        for other in ("evidently", "scipy_evidently_rule", "smelt_csv"):
            if other in verdicts:
                o = verdicts[other]
                agreement[f"verdict_disagreements_vs_{other}"] = sorted(
                    c for c in verdicts["smelt"] if c in o and o[c]["drift"] != verdicts["smelt"][c]["drift"])
                agreement[f"max_abs_stat_diff_vs_{other}"] = max(
                    abs(o[c]["stat"] - verdicts["smelt"][c]["stat"]) for c in verdicts["smelt"] if c in o)
    if ev:
        agreement["evidently_summary"] = ev.get("summary")

    results = {"rows": args.rows, "out": str(out), "host": {"nproc": os.cpu_count(), "uname": " ".join(os.uname())},
               "generation": gen, "runs": runs, "ratios": ratios, "agreement": agreement,
               "verdicts": verdicts, "notes": notes, "published_reference": PUBLISHED,
               "peer_phases": {k: v["phases"] for k, v in (("scipy", sp), ("evidently", ev)) if v}}
    (out / "results.json").write_text(json.dumps(results, indent=1))

    md = [f"# Drift benchmark, {args.rows:,} vs {args.rows:,} rows, 20 numeric + 5 categorical columns", "",
          "| peer | rows | wall s | user s | sys s | peak RSS MiB | load 1m | rc |", "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        md.append(f"| {r['peer']} | {args.rows:,} | {r['wall_s']:.2f} | {r.get('user_s', 0):.2f} | {r.get('sys_s', 0):.2f} "
                  f"| {r.get('peak_rss_mib', 0):.0f} | {r['loadavg_1m']:.2f} | {r['rc']} |")
    md += ["", "| ratio | value | target | met |", "|---|---|---|---|"]
    for k, v in ratios.items():
        md.append(f"| {k} | {v['value']:.3f} | {v['target']} | {'yes' if v['met'] else 'NO'} |")
    md += ["", "## Per-column verdicts", ""]
    heads = [h for h in ("smelt", "smelt_csv", "evidently", "scipy_evidently_rule") if h in verdicts]
    md.append("| column | injected | " + " | ".join(heads) + " |")
    md.append("|---|---|" + "---|" * len(heads))
    for c in COLUMNS:
        inj = "shift" if c in SHIFTED else "scale" if c in SCALED else "freq" if c in CAT_DRIFT else ""
        cells = []
        for h in heads:
            v = verdicts[h].get(c)
            cells.append("-" if v is None else f"{v['stat']:.4f} {'DRIFT' if v['drift'] else 'ok'}")
        md.append(f"| {c} | {inj} | " + " | ".join(cells) + " |")
    md += ["", "## Agreement", "", "```", json.dumps(agreement, indent=1), "```"]
    if notes:
        md += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    (out / "drift.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
