#!/usr/bin/env bash
# The main job on the embedded defaults: installs what is missing, builds
# driftd (Release; the CUDA backend when nvcc is found, the CPU backend runs
# when no GPU is present) and runs it in the foreground with its store under
# ./var (SQLite, WAL), listening on 127.0.0.1:50051 unless told otherwise.
# Each step says what it does and how long it took; the banner with the
# addresses comes once driftd accepts calls. Ctrl-C (SIGINT) or SIGTERM
# drains in-flight calls and stops it.
# Extra arguments go to driftd (e.g. --listen 0.0.0.0:50051, --backend cpu,
# --config driftd.conf; `--help` lists every setting).
# The offline drift sweep of real data is scripts/run-sweep-demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/progress.sh

step "checking the build dependencies" "a few minutes on a fresh machine: Debian packages, then Python packages into .venv"
scripts/bootstrap.sh
done_step

build=build/release
step "building driftd in $build" "about a minute on 2 cores; the CUDA kernels add more when nvcc is present"
mkdir -p "$build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DDRIFT_CUDA=AUTO -DDRIFT_BUILD_SERVER=ON \
  > "$build/configure.log" 2>&1 || { cat "$build/configure.log" >&2; exit 1; }
build_target "$build" driftd
done_step

# What the banner names: the last value given for a setting, as
# `--name value` or `--name=value`, else its default.
setting() {
  local name=$1 value=$2 prev="" arg
  for arg in "${@:3}"; do
    case "$arg" in
      --"$name"=*) value=${arg#--"$name"=} ;;
    esac
    if [ "$prev" = "--$name" ]; then value=$arg; fi
    prev=$arg
  done
  printf '%s' "$value"
}
listen=$(setting listen 127.0.0.1:50051 "$@")
store=$(setting store_path ./var/driftd.db "$@")
http=$(setting http_listen 127.0.0.1:8080 "$@")
mkdir -p var

step "starting driftd (store $store)"
"$build/server/driftd" --listen="$listen" "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' TERM
trap 'kill -INT "$pid" 2>/dev/null' INT

# Wait until the port accepts connections (driftd binds it once its state
# is restored from the store, right before it serves).
host=${listen%:*}
port=${listen##*:}
case "$host" in 0.0.0.0 | "" | "[::]") host=127.0.0.1 ;; esac
for _ in $(seq 1 600); do
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" || exit $?
    exit 0
  fi
  if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then break; fi
  sleep 0.1
done

if [ "$http" = off ]; then
  dashboard="The HTTP side port is off (--http_listen=off): no dashboard or /metrics."
else
  web=$http
  case "${web%:*}" in 0.0.0.0 | "" | "[::]") web=127.0.0.1:${web##*:} ;; esac
  dashboard="Dashboard: http://$web/   Prometheus metrics: http://$web/metrics"
fi
cat <<MSG

driftd is serving gRPC on $listen, store $store (Ctrl-C stops it).
$dashboard
Point a client at it, e.g. the Python client replaying real data
(grant applications, reference before 2008, live traffic in 2008; the first
run fetches the data from Debian's r-cran-modeldata):

  PYTHONPATH=clients/python .venv/bin/python clients/python/examples/replay.py --target $listen

or from Python:  driftd.Client("$listen")  (clients/python/README.md).
The offline drift sweep of the same data: scripts/run-sweep-demo.sh

MSG
status=0
while :; do
  wait "$pid" && status=0 || status=$?
  # wait returns early (status > 128) when a trapped signal arrives; go on
  # waiting until driftd itself has drained and exited.
  kill -0 "$pid" 2>/dev/null || break
done
exit "$status"
