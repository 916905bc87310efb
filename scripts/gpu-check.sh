#!/usr/bin/env bash
# Checks the CUDA backend on a machine with an NVIDIA GPU, in one call that
# ends within 9 minutes: builds libdrift and its C tests with CUDA (Release,
# one architecture, no service), runs the CPU-vs-CUDA parity tests
# (histograms, sort, ECDF, divergences, the join's id tables, k-means) and
# every other C test on a context forced onto the GPU with the CPU fallback
# off, then builds and runs the CUDA benchmark and its peers (PyTorch, CuPy,
# SciPy). The benchmark is built only after the tests have run, so a slow or
# broken benchmark build never costs the test results.
#
# Needs CMake 3.24 or later (the project's cmake_minimum_required), nvcc
# (from $CUDA_HOME/bin when CUDA_HOME is set, else CMake's search), and for
# the peers python3 with numpy and torch (CuPy and SciPy are optional); no
# network.
#
# Usage: scripts/gpu-check.sh [log-dir] [cuda-arch]   (defaults: build-gpu/logs, 90)
# Every step has its own time limit (seconds; the sum, 510, plus 2 s of
# grace per step stays under 540); logs and bench_cuda.json land in log-dir. A GPU test that
# skips counts as a failure here (DRIFT_REQUIRE_GPU=1). Exits non-zero when
# any step fails or times out, after a summary of every step.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
logs=${1:-build-gpu/logs}
arch=${2:-90}
build="build-gpu"
mkdir -p "$logs"
logs=$(cd "$logs" && pwd)

# step budgets (seconds)
t_device=5 t_configure=30 t_build=140 t_ctest=170 t_bench_build=40 t_bench=70 t_peers=55

nvcc=nvcc
cmake_cuda=()
if [ -n "${CUDA_HOME:-}" ]; then
  nvcc=$CUDA_HOME/bin/nvcc
  cmake_cuda=(-DCMAKE_CUDA_COMPILER="$nvcc")
fi

summary=()
failed=0
# step NAME LIMIT LOG COMMAND...: runs COMMAND under a time limit, output to
# LOG, and records the outcome for the summary.
step() {
  local name=$1 limit=$2 log=$3 start rc
  shift 3
  start=$(date +%s)
  timeout -k 2 "$limit" "$@" > "$log" 2>&1
  rc=$?
  local took=$(($(date +%s) - start))
  if [ $rc -eq 0 ]; then
    summary+=("ok      $name (${took}s)")
  else
    [ $rc -eq 124 ] || [ $rc -eq 137 ] && rc="timed out after ${limit}s"
    summary+=("FAILED  $name: $rc (${took}s, log: $log)")
    failed=1
  fi
  [ "$rc" = 0 ]
}

finish() {
  echo
  echo "gpu-check summary ($(date -u +%H:%M:%SZ)):"
  printf '  %s\n' "${summary[@]}"
  [ $failed -eq 0 ] && echo "gpu-check: all steps passed" || echo "gpu-check: FAILED"
  exit $failed
}

need_cmake=3.24
have_cmake=$(cmake --version 2>/dev/null | sed -n 's/^cmake version \([0-9][0-9.]*\).*/\1/p')
if [ -z "$have_cmake" ] ||
  [ "$(printf '%s\n%s\n' "$need_cmake" "$have_cmake" | sort -V | head -1)" != "$need_cmake" ]; then
  echo "gpu-check: CMake >= $need_cmake needed, found '${have_cmake:-none}'"
  summary+=("FAILED  cmake version: need $need_cmake, have ${have_cmake:-none}")
  failed=1
  finish
fi

step "device" $t_device "$logs/device.txt" nvidia-smi \
  --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv
cat "$logs/device.txt"

if step "configure" $t_configure "$logs/configure.log" cmake -S . -B "$build" \
  -DCMAKE_BUILD_TYPE=Release -DDRIFT_CUDA=ON -DDRIFT_CUDA_ARCHS="$arch" "${cmake_cuda[@]}" \
  -DDRIFT_BUILD_TESTS=ON -DDRIFT_BUILD_SERVER=OFF &&
  step "build library and tests" $t_build "$logs/build.log" \
    cmake --build "$build" -j"$(nproc)"; then
  # Parity tests must find the device (a skip fails); every other C test runs
  # on a context forced onto the GPU with no CPU fallback to hide an error.
  step "ctest (DRIFT_BACKEND=cuda, fallback off, GPU required)" $t_ctest "$logs/ctest.log" \
    env DRIFT_REQUIRE_GPU=1 DRIFT_BACKEND=cuda DRIFT_CUDA_FALLBACK=0 \
    ctest --test-dir "$build" -E "golden|cli|server|scaleout" --output-on-failure \
    --timeout $((t_ctest - 10)) -j4
  tail -25 "$logs/ctest.log"
else
  tail -40 "$logs/configure.log" "$logs/build.log" 2>/dev/null
fi

if [ -f "$build/libdrift.a" ] &&
  step "build bench_cuda" $t_bench_build "$logs/bench-build.log" \
    "$nvcc" -std=c++17 -O3 -arch=sm_"$arch" -Ihost/include -Ihost/src -Ikernels \
    bench/cuda/bench_cuda.cu "$build/libdrift.a" -lcublas -lpthread -lm -o "$build/bench_cuda"; then
  step "bench_cuda" $t_bench "$logs/bench.log" "$build/bench_cuda" "$logs/bench_cuda.json" &&
    step "peers" $t_peers "$logs/peers.log" \
      env PYTHONUNBUFFERED=1 python3 bench/cuda/peers.py --ours "$logs/bench_cuda.json" \
      --json "$logs/peers.json"
  cat "$logs/bench.log" "$logs/peers.log" 2>/dev/null
elif [ ! -f "$build/libdrift.a" ]; then
  summary+=("FAILED  bench_cuda and peers: not run, libdrift.a was not built")
  failed=1
fi
finish
