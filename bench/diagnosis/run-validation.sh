#!/usr/bin/env bash
# run-validation.sh - the diagnosis validation in one run: the grants data
# (scripts/fetch-grants.sh), NannyML in its own environment
# (bench/estimate/setup-peers.sh, .venv-peers), libdrift built in Release,
# then bench/diagnosis/validate.py, writing the markdown to
# <build>/bench-results/diagnosis-validation.md. A few minutes; not a test.
# Environment: DRIFT_BENCH_BUILD  build directory (default build-bench)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${DRIFT_BENCH_BUILD:-$root/build-bench}
"$root/scripts/fetch-grants.sh" "$root/data/grants"
"$root/bench/estimate/setup-peers.sh"
cmake -S "$root" -B "$build" -DDRIFT_CUDA=OFF -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$build" -j "$(nproc)" --target drift_shared > /dev/null
mkdir -p "$build/bench-results"
PYTHONPATH="$root/tests/golden" "$root/.venv-peers/bin/python" \
  "$root/bench/diagnosis/validate.py" --lib "$build/libdrift.so" --data "$root/data/grants" \
  --out "$build/bench-results/diagnosis-validation.md"
