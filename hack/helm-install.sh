#!/usr/bin/env bash
# Installs or upgrades Ringkeeper from charts/ringkeeper (`helm upgrade --install`, release
# ringkeeper in namespace ringkeeper-system) with the locally built operator image, and waits
# until the CRDs are Established and the operator Deployment is available. What `make demo`, the
# e2e tier and the repair bench install with; any other cluster can take the chart as it is.
#
#   hack/helm-install.sh [helm flags...]     e.g. --set monitoring.monitors=false
#
# Environment:
#   KUBECONFIG  the cluster; when unset, the local cluster's (test/cluster/local-cluster.sh env)
#   IMAGE       the operator image (default localhost/ringkeeper/ringkeeper-operator:dev)
#   TIMEOUT     how long helm waits for the release's objects (default 300s)
#
# The namespace is labelled to enforce the restricted Pod Security Standard (the operator's pods
# meet it). When podman holds the image, its id goes on the pod template (podAnnotations
# ringkeeper.io/image-id), so a rebuilt image with the same tag rolls the operator, and an
# unchanged one leaves it be.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
image=${IMAGE:-localhost/ringkeeper/ringkeeper-operator:dev}
ns=ringkeeper-system
log() { echo "helm-install: $*"; }

if [ -z "${KUBECONFIG:-}" ]; then
  eval "$(bash test/cluster/local-cluster.sh env)"
fi
export KUBECONFIG
tools=$(bash hack/tools.sh)
K=$tools/kubectl
log "cluster: $("$K" config view --minify -o jsonpath='{.clusters[0].cluster.server}') (KUBECONFIG=$KUBECONFIG)"

"$K" create namespace "$ns" --dry-run=client -o yaml |
  "$K" label --local -f - -o yaml app.kubernetes.io/part-of=ringkeeper \
    pod-security.kubernetes.io/enforce=restricted |
  "$K" apply --server-side -f - | sed 's/^/  /'

values=(--set-string "image.repository=${image%:*}" --set-string "image.tag=${image##*:}")
image_id=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null | cut -c1-12 || true)
if [ -n "$image_id" ]; then
  values+=(--set-string "podAnnotations.ringkeeper\.io/image-id=$image_id")
  log "image $image, id $image_id (podman)"
fi
# --wait=watcher: every object of the release ready (CRDs Established, the Deployment's rollout
# done) before helm returns.
if ! "$tools/helm" upgrade --install ringkeeper charts/ringkeeper --namespace "$ns" \
  "${values[@]}" --wait=watcher --timeout "${TIMEOUT:-300s}" "$@"; then
  log "the release is not ready:"
  "$K" -n "$ns" get pods -o wide >&2 || true
  "$K" -n "$ns" logs deployment/ringkeeper-operator --tail=30 >&2 || true
  exit 1
fi
log "done: $("$K" -n "$ns" get deployment ringkeeper-operator \
  -o jsonpath='{.status.availableReplicas}/{.spec.replicas}') replicas available in $ns"
