#!/usr/bin/env bash
# Builds kube-network-policies (sigs.k8s.io, Apache-2.0) at the version pinned in versions.env,
# with hack/network-policies/xtqueue-kubeconfig.patch applied (the patch says why), into
# ~/.cache/ringkeeper/kube-network-policies/<version>-<patch hash>/bin, and prints the binary's
# path; a second run with the binary present does nothing. The local cluster runs it as a host
# process so NetworkPolicies are enforced (its bridge CNI enforces none).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/versions.env"
patch="$root/hack/network-policies/xtqueue-kubeconfig.patch"
version=$KUBE_NETWORK_POLICIES_VERSION
dir="${RINGKEEPER_CACHE:-$HOME/.cache/ringkeeper}/kube-network-policies/$version-$(sha256sum "$patch" | cut -c1-12)"
bin="$dir/bin/kube-network-policies"
if [ ! -x "$bin" ]; then
  echo "kube-network-policies: building $version from the Go module proxy (a few minutes)" >&2
  src=$(go mod download -json "sigs.k8s.io/kube-network-policies@$version" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
  rm -rf "$dir"
  mkdir -p "$dir/bin"
  cp -r "$src" "$dir/src"
  chmod -R u+w "$dir/src"
  (cd "$dir/src" && patch -p1 --quiet <"$patch" &&
    GOFLAGS=-mod=mod go build -trimpath -ldflags="-s -w" -o "$bin.tmp" ./cmd) >&2
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
