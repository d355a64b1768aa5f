#!/usr/bin/env bash
# Packs kubectl-ringkeeper for krew: BUILD_DIR/kubectl-ringkeeper-linux-amd64.tar.gz and, beside
# it, ringkeeper.yaml (src/plugin/krew.yaml with the version, the archive's URI and its SHA256),
# and checks the archive holds the binary the manifest names. (krew itself is not installed here:
# `kubectl krew install --manifest=ringkeeper.yaml --archive=...` is not exercised.)
#
#   hack/krew.sh BUILD_DIR [URI]     URI default: file://<the archive>
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
bin=$build/src/plugin/kubectl-ringkeeper
[ -x "$bin" ] || { echo "krew: no $bin (build it first)" >&2; exit 1; }
version=v$(sed -n 's/^project(ringkeeper .*VERSION \([0-9.]*\)).*/\1/p' "$root/CMakeLists.txt")
archive=$build/kubectl-ringkeeper-linux-amd64.tar.gz
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
install -m 0755 "$bin" "$stage/kubectl-ringkeeper"
tar -C "$stage" --owner=0 --group=0 --mtime=@0 -czf "$archive" kubectl-ringkeeper
sha=$(sha256sum "$archive" | cut -c1-64)
uri=${2:-file://$archive}
sed -e "s#version: VERSION#version: $version#" -e "s#uri: URI#uri: $uri#" \
  -e "s#sha256: SHA256#sha256: $sha#" "$root/src/plugin/krew.yaml" >"$build/ringkeeper.yaml"
# The manifest's file and binary are in the archive.
tar -tzf "$archive" | grep -qx kubectl-ringkeeper
grep -q "sha256: $sha" "$build/ringkeeper.yaml"
echo "krew: $archive ($sha), manifest $build/ringkeeper.yaml ($version)"
