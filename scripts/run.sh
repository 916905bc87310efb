#!/usr/bin/env bash
# The main job on the embedded defaults: installs what is missing, builds
# driftd (Release; the CUDA backend when nvcc is found, the CPU backend runs
# when no GPU is present) and runs it in the foreground with its store under
# ./var (SQLite, WAL), listening on 127.0.0.1:50051 unless told otherwise.
# Ctrl-C (SIGINT) or SIGTERM drains in-flight calls and stops it.
# Extra arguments go to driftd (e.g. --listen 0.0.0.0:50051, --backend cpu,
# --config driftd.conf; `--help` lists every setting).
# The offline drift sweep of real data is scripts/run-sweep-demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh >/dev/null

build=build/release
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DDRIFT_CUDA=AUTO -DDRIFT_BUILD_SERVER=ON \
  >/dev/null
cmake --build "$build" -j"$(nproc)" --target driftd >/dev/null

listen=127.0.0.1:50051
for arg in "$@"; do
  case "$arg" in
    --listen=*) listen=${arg#--listen=} ;;
  esac
done
prev=""
for arg in "$@"; do
  if [ "$prev" = "--listen" ]; then listen=$arg; fi
  prev=$arg
done
mkdir -p var

cat <<MSG
driftd: listening on $listen, store ./var/driftd.db (Ctrl-C stops it).
Point a client at it, e.g. the Python client replaying real data
(grant applications, reference before 2008, live traffic in 2008):

  scripts/fetch-grants.sh
  PYTHONPATH=clients/python .venv/bin/python clients/python/examples/replay.py --target $listen

or from Python:  driftd.Client("$listen")  (clients/python/README.md).
The offline drift sweep of the same data: scripts/run-sweep-demo.sh
MSG
exec "$build/server/driftd" --listen="$listen" "$@"
