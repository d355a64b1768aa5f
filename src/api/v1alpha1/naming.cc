#include "api/v1alpha1/naming.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agent/api/api.h"

namespace ringkeeper {

using kube::StringField;

std::string LocationMountPath(const std::string& location) {
  return absl::StrCat(agent::api::kLocationsDir, "/", location);
}
std::string LocationVolumeName(const std::string& location) {
  std::string name = absl::StrCat("location-", location);
  if (name.size() <= 63) return name;  // a volume's name is a DNS label
  uint32_t fnv = 2166136261u;          // FNV-1a: stable everywhere, unlike std::hash
  for (const unsigned char ch : location) fnv = (fnv ^ ch) * 16777619u;
  return absl::StrCat(name.substr(0, 54), "-", absl::Hex(fnv, absl::kZeroPad8));
}

std::string StatefulSetName(const ClusterSpec& c, const std::string& dc, const std::string& rack) {
  return absl::StrCat(c.name, "-", dc, "-", rack);
}
std::string PodName(const ClusterSpec& c, const std::string& dc, const std::string& rack,
                    int ordinal) {
  return absl::StrCat(StatefulSetName(c, dc, rack), "-", ordinal);
}
std::string HeadlessServiceName(const ClusterSpec& c, const std::string& dc) {
  return absl::StrCat(c.name, "-", dc);
}
std::string ClientServiceName(const ClusterSpec& c, const std::string& dc) {
  return absl::StrCat(c.name, "-", dc, "-client");
}
std::string PdbName(const ClusterSpec& c, const std::string& dc) {
  return absl::StrCat(c.name, "-", dc);
}
std::string AgentNetworkPolicyName(const ClusterSpec& c) { return c.name + "-agent"; }
std::string MembersConfigMapName(const ClusterSpec& c, const std::string& dc,
                                 const std::string& rack) {
  return StatefulSetName(c, dc, rack) + "-members";
}
std::string ConfigConfigMapName(const ClusterSpec& c, const std::string& dc,
                                const std::string& rack) {
  return StatefulSetName(c, dc, rack) + "-config";
}
std::string AgentTokenSecretName(const ClusterSpec& c) { return c.name + "-agent-token"; }
std::string CaSecretName(const ClusterSpec& c) {
  return c.tls.ca_secret.empty() ? c.name + "-ca" : c.tls.ca_secret;
}
std::string NodeTlsSecretName(const ClusterSpec& c) { return c.name + "-node-tls"; }
std::string StorageCredentialsSecretName(const ClusterSpec& c) {
  return c.name + "-storage-credentials";
}
std::string ScheduledName(const ClusterSpec& c, const std::string& schedule, absl::Time at) {
  return absl::StrCat(c.name, "-", schedule, "-",
                      absl::FormatTime("%Y%m%d%H%M", at, absl::UTCTimeZone()));
}
std::string ServiceAccountName(const ClusterSpec& c) { return c.name + "-cassandra"; }
std::string PvcName(const RackSpec& rack, const std::string& pod) {
  return absl::StrCat(StringField(rack.volume_claim_template["metadata"], "name"), "-", pod);
}

int OrdinalOf(const std::string& pod_name) {
  const auto dash = pod_name.rfind('-');
  int ordinal = -1;
  if (dash == std::string::npos || !absl::SimpleAtoi(pod_name.substr(dash + 1), &ordinal)) {
    return -1;
  }
  return ordinal;
}

std::map<std::string, std::string> ClusterLabels(const ClusterSpec& c, const std::string& dc,
                                                 const std::string& rack) {
  std::map<std::string, std::string> labels = {{kLabelName, "cassandra"},
                                               {kLabelInstance, c.name},
                                               {kLabelManagedBy, "ringkeeper"},
                                               {kLabelCluster, c.name}};
  if (!dc.empty()) labels[kLabelDataCenter] = dc;
  if (!rack.empty()) labels[kLabelRack] = rack;
  return labels;
}

kube::Json OwnerReference(const ClusterSpec& c) {
  return {
      {"apiVersion", kApiVersion}, {"kind", "Cluster"},         {"name", c.name}, {"uid", c.uid},
      {"controller", true},        {"blockOwnerDeletion", true}};
}

}  // namespace ringkeeper
