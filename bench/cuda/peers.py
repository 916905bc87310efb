#!/usr/bin/env python3
"""peers.py - the CUDA benchmark's shapes timed with the peers on the same GPU.

The histogram with moments and the exact KS + Wasserstein-1 of bench_cuda.cu
(F=2000 features x N=1M float32), done the way a user of each library
would:
  PyTorch  batched: torch.searchsorted over (features, rows) with per-feature
           edges, one torch.bincount, then mean/var/min/max; KS and W1 as
           scipy computes them (right-continuous CDFs by searchsorted at every
           point of both samples; W1 over the sorted merged support).
  CuPy     a per-feature loop (cupy.histogram, cupy.searchsorted), timed on
           a subset of features and extrapolated linearly (printed as such).
  SciPy    a CPU loop of scipy.stats.ks_2samp + wasserstein_distance (and
           numpy.histogram), timed on a few features and extrapolated.
GPU timings use CUDA events, median of repeats after a warm-up; inputs are
random normal, never zeros. With --ours bench_cuda.json the ratios
peer time / driftd time are printed last.
"""
import argparse
import json
import time

import numpy as np

F, N, BINS = 2000, 1 << 20, 20


def gpu_median_ms(torch, fn, warm=1, reps=5):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return float(np.median(times))


def torch_peers(results):
    import torch

    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(7)
    x = torch.randn(F, N, device=dev, generator=g)
    edges = torch.linspace(-3, 3, BINS + 1, device=dev).repeat(F, 1).contiguous()
    chunk = 250

    def hist():
        out = []
        for c in range(0, F, chunk):
            xc, ec = x[c:c + chunk], edges[c:c + chunk]
            n = xc.shape[0]
            idx = torch.searchsorted(ec, xc, right=True)
            idx += (torch.arange(n, device=dev) * (BINS + 2))[:, None]
            counts = torch.bincount(idx.view(-1), minlength=n * (BINS + 2))
            mean = xc.mean(1, dtype=torch.float64)
            var = xc.to(torch.float64).var(1, correction=0)
            mn, mx = torch.aminmax(xc, dim=1)
            out.append((counts, mean, var, mn, mx))
        return out

    results["torch_histogram_moments"] = gpu_median_ms(torch, hist)

    def sort_rows(t):
        return torch.cat([torch.sort(t[c:c + chunk], dim=1).values for c in range(0, F, chunk)])

    ref = sort_rows(torch.randn(F, N, device=dev, generator=g))
    cur_raw = torch.randn(F, N, device=dev, generator=g) + 0.01
    results["torch_sort"] = gpu_median_ms(torch, lambda: sort_rows(cur_raw), warm=1, reps=3)
    cur = sort_rows(cur_raw)
    del cur_raw, x

    kchunk = 100

    def ks_w1():
        ks, w1 = [], []
        for c in range(0, F, kchunk):
            r, q = ref[c:c + kchunk], cur[c:c + kchunk]
            n, m = r.shape[1], q.shape[1]
            rr = torch.searchsorted(r, r, right=True) / n
            rq = torch.searchsorted(q, r, right=True) / m
            qr = torch.searchsorted(r, q, right=True) / n
            qq = torch.searchsorted(q, q, right=True) / m
            ks.append(torch.maximum((rr - rq).abs().amax(1), (qr - qq).abs().amax(1)))
            allv = torch.sort(torch.cat([r, q], 1), dim=1).values
            pts = allv[:, :-1].contiguous()
            cdf_r = torch.searchsorted(r, pts, right=True).to(torch.float64) / n
            cdf_q = torch.searchsorted(q, pts, right=True).to(torch.float64) / m
            w1.append(((cdf_r - cdf_q).abs() * allv.diff(dim=1).to(torch.float64)).sum(1))
        return ks, w1

    results["torch_ks_w1"] = gpu_median_ms(torch, ks_w1, warm=1, reps=3)
    ks, w1 = ks_w1()
    results["torch_feature0_ks_w1"] = [float(ks[0][0]), float(w1[0][0])]
    return ref, cur


