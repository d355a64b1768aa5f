#!/usr/bin/env bash
# Installs Ringkeeper into a Kubernetes cluster from config/: the Cluster CRD, the operator's
# namespace and RBAC, then its Deployment and metrics Service, all by server-side apply (run it
# again to upgrade). Waits for the CRD to be Established and the Deployment to be available.
#
#   hack/install-operator.sh
#
# Environment:
#   KUBECONFIG  the cluster; when unset, the local cluster's (test/cluster/local-cluster.sh env)
#   IMAGE       the operator image (default: the one in config/manager/deployment.yaml,
#               localhost/ringkeeper/ringkeeper-operator:dev)
#   TIMEOUT     how long to wait for each of the two conditions, in seconds (default 300s)
#
# When podman holds the image, its id is written on the pod template
# (annotation ringkeeper.io/image-id), so a rebuilt image with the same tag rolls the pods.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
timeout=${TIMEOUT:-300s}
default_image=localhost/ringkeeper/ringkeeper-operator:dev
image=${IMAGE:-$default_image}
ns=ringkeeper-system
log() { echo "install-operator: $*"; }

if [ -z "${KUBECONFIG:-}" ]; then
  eval "$(bash test/cluster/local-cluster.sh env)"
fi
K="$(bash hack/tools.sh)/kubectl"
log "cluster: $("$K" config view --minify -o jsonpath='{.clusters[0].cluster.server}') (KUBECONFIG=$KUBECONFIG)"

apply() { "$K" apply --server-side "$@" | sed 's/^/  /'; }

log "CRD (config/crd)"
apply -f config/crd
# Polled rather than `kubectl wait`: read before the API server has written the CRD's first
# condition (status.conditions null, seen on a cluster up for seconds), kubectl wait fails at
# once with ".status.conditions accessor error" instead of waiting.
established() {
  "$K" get "crd/$1" \
    -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' 2>/dev/null || true
}
wait_seconds=${timeout%s}
[[ $wait_seconds =~ ^[0-9]+$ ]] || wait_seconds=300
deadline=$((SECONDS + wait_seconds))
for crd in clusters.cassandra.rook.io backups.cassandra.rook.io restores.cassandra.rook.io \
  repairs.cassandra.rook.io; do
  until [ "$(established "$crd")" = True ]; do
    if [ $SECONDS -ge $deadline ]; then
      log "CRD $crd is not Established after ${wait_seconds}s"
      exit 1
    fi
    sleep 0.2
  done
  log "  $crd Established"
done

# The namespace before config/rbac: the ServiceAccount and the leader-election Role live in it.
log "namespace $ns and RBAC (config/rbac)"
apply -f config/manager/namespace.yaml
apply -f config/rbac

log "operator (config/manager), image $image"
image_id=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null | cut -c1-12 || true)
annotations=
if [ -n "$image_id" ]; then
  annotations='"metadata":{"annotations":{"ringkeeper.io/image-id":"'"$image_id"'"}},'
  log "  image id $image_id (podman)"
fi
patch='{"spec":{"template":{'"$annotations"'"spec":{"containers":[{"name":"operator","image":"'"$image"'"}]}}}}'
for f in config/manager/*.yaml; do
  case $f in
    */namespace.yaml) ;;
    */deployment.yaml) "$K" patch --local -f "$f" -p "$patch" -o yaml | apply -f - ;;
    *) apply -f "$f" ;;
  esac
done
if ! "$K" -n "$ns" rollout status deployment/ringkeeper-operator --timeout="$timeout"; then
  log "the Deployment is not available after $timeout:"
  "$K" -n "$ns" get pods -o wide >&2 || true
  "$K" -n "$ns" logs deployment/ringkeeper-operator --tail=30 >&2 || true
  exit 1
fi
log "done: $("$K" -n "$ns" get deployment ringkeeper-operator \
  -o jsonpath='{.status.availableReplicas}/{.spec.replicas}') replicas available in $ns"
