#!/usr/bin/env bash
# Checks the CUDA backend on a machine with an NVIDIA GPU: builds libdrift
# and its C tests with CUDA (Release, one architecture, no service), runs the
# CPU-vs-CUDA parity tests (histograms, sort, ECDF, divergences, the join's id
# tables, k-means) and every other C test on a context that picks the GPU,
# then the CUDA benchmark and its peers (PyTorch, CuPy, SciPy). Needs nvcc, CMake and python3 with numpy, scipy, torch and
# cupy; no network.
# Usage: scripts/gpu-check.sh [log-dir] [cuda-arch]   (defaults: build-gpu/logs, 90)
# Logs and bench_cuda.json land in log-dir; the last lines printed are the
# benchmark table and the peer ratios.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=${1:-build-gpu/logs}
arch=${2:-90}
build=build-gpu
mkdir -p "$logs"
status=0

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem \
  --format=csv 2>&1 | tee "$logs/device.txt"

{
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DDRIFT_CUDA=ON -DDRIFT_CUDA_ARCHS="$arch" \
    -DDRIFT_BUILD_TESTS=ON -DDRIFT_BUILD_SERVER=OFF &&
    cmake --build "$build" -j"$(nproc)" &&
    nvcc -std=c++17 -O3 -arch=sm_"$arch" -Ihost/include -Ihost/src -Ikernels \
      bench/cuda/bench_cuda.cu "$build/libdrift.a" -lcublas -lpthread -lm -o "$build/bench_cuda"
} > "$logs/build.log" 2>&1 || { tail -40 "$logs/build.log"; echo "gpu-check: build failed"; exit 1; }
echo "gpu-check: built"

(cd "$build" && timeout 400 ctest -E "golden|cli|server" --output-on-failure) \
  > "$logs/ctest.log" 2>&1 || status=1
tail -25 "$logs/ctest.log"

timeout 240 "$build/bench_cuda" "$logs/bench_cuda.json" > "$logs/bench.log" 2>&1 || status=1
PYTHONUNBUFFERED=1 timeout 300 python3 bench/cuda/peers.py --ours "$logs/bench_cuda.json" \
  --json "$logs/peers.json" > "$logs/peers.log" 2>&1 || status=1
cat "$logs/bench.log" "$logs/peers.log"
exit $status
