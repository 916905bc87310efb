#!/usr/bin/env python3
"""scipy_loop.py - the NumPy/SciPy per-feature loop that bench/bench_engine.cc
is compared with, timed phase by phase on the same sizes.

Each phase does, one feature at a time, what the engine's phase of the same
name does for all features at once:
  profile_build  finite values, np.sort, np.quantile edges (equal ones
                 collapsed), np.histogram plus underflow/overflow/missing
                 slots, mean/var/min/max
  window_append  np.histogram plus the three slots, moments, a copy of the
                 finite values (the kept sample)
  compare_hist   PSI, KL both ways (smoothed as the engine does), Jensen-
                 Shannon (scipy.spatial.distance.jensenshannon, base 2),
                 Hellinger, L-inf, total variation, scipy.stats.chi2_contingency
                 over the non-empty slots
  compare_ks     scipy.stats.ks_2samp (method "auto": exact p up to 10,000
                 rows, asymptotic above, as the engine) and
                 scipy.stats.wasserstein_distance, reference pre-sorted (as the
                 engine's profile holds it; SciPy still sorts internally)
  compare_ks_unsorted_ref  the same with the reference as generated
  e2e_hist_div   window_append without the copy + compare_hist
  e2e_exact_ks   window_append + compare_ks
Data: float32, reference N(0, 1), current N(0.2, 1.1), seed 20240611 through
NumPy's default_rng (the same distributions and seed number as the engine's
benchmark, not the same bits).

Where a size is large (F * N above --full-limit values) only the first
--subset features are timed and the time is scaled by F / subset; the output
says so. NumPy and SciPy run these operations on one thread.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

_CORES = str(os.cpu_count() or 1)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, _CORES)

import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.spatial.distance import jensenshannon  # noqa: E402
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance  # noqa: E402

SEED = 20240611
CURRENT_SHIFT = 0.2
CURRENT_SCALE = 1.1
SIZES = [(100, 10_000), (2000, 10_000), (100, 1_000_000), (2000, 1_000_000)]


def counts_with_tails(x, edges):
    """Bins as numpy.histogram, then underflow, overflow and missing slots."""
    hist, _ = np.histogram(x, edges)
    tails = [np.count_nonzero(x < edges[0]), np.count_nonzero(x > edges[-1]),
             np.count_nonzero(np.isnan(x))]
    return np.concatenate([hist, tails])


def moments(finite):
    return finite.mean(dtype=np.float64), finite.var(dtype=np.float64), finite.min(), finite.max()


def profile_feature(ref, quantiles):
    finite = ref[np.isfinite(ref)]
    ordered = np.sort(finite)
    edges = np.unique(np.quantile(ordered, quantiles).astype(np.float32))
    return {"sorted": ordered, "edges": edges, "counts": counts_with_tails(ref, edges),
            "moments": moments(finite)}


def window_feature(cur, edges, keep):
    finite = cur[np.isfinite(cur)]
    return {"counts": counts_with_tails(cur, edges), "moments": moments(finite),
            "values": finite if keep else None}


def divergences(ref_counts, cur_counts, eps=1e-4):
    r = ref_counts[:-1].astype(np.float64)  # the missing slot is not compared
    c = cur_counts[:-1].astype(np.float64)
    p, q = r / r.sum(), c / c.sum()
    norm = 1.0 / (1.0 + len(p) * eps)
    sp, sq = (p + eps) * norm, (q + eps) * norm
    table = np.vstack([r, c])
    table = table[:, table.sum(axis=0) > 0]
    chi2 = chi2_contingency(table)
    return {
        "psi": np.sum((sq - sp) * np.log(sq / sp)),
        "kl_ref_cur": np.sum(sp * np.log(sp / sq)),
        "kl_cur_ref": np.sum(sq * np.log(sq / sp)),
        "js_divergence": jensenshannon(p, q, base=2) ** 2,
        "hellinger": np.sqrt(max(0.0, 1.0 - np.sum(np.sqrt(p * q)))),
        "linf": np.max(np.abs(p - q)),
        "total_variation": 0.5 * np.sum(np.abs(p - q)),
        "chi2": chi2.statistic, "chi2_p": chi2.pvalue,
    }


def sample_stats(ref_values, cur_values):
    ks = ks_2samp(ref_values, cur_values)
    return ks.statistic, ks.pvalue, wasserstein_distance(ref_values, cur_values)


def make_data(n_features, n_rows):
    rng = np.random.default_rng(SEED)
    ref = rng.standard_normal((n_features, n_rows), dtype=np.float32)
    cur = rng.standard_normal((n_features, n_rows), dtype=np.float32)
    cur *= np.float32(CURRENT_SCALE)
    cur += np.float32(CURRENT_SHIFT)
    return ref, cur


def timed(fn, repeats):
    """Median wall seconds of `repeats` runs, and the CPU seconds per wall
    second of this process over them (1.0 = one busy core)."""
    times = []
    cpu0 = time.process_time()
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), (time.process_time() - cpu0) / sum(times)


def run_size(n_features, n_rows, args):
    full = n_features * n_rows <= args.full_limit
    timed_features = n_features if full else min(args.subset, n_features)
    repeats = args.repeats if n_rows * timed_features <= 50_000_000 else 1
    ref, cur = make_data(timed_features, n_rows)
    quantiles = np.linspace(0.0, 1.0, args.bins + 1)
    k_range = range(timed_features)

    prof = [profile_feature(ref[k], quantiles) for k in k_range]
    win = [window_feature(cur[k], prof[k]["edges"], True) for k in k_range]
    phases = {
        "profile_build": lambda: [profile_feature(ref[k], quantiles) for k in k_range],
        "window_append": lambda: [window_feature(cur[k], prof[k]["edges"], True)
                                  for k in k_range],
        "compare_hist": lambda: [divergences(prof[k]["counts"], win[k]["counts"])
                                 for k in k_range],
        "compare_ks": lambda: [sample_stats(prof[k]["sorted"], win[k]["values"])
                               for k in k_range],
        "compare_ks_unsorted_ref": lambda: [sample_stats(ref[k], win[k]["values"])
                                            for k in k_range],
        "e2e_hist_div": lambda: [
            divergences(prof[k]["counts"],
                        window_feature(cur[k], prof[k]["edges"], False)["counts"])
            for k in k_range],
        "e2e_exact_ks": lambda: [
            sample_stats(prof[k]["sorted"],
                         window_feature(cur[k], prof[k]["edges"], True)["values"])
            for k in k_range],
    }
    out = []
    for name, fn in phases.items():
        if args.phases and name not in args.phases.split(","):
            continue
        seconds, cores_busy = timed(fn, repeats)
        scale = n_features / timed_features
        row = {"phase": name, "features": n_features, "rows": n_rows,
               "features_timed": timed_features, "repeats": repeats,
               "seconds_timed": seconds, "seconds": seconds * scale,
               "extrapolated": timed_features != n_features, "cores_busy": cores_busy}
        out.append(row)
        note = (f"  (timed {timed_features} of {n_features} features, scaled x{scale:g})"
                if row["extrapolated"] else "")
        print(f"{name:>24} F={n_features:<5} N={n_rows:<8} {row['seconds'] * 1e3:12.1f} ms"
              f"  cpu/wall {cores_busy:.2f}{note}", flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--sizes", default=",".join(f"{f}x{n}" for f, n in SIZES),
                    help="comma-separated FxN list (default: %(default)s)")
    ap.add_argument("--bins", type=int, default=20)
    ap.add_argument("--subset", type=int, default=50,
                    help="features timed on a size above --full-limit (default 50)")
    ap.add_argument("--full-limit", type=float, default=1e8,
                    help="largest F*N timed in full (default 1e8)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="runs per phase on small sizes; the median is reported")
    ap.add_argument("--phases", default="",
                    help="comma-separated phases to time, e.g. e2e_hist_div (default: all)")
    args = ap.parse_args()

    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, python "
          f"{platform.python_version()}; NumPy/SciPy run these ops on one thread "
          f"({_CORES} cores present)", flush=True)
    results = []
    for n_features, n_rows in sizes:
        results += run_size(n_features, n_rows, args)
    if args.json:
        meta = {"numpy": np.__version__, "scipy": scipy.__version__,
                "python": platform.python_version(), "cores": int(_CORES),
                "bins": args.bins, "seed": SEED}
        with open(args.json, "w") as f:
            json.dump({"context": meta, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
