#!/usr/bin/env bash
# run-validation.sh - the estimator validation in one run: sets up
# .venv-peers (NannyML and its data), builds libdrift in Release and runs
# bench/estimate/validate.py, writing the markdown table to
# <build>/bench-results/estimate-validation.md. Takes a few minutes.
# Environment: DRIFT_BENCH_BUILD  build directory (default build-bench)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${DRIFT_BENCH_BUILD:-$root/build-bench}
"$root/bench/estimate/setup-peers.sh"
cmake -S "$root" -B "$build" -DDRIFT_CUDA=OFF -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$build" -j "$(nproc)" --target drift_shared > /dev/null
mkdir -p "$build/bench-results"
"$root/.venv-peers/bin/python" "$root/bench/estimate/validate.py" \
  --lib "$build/libdrift.so" --out "$build/bench-results/estimate-validation.md"
