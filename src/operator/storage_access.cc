#include "operator/storage_access.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/v1alpha1/naming.h"
#include "base/status_macros.h"
#include "operator/desired.h"

namespace ringkeeper {
namespace {

namespace res = kube::resources;
using kube::FieldAt;
using kube::Json;
using kube::StringField;

std::string Decoded(const Json& data, const std::string& key) {
  std::string out;
  return absl::Base64Unescape(StringField(data, key.c_str()), &out) ? out : "";
}

}  // namespace

std::vector<ReportedMember> ReportedMembers(const kube::Object& cluster) {
  std::vector<ReportedMember> out;
  const Json& dcs = FieldAt(cluster.json(), {"status", "dataCenters"});
  if (!dcs.is_array()) return out;
  for (const Json& dc : dcs) {
    const Json& members = FieldAt(dc, {"members"});
    if (!members.is_array()) continue;
    for (const Json& m : members) {
      ReportedMember r{StringField(m, "pod"), StringField(dc, "name"), StringField(m, "rack")};
      if (!r.pod.empty()) out.push_back(std::move(r));
    }
  }
  return out;
}

std::string LocationNames(const ClusterSpec& c) {
  std::vector<std::string> names;
  for (const auto& l : c.storage_locations) names.push_back(l.name);
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

bool ReportedReady(const kube::Object& cluster, std::string* why) {
  const Json& conditions = FieldAt(cluster.json(), {"status", "conditions"});
  if (conditions.is_array()) {
    for (const Json& c : conditions) {
      if (StringField(c, "type") != "Ready") continue;
      if (StringField(c, "status") == "True") return true;
      *why = absl::StrCat(StringField(c, "reason"), ": ", StringField(c, "message"));
      return false;
    }
  }
  *why = "it reports no Ready condition yet";
  return false;
}

absl::StatusOr<StorageCredentials> StorageAccess::ReadCredentials(const ClusterSpec& cluster,
                                                                  const S3LocationSpec& location) {
  auto secret = seams_.reader->Get(res::kSecrets, cluster.ns, location.credentials_secret);
  if (absl::IsNotFound(secret.status())) {
    return absl::NotFoundError(absl::StrCat("Secret ", location.credentials_secret,
                                            " (the storage location's credentials) not found in ",
                                            cluster.ns));
  }
  if (!secret.ok()) return secret.status();
  const Json& data = FieldAt(secret->json(), {"data"});
  StorageCredentials c{Decoded(data, location.access_key_id_key),
                       Decoded(data, location.secret_access_key_key)};
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Secret ", location.credentials_secret, " needs non-empty keys ",
                     location.access_key_id_key, " and ", location.secret_access_key_key));
  }
  return c;
}

absl::Status StorageAccess::CopyCredentials(const ClusterSpec& cluster) {
  std::map<std::string, std::string> files;
  for (const StorageLocationSpec& l : cluster.storage_locations) {
    auto c = ReadCredentials(cluster, l.s3);
    if (c.ok()) files[l.name] = absl::StrCat(c->access_key_id, "\n", c->secret_access_key, "\n");
  }
  const Json desired = StorageCredentialsSecret(cluster, files);
  auto current =
      seams_.reader->Get(res::kSecrets, cluster.ns, StorageCredentialsSecretName(cluster));
  if (current.ok() && FieldAt(current->json(), {"data"}) == desired["data"]) {
    return absl::OkStatus();
  }
  if (!current.ok() && !absl::IsNotFound(current.status())) return current.status();
  return seams_.writer->Apply(res::kSecrets, desired).status();
}

absl::StatusOr<std::string> StorageAccess::AgentToken(const ClusterSpec& cluster) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = agent_tokens_.find(cluster.uid); it != agent_tokens_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(kube::Object secret,
                   seams_.reader->Get(res::kSecrets, cluster.ns, AgentTokenSecretName(cluster)));
  const std::string token = Decoded(FieldAt(secret.json(), {"data"}), "token");
  if (token.empty()) return absl::UnavailableError("the agents' token Secret has no token yet");
  std::lock_guard<std::mutex> lock(mu_);
  agent_tokens_[cluster.uid] = token;
  return token;
}

absl::StatusOr<std::shared_ptr<NodeAgent>> StorageAccess::AgentOf(const ClusterSpec& cluster,
                                                                  const kube::Store& pods,
                                                                  const std::string& pod) {
  kube::ObjectPtr object = pods.Get(kube::ObjectKey{cluster.ns, pod}.ToString());
  const std::string ip = object ? StringField(FieldAt(object->json(), {"status"}), "podIP") : "";
  if (ip.empty()) return absl::UnavailableError("waiting for the pod to have an address");
  ASSIGN_OR_RETURN(const std::string token, AgentToken(cluster));
  return seams_.agents->For(ip, token);
}

agent::api::StorageLocation StorageAccess::AgentLocation(const StorageLocationSpec& l) {
  return {l.s3.EffectiveEndpoint(),
          l.s3.bucket,
          l.s3.prefix,
          l.s3.region,
          l.s3.path_style,
          absl::StrCat(kStorageCredentialsDir, "/", l.name),
          ""};
}

}  // namespace ringkeeper
