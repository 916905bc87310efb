#!/usr/bin/env bash
# Builds a Debian 12 (bookworm) base image from a Debian mirror with
# debootstrap, for machines that cannot pull debian:12-slim from a registry:
# a minbase root file system, trimmed the way Debian's slim images are (no
# manual pages, documentation or translations), imported into podman (or
# docker) as localhost/debian:12-slim. The Dockerfiles take it with
# --build-arg BASE=localhost/debian:12-slim.
#
# The mirror is the one this machine's apt uses (its bookworm entry in
# /etc/apt/sources.list or /etc/apt/sources.list.d); MIRROR=... and
# SECURITY_MIRROR=... set or override it (without a security mirror the
# image has no bookworm-security entry). The image's apt sources
# name that mirror for bookworm and bookworm-updates, and its security
# mirror for bookworm-security, as debian:12-slim does.
#
# Usage: docker/build-base.sh [IMAGE]   (default localhost/debian:12-slim)
# Needs root, debootstrap and podman or docker. Takes a few minutes.
set -euo pipefail

image=${1:-localhost/debian:12-slim}
engine=${ENGINE:-$(command -v podman || command -v docker || true)}
if [ -z "$engine" ]; then
  echo "build-base: neither podman nor docker found" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null; then
  echo "build-base: debootstrap not found (apt-get install debootstrap)" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "build-base: debootstrap needs root" >&2
  exit 1
fi

# The URI of the first apt source of this machine whose suite is $1 and whose
# path ends in $2 (one-line and deb822 formats).
apt_mirror() {
  local suite=$1 tail=$2 f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk -v s="$suite" -v t="$tail" '$1 == "deb" {
        i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        if ($(i + 1) == s && $i ~ (t "/?$")) { sub(/\/$/, "", $i); print $i; exit }
      }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk -v s="$suite" -v t="$tail" '
      function flush() { if (types ~ /(^| )deb( |$)/ && suites ~ ("(^| )" s "( |$)"))
                           { n = split(uris, u, " "); for (k = 1; k <= n; k++)
                               if (u[k] ~ (t "/?$")) { sub(/\/$/, "", u[k]); print u[k]; exit } }
                         types = suites = uris = "" }
      /^[ \t]*$/ { flush(); next }
      /^Types:/  { sub(/^Types:[ \t]*/, "");  types = $0 }
      /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
      /^URIs:/   { sub(/^URIs:[ \t]*/, "");   uris = $0 }
      END { flush() }' "$f"
  done
}

mirror=${MIRROR:-$(apt_mirror bookworm /debian | head -1)}
if [ -z "$mirror" ]; then
  echo "build-base: no bookworm entry in this machine's apt sources; set MIRROR=<a Debian mirror URL>" >&2
  exit 2
fi
security=${SECURITY_MIRROR:-$(apt_mirror bookworm-security /debian-security | head -1)}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
echo "build-base: debootstrap --variant=minbase bookworm from $mirror"
debootstrap --variant=minbase bookworm "$root" "$mirror" > "$work/debootstrap.log" 2>&1 || {
  tail -30 "$work/debootstrap.log" >&2
  exit 1
}

# What Debian's slim images leave out, now and in every later apt-get install.
cat > "$root/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root"/usr/share/{man,groff,info,lintian,linda}/* "$root"/usr/share/locale/*/
cat > "$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' > "$root/etc/apt/apt.conf.d/docker-no-languages"

rm -f "$root/etc/apt/sources.list"
cat > "$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
if [ -n "$security" ]; then
  cat >> "$root/etc/apt/sources.list.d/debian.sources" <<EOF

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
fi
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
  "$root"/var/log/* "$root"/tmp/* "$root"/root/.bash_history
: > "$root/etc/machine-id"
echo "debian" > "$root/etc/hostname"

tar --numeric-owner -C "$root" -c . | "$engine" import \
  --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  - "$image" > /dev/null 2> "$work/import.log" || { cat "$work/import.log" >&2; exit 1; }
echo "build-base: $image ($("$engine" image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1 / 1e6}'))"
