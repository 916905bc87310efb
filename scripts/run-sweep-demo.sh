#!/usr/bin/env bash
# The drift sweep on real data: grant applications to the University of
# Melbourne before 2008 (reference) against those of 2008 (current), from
# Debian's r-cran-modeldata. Builds `drift` (Release; CUDA when nvcc is
# found), fetches the data once (scripts/fetch-grants.sh), runs the sweep and
# writes var/sweep/grants.json, .csv and .html (the report page), then prints the
# verdict, the most drifted features and the wall time of the sweep.
# Extra arguments go to `drift sweep` (e.g. --backend cpu, --bins 10).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cmake >/dev/null 2>&1 || ! command -v cc >/dev/null 2>&1; then
  scripts/bootstrap.sh
fi
scripts/fetch-grants.sh

build=build/release
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DDRIFT_CUDA=AUTO >/dev/null
cmake --build "$build" -j"$(nproc)" --target drift >/dev/null

mkdir -p var/sweep
# The six factors of the data set; the sweep would also detect them as text.
factors=class,sponsor_code,contract_value_band,category_code,month,weekday
start=$(date +%s.%N)
status=0
"$build/drift" sweep --reference data/grants/reference.csv --current data/grants/current.csv \
  --categorical "$factors" --format all --output var/sweep/grants "$@" || status=$?
end=$(date +%s.%N)
# 0: no dataset drift, 1: dataset drift; both are results.
if [ "$status" -gt 1 ]; then exit "$status"; fi

rows=$(($(wc -l < data/grants/reference.csv) + $(wc -l < data/grants/current.csv) - 2))
cols=$(head -1 data/grants/reference.csv | tr ',' '\n' | wc -l)
printf 'sweep wall time: %.2f s for %d rows x %d features (var/sweep/grants.json, .csv, .html)\n' \
  "$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')" "$rows" "$cols"
