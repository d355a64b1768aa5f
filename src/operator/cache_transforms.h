// What the operator's caches keep of the objects it owns, and how they are indexed: the fields some
// reader reads, the rest dropped on their way in (controller-runtime's transform functions are the
// model). A Pod's containers, a StatefulSet's pod template, a Service's ports are written by the
// operator and never read back from the cache (desired state is compared through the applied-hash
// annotation), and at a thousand clusters they are most of the cache's memory.
//
// Each function keeps the whole metadata (minus managedFields), the object's `spec` and
// `status` maps even when they end up empty (readers index them), and the fields listed beside
// it with where they are read. A reader that starts reading another field adds it here: the
// unit test checks every field listed survives.
#pragma once

#include "absl/strings/string_view.h"
#include "kube/object.h"
#include "kube/store.h"

namespace ringkeeper {

// The one index of the caches of a Cluster's objects: "namespace/cluster" from the Cluster's
// label (observe reads a Cluster's objects through it). One entry per object: an index of
// every label would be six.
inline constexpr absl::string_view kIndexCluster = "cluster";
kube::Store::IndexFunc IndexByCluster();
// Adds it to `store` (the fakes' stores; the operator's informers are given it in their options).
void AddClusterIndex(kube::Store& store);

// spec.replicas (observe, objects, volume_growth), spec.volumeClaimTemplates (volumes),
// spec.template.metadata (the config-hash annotation: objects), the whole status (observe,
// operations).
void KeepOfStatefulSet(kube::Json& object);
// spec.nodeName (lost_nodes, report), the whole status: podIP, conditions, container statuses
// (observe, operations, storage_access).
void KeepOfPod(kube::Json& object);
// spec.clusterIP (observe, storage_access); no status.
void KeepOfService(kube::Json& object);
// spec.volumeName, spec.storageClassName, spec.resources (lost_nodes, volumes, volume_growth),
// the whole status (volumes).
void KeepOfPersistentVolumeClaim(kube::Json& object);
// data of the "-members" ConfigMaps only, and of each member's settings there only seeds,
// initial_tokens and auto_bootstrap (WrittenSettings: objects, operations); another ConfigMap's
// data (a rack's rendered cassandra.yaml) is written, never read back.
void KeepOfConfigMap(kube::Json& object);

}  // namespace ringkeeper