def cupy_peers(results, ref_t, cur_t, subset=100):
    import cupy as cp

    x = cp.random.default_rng(3).standard_normal((subset, N), dtype=cp.float32)
    edges = cp.linspace(-3, 3, BINS + 1, dtype=cp.float32)
    ref = cp.asarray(ref_t[:subset])
    cur = cp.asarray(cur_t[:subset])

    def timed(fn, reps=3):
        fn()
        cp.cuda.Device().synchronize()
        times = []
        for _ in range(reps):
            a, b = cp.cuda.Event(), cp.cuda.Event()
            a.record()
            fn()
            b.record()
            b.synchronize()
            times.append(cp.cuda.get_elapsed_time(a, b))
        return float(np.median(times)) * F / subset

    def hist():
        for f in range(subset):
            xf = x[f]
            cp.histogram(xf, bins=edges)
            xf.mean(dtype=cp.float64), xf.var(dtype=cp.float64), xf.min(), xf.max()

    def ks_w1():
        for f in range(subset):
            r, q = ref[f], cur[f]
            n, m = r.size, q.size
            d1 = cp.abs(cp.searchsorted(r, r, side="right") / n - cp.searchsorted(q, r, side="right") / m).max()
            d2 = cp.abs(cp.searchsorted(r, q, side="right") / n - cp.searchsorted(q, q, side="right") / m).max()
            allv = cp.sort(cp.concatenate([r, q]))
            pts = allv[:-1]
            cr = cp.searchsorted(r, pts, side="right") / n
            cq = cp.searchsorted(q, pts, side="right") / m
            float(cp.maximum(d1, d2)), float((cp.abs(cr - cq) * cp.diff(allv)).sum())

    results["cupy_histogram_moments_extrapolated"] = timed(hist)
    results["cupy_ks_w1_extrapolated"] = timed(ks_w1)
    results["cupy_subset_features"] = subset


def scipy_peers(results, ref_t, cur_t, subset=4):
    try:
        from scipy import stats
    except ImportError as e:  # as with CuPy: a missing SciPy must not hide the other figures
        print(f"scipy: skipped ({e})")
        stats = None
    if stats is not None:
        ref = ref_t[:subset].cpu().numpy()
        cur = cur_t[:subset].cpu().numpy()
        t0 = time.perf_counter()
        for f in range(subset):
            stats.ks_2samp(ref[f], cur[f])
            stats.wasserstein_distance(ref[f], cur[f])
        results["scipy_ks_w1_extrapolated"] = (time.perf_counter() - t0) * 1e3 * F / subset
        results["scipy_subset_features"] = subset
    rng = np.random.default_rng(5)
    x = rng.standard_normal((subset * 5, N)).astype(np.float32)
    edges = np.linspace(-3, 3, BINS + 1, dtype=np.float32)
    t0 = time.perf_counter()
    for f in range(x.shape[0]):
        np.histogram(x[f], bins=edges)
        x[f].mean(dtype=np.float64), x[f].var(dtype=np.float64), x[f].min(), x[f].max()
    results["numpy_histogram_moments_extrapolated"] = (time.perf_counter() - t0) * 1e3 * F / x.shape[0]
    results["numpy_subset_features"] = subset * 5


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ours", help="bench_cuda.json written by bench_cuda")
    ap.add_argument("--json", help="write the peers' figures here")
    args = ap.parse_args()
    results = {}
    ref, cur = torch_peers(results)
    try:
        cupy_peers(results, ref, cur)
    except Exception as e:  # a missing CuPy must not hide the other figures
        print(f"cupy: skipped ({e})")
    scipy_peers(results, ref, cur)
    import torch

    results["device"] = torch.cuda.get_device_name(0)
    print(f"device: {results['device']}   F={F} N={N} bins={BINS}")
    for k, v in results.items():
        if isinstance(v, float):
            print(f"  {k:42s} {v:12.2f} ms")
    print(f"  CuPy timed on {results.get('cupy_subset_features')} features, SciPy on "
          f"{results.get('scipy_subset_features')}, NumPy on {results['numpy_subset_features']}; "
          f"all scaled to {F} features")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    if args.ours:
        with open(args.ours) as fh:
            ours = json.load(fh)["results"]
        hist = ours["histogram+moments F=2000 N=1M bins=20"]["ms"]
        ks = ours["KS+W1 exact F=2000 1M cur vs 1M sorted ref"]["ms"]
        sort_ks = ours["sort current + KS+W1 F=2000 1M vs 1M"]["ms"]
        print("\nratios (peer time / driftd CUDA time; > 1: driftd faster)")
        rows = [
            ("histogram+moments vs PyTorch", results["torch_histogram_moments"], hist),
            ("histogram+moments vs CuPy loop (extrap.)", results.get("cupy_histogram_moments_extrapolated"), hist),
            ("histogram+moments vs NumPy loop (extrap.)", results["numpy_histogram_moments_extrapolated"], hist),
            ("KS+W1 (sorted) vs PyTorch", results["torch_ks_w1"], ks),
            ("KS+W1 (sorted) vs CuPy loop (extrap.)", results.get("cupy_ks_w1_extrapolated"), ks),
            ("sort+KS+W1 vs PyTorch sort+KS+W1", results["torch_sort"] + results["torch_ks_w1"], sort_ks),
            ("KS+W1 vs SciPy ks_2samp loop (extrap.)", results.get("scipy_ks_w1_extrapolated"), sort_ks),
        ]
        for name, peer, mine in rows:
            if peer is not None:
                print(f"  {name:44s} {peer:10.1f} / {mine:8.2f} ms = {peer / mine:8.1f}x")


if __name__ == "__main__":
    main()
