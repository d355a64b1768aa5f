// Every name and label the operator derives from a Cluster: the objects it owns, the labels that
// select them, the annotations it reads and writes (the tables in src/operator/README.md).
//
// Pure; thread-safe.
#pragma once

#include <map>
#include <string>

#include "api/v1alpha1/cluster.h"
#include "kube/object.h"

namespace ringkeeper {

// Labels and annotations of the contract (src/operator/README.md).
inline constexpr char kLabelName[] = "app.kubernetes.io/name";
inline constexpr char kLabelInstance[] = "app.kubernetes.io/instance";
inline constexpr char kLabelManagedBy[] = "app.kubernetes.io/managed-by";
inline constexpr char kLabelCluster[] = "cassandra.rook.io/cluster";
inline constexpr char kLabelDataCenter[] = "cassandra.rook.io/datacenter";
inline constexpr char kLabelRack[] = "cassandra.rook.io/rack";
inline constexpr char kLabelReplace[] = "cassandra.rook.io/replace";  // "true" on a pod
// On a Backup a schedule created: the schedule's name (spec.backups[].name).
inline constexpr char kLabelBackupSchedule[] = "cassandra.rook.io/backup-schedule";
// On a Repair a schedule created: spec.repairs[].name, or kAutoRepairSchedule.
inline constexpr char kLabelRepairSchedule[] = "cassandra.rook.io/repair-schedule";
inline constexpr char kAutoRepairSchedule[] = "auto";  // refused as a spec.repairs[] name
inline constexpr char kLabelPodName[] = "statefulset.kubernetes.io/pod-name";
// The hash of what an object was applied from: equal hash, nothing to apply.
inline constexpr char kAnnotationAppliedHash[] = "cassandra.rook.io/applied-hash";
// On the pod template: changes (config, version, JVM) roll the pods.
inline constexpr char kAnnotationConfigHash[] = "cassandra.rook.io/config-hash";
// On the Cluster, set by a user (as `kubectl rollout restart` sets kubectl.kubernetes.io/
// restartedAt on a Deployment): copied to every pod template, so a new value rolls every pod.
inline constexpr char kAnnotationRestartedAt[] = "cassandra.rook.io/restartedAt";

inline constexpr char kDataVolumeDefault[] = "data";

// Names (the table in src/operator/README.md).
std::string StatefulSetName(const ClusterSpec& c, const std::string& dc, const std::string& rack);
std::string PodName(const ClusterSpec& c, const std::string& dc, const std::string& rack,
                    int ordinal);
std::string HeadlessServiceName(const ClusterSpec& c, const std::string& dc);
std::string ClientServiceName(const ClusterSpec& c, const std::string& dc);
std::string PdbName(const ClusterSpec& c, const std::string& dc);
// The NetworkPolicy that keeps the agents' API port to the operator and the cluster's own pods.
std::string AgentNetworkPolicyName(const ClusterSpec& c);
std::string MembersConfigMapName(const ClusterSpec& c, const std::string& dc,
                                 const std::string& rack);
std::string ConfigConfigMapName(const ClusterSpec& c, const std::string& dc,
                                const std::string& rack);
std::string AgentTokenSecretName(const ClusterSpec& c);
// spec.tls: the operator's CA (ca.crt, ca.key) unless spec.tls.caSecretName names the user's,
// and the nodes' certificate (ca.crt, node.pem: key and certificate), which the pods mount.
std::string CaSecretName(const ClusterSpec& c);
std::string NodeTlsSecretName(const ClusterSpec& c);
// The storage locations' credentials, one key per location (the access key id and the secret,
// one a line), mounted in every agent at kStorageCredentialsDir.
std::string StorageCredentialsSecretName(const ClusterSpec& c);
inline constexpr char kStorageCredentialsDir[] = "/etc/ringkeeper/storage";
// Where every Cassandra pod's containers mount a filesystem storage location's volume
// (<agent::api::kLocationsDir>/<location>), and that volume's name in the pod.
std::string LocationMountPath(const std::string& location);
std::string LocationVolumeName(const std::string& location);
std::string ServiceAccountName(const ClusterSpec& c);
// The Backup or Repair a schedule creates for the run at `at`:
// <cluster>-<schedule>-<YYYYMMDDhhmm> (UTC), the same for every attempt at that run, so creating
// it twice is harmless. The automatic repair schedule's name is kAutoRepairSchedule.
std::string ScheduledName(const ClusterSpec& c, const std::string& schedule, absl::Time at);
std::string PvcName(const RackSpec& rack, const std::string& pod);

// The ordinal of a StatefulSet pod name ("x-y-3" -> 3), -1 when it has none.
int OrdinalOf(const std::string& pod_name);

// Labels shared by every object of the cluster (+ dc/rack where non-empty).
std::map<std::string, std::string> ClusterLabels(const ClusterSpec& c, const std::string& dc = "",
                                                 const std::string& rack = "");

// The controller owner reference to the Cluster.
kube::Json OwnerReference(const ClusterSpec& c);

}  // namespace ringkeeper
