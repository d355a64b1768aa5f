#!/usr/bin/env bash
# The local cluster's volume resizer: what a CSI driver's external-resizer does, for the
# rancher.io/local-path volumes. When a claim's request grows (the API server allows it only when
# the StorageClass has allowVolumeExpansion), kube-controller-manager finds no in-tree plugin that
# expands a hostPath volume and leaves the claim to an external controller (event
# ExternalExpanding): this one, for claims its provisioner made. These volumes are directories
# with no size of their own, so there is nothing to grow on disk: resizing one is recording it,
# the PV's capacity and then the claim's status capacity, as external-resizer does once a driver
# has expanded the volume. Run by local-cluster.sh; one pass every 2 s until stopped.
# Usage: volume-resizer.sh KUBECTL KUBECONFIG
set -uo pipefail
kubectl=$1
kubeconfig=$2
k() { "$kubectl" --kubeconfig="$kubeconfig" "$@"; }

pending() { # namespace, claim, volume and requested size of each claim to resize
  k get pvc -A -o json | jq -r '.items[]
    | select(.metadata.annotations["volume.kubernetes.io/storage-provisioner"] == "rancher.io/local-path")
    | select(.status.phase == "Bound")
    | select(.spec.resources.requests.storage != .status.capacity.storage)
    | [.metadata.namespace, .metadata.name, .spec.volumeName, .spec.resources.requests.storage]
    | @tsv'
}

while true; do
  pending | while IFS=$'\t' read -r ns claim volume size; do
    k patch pv "$volume" --type=merge -p "{\"spec\":{\"capacity\":{\"storage\":\"$size\"}}}" >/dev/null &&
      k -n "$ns" patch pvc "$claim" --subresource=status --type=merge \
        -p "{\"status\":{\"capacity\":{\"storage\":\"$size\"},\"conditions\":null}}" >/dev/null &&
      echo "$(date -u +%FT%TZ) resized $ns/$claim ($volume) to $size"
  done
  sleep 2
done
