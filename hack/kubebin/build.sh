#!/usr/bin/env bash
# Builds Kubernetes (and the etcd it was tested with) from the Go module proxy at the version
# pinned in versions.env, into ~/.cache/ringkeeper/kube/<version>/bin. A second run with the
# binaries present does nothing.
#
#   hack/kubebin/build.sh [component ...]   default: etcd kube-apiserver kube-controller-manager
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../../versions.env
source "$root/versions.env"

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(etcd kube-apiserver kube-controller-manager)

cache=${RINGKEEPER_CACHE:-$HOME/.cache/ringkeeper}
bin="$cache/kube/$KUBERNETES_VERSION/bin"
mkdir -p "$bin"

missing=()
for c in "${components[@]}"; do [ -x "$bin/$c" ] || missing+=("$c"); done
[ ${#missing[@]} -eq 0 ] && { echo "$bin"; exit 0; }

# The module k8s.io/kubernetes lists its staging modules at v0.0.0 with local replaces; a module
# of ours that requires it and replaces each staging module by its published v0.Y.Z builds it.
work="$cache/kube/$KUBERNETES_VERSION/src"
mkdir -p "$work/etcd"
cp "$here/etcd/main.go" "$work/etcd/main.go"
staging_version="v0.${KUBERNETES_VERSION#v1.}"
{
  echo "module ringkeeper.dev/kubebin"
  echo
  echo "go 1.24.0"
  echo
  echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
  echo
  curl -fsSL "${GOPROXY_URL:-https://proxy.golang.org}/k8s.io/kubernetes/@v/$KUBERNETES_VERSION.mod" |
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#replace \1 => \1 '"$staging_version"'#p'
} > "$work/go.mod"
cp "$here/go.sum" "$work/go.sum" 2>/dev/null || true

cd "$work"
export GOFLAGS="-mod=mod -buildvcs=false" GOSUMDB=off CGO_ENABLED=0
pkgs=()
for c in "${missing[@]}"; do
  case "$c" in
    etcd) pkgs+=(./etcd) ;;
    *) pkgs+=("k8s.io/kubernetes/cmd/$c") ;;
  esac
done
echo "building ${missing[*]} (Kubernetes $KUBERNETES_VERSION); the first build takes several minutes" >&2
# Stamp the version so discovery (/version) reports what was pinned, not v0.0.0.
vpkg=k8s.io/component-base/version
ldflags="-s -w -X $vpkg.gitVersion=$KUBERNETES_VERSION -X $vpkg.gitMajor=1"
ldflags+=" -X $vpkg.gitMinor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2) -X $vpkg.gitTreeState=clean"
go build -trimpath -ldflags="$ldflags" -o "$bin/" "${pkgs[@]}"
# Keep the checksums we built with so later builds verify against them.
cp go.sum "$here/go.sum.new" && mv "$here/go.sum.new" "$here/go.sum" 2>/dev/null || true
echo "$bin"
