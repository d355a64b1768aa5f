#!/usr/bin/env bash
# Makes the base image every Dockerfile here starts FROM, `debian:bookworm-slim`, on a machine
# with no registry: debootstrap --variant=minbase bookworm, trimmed like the official slim image
# (no docs, man pages or locales; apt sources for bookworm, -updates and -security), imported into
# podman's storage under both `debian:bookworm-slim` and `docker.io/library/debian:bookworm-slim`,
# so `FROM debian:bookworm-slim` resolves locally. Where a registry is reachable, `docker build`
# pulls the official image instead and the same Dockerfiles build unchanged.
#
# The rootfs tarball is cached in ~/.cache/ringkeeper/images/debian-bookworm-slim.tar.gz; a second
# run only re-imports it (and does nothing when the image exists). Prints the image ID.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/versions.env"
cache=${RINGKEEPER_CACHE:-$HOME/.cache/ringkeeper}/images
tarball="$cache/debian-bookworm-slim-${DEBIAN_SNAPSHOT:-current}.tar.gz"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
log() { echo "make-base: $*" >&2; }

if id=$(podman image inspect --format '{{.Id}}' docker.io/library/debian:bookworm-slim 2>/dev/null); then
  echo "$id"
  exit 0
fi

if [ ! -s "$tarball" ]; then
  command -v debootstrap >/dev/null || { log "debootstrap is not installed"; exit 1; }
  mkdir -p "$cache"
  rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  log "debootstrap --variant=minbase bookworm (about a minute)"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -n 30 "$cache/debootstrap.log" >&2; exit 1; }
  # What the official slim image does: keep dpkg from installing docs, drop caches and logs.
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
CFG
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<CFG
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
CFG
  find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
  rm -rf "$rootfs"/usr/share/{man,info,locale,groff,lintian}/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* \
    "$rootfs"/var/cache/debconf/*-old "$rootfs"/tmp/*
  : >"$rootfs/etc/machine-id"
  tar --numeric-owner -C "$rootfs" -czf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
fi

log "importing $tarball"
podman import --quiet --change 'CMD ["bash"]' "$tarball" docker.io/library/debian:bookworm-slim >/dev/null
podman tag docker.io/library/debian:bookworm-slim localhost/debian:bookworm-slim
podman image inspect --format '{{.Id}}' docker.io/library/debian:bookworm-slim
