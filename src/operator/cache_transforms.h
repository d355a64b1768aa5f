// What the operator's caches keep of the objects it owns: the fields some reader reads, the rest
// dropped on their way in (controller-runtime's transform functions are the model). A Pod's
// containers, a StatefulSet's pod template, a Service's ports are written by the operator and
// never read back from the cache (desired state is compared through the applied-hash
// annotation), and at a thousand clusters they are most of the cache's memory.
//
// Each function keeps the whole metadata (minus managedFields), the object's `spec` and
// `status` maps even when they end up empty (readers index them), and the fields listed beside
// it with where they are read. A reader that starts reading another field adds it here: the
// unit test checks every field listed survives.
#pragma once

#include "kube/object.h"

namespace ringkeeper {

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
// data of the "-members" ConfigMaps only (the settings written: objects, operations); another
// ConfigMap's data (a rack's rendered cassandra.yaml) is written, never read back.
void KeepOfConfigMap(kube::Json& object);

}  // namespace ringkeeper
