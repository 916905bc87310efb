#!/usr/bin/env python3
"""bench_sort.py - the engine's sort op alone against NumPy's ndarray.sort,
on the same float32 values in the same run.

For each size (--sizes) and data set (normal N(0, 1); uniform [0, 1); ties:
100 distinct integers plus -0.0 and +0.0; wide: signs and magnitudes over
2^-60 .. 2^60 with subnormals and zeros), seed 20261208, the values are
written to a raw .f32 file and sorted --reps times each by:
  radix   the C program bench_sort with DRIFT_CPU_ISA=scalar (the portable
          radix sort: MSD scatter on the top 12 bits, two 10-bit LSD passes)
  avx512  the same program with the AVX-512 quicksort (isa.c's default on a
          processor with AVX-512)
  numpy   ndarray.sort (NumPy's own SIMD quicksort where the CPU has it)
in --rounds rounds, the order of the three rotating from round to round.
Each figure is nanoseconds per value, the best over all repetitions of all
rounds, of the thread's CPU time (numpy: time.thread_time; the C program:
its process, one engine thread) and of wall time. NaN and infinities never
reach the engine's sort (a profile or window keeps finite values only), so
the data has none. Checks: radix and avx512 return the same bytes, and the
same values as numpy.sort with every -0.0 before every +0.0.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

SEED = 20261208


def make(kind, n, rng):
    if kind == "normal":
        return rng.standard_normal(n, dtype=np.float32)
    if kind == "uniform":
        return rng.random(n, dtype=np.float32)
    if kind == "ties":
        x = rng.integers(-50, 50, n).astype(np.float32)
        z = rng.random(n) < 0.02
        x[z] = np.where(rng.random(int(z.sum())) < 0.5, np.float32(-0.0), np.float32(0.0))
        return x
    if kind == "wide":
        x = (rng.standard_normal(n) * np.exp2(rng.integers(-60, 60, n))).astype(np.float32)
        x[rng.random(n) < 0.01] = np.float32(1e-42)
        x[rng.random(n) < 0.01] = np.float32(-0.0)
        return x
    raise ValueError(kind)


def run_c(binary, path, reps, isa, out=None):
    env = dict(os.environ, DRIFT_CPU_ISA=isa)
    cmd = [binary, path, str(reps)] + ([out] if out else [])
    return json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True,
                                     text=True).stdout)


def run_numpy(x, reps):
    walls, cpus = [], []
    for _ in range(reps):
        y = x.copy()
        w0, c0 = time.perf_counter(), time.thread_time()
        y.sort()
        cpus.append((time.thread_time() - c0) * 1e9 / max(len(x), 1))
        walls.append((time.perf_counter() - w0) * 1e9 / max(len(x), 1))
    return {"wall_ns_best": min(walls), "cpu_ns_best": min(cpus)}, y


def check(x, radix_out, avx_out, np_sorted):
    a = np.fromfile(radix_out, dtype=np.float32)
    b = np.fromfile(avx_out, dtype=np.float32)
    same = a.tobytes() == b.tobytes()
    values = np.array_equal(b, np_sorted)
    zeros = b[b == 0]
    zero_order = bool(np.all(np.diff(np.signbit(zeros).astype(np.int8) * -1) >= 0))
    return same and values and zero_order and len(b) == len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench-bin", default="build/dev/bench/bench_sort")
    ap.add_argument("--sizes", default="3000000,300000")
    ap.add_argument("--kinds", default="normal,uniform,ties,wide")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    rng = np.random.default_rng(SEED)
    print("load average before: %s" % " ".join("%.2f" % x for x in os.getloadavg()))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(s) for s in a.sizes.split(",")]:
            for kind in a.kinds.split(","):
                x = make(kind, n, rng)
                path = os.path.join(tmp, "in.f32")
                x.tofile(path)
                best = {}
                ok = True
                order = ["radix", "avx512", "numpy"]
                for r in range(a.rounds):
                    for who in order[r % 3:] + order[:r % 3]:
                        if who == "numpy":
                            got, np_sorted = run_numpy(x, a.reps)
                        else:
                            out = os.path.join(tmp, who + ".f32") if r == 0 else None
                            got = run_c(a.bench_bin, path, a.reps,
                                        "scalar" if who == "radix" else "avx512", out)
                            if who == "avx512" and got["isa"] != "avx512":
                                sys.exit("this processor has no AVX-512: isa %s" % got["isa"])
                        b = best.setdefault(who, {"wall": 1e30, "cpu": 1e30})
                        b["wall"] = min(b["wall"], got["wall_ns_best"])
                        b["cpu"] = min(b["cpu"], got["cpu_ns_best"])
                    if r == 0:
                        ok = check(x, os.path.join(tmp, "radix.f32"),
                                   os.path.join(tmp, "avx512.f32"), np_sorted)
                row = {"n": n, "kind": kind, "same_bytes_and_numpy_values": ok}
                for who in order:
                    row[who + "_cpu_ns"] = round(best[who]["cpu"], 2)
                    row[who + "_wall_ns"] = round(best[who]["wall"], 2)
                row["radix_over_avx512_cpu"] = round(best["radix"]["cpu"] / best["avx512"]["cpu"], 2)
                row["avx512_over_numpy_cpu"] = round(best["avx512"]["cpu"] / best["numpy"]["cpu"], 2)
                rows.append(row)
                print("n %8d %-8s CPU ns/value: radix %6.2f  avx512 %6.2f  numpy %6.2f  "
                      "(radix/avx512 %.2f, avx512/numpy %.2f)  wall: %6.2f %6.2f %6.2f  "
                      "checks %s" % (n, kind, best["radix"]["cpu"], best["avx512"]["cpu"],
                                     best["numpy"]["cpu"], row["radix_over_avx512_cpu"],
                                     row["avx512_over_numpy_cpu"], best["radix"]["wall"],
                                     best["avx512"]["wall"], best["numpy"]["wall"],
                                     "ok" if ok else "FAILED"), flush=True)
    print("load average after: %s" % " ".join("%.2f" % x for x in os.getloadavg()))
    print(json.dumps(rows))
    if not all(r["same_bytes_and_numpy_values"] for r in rows):
        sys.exit("a check failed")


if __name__ == "__main__":
    main()
