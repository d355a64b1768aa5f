#!/usr/bin/env bash
# `make demo`: a real single-node Kubernetes on this machine (test/cluster/local-cluster.sh), the
# images built from images/*/Dockerfile and loaded into its containerd (hack/images.sh), the
# operator installed with its Helm chart (charts/ringkeeper, hack/helm-install.sh), and the seed's example Cluster
# (config/samples/seed-example.yaml) with only its images and sizes changed to fit here. The
# operator makes it a 3-node Cassandra cluster; the demo waits for Ready, prints the objects, the
# ring (nodetool) and a CQL query as the generated superuser, from this machine through the
# client Service. Everything stays up (`make cluster-down` removes it all).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=/dev/null
source versions.env
t0=$SECONDS
ns=demo
cluster=my-cassandra-cluster
dc=us-east-1
first_pod=$cluster-$dc-us-east-1c-0
step() { printf '\n== %s (%ss)\n' "$*" "$((SECONDS - t0))"; }

step "local Kubernetes: etcd, apiserver, controller-manager, scheduler, containerd, kubelet, kube-proxy, local-path-provisioner"
eval "$(bash test/cluster/local-cluster.sh up)"
K="$(bash hack/tools.sh)/kubectl"

step "images: base, pause, cassandra, agent, operator (rebuilt only when their inputs changed)"
flock /tmp/rk-build.lock bash hack/images.sh

step "the operator: helm upgrade --install charts/ringkeeper (CRDs, RBAC, Deployment)"
bash hack/helm-install.sh

step "the kubectl plugin: kubectl-ringkeeper (built in the operator image) put on PATH"
bin_dir=/usr/local/bin
[ -w "$bin_dir" ] || { bin_dir=$HOME/.local/bin; mkdir -p "$bin_dir"; }
# Copied out of the image (same Debian 12 libraries as this machine): no second build.
box=$(podman create localhost/ringkeeper/ringkeeper-operator:dev)
podman cp "$box:/usr/local/bin/kubectl-ringkeeper" "$bin_dir/kubectl-ringkeeper"
podman rm "$box" >/dev/null
"$bin_dir/kubectl-ringkeeper" --help >/dev/null
# kubectl finds its plugins on PATH; the pinned kubectl goes beside it when none is there.
command -v kubectl >/dev/null || ln -sf "$K" "$bin_dir/kubectl"
echo "kubectl-ringkeeper in $bin_dir; kubectl: $(command -v kubectl || echo "$bin_dir/kubectl")"

step "namespace $ns and the seed's example Cluster (images and sizes pointed at the local ones)"
"$K" create namespace "$ns" --dry-run=client -o yaml | "$K" apply -f - >/dev/null
# An earlier demo ran a hand-made StatefulSet `cass` here; it would compete for the two cores.
"$K" -n "$ns" delete statefulset/cass service/cass service/cass-0 service/cass-1 service/cass-2 \
  configmap/cass-replace --ignore-not-found --wait=false >/dev/null
"$K" -n "$ns" delete pvc -l app=cass --ignore-not-found --wait=false >/dev/null
# Only images and sizes change: requests drop to what this machine has (cpu only between
# `requests:` and `limits:`, so the limit stays 2000m).
sed -e 's#"custom-enterprise-repo.io/cassandra"#"localhost/ringkeeper/cassandra"#' \
  -e "s#version: \"3.1.11\"#version: \"$CASSANDRA_VERSION\"#" \
  -e 's#"rook.io/sidecar-cassandra"#"localhost/ringkeeper/ringkeeper-agent"#' \
  -e 's#tag: "0.1"#tag: "dev"#' -e 's#storage: "500Gi"#storage: "1Gi"#' \
  -e 's#memory: "4Gi"#memory: "2Gi"#' \
  -e '/requests:/,/limits:/s#cpu: "2000m"#cpu: "200m"#' \
  config/samples/seed-example.yaml | "$K" -n "$ns" apply --server-side --force-conflicts -f -

step "waiting for cluster/$cluster to be Ready (3 members UN; first start takes minutes)"
if ! "$K" -n "$ns" wait --for=condition=Ready "cluster/$cluster" --timeout=900s; then
  "$K" -n "$ns" get "cluster/$cluster" -o yaml | sed -n '/^status:/,$p' >&2
  "$K" -n "$ns" get pods -o wide >&2
  "$K" -n ringkeeper-system logs deployment/ringkeeper-operator --tail=40 >&2 || true
  echo "demo: cluster/$cluster is not Ready after 900s" >&2
  exit 1
