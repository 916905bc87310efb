"""kmeans_peer.py - the peers of bench_kmeans on the same data shape:
scikit-learn's KMeans (Lloyd, from given centroids, 10 iterations, tol 0)
and the float32 matrix product X . C^T alone through NumPy's BLAS, which is
the floor of one assignment pass (its 2 N D K flops at the BLAS's rate).

Data as bench_kmeans: K blob centres (4 N(0,1)) plus N(0,1) noise, float32,
rows x features (scikit-learn's layout). Prints JSON with per-iteration
seconds. Usage: kmeans_peer.py [--sizes 1000000x64x32,...] [--json out]
"""
import argparse
import json
import time

import numpy as np
import sklearn
from sklearn.cluster import KMeans


def data(n, d, k, seed=20240611):
    rng = np.random.default_rng(seed)
    centres = (4 * rng.standard_normal((k, d))).astype(np.float32)
    x = centres[rng.integers(0, k, n)] + rng.standard_normal((n, d), dtype=np.float32)
    init = x[rng.integers(0, n, k)].copy()
    return x, init


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000x64x32,1000000x64x32")
    ap.add_argument("--json")
    args = ap.parse_args()
    out = {"numpy": np.__version__, "sklearn": sklearn.__version__, "cases": []}
    for spec in args.sizes.split(","):
        n, d, k = (int(v) for v in spec.split("x"))
        x, init = data(n, d, k)
        c = init.T.copy()
        x @ c  # warm-up
        reps = 5
        t0 = time.perf_counter()
        for _ in range(reps):
            x @ c
        gemm = (time.perf_counter() - t0) / reps
        best = None
        for _ in range(2):
            km = KMeans(n_clusters=k, init=init, n_init=1, max_iter=10, tol=0.0,
                        algorithm="lloyd")
            t0 = time.perf_counter()
            km.fit(x)
            t = (time.perf_counter() - t0) / km.n_iter_
            best = t if best is None or t < best else best
        case = {"n": n, "d": d, "k": k, "gemm_s": gemm,
                "gemm_gflops": 2.0 * n * d * k / gemm * 1e-9, "sklearn_iter_s": best}
        out["cases"].append(case)
        print(json.dumps(case))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
