#!/usr/bin/env bash
# The container test: builds the CPU image (docker/Dockerfile) with podman
# from a Debian 12 base made by docker/build-base.sh (built once, then kept
# as localhost/debian:12-slim), runs it with its store on a named volume and
# its gRPC port published on 127.0.0.1 only, and drives it from outside with
# the Python client (roundtrip.py): create a model, upload a reference, log
# predictions and labels, query drift and SLIs; then restarts the container,
# and replaces it with a new one on the same volume, checking each time that
# the model and its data are still there (the new one locked down as on
# Kubernetes: read-only root, no capabilities). Checks the image's HEALTHCHECK
# (podman healthcheck run), that the probe fails where nothing serves, and
# that driftd runs as an unprivileged user.
#
# Podman needs no daemon; this script runs it as root (debootstrap needs
# root anyway), installing podman, runc and debootstrap from Debian on
# demand. Where no container can run here for a reason outside this
# project -- podman not installable, no root, or a kernel that refuses
# namespaces -- it prints "container test: skipped: <reason>" and exits 0.
# Any other failure, our Dockerfile's or the round trip's, fails the test.
#
# It leaves the base image, the built image (localhost/driftd:test) and its
# build stage (localhost/driftd-build:test) as the layer cache of the next
# run, removing those they replace; the containers, the volume and temporary
# files go. Bounded: the build may take 20 min (a few on a warm cache), each
# client phase 5 min.
#
# Usage: tests/container/test_container.sh   (from anywhere; uses ./.venv)
set -euo pipefail
cd "$(dirname "$0")/../.."

BASE_IMAGE=localhost/debian:12-slim
IMAGE=localhost/driftd:test
BUILD_IMAGE=localhost/driftd-build:test
NAME=driftd-container-test-$$
VOLUME=$NAME-store
py=$PWD/.venv/bin/python

skip() {
  echo "container test: skipped: $*"
  exit 0
}
say() { echo "container test: $*"; }

sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then
  sudo -n true 2>/dev/null || skip "needs root or passwordless sudo (debootstrap, rootful podman)"
  sudo_cmd="sudo -n"
fi

# ---- the tools, installed from Debian on demand
need=()
command -v podman >/dev/null || need+=(podman)
command -v debootstrap >/dev/null || $sudo_cmd podman image exists "$BASE_IMAGE" 2>/dev/null ||
  need+=(debootstrap)
if [ "${#need[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null || skip "${need[*]} missing and no apt-get to install it"
  say "installing ${need[*]} from Debian (optional test; a minute)"
  if ! { $sudo_cmd apt-get update -qq &&
         DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
           "${need[@]}" >/dev/null; }; then
    skip "${need[*]} missing and not installable with apt-get"
  fi
fi

# ---- can this kernel give a container its namespaces at all?
if ! $sudo_cmd unshare --mount --uts --ipc --net --pid --fork true 2>/dev/null; then
  skip "the kernel refuses new namespaces (unshare --mount --uts --ipc --net --pid failed)"
fi

work=$(mktemp -d)
conf=""
pm() { $sudo_cmd env ${conf:+CONTAINERS_CONF=$conf} podman "$@"; }
cleanup() {
  pm rm -f -t 0 "$NAME" "$NAME-2" >/dev/null 2>&1 || true
  pm volume rm -f "$VOLUME" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "container test: FAILED: $*" >&2
  for c in "$NAME" "$NAME-2"; do
    pm logs "$c" 2>/dev/null | tail -30 >&2 || true
  done
  exit 1
}

# ---- the base image, built once
t0=$SECONDS
if pm image exists "$BASE_IMAGE"; then
  say "base $BASE_IMAGE present"
else
  say "building the base $BASE_IMAGE with debootstrap (a few minutes, once)"
  nice $sudo_cmd env ENGINE=podman docker/build-base.sh "$BASE_IMAGE" || fail "docker/build-base.sh"
fi

# ---- podman's defaults, or what a restricted host allows. Podman sets
# open files and processes limits above what a host without
# CAP_SYS_RESOURCE may grant, and its default runtime crun refuses hosts
# with cgroup controllers in both hierarchies (hybrid cgroups), where runc
# works: try the defaults first, then those two settings.
if ! pm run --rm --network=none "$BASE_IMAGE" true > "$work/probe.log" 2>&1; then
  say "podman's defaults fail here ($(grep -m1 -i error "$work/probe.log" || tail -1 "$work/probe.log")); trying runc and this host's limits"
  if ! command -v runc >/dev/null; then
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends runc \
      >/dev/null || skip "podman cannot run containers here and runc is not installable"
  fi
  nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ] && nofile=65536
  conf=$work/containers.conf
  cat > "$conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=16384:16384"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  pm run --rm --network=none "$BASE_IMAGE" true > "$work/probe.log" 2>&1 ||
    fail "podman cannot run a container from $BASE_IMAGE: $(tail -3 "$work/probe.log")"
