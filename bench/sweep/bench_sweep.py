#!/usr/bin/env python3
"""bench_sweep.py - `driftd sweep` end to end on a synthetic Parquet table,
against itself on a 2-worker Dask LocalCluster and against the NumPy/SciPy
per-column loop, with peak memory.

The data is written at bench time: N rows x F float32 columns, reference
N(0, 1), current N(0, 1) except the first S columns, which are N(0.1, 1)
(seed 20261206), in row groups of 65,536 rows, uncompressed. Cases:
  sweep_1    driftd sweep in one process (--threads 2)
  sweep_dask driftd sweep --cluster local:2 (two single-threaded workers)
  c_drift    with --drift-bin: the C drift sweep on .npy copies of the data
  scipy_loop per column: scipy.stats.ks_2samp and PSI over np.quantile edges
             (np.histogram), reading each column from the Parquet files;
             timed on --subset columns and scaled by F / subset (the output
             says so)
Each sweep runs as a child process; its peak RSS is the child's ru_maxrss
(with Dask, the largest single process of the tree, not their sum). The
sweeps use --fdr bh --effect-size-rows never (Benjamini-Hochberg over
p-values at every size: a 0.1 sd shift sits right at the effect-size
rule's thresholds), so the drifted list should be exactly the S shifted
columns; the output checks it.
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

SEED = 20261206


def write_table(path, n, f, shifted, shift, seed):
    rng = np.random.default_rng(seed)
    names = ["c%04d" % i for i in range(f)]
    schema = pa.schema([(name, pa.float32()) for name in names])
    with pq.ParquetWriter(path, schema, compression="none") as w:
        for start in range(0, n, 65536):
            rows = min(65536, n - start)
            cols = []
            for i in range(f):
                col = rng.standard_normal(rows, dtype=np.float32)
                if i < shifted:
                    col += np.float32(shift)
                cols.append(pa.array(col))
            w.write_table(pa.Table.from_arrays(cols, schema=schema))
    return names


# Runs a command and prints the largest ru_maxrss among its descendants, so
# each case's peak is its own (ru_maxrss of RUSAGE_CHILDREN only grows).
PEAK = ("import resource, subprocess, sys\n"
        "rc = subprocess.call(sys.argv[1:])\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(u.ru_maxrss, u.ru_utime + u.ru_stime, file=sys.stderr)\n"
        "sys.exit(rc)")

# CPU seconds (user + system) of the last run_child's process tree.
LAST_CPU = [0.0]


def run_child(args):
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PEAK] + args, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        sys.exit("failed: %s\n%s" % (" ".join(args), proc.stderr))
    peak_kib, cpu = proc.stderr.strip().splitlines()[-1].split()
    LAST_CPU[0] = float(cpu)
    return seconds, int(peak_kib) * 1024, proc


def sweep_case(ref, cur, out, extra):
    cmd = [sys.executable, "-m", "driftd", "sweep", "--reference", ref, "--current", cur,
           "--fdr", "bh", "--effect-size-rows", "never", "--quiet", "--output", out,
           "--format", "json"] + extra
    seconds, rss, _ = run_child(cmd)
    with open(out + ".json") as f:
        doc = json.load(f)
    drifted = sorted(x["name"] for x in doc["features"] if x["drift"])
    return seconds, rss, drifted, doc


def scipy_loop(ref, cur, names, subset):
    from scipy import stats
    t0, c0 = time.perf_counter(), time.process_time()
    rf, cf = pq.ParquetFile(ref), pq.ParquetFile(cur)
    for name in names[:subset]:
        a = rf.read(columns=[name]).column(0).to_numpy()
        b = cf.read(columns=[name]).column(0).to_numpy()
        stats.ks_2samp(a, b)
        edges = np.unique(np.quantile(a, np.linspace(0, 1, 21)))
        p = np.histogram(a, edges)[0] / len(a) + 1e-4
        q = np.histogram(b, edges)[0] / len(b) + 1e-4
        float(np.sum((q - p) * np.log(q / p)))
    scale = len(names) / subset
    return (time.perf_counter() - t0) * scale, (time.process_time() - c0) * scale


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=3_000_000)
    ap.add_argument("--features", type=int, default=1000)
    ap.add_argument("--shifted", type=int, default=50)
    ap.add_argument("--shift", type=float, default=0.1)
    ap.add_argument("--subset", type=int, default=20, help="columns the SciPy loop times")
    ap.add_argument("--dir", default="bench-sweep-data")
    ap.add_argument("--no-values", action="store_true",
                    help="pass --no-values (PSI and the histogram statistics only)")
    ap.add_argument("--drift-bin", help="also time the C drift sweep on .npy copies")
    ap.add_argument("--sweep-args", default="", help="more options for every sweep, e.g. "
                    "'--threshold ks=0.001'")
    ap.add_argument("--reuse", action="store_true", help="keep the data already in --dir")
    ap.add_argument("--cases", default="sweep_1,sweep_dask",
                    help="sweeps to run, of sweep_1 and sweep_dask")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    ref, cur = os.path.join(a.dir, "reference.parquet"), os.path.join(a.dir, "current.parquet")
    t0 = time.perf_counter()
    if a.reuse and os.path.exists(cur):
        names = pq.ParquetFile(ref).schema_arrow.names
    else:
        names = write_table(ref, a.rows, a.features, 0, 0.0, SEED)
        write_table(cur, a.rows, a.features, a.shifted, a.shift, SEED + 1)
    print("data: %d rows x %d float32 columns, %d shifted by %g; written in %.1f s; %.2f GB "
          "per file" % (a.rows, a.features, a.shifted, a.shift, time.perf_counter() - t0,
                        os.path.getsize(ref) / 1e9))
    extra = (["--no-values"] if a.no_values else []) + a.sweep_args.split()
    expected = sorted(names[:a.shifted])
    results = {}
    cases = (("sweep_1", ["--threads", "2"]), ("sweep_dask", ["--cluster", "local:2"]))
    for case, more in [c for c in cases if c[0] in a.cases.split(",")]:
        s, rss, drifted, doc = sweep_case(ref, cur, os.path.join(a.dir, case), extra + more)
        results[case] = {"seconds": s, "cpu_seconds": LAST_CPU[0], "peak_rss_gb": rss / 1e9,
                         "exactly_the_shifted": drifted == expected, "n_drifted": len(drifted)}
        print("%-10s %7.1f s  CPU %.1f s  peak RSS %.2f GB  drifted %d, exactly the shifted "
              "columns: %s" % (case, s, LAST_CPU[0], rss / 1e9, len(drifted), drifted == expected))
    if a.drift_bin:
        npy = {}
        for side, path in (("reference", ref), ("current", cur)):
            t = pq.read_table(path)
            npy[side] = path[:-len(".parquet")] + ".npy"
            np.save(npy[side], np.column_stack([c.to_numpy() for c in t.columns]))
            del t
        out = os.path.join(a.dir, "c_drift")
        s, rss, _ = run_child([a.drift_bin, "sweep", "--reference", npy["reference"], "--current",
                               npy["current"], "--fdr", "bh", "--effect-size-rows", "never",
                               "--quiet", "--threads", "2", "--output",
                               out, "--format", "json"] + extra)
        with open(out + ".json") as f:
            drifted = sorted("c%04d" % int(x["name"][1:]) for x in json.load(f)["features"]
                             if x["drift"])
        results["c_drift_npy"] = {"seconds": s, "peak_rss_gb": rss / 1e9,
                                  "exactly_the_shifted": drifted == expected}
        print("%-10s %7.1f s  peak RSS %.2f GB  drifted %d, exactly the shifted columns: %s" %
              ("c_drift", s, rss / 1e9, len(drifted), drifted == expected))
    loop, loop_cpu = scipy_loop(ref, cur, names, min(a.subset, a.features))
    results["scipy_loop"] = {"seconds": loop, "cpu_seconds": loop_cpu,
                             "scaled_from_columns": min(a.subset, a.features)}
    print("scipy_loop %7.1f s  CPU %.1f s  (timed on %d columns, scaled by %d/%d)" %
          (loop, loop_cpu, min(a.subset, a.features), a.features, min(a.subset, a.features)))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
