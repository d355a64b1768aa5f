#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need. Safe to run again.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ clang clang-format clang-tidy libclang-rt-14-dev pkg-config
  # ccache: CI compiles a clean clone each run; unchanged sources are cache hits (CMakeLists.txt)
  ccache
  # libraries (see CMakeLists.txt)
  libabsl-dev nlohmann-json3-dev libspdlog-dev libyaml-cpp-dev libjemalloc-dev libssl-dev
  libcpp-httplib-dev libcli11-dev libgtest-dev libbenchmark-dev zlib1g-dev libtinyxml2-dev
  # test environment: openssl for its PKI, curl for health checks, jq for the volume resizer
  openssl curl jq
  # the local cluster (test/cluster/local-cluster.sh) and its images (hack/images.sh); containerd
  # and Kubernetes are built from the Go module proxy, runc and the CNI plugins are Debian's
  runc containernetworking-plugins iptables conntrack podman buildah debootstrap uidmap
  python3-venv
  # patch: hack/network-policies.sh applies ours to kube-network-policies before building it
  patch
  # Maven: jars for the tests and the images are fetched on the host (hack/images.sh says why)
  maven
  # promtool (the alert rules' tests) and the Prometheus server the dashboards' queries run on
  prometheus
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# Kubernetes is built from source with Go >= 1.21 (it fetches the 1.24 toolchain it needs
# from the module proxy); Debian 12's golang-go is 1.19, too old, so Go must come with the
# machine.
if ! command -v go >/dev/null; then
  echo "install-deps: Go >= 1.21 is required (to build Kubernetes) and was not found" >&2
  exit 1
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
