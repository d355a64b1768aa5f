// Members lost with their Kubernetes node (pure). A pod bound to a node that was deleted, or
// that has been NotReady longer than spec.nodeLoss.notReadyTimeout, never comes back by itself:
// its kubelet is gone, and a pod recreated by its StatefulSet cannot schedule anywhere when its
// volume is local to that node (the PV's node affinity pins it there). ReplaceOnLostNodes
// (lost_nodes.cc) acts on what these functions find.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "kube/object.h"

namespace ringkeeper {

// Why `node` counts as lost ("deleted", "NotReady for 12m"); "" when it is not. `node` is null
// when the API server has no such Node.
std::string NodeLostBecause(const kube::Object* node, absl::Time now, absl::Duration timeout);

// The node a PersistentVolume is pinned to (the kubernetes.io/hostname of its required node
// affinity: a local volume); "" for a volume that can follow its pod to another node.
std::string VolumeNode(const kube::Object& volume);

}  // namespace ringkeeper
