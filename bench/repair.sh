#!/usr/bin/env bash
# The repair bench of `make bench` (bench/repair.py): a Repair by the operator beside
# `nodetool repair -full -pr` node by node, same Cluster, same data, same client. Brings up the
# local cluster, the images and the operator as the e2e tier does (each step idempotent), then
# runs the bench on a Cluster of its own (namespace bench-repair, deleted afterwards). The local
# cluster stays up (`make cluster-down` stops it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/versions.env"
eval "$(bash "$root/test/cluster/local-cluster.sh" up)"
bash "$root/hack/images.sh" cassandra agent operator
export KUBECTL CASSANDRA_VERSION KUBECONFIG
KUBECTL="$(bash "$root/hack/tools.sh")/kubectl"
bash "$root/hack/helm-install.sh"
venv=$(bash "$root/hack/cassandra/venv.sh")
export E2E_STATE_DIR
E2E_STATE_DIR=$(mktemp -d /tmp/ringkeeper-repair-bench.XXXXXX)
trap 'rm -rf "$E2E_STATE_DIR"' EXIT
"$venv/bin/python" "$root/bench/repair.py"
