#!/usr/bin/env bash
# run-cpu.sh - the CPU benchmark in one run: builds libdrift in Release with
# the benchmarks, runs bench_engine (Google Benchmark, JSON out) and the
# NumPy/SciPy per-feature loop (bench/peers/scipy_loop.py) one after the
# other on this machine, and prints them side by side with speedups.
#
# Usage: bench/run-cpu.sh [out-dir]     (default: <build>/bench-results)
# Environment: DRIFT_BENCH_BUILD  build directory (default build-bench)
#              BENCH_FILTER       --benchmark_filter for bench_engine
#              ONE_THREAD_FILTER  the cases run again on one engine thread
#                                 (default: the two end-to-end cases at
#                                 F=2000, N=1M; empty to skip)
#              PEER_SIZES         --sizes for the peer loop, e.g. 100x10000
# The engine runs one worker thread per online core; NumPy and SciPy run
# these operations on one thread whatever the thread settings, which are set
# to the core count all the same. Takes about 20 minutes on 2 cores.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${DRIFT_BENCH_BUILD:-$root/build-bench}
out=${1:-$build/bench-results}
cores=$(nproc)
export OMP_NUM_THREADS=$cores OPENBLAS_NUM_THREADS=$cores MKL_NUM_THREADS=$cores

cmake -S "$root" -B "$build" -DDRIFT_CUDA=OFF -DDRIFT_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=Release \
  > /dev/null
cmake --build "$build" -j "$cores" --target bench_engine > /dev/null
mkdir -p "$out"

{
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "cores: $cores online"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "compiler: $("${CC:-cc}" --version | head -1)"
  python3 -c 'import numpy, scipy, platform; print(f"python {platform.python_version()}, numpy {numpy.__version__}, scipy {scipy.__version__}")'
} | tee "$out/machine.txt"

engine_args=(--drift_threads="$cores" --benchmark_out="$out/engine.json"
             --benchmark_out_format=json)
[[ -n ${BENCH_FILTER:-} ]] && engine_args+=(--benchmark_filter="$BENCH_FILTER")
"$build/bench/bench_engine" "${engine_args[@]}" | tee "$out/engine.log"

one_thread=${ONE_THREAD_FILTER-^e2e_.*/F:2000/N:1000000/}
table_args=(--engine "$out/engine.json" --peers "$out/peers.json")
if [[ -n $one_thread ]]; then
  "$build/bench/bench_engine" --drift_threads=1 --benchmark_filter="$one_thread" \
    --benchmark_out="$out/engine-1t.json" --benchmark_out_format=json | tee "$out/engine-1t.log"
  table_args+=(--engine-1t "$out/engine-1t.json")
fi

peer_args=(--json "$out/peers.json")
[[ -n ${PEER_SIZES:-} ]] && peer_args+=(--sizes "$PEER_SIZES")
python3 "$root/bench/peers/scipy_loop.py" "${peer_args[@]}" | tee "$out/peers.log"

echo
python3 "$root/bench/peers/table.py" "${table_args[@]}" | tee "$out/table.md"