fi

# ---- the image. --format docker keeps the HEALTHCHECK (OCI images have
# none); --network=host lets apt in the build reach the Debian mirror. The
# build stage is tagged too, so that the previous run's images, replaced
# here, can be removed without losing the layer cache.
build_image() {  # TARGET-ARGS... TAG
  local tag=${*: -1} old
  old=$(pm image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  timeout 1200 nice $sudo_cmd env ${conf:+CONTAINERS_CONF=$conf} podman build --format docker \
    --network=host --layers --build-arg BASE="$BASE_IMAGE" -f docker/Dockerfile "${@:1:$#-1}" \
    -t "$tag" . >> "$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; fail "podman build $tag"; }
  if [ -n "$old" ] && [ "$old" != "$(pm image inspect --format '{{.Id}}' "$tag")" ]; then
    pm rmi "$old" >/dev/null 2>&1 || true
  fi
}
say "building $IMAGE from docker/Dockerfile"
t_build=$SECONDS
build_image --target build "$BUILD_IMAGE"
build_image "$IMAGE"
build_s=$((SECONDS - t_build))
size=$(pm image inspect --format '{{.Size}}' "$IMAGE")
say "image $IMAGE built in ${build_s} s: $((size / 1000000)) MB"
[ -n "$(pm image inspect --format '{{.Config.Healthcheck}}' "$IMAGE" | tr -d '<>nil{}[] ')" ] ||
  fail "the image has no HEALTHCHECK"

# ---- run it: store on a named volume, gRPC on 127.0.0.1 only
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
target=127.0.0.1:$port
hport=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pm volume create "$VOLUME" >/dev/null
start_container() {  # NAME [podman run options]
  pm run -d --name "$1" "${@:2}" -v "$VOLUME:/var/lib/driftd" -p "$target:50051" \
    -p "127.0.0.1:$hport:8080" "$IMAGE" \
    > "$work/run-$1.log" 2>&1 || fail "podman run: $(cat "$work/run-$1.log")"
}
# Healthy within 60 s: the image's HEALTHCHECK, run by podman.
wait_healthy() {
  for _ in $(seq 1 120); do
    if pm healthcheck run "$1" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  fail "$1 not healthy after 60 s: $(pm exec "$1" driftd-healthcheck 2>&1)"
}
# The HTTP side port from outside: /metrics knows the model, the dashboard
# page and Chart.js (Debian's, inside the image) are served.
web_check() {
  "$py" - "127.0.0.1:$hport" <<'PY' || fail "the HTTP side port: $(pm logs --tail 20 "$1" 2>&1)"
import sys, urllib.request
base = "http://" + sys.argv[1]
get = lambda p: urllib.request.urlopen(base + p, timeout=10).read().decode()
metrics = get("/metrics")
assert 'driftd_models 1' in metrics.splitlines(), metrics[:400]
assert 'model="container-roundtrip"' in metrics
assert "<html" in get("/").lower() and "<html" in get("/models/container-roundtrip").lower()
assert "Chart" in get("/static/chart.js")[:2000]
print("HTTP side port: /metrics, the pages and Chart.js served")
PY
}
client() {
  PYTHONPATH=$PWD/clients/python timeout 300 "$py" tests/container/roundtrip.py "$@" ||
    fail "roundtrip.py $1"
}

start_container "$NAME"
wait_healthy "$NAME"
say "healthy: $(pm exec "$NAME" driftd-healthcheck)"
[ "$(pm exec "$NAME" id -u)" = 10001 ] || fail "driftd does not run as uid 10001"
if pm exec "$NAME" driftd-healthcheck 127.0.0.1:1 >/dev/null 2>&1; then
  fail "the health probe passes where nothing serves"
fi
client write "$target" "$work/state.json"
web_check "$NAME"

say "podman restart"
pm restart "$NAME" >/dev/null 2>&1 || fail "podman restart"
wait_healthy "$NAME"
client check "$target" "$work/state.json"

# The second container is locked down as deploy/k8s runs driftd: a
# read-only root file system (a tmpfs on /tmp), no capabilities, no
# privilege escalation.
say "a new container on the same volume (read-only root, no capabilities)"
pm stop -t 30 "$NAME" >/dev/null 2>&1 || fail "podman stop"
pm rm "$NAME" >/dev/null 2>&1
start_container "$NAME-2" --read-only --tmpfs /tmp --cap-drop=ALL --security-opt=no-new-privileges
wait_healthy "$NAME-2"
client check "$target" "$work/state.json"
web_check "$NAME-2"

say "passed in $((SECONDS - t0)) s (image build ${build_s} s, $((size / 1000000)) MB)"
