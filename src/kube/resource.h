// kube::Resource names an API resource (group, version, plural) and builds its REST paths.
// A plain value; the well-known ones Ringkeeper uses are constants below.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace kube {

struct Resource {
  std::string group;     // "" for the core group
  std::string version;   // "v1"
  std::string resource;  // plural, lower case: "pods"
  std::string kind;      // "Pod"
  bool namespaced = true;

  std::string api_version() const { return group.empty() ? version : group + "/" + version; }

  // "/api/v1" or "/apis/apps/v1".
  std::string GroupVersionPath() const;
  // Collection path; an empty `ns` means all namespaces (or a cluster-scoped resource).
  std::string CollectionPath(absl::string_view ns) const;
  // Object path; `subresource` ("status") is appended when not empty.
  std::string ObjectPath(absl::string_view ns, absl::string_view name,
                         absl::string_view subresource = "") const;
};

namespace resources {
inline const Resource kNamespaces{"", "v1", "namespaces", "Namespace", false};
inline const Resource kPods{"", "v1", "pods", "Pod", true};
inline const Resource kServices{"", "v1", "services", "Service", true};
inline const Resource kConfigMaps{"", "v1", "configmaps", "ConfigMap", true};
inline const Resource kSecrets{"", "v1", "secrets", "Secret", true};
inline const Resource kEvents{"", "v1", "events", "Event", true};
inline const Resource kPersistentVolumeClaims{"", "v1", "persistentvolumeclaims",
                                              "PersistentVolumeClaim", true};
inline const Resource kServiceAccounts{"", "v1", "serviceaccounts", "ServiceAccount", true};
inline const Resource kStatefulSets{"apps", "v1", "statefulsets", "StatefulSet", true};
inline const Resource kDeployments{"apps", "v1", "deployments", "Deployment", true};
inline const Resource kLeases{"coordination.k8s.io", "v1", "leases", "Lease", true};
inline const Resource kNetworkPolicies{"networking.k8s.io", "v1", "networkpolicies",
                                       "NetworkPolicy", true};
inline const Resource kPodDisruptionBudgets{"policy", "v1", "poddisruptionbudgets",
                                            "PodDisruptionBudget", true};
inline const Resource kStorageClasses{"storage.k8s.io", "v1", "storageclasses", "StorageClass",
                                      false};
inline const Resource kNodes{"", "v1", "nodes", "Node", false};
inline const Resource kPersistentVolumes{"", "v1", "persistentvolumes", "PersistentVolume", false};
inline const Resource kCustomResourceDefinitions{
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false};
}  // namespace resources

}  // namespace kube
