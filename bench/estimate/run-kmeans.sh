#!/usr/bin/env bash
# run-kmeans.sh - the k-means benchmark in one run: builds libdrift in
# Release with the benchmarks, runs bench_kmeans on the chosen backend and
# scikit-learn / the NumPy GEMM floor (kmeans_peer.py) one after the other
# on this machine, and prints them side by side.
#
# Usage: bench/estimate/run-kmeans.sh [cpu|cuda] [out-dir]
# Environment: DRIFT_BENCH_BUILD  build directory (default build-bench)
#              PYTHON             interpreter with NumPy and scikit-learn
#                                 (default .venv/bin/python)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
backend=${1:-cpu}
build=${DRIFT_BENCH_BUILD:-$root/build-bench}
out=${2:-$build/bench-results}
py=${PYTHON:-$root/.venv/bin/python}
cores=$(nproc)
export OMP_NUM_THREADS=$cores OPENBLAS_NUM_THREADS=$cores MKL_NUM_THREADS=$cores
cuda=OFF
[[ $backend == cuda ]] && cuda=ON
cmake -S "$root" -B "$build" -DDRIFT_CUDA=$cuda -DDRIFT_BUILD_BENCH=ON \
  -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$build" -j "$cores" --target bench_kmeans > /dev/null
mkdir -p "$out"
{
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $cores cores"
  command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name --format=csv,noheader || true
} | tee "$out/kmeans-machine.txt"
"$build/bench/bench_kmeans" --drift_backend="$backend" --drift_threads="$cores" \
  --benchmark_out="$out/kmeans-$backend.json" --benchmark_out_format=json | tee "$out/kmeans-$backend.log"
"$py" "$root/bench/estimate/kmeans_peer.py" --json "$out/kmeans-peer.json" | tee "$out/kmeans-peer.log"
"$py" - "$out/kmeans-$backend.json" "$out/kmeans-peer.json" <<'PY'
import json, sys
eng = json.load(open(sys.argv[1]))["benchmarks"]
peer = {(c["n"], c["d"], c["k"]): c for c in json.load(open(sys.argv[2]))["cases"]}
print("\n| N x D x K | libdrift iteration (ms) | GFLOP/s | NumPy SGEMM x.C^T (ms) | iteration / SGEMM "
      "| scikit-learn iteration (ms) | speedup | libdrift fit, per iteration (ms) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
def shape(name):
    return "/".join(name.split("/")[1:4])
fits = {shape(b["name"]): b for b in eng if b["name"].startswith("kmeans_fit/")}
for b in eng:
    if not b["name"].startswith("kmeans_iter/"):
        continue
    key = shape(b["name"])
    n, d, k = (int(p.split(":")[1]) for p in key.split("/"))
    ms = b["real_time"]
    c = peer[(n, d, k)]
    f = fits.get(key)
    fit = f["real_time"] / f["lloyd_iters"] if f else float("nan")
    print("| %dx%dx%d | %.1f | %.1f | %.1f | %.2fx | %.1f | %.2fx | %.1f |" % (
        n, d, k, ms, b["gemm_gflops"], c["gemm_s"] * 1e3, ms / (c["gemm_s"] * 1e3),
        c["sklearn_iter_s"] * 1e3, c["sklearn_iter_s"] * 1e3 / ms, fit))
PY
