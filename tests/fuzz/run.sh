#!/usr/bin/env bash
# Runs one libFuzzer harness for a bounded time: first every input of its
# seed corpus (crash regressions included), then new inputs for SECONDS.
# New corpus entries and any crash go to FOUND (never into the source
# tree); a crash, leak, timeout or sanitizer report fails the run, and the
# input that caused it is named. The last line gives the executions and
# the coverage reached.
# Usage: run.sh HARNESS SECONDS SEEDS FOUND
set -uo pipefail
harness=$1 seconds=$2 seeds=$3 found=$4
mkdir -p "$found/corpus" "$found/artifacts"
log="$found/log.txt"
"$harness" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -close_fd_mask=3 -artifact_prefix="$found/artifacts/" \
  "$found/corpus" "$seeds" > "$log" 2>&1
status=$?
if [ "$status" -ne 0 ]; then
  tail -60 "$log"
  echo "$(basename "$harness"): FAILED (exit $status); the input is in $found/artifacts/;" \
    "keep it in $seeds as a regression once fixed"
  exit 1
fi
runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
echo "$(basename "$harness"): ${runs:-?} executions in ${seconds} s, coverage ${cov:-?} edges," \
  "${ft:-?} features, corpus $(ls "$found/corpus" | wc -l) + $(ls "$seeds" | wc -l) seeds"
