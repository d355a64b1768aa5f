// The objects a Cluster should own, built from its spec and what has been observed (Service IPs,
// tokens, which members have joined). Pure functions: spec in, JSON objects out; the reconciler
// applies them.
//
// Every object carries the cluster's labels and a controller owner reference to the Cluster, so
// deleting the Cluster deletes them (the garbage collector does it; PVCs follow
// spec.pvcDeletionPolicy through the StatefulSet's persistentVolumeClaimRetentionPolicy).
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "agent/api/api.h"
#include "api/v1alpha1/naming.h"
#include "kube/object.h"

namespace ringkeeper {

// Paths and names inside a Cassandra pod (the pod layout in src/operator/README.md).
inline constexpr char kCassandraContainer[] = "cassandra";
inline constexpr char kAgentContainer[] = "agent";
inline constexpr char kJolokiaJar[] = "/opt/ringkeeper/jolokia-agent.jar";
inline constexpr char kDataDir[] = "/var/lib/cassandra";

// Well-known node labels of the default placement (the contract in src/operator/README.md).
inline constexpr char kTopologyKeyHostname[] = "kubernetes.io/hostname";
inline constexpr char kTopologyKeyZone[] = "topology.kubernetes.io/zone";

// Per member: the sticky ClusterIP Service whose IP is the node's broadcast address.
kube::Json MemberService(const ClusterSpec& c, const std::string& dc, const std::string& rack,
                         int ordinal);
kube::Json HeadlessService(const ClusterSpec& c, const std::string& dc);
kube::Json ClientService(const ClusterSpec& c, const std::string& dc);
kube::Json PodDisruptionBudget(const ClusterSpec& c, const std::string& dc);

// The operator's pods, as a NetworkPolicy names them: their namespace and labels.
struct OperatorPods {
  std::string ns;  // "": unknown (an operator run outside the cluster): no policy is made
  std::map<std::string, std::string> labels;
};
// Ingress to the cluster's pods: every port but the agents' API (kAgentPort) from anywhere (CQL,
// internode, the health and metrics port), the agents' API from the operator's pods and the
// cluster's own (peers read each other's ring) only. Traffic from a pod's own node is allowed
// whatever a policy says (the kubelet's probes; `kubectl port-forward`).
kube::Json AgentNetworkPolicy(const ClusterSpec& c, const OperatorPods& operator_pods);
kube::Json CassandraServiceAccount(const ClusterSpec& c);
// An Opaque Secret of the Cluster (owned by it) with `data` (key -> bytes).
kube::Json OwnedSecret(const ClusterSpec& c, const std::string& name,
                       const std::map<std::string, std::string>& data);
// The agents' Secret with `data` (agent_credentials.h says which keys).
kube::Json AgentTokenSecret(const ClusterSpec& c, const std::map<std::string, std::string>& data);
// The storage locations' credentials every agent mounts (naming.h): `files` maps a location's
// name to its file (the access key id and the secret, one a line).
kube::Json StorageCredentialsSecret(const ClusterSpec& c,
                                    const std::map<std::string, std::string>& files);
kube::Json SuperuserSecret(const ClusterSpec& c, const std::string& username,
                           const std::string& password);

// The rack's cassandra.yaml overrides: the user's rack ConfigMap (its `cassandra.yaml` key,
// parsed by the caller) with spec.config merged over it. Emitted as JSON, which is YAML.
kube::Json ConfigConfigMap(const ClusterSpec& c, const std::string& dc, const std::string& rack,
                           const kube::Json& rack_overrides);

// What `agent init` of one member is told. `initial_tokens` only for members of a brand-new
// cluster (they start at once and do not stream); members added later bootstrap.
struct MemberPlan {
  std::string pod;
  std::string broadcast_ip;
  std::vector<std::string> initial_tokens;
  bool auto_bootstrap = true;
  bool joined_before = false;
  agent::api::OperationRequest restore;  // kind "": none (MemberRestore)
  // spec.commitLogArchive's location as the agent reads it (endpoint "": not archived).
  agent::api::StorageLocation commitlog_archive;
  agent::api::ReplayRequest replay;  // run "": none (MemberReplay)
};
agent::api::InitSettings MemberSettings(const ClusterSpec& c, const std::string& dc,
                                        const std::string& rack,
                                        const std::vector<std::string>& seeds,
                                        const MemberPlan& member);
kube::Json MembersConfigMap(const ClusterSpec& c, const std::string& dc, const std::string& rack,
                            const std::map<std::string, agent::api::InitSettings>& members);

// The rack's StatefulSet with `replicas` pods. `config_hash` goes on the pod template so a
// config change (which lives in a ConfigMap) changes the template and rolls the pods; so does
// the Cluster's restartedAt annotation (c.restarted_at). The rack's placement applies; where it
// sets no podAntiAffinity (or topologySpreadConstraints) the pods prefer one member of the data
// center per node (and spread over zones).
kube::Json RackStatefulSet(const ClusterSpec& c, const std::string& dc, const RackSpec& rack,
                           int replicas, const std::string& config_hash);

// A short stable hash (hex) of a JSON value.
std::string HashOf(const kube::Json& value);

// `object` with its applied-hash annotation set to the hash of everything else in it.
kube::Json WithAppliedHash(kube::Json object);
// Whether `observed` was applied from exactly `desired` (its applied-hash matches).
bool AppliedFrom(const kube::Json& desired_with_hash, const kube::Object& observed);

// Parses a Kubernetes quantity of bytes ("512Mi", "2G", "1073741824"); -1 when invalid.
int64_t ParseByteQuantity(const std::string& quantity);
// Bytes for people: "1.5 GiB".
std::string HumanBytes(int64_t bytes);

}  // namespace ringkeeper