fi

step "status"
"$K" get nodes -o wide
"$K" -n "$ns" get clusters,statefulsets,pods,services,pvc -o wide

step "the ring, as node $first_pod sees it (nodetool) and as the plugin shows it"
"$K" -n "$ns" exec "$first_pod" -c cassandra -- nodetool status
# Ownership and the agents' figures reach the status a pass after Ready.
"$K" -n "$ns" wait --for=jsonpath='{.status.dataCenters[0].members[0].owns}' "cluster/$cluster" \
  --timeout=120s >/dev/null 2>&1 || true
PATH=$bin_dir:$PATH "$K" ringkeeper status "$cluster" -n "$ns"

step "CQL from this machine through Service $cluster-$dc-client, as the generated superuser"
secret=$cluster-superuser
if ! "$K" -n "$ns" get secret "$secret" >/dev/null 2>&1; then
  echo "(no Secret $secret: the Cluster names its own superuser Secret; CQL query skipped)"
else
  # Ready counts members; the superuser is switched on just after: wait for status.authReady.
  "$K" -n "$ns" wait --for=jsonpath='{.status.authReady}'=true "cluster/$cluster" --timeout=300s
  secret_field() {
    "$K" -n "$ns" get secret "$secret" -o jsonpath="{.data.$1}" | base64 -d
  }
  CQL_HOST=$("$K" -n "$ns" get service "$cluster-$dc-client" -o jsonpath='{.spec.clusterIP}')
  CQL_USER=$(secret_field username)
  CQL_PASSWORD=$(secret_field password)
  export CQL_HOST CQL_USER CQL_PASSWORD
  echo "host $CQL_HOST:9042, role $CQL_USER"
  "$(bash hack/cassandra/venv.sh)/bin/python" - <<'PY'
import os
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.policies import WhiteListRoundRobinPolicy

host = os.environ["CQL_HOST"]
auth = PlainTextAuthProvider(os.environ["CQL_USER"], os.environ["CQL_PASSWORD"])
# Every request through the client Service: what an application in the cluster would use.
profile = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([host]),
                           request_timeout=30)
cluster = Cluster([host], port=9042, auth_provider=auth, connect_timeout=10,
                  execution_profiles={EXEC_PROFILE_DEFAULT: profile})
try:
    s = cluster.connect()
    local = s.execute("SELECT cluster_name, release_version, data_center, rack FROM system.local").one()
    peers = s.execute("SELECT peer FROM system.peers").all()
    print(f"cluster {local.cluster_name}, Cassandra {local.release_version}, answered by a node "
          f"in {local.data_center}/{local.rack} that sees {len(peers)} peers")
    print("roles (system_auth.roles):")
    for r in s.execute("SELECT role, is_superuser, can_login FROM system_auth.roles"):
        print(f"  {r.role:<24} superuser={r.is_superuser} login={r.can_login}")
finally:
    cluster.shutdown()
PY
fi

step "cqlsh in a Cassandra pod, as the superuser (kubectl ringkeeper cqlsh: the password on no command line)"
PATH=$bin_dir:$PATH KUBECTL=$K "$K" ringkeeper -n "$ns" cqlsh "$cluster" -- --no-color -e "
  CREATE KEYSPACE IF NOT EXISTS demo WITH replication = {'class': 'NetworkTopologyStrategy', '$dc': 3};
  CREATE TABLE IF NOT EXISTS demo.greetings (id int PRIMARY KEY, said text);
  CONSISTENCY QUORUM;
  INSERT INTO demo.greetings (id, said) VALUES (1, 'hello from cqlsh in $first_pod');
  SELECT * FROM demo.greetings;"

echo
echo "demo: done in $((SECONDS - t0))s. KUBECONFIG=$KUBECONFIG"
echo "      try: kubectl -n $ns get clusters; kubectl ringkeeper status -n $ns;"
echo "           kubectl ringkeeper cqlsh $cluster -n $ns (or kubectl -n $ns exec -it $first_pod -c cassandra -- cqlsh -u ROLE)"
echo "      make cluster-down removes everything."
