#!/usr/bin/env bash
# `make demo`. The full demo (a local Kubernetes with kubelet and containerd, the operator and
# a Cassandra cluster) arrives with the local-cluster issue. Until then this brings up the
# integration environment (etcd, kube-apiserver, kube-controller-manager with TLS and RBAC)
# and shows the C++ client runtime working against it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
echo "The local cluster with the operator and Cassandra is coming (see the issues); showing the"
echo "Kubernetes API environment and Ringkeeper's client runtime for now."
bash hack/install-deps.sh
bash hack/kubebin/build.sh >/dev/null
bash test/env/kube-env.sh up
cmake --preset ci >/dev/null
cmake --build --preset ci --target kube_client_integration_test >/dev/null
set -a
source "${RINGKEEPER_ENV_DIR:-/tmp/ringkeeper-env}/env"
set +a
build/ci/src/kube/kube_client_integration_test --gtest_brief=1
echo
echo "The environment is still up: KUBECONFIG=$KUBECONFIG; stop it with 'make env-down'."
