#!/usr/bin/env bash
# The e2e tier: brings up the local cluster (test/cluster/local-cluster.sh, idempotent), builds and
# loads the cassandra, agent and operator images (hack/images.sh, each skipped when unchanged),
# installs the CRD, RBAC and the operator Deployment (hack/install-operator.sh), then runs every
# test/e2e/*_test.py with the real cassandra-driver (venv from hack/cassandra/venv.sh). Prints the
# timings of each step. The cluster stays up (`make cluster-down` stops it) unless E2E_DOWN=1.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/versions.env"
t0=$SECONDS
t=$SECONDS
eval "$(bash "$root/test/cluster/local-cluster.sh" up)"
echo "e2e: cluster up in $((SECONDS - t))s"
t=$SECONDS
bash "$root/hack/images.sh" cassandra agent operator
echo "e2e: images ready in $((SECONDS - t))s"
export KUBECTL
KUBECTL="$(bash "$root/hack/tools.sh")/kubectl"
export CASSANDRA_VERSION
t=$SECONDS
bash "$root/hack/install-operator.sh"
echo "e2e: operator installed in $((SECONDS - t))s"
venv=$(bash "$root/hack/cassandra/venv.sh")
rc=0
for test in "$root"/test/e2e/*_test.py; do
  echo "e2e: $(basename "$test")"
  "$venv/bin/python" "$test" || rc=1
done
if [ "${E2E_DOWN:-0}" = 1 ]; then bash "$root/test/cluster/local-cluster.sh" down; fi
echo "e2e: done in $((SECONDS - t0))s (rc=$rc)"
exit "$rc"
