#!/usr/bin/env bash
# Sets up and runs every test: the warnings-as-errors build with the C unit
# tests, golden tests against SciPy, the CLI tests, and driftd's end-to-end
# and scale-out tests (the real server over real gRPC, behind nginx); then
# the C tests and driftd's end-to-end tests again under AddressSanitizer and
# UndefinedBehaviorSanitizer; last, each libFuzzer harness (clang, ASan and
# UBSan) for 20 s from its seed corpus. CUDA code is compiled when nvcc is
# present; GPU tests report "skipped" without a device.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
jobs=$(nproc)
py=$PWD/.venv/bin/python

cmake -S . -B build/test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDRIFT_WERROR=ON \
  -DDRIFT_BUILD_SERVER=ON -DPython3_EXECUTABLE="$py" >/dev/null
cmake --build build/test -j"$jobs"
ctest --test-dir build/test --output-on-failure -j"$jobs"

# Sanitizers: the C tests, and driftd built with ASan/UBSan under its
# end-to-end suite (whose ctypes oracle is the uninstrumented libdrift of the
# build above: an ASan library does not load into a plain interpreter). Not
# the golden and CLI tests, which load the library into Python. CUDA off:
# ASan and the CUDA runtime do not mix, and the device code is compiled above.
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DDRIFT_SANITIZE=ON -DDRIFT_WERROR=ON \
  -DDRIFT_CUDA=OFF -DDRIFT_BUILD_SERVER=ON -DPython3_EXECUTABLE="$py" \
  -DDRIFTD_E2E_ORACLE_LIBRARY="$PWD/build/test/libdrift.so" >/dev/null
cmake --build build/asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure -j"$jobs" -E "golden|cli|scaleout"

# Fuzzing: the request decoders, spec and batch checks, reference build and
# the sweep's file readers under libFuzzer (tests/fuzz), each for 20 s from
# its seed corpus and crash regressions; each prints its executions and
# coverage.
CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDRIFT_FUZZ=ON \
  -DDRIFT_CUDA=OFF -DDRIFT_BUILD_TESTS=OFF -DDRIFT_BUILD_SERVER=ON -DDRIFT_WERROR=ON \
  -DDRIFT_FUZZ_SECONDS=20 >/dev/null
cmake --build build/fuzz -j"$jobs"
rm -rf build/fuzz/tests/fuzz/found
fuzz_status=0
ctest --test-dir build/fuzz -j"$jobs" -V > build/fuzz/ctest.log 2>&1 || fuzz_status=$?
grep -E "executions in|FAILED|SUMMARY|tests passed|tests failed" build/fuzz/ctest.log
if [ "$fuzz_status" -ne 0 ]; then
  tail -150 build/fuzz/ctest.log
  exit "$fuzz_status"
fi

# Last, the container test (tests/container): the CPU image built with
# podman, run with its store on a volume and driven from outside with the
# Python client across restarts. It prints "container test: skipped: ..."
# where no container can run here (no podman to install, no root, a kernel
# refusing namespaces).
tests/container/test_container.sh
