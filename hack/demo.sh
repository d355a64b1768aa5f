#!/usr/bin/env bash
# `make demo`: a real single-node Kubernetes on this machine (test/cluster/local-cluster.sh), the
# images built from images/*/Dockerfile and loaded into its containerd (hack/images.sh), the
# Cluster CRD with the seed's example Cluster (images and sizes pointed at the local ones), and a
# 3-node Cassandra cluster. Until the operator reconciles Clusters, the Cassandra cluster is the
# e2e tier's StatefulSet of the cassandra image (one sticky ClusterIP Service per pod, a PVC each).
# Prints the cluster's status; everything stays up (`make cluster-down` removes it all).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source versions.env
t0=$SECONDS
step() { printf '\n== %s (%ss)\n' "$*" "$((SECONDS - t0))"; }

step "local Kubernetes: etcd, apiserver, controller-manager, scheduler, containerd, kubelet, kube-proxy, local-path-provisioner"
eval "$(bash test/cluster/local-cluster.sh up)"
K="$(bash hack/tools.sh)/kubectl"

step "images: base, pause, cassandra, agent, operator (rebuilt only when their inputs changed)"
bash hack/images.sh

step "the Cluster CRD and the seed's example Cluster (images and sizes pointed at the local ones)"
"$K" apply --server-side -f config/crd/cassandra.rook.io_clusters.yaml >/dev/null
"$K" wait --for=condition=Established crd/clusters.cassandra.rook.io --timeout=60s >/dev/null
"$K" create namespace demo --dry-run=client -o yaml | "$K" apply -f - >/dev/null
sed -e 's#"custom-enterprise-repo.io/cassandra"#"localhost/ringkeeper/cassandra"#' \
  -e "s#version: \"3.1.11\"#version: \"$CASSANDRA_VERSION\"#" \
  -e 's#"rook.io/sidecar-cassandra"#"localhost/ringkeeper/ringkeeper-agent"#' \
  -e 's#tag: "0.1"#tag: "dev"#' -e 's#storage: "500Gi"#storage: "1Gi"#' \
  -e 's#cpu: "2000m"#cpu: "200m"#' -e 's#memory: "4Gi"#memory: "2Gi"#' \
  config/samples/seed-example.yaml | "$K" -n demo apply -f -
echo "(no operator reconciles it yet: the Cassandra cluster below is a StatefulSet of the same image)"

step "a 3-node Cassandra cluster: StatefulSet cass, one ClusterIP Service per pod, a PVC each"
sed "s#@IMAGE@#localhost/ringkeeper/cassandra:$CASSANDRA_VERSION#" test/e2e/cassandra-statefulset.yaml |
  "$K" -n demo apply -f - >/dev/null
"$K" -n demo rollout status statefulset/cass --timeout=600s
until "$K" -n demo exec cass-0 -- nodetool status 2>/dev/null | grep -c '^UN' | grep -qx 3; do
  [ $((SECONDS - t0)) -lt 900 ] || { echo "demo: the ring did not form in time" >&2; exit 1; }
  sleep 5
done

step "status"
"$K" get nodes -o wide
"$K" -n demo get clusters.cassandra.rook.io,statefulsets,pods,pvc,services -o wide
"$K" -n demo exec cass-0 -- nodetool status
echo
echo "demo: done in $((SECONDS - t0))s. KUBECONFIG=$KUBECONFIG"
echo "      try: $K -n demo get pods; make cluster-down removes everything."
