#!/usr/bin/env bash
# Installs what driftd's build and tests need on a fresh Debian 12 machine:
# the compilers and libraries from Debian's packages, and the test oracles
# (NumPy, SciPy, scikit-learn, pytest) and grpcio from PyPI into ./.venv.
# Idempotent: a second run only checks.
# Usage: scripts/bootstrap.sh [--with-r]   (--with-r: R's modeldata, for the
# grants example data)
set -euo pipefail
cd "$(dirname "$0")/.."

want_r=0
for arg in "$@"; do
  case "$arg" in
    --with-r) want_r=1 ;;
    *) echo "bootstrap: unknown argument $arg" >&2; exit 2 ;;
  esac
done

sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi

# The engine: compilers and Google Benchmark. The service: gRPC's C core,
# protobuf-c, SQLite, libcurl (alert delivery to Alertmanager), libmicrohttpd
# and Chart.js for the HTTP side port; nginx for the scale-out test behind a
# proxy, Alertmanager for the alert tests, Prometheus and Chromium (with its
# WebDriver) for the HTTP tests; clang and its libFuzzer runtime for the
# fuzz harnesses; openssl to make the TLS tests' certificates; OpenBLAS and
# LAPACKE for the multivariate statistics (PCA, kernel matrices).
debs=(build-essential cmake pkg-config libbenchmark-dev python3
      libgrpc-dev protobuf-c-compiler libprotobuf-c-dev protobuf-compiler
      protobuf-compiler-grpc grpc-proto libsqlite3-dev sqlite3 nginx-light
      libcurl4-openssl-dev prometheus-alertmanager libmicrohttpd-dev libjs-chart.js
      prometheus chromium chromium-driver clang libclang-rt-14-dev openssl
      libopenblas-dev liblapacke-dev)
if [ "$want_r" = 1 ]; then debs+=(r-cran-modeldata); fi
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bootstrap: installing Debian packages (a few minutes): ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  if ! python3 -m venv .venv 2>/dev/null; then
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq python3-venv
    python3 -m venv .venv
  fi
fi
if ! .venv/bin/python -c "import numpy, scipy, pytest, pandas, sklearn, grpc, grpc_tools, selenium" 2>/dev/null || \
   [ requirements-dev.txt -nt .venv/.stamp ]; then
  echo "bootstrap: installing Python packages into .venv (a few minutes): $(tr '\n' ' ' < requirements-dev.txt)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
  touch .venv/.stamp
fi
echo "bootstrap: ok"
