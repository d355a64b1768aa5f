#!/usr/bin/env bash
# Builds the local cluster's node pieces that Debian lacks (or ships too old) from the Go module
# proxy, at the versions pinned in versions.env, into ~/.cache/ringkeeper/cluster/bin:
#   containerd, containerd-shim-runc-v2, ctr   (github.com/containerd/containerd, 1.7.x)
#   local-path-provisioner                      (github.com/rancher/local-path-provisioner)
# Each binary is built once per version (a stamp file names the version). Prints the bin dir.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/versions.env"
cache=${RINGKEEPER_CACHE:-$HOME/.cache/ringkeeper}
bin="$cache/cluster/bin"
mkdir -p "$bin"

built() { [ -x "$bin/$1" ] && [ "$(cat "$bin/.$1.version" 2>/dev/null)" = "$2" ]; }

# build name version module package extra-go-flags...: go build inside a module of ours that
# requires the pinned module (go install pkg@version refuses modules with exclude directives).
build() {
  local name=$1 version=$2 module=$3 pkg=$4
  shift 4
  built "$name" "$version" && return 0
  echo "cluster/build: $name $version (the first build takes a few minutes)" >&2
  local work="$cache/cluster/src/$name"
  mkdir -p "$work"
  printf 'module ringkeeper.dev/clusterbin/%s\n\ngo 1.23\n\nrequire %s %s\n' \
    "$name" "$module" "$version" >"$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" >"$work/tools.go"
  (cd "$work" && GOFLAGS="-mod=mod -buildvcs=false" GOSUMDB=off go mod tidy >&2 &&
    GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath "$@" -o "$bin/$name.tmp" "$pkg" >&2)
  mv "$bin/$name.tmp" "$bin/$name"
  echo "$version" >"$bin/.$name.version"
}

ctrd=github.com/containerd/containerd
ctrd_ld="-s -w -X $ctrd/version.Version=$CONTAINERD_VERSION -X $ctrd/version.Package=$ctrd"
# Static, no cgo: btrfs and devmapper snapshotters are not needed (overlayfs is what we use).
for c in containerd containerd-shim-runc-v2 ctr; do
  CGO_ENABLED=0 build "$c" "$CONTAINERD_VERSION" "$ctrd" "$ctrd/cmd/$c" \
    -tags "no_btrfs no_devmapper no_zfs no_aufs tools" -ldflags "$ctrd_ld"
done
CGO_ENABLED=0 build local-path-provisioner "$LOCAL_PATH_PROVISIONER_VERSION" \
  github.com/rancher/local-path-provisioner github.com/rancher/local-path-provisioner \
  -tags tools -ldflags "-s -w"
echo "$bin"
