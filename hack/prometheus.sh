#!/usr/bin/env bash
# Builds Prometheus (Apache-2.0) at the version pinned in versions.env (hack/go-tool.sh) with
# Kubernetes service discovery only (the build tags remove_all_sd,enable_kubernetes_sd): Debian's
# `prometheus` package is built without Kubernetes discovery, which e2e 03c and 10u scrape the
# cluster with. No web UI assets (the API is all the tests use). Prints the binary's path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/versions.env"
exec bash "$root/hack/go-tool.sh" prometheus "$PROMETHEUS_VERSION" \
  github.com/prometheus/prometheus/cmd/prometheus -tags remove_all_sd,enable_kubernetes_sd
