#!/usr/bin/env bash
# The main job on the embedded defaults: installs what is missing, builds
# driftd's engine and `drift` command (CUDA when nvcc is found; the CPU
# backend runs when no GPU is present) and sweeps real data for drift: grant
# applications before 2008 against those of 2008 (scripts/run-sweep-demo.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec scripts/run-sweep-demo.sh "$@"
