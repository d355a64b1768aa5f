#!/usr/bin/env bash
# Builds Prometheus (Apache-2.0) from the Go module proxy at the version pinned in versions.env,
# into ~/.cache/ringkeeper/prometheus/<version>/bin, with Kubernetes service discovery only (the
# build tags remove_all_sd,enable_kubernetes_sd): Debian's `prometheus` package is built without
# Kubernetes discovery, which e2e 03c and 10u scrape the cluster with. No web UI assets (the API
# is all the tests use). Prints the binary's path; a second run with the binary present does
# nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/versions.env"
bin="${RINGKEEPER_CACHE:-$HOME/.cache/ringkeeper}/prometheus/$PROMETHEUS_VERSION/bin"
if [ ! -x "$bin/prometheus" ]; then
  mkdir -p "$bin"
  echo "prometheus: building $PROMETHEUS_VERSION from the Go module proxy (several minutes)" >&2
  GOBIN="$bin" GOFLAGS=-trimpath go install -tags remove_all_sd,enable_kubernetes_sd \
    -ldflags="-s -w" "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_VERSION" >&2
fi
echo "$bin/prometheus"
