#!/usr/bin/env python3
"""evidently_sweep.py - Evidently's data-drift preset against `driftd sweep`
and the C `drift sweep` on the same synthetic Parquet pair, with the
columns each one flags.

Run it with a Python that has Evidently, pandas (< 3 for Evidently 0.7) and
pyarrow; the sweeps run as child processes of --sweep-python (a Python
that imports driftd) and --drift-bin. Evidently lives best in a virtualenv
of its own, as its pins clash with the project's:

  python3 -m venv /tmp/ev && /tmp/ev/bin/pip install evidently "pandas<3" pyarrow
  /tmp/ev/bin/python bench/peers/evidently_sweep.py --rows 200000 --features 100 \\
      --sweep-python .venv/bin/python --drift-bin build/release/drift

The data is bench/sweep/bench_sweep.py's (reference N(0, 1), current the
same but the first S columns shifted by --shift, float32, uncompressed row
groups of 65,536 rows), plus --flags 0/1 columns whose share of ones falls
from 0.125 to 0.037 in the current file (the grants flag of issue 14).
Evidently's time includes reading both files into pandas; the sweeps'
times are whole program runs (reading included). Each case's flagged
columns are compared with the truly shifted ones.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sweep"))
from bench_sweep import SEED, write_table  # noqa: E402


def add_flags(path, n_flags, share, seed):
    """Appends n_flags 0/1 float32 columns with the given share of ones."""
    if n_flags == 0:
        return []
    table = pq.read_table(path)
    rng = np.random.default_rng(seed)
    names = ["flag%02d" % i for i in range(n_flags)]
    for name in names:
        table = table.append_column(
            name, pa.array((rng.random(table.num_rows) < share).astype(np.float32)))
    pq.write_table(table, path, compression="none", row_group_size=65536)
    return names


def evidently_case(ref, cur):
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset
    t0 = time.perf_counter()
    rdf, cdf = pd.read_parquet(ref), pd.read_parquet(cur)
    snap = Report([DataDriftPreset()]).run(current_data=cdf, reference_data=rdf)
    seconds = time.perf_counter() - t0
    flagged, methods = [], {}
    for m in snap.dict()["metrics"]:
        cfg = m["config"]
        if not cfg["type"].endswith("ValueDrift"):
            continue
        method, value = cfg["method"], m["value"]
        methods[method] = methods.get(method, 0) + 1
        p_value = "p_value" in method or "p-value" in method
        if (value < cfg["threshold"]) if p_value else (value >= cfg["threshold"]):
            flagged.append(cfg["column"])
    return seconds, sorted(flagged), methods


def sweep_case(cmd, out):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd + ["--quiet", "--output", out, "--format", "json"],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        sys.exit("failed: %s\n%s" % (" ".join(cmd), proc.stderr))
    with open(out + ".json") as f:
        doc = json.load(f)
    return seconds, sorted(x["name"] for x in doc["features"] if x["drift"]), doc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--features", type=int, default=100)
    ap.add_argument("--shifted", type=int, default=5)
    ap.add_argument("--shift", type=float, default=0.1)
    ap.add_argument("--flags", type=int, default=2)
    ap.add_argument("--dir", default="bench-evidently-data")
    ap.add_argument("--sweep-python", required=True, help="a Python that imports driftd")
    ap.add_argument("--drift-bin", help="also run the C drift sweep on .npy copies")
    ap.add_argument("--reuse", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    ref, cur = os.path.join(a.dir, "reference.parquet"), os.path.join(a.dir, "current.parquet")
    if not (a.reuse and os.path.exists(cur)):
        names = write_table(ref, a.rows, a.features, 0, 0.0, SEED)
        write_table(cur, a.rows, a.features, a.shifted, a.shift, SEED + 1)
        add_flags(ref, a.flags, 0.125, SEED + 2)
        add_flags(cur, a.flags, 0.037, SEED + 3)
    names = pq.ParquetFile(ref).schema_arrow.names
    truth = sorted(names[:a.shifted] + [n for n in names if n.startswith("flag")])
    print("data: %d rows x %d columns (%d float32 normals, %d shifted by %g sd; %d 0/1 flags "
          "0.125 -> 0.037)" % (a.rows, len(names), a.features, a.shifted, a.shift, a.flags))
    import evidently
    print("Evidently %s, Python %s" % (evidently.__version__, sys.version.split()[0]))
    rows = []
    s, flagged, methods = evidently_case(ref, cur)
    rows.append(("Evidently DataDriftPreset (defaults)", s, flagged))
    print("Evidently tests used: %s" % methods)
    sweep = [a.sweep_python, "-m", "driftd", "sweep", "--reference", ref, "--current", cur,
             "--threads", "2"]
    for label, more in (("driftd sweep (defaults: effect sizes past 10,000 rows)", []),
                        ("driftd sweep --effect-size-rows never (p-values, BH)",
                         ["--effect-size-rows", "never"])):
        s, flagged, _ = sweep_case(sweep + more, os.path.join(a.dir, "py"))
        rows.append((label, s, flagged))
    if a.drift_bin:
        npy = {}
        for side, path in (("reference", ref), ("current", cur)):
            t = pq.read_table(path)
            npy[side] = path[:-len(".parquet")] + ".npy"
            np.save(npy[side], np.column_stack([c.to_numpy() for c in t.columns]))
        s, flagged, _ = sweep_case([a.drift_bin, "sweep", "--reference", npy["reference"],
                                    "--current", npy["current"], "--threads", "2"],
                                   os.path.join(a.dir, "c"))
        flagged = sorted(names[int(x[1:])] for x in flagged)   # .npy columns are f0, f1, ...
        rows.append(("C drift sweep on .npy (defaults)", s, flagged))
    print("| case | seconds | flagged | shifted columns flagged | unchanged flagged |")
    print("|---|---:|---:|---:|---:|")
    for label, s, flagged in rows:
        hit = len(set(flagged) & set(truth))
        print("| %s | %.1f | %d | %d of %d | %d |" % (label, s, len(flagged), hit, len(truth),
                                                   len(flagged) - hit))
    print(json.dumps({label: {"seconds": s, "flagged": flagged} for label, s, flagged in rows}))


if __name__ == "__main__":
    main()
