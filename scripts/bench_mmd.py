#!/usr/bin/env python3
"""MMD benchmark: Smelt vs Alibi Detect, 5,000 vs 5,000 rows x 25 columns,
100 permutations, in one run on identical data.

    python3 scripts/bench_mmd.py [--rows 5000] [--columns 25] [--permutations 100] [--out DIR]

Data: numpy default_rng(0); columns with scales 1 and 10 alternating, the
current table shifted by 0.1 standard deviations on every column. Smelt runs
`smelt monitor mmd` (the release binary: /work/cache/release-target or
target/release, or $SMELT_BIN) with --compute cpu, and with --compute gpu when
a hardware GPU adapter is there (the binary built with --features gpu); the
output says whether the GPU kernel ran. Alibi Detect 0.13.0 (TensorFlow CPU)
runs in the venv ~/.cache/smelt/alibi-venv (see drift-peers.md §7 for how it
is installed; skipped with a note when missing). Wall time of every process
comes from /usr/bin/time -v, with the test's own time printed beside it.
"""
import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ALIBI_PY = Path.home() / ".cache/smelt/alibi-venv/bin/python"


def find_smelt():
    for c in [os.environ.get("SMELT_BIN"), "/work/cache/release-target/release/smelt",
              str(ROOT / "target/release/smelt")]:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return c
    raise SystemExit("smelt binary not found (set SMELT_BIN)")


def generate(out, rows, columns):
    import random
    rng = random.Random(0)
    header = ",".join(f"x{i:02d}" for i in range(columns))
    for name, shift in [("reference", 0.0), ("current", 0.1)]:
        path = out / f"{name}.csv"
        with open(path, "w") as f:
            f.write(header + "\n")
            for _ in range(rows):
                f.write(",".join(
                    repr((1.0 if i % 2 == 0 else 10.0) * (rng.gauss(0.0, 1.0) + shift))
                    for i in range(columns)) + "\n")
    return out / "reference.csv", out / "current.csv"


def timed(cmd):
    """Runs cmd under /usr/bin/time -v: (stdout, wall seconds, peak RSS MiB).
    Without GNU time (a bare GPU image), Python times it and reads the peak
    RSS of the child from getrusage."""
    if not Path("/usr/bin/time").exists():
        import resource, time as clock
        start = clock.time()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {proc.stderr[-2000:]}")
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        return proc.stdout, clock.time() - start, rss
    proc = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {proc.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    h, m, s = wall.groups()
    seconds = int(h or 0) * 3600 + int(m) * 60 + float(s)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1)) / 1024
    return proc.stdout, seconds, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--columns", type=int, default=25)
    ap.add_argument("--permutations", type=int, default=100)
    ap.add_argument("--out", default="/tmp/bench_mmd")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ref, cur = generate(out, args.rows, args.columns)
    smelt = find_smelt()
    results = {"rows": args.rows, "columns": args.columns, "permutations": args.permutations}

    def run_smelt(compute):
        stdout, wall, rss = timed([smelt, "--json", "monitor", "mmd", str(ref), str(cur),
                                   "--permutations", str(args.permutations), "--compute", compute])
        report = json.loads(stdout)
        report.update(wall_s=wall, peak_rss_mib=rss)
        return report

    results["smelt_cpu"] = run_smelt("cpu")
    auto = run_smelt("auto")
    if auto["compute"].startswith("gpu") and "software" not in auto["compute"]:
        results["smelt_gpu"] = auto
        results["gpu_note"] = f"GPU kernel ran on {auto['compute']}"
    else:
        results["gpu_note"] = "no hardware GPU adapter here (or a build without --features gpu): the GPU kernel was not timed"

    if ALIBI_PY.exists():
        stdout, wall, rss = timed([str(ALIBI_PY), str(HERE / "bench_mmd/peer_alibi.py"),
                                   str(ref), str(cur), str(args.permutations)])
        alibi = json.loads(stdout.strip().splitlines()[-1])
        alibi.update(wall_s=wall, peak_rss_mib=rss)
        results["alibi"] = alibi
    else:
        results["alibi_note"] = f"{ALIBI_PY} missing: Alibi Detect skipped"

    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(f"MMD {args.rows} vs {args.rows} rows x {args.columns} columns, {args.permutations} permutations")
    print(f"{'':24} {'test s':>9} {'wall s':>9} {'RSS MiB':>8}  MMD2        p")
    def line(name, r, test_key):
        print(f"{name:24} {r[test_key]:9.3f} {r['wall_s']:9.2f} {r['peak_rss_mib']:8.0f}  "
              f"{r['mmd2']:.3e}  {r['p_value']:.3f}")
    line("smelt (cpu)", results["smelt_cpu"], "seconds")
    if "smelt_gpu" in results:
        line("smelt (gpu)", results["smelt_gpu"], "seconds")
    if "alibi" in results:
        line("alibi-detect (tf cpu)", results["alibi"], "test_s")
        a, s = results["alibi"], results["smelt_cpu"]
        print(f"Smelt CPU vs Alibi: {a['test_s'] / s['seconds']:.0f}x on the test, "
              f"{a['wall_s'] / s['wall_s']:.0f}x wall")
    print(results["gpu_note"])
    if "alibi_note" in results:
        print(results["alibi_note"])
    print(f"results: {out / 'results.json'}")


if __name__ == "__main__":
    sys.exit(main())
