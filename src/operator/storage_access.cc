#include "operator/storage_access.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/v1alpha1/naming.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "operator/desired.h"
#include "operator/node_tls.h"

namespace ringkeeper {
namespace {

namespace res = kube::resources;
using kube::FieldAt;
using kube::Json;
using kube::StringField;

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

absl::StatusOr<CqlCredentials> ReadSuperuser(ObjectReader& reader, const ClusterSpec& cluster,
                                             const kube::Object* cluster_object) {
  auto secret = reader.Get(res::kSecrets, cluster.ns, cluster.superuser_secret);
  if (!secret.ok()) return base::Annotate(secret.status(), "superuser Secret");
  CqlCredentials out{kube::SecretData(secret->json(), "username"),
                     kube::SecretData(secret->json(), "password")};
  if (out.user.empty() || out.password.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Secret ", cluster.superuser_secret, " needs non-empty keys username and password"));
  }
  const Json& tls = cluster_object ? FieldAt(cluster_object->json(), {"status", "tls"}) : Json();
  if (tls.is_object() && tls.value("client", false)) {
    auto nodes = reader.Get(res::kSecrets, cluster.ns, NodeTlsSecretName(cluster));
    if (!nodes.ok()) return base::Annotate(nodes.status(), "the nodes' TLS Secret");
    out.tls = {kube::SecretData(nodes->json(), kNodeTlsCa), NodeTlsServerName(cluster)};
  }
  return out;
}

std::map<std::string, std::string> MemberAddresses(const kube::Object& cluster,
                                                   const kube::Store& services) {
  std::map<std::string, std::string> out;
  for (const ReportedMember& m : ReportedMembers(cluster)) {
    kube::ObjectPtr svc = services.Get(kube::ObjectKey{cluster.ns(), m.pod}.ToString());
    const std::string address = svc ? StringField(FieldAt(svc->json(), {"spec"}), "clusterIP") : "";
    if (!address.empty()) out[m.pod] = address;
  }
  return out;
}

std::vector<kube::ObjectPtr> ObjectsOfCluster(const kube::Store& store, const ClusterSpec& c) {
  std::vector<kube::ObjectPtr> out;
  for (const kube::ObjectPtr& o : store.List()) {
    if (o->ns() == c.ns && StringField(FieldAt(o->json(), {"spec"}), "cluster") == c.name) {
      out.push_back(o);
    }
  }
  return out;
}

void OnceWarnings::Warn(EventSink& events, const kube::Object& cluster, const std::string& key,
                        const char* reason, const std::string& message) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!given_.insert(absl::StrCat(cluster.uid(), "/", key)).second) return;
  }
  spdlog::warn("cluster {}: {}: {}", cluster.key().ToString(), reason, message);
  events.Event(cluster, true, reason, message);
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
  StorageCredentials c{kube::SecretData(secret->json(), location.access_key_id_key.c_str()),
                       kube::SecretData(secret->json(), location.secret_access_key_key.c_str())};
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

absl::StatusOr<std::shared_ptr<NodeAgent>> StorageAccess::AgentOf(const ClusterSpec& cluster,
                                                                  const kube::Store& pods,
                                                                  const std::string& pod) {
  kube::ObjectPtr object = pods.Get(kube::ObjectKey{cluster.ns, pod}.ToString());
  const std::string ip = object ? StringField(FieldAt(object->json(), {"status"}), "podIP") : "";
  if (ip.empty()) return absl::UnavailableError("waiting for the pod to have an address");
  const bool tls = ServesAgentTls(object.get());
  ASSIGN_OR_RETURN(const AgentCredentials credentials, agent_credentials_.Get(cluster, tls));
  if (credentials.token.empty()) {
    return absl::UnavailableError("the agents' Secret has no token yet");
  }
  return seams_.agents->For(ip, CredentialsFor(credentials, object.get()));
}

agent::api::StorageLocation StorageAccess::AgentLocation(const StorageLocationSpec& l) {
  if (l.IsFilesystem()) {
    agent::api::StorageLocation out;
    out.path = LocationMountPath(l.name);
    out.prefix = l.filesystem.prefix;
    return out;
  }
  return {l.s3.EffectiveEndpoint(),
          l.s3.bucket,
          l.s3.prefix,
          l.s3.region,
          l.s3.path_style,
          absl::StrCat(kStorageCredentialsDir, "/", l.name),
          "",
          ""};
}

namespace {

constexpr size_t kDeleteBatch = 1000;  // the agent's storage route takes as many as S3

class S3LocationStore : public LocationStore {
 public:
  S3LocationStore(BackupStorage* storage, S3LocationSpec location, StorageCredentials credentials)
      : storage_(storage), location_(std::move(location)), credentials_(std::move(credentials)) {}
  absl::Status Put(const std::string& key, const std::string& body) override {
    return storage_->Put(location_, credentials_, key, body);
  }
  absl::StatusOr<std::string> Get(const std::string& key) override {
    return storage_->Get(location_, credentials_, key);
  }
  absl::StatusOr<std::vector<StoredObject>> List(const std::string& prefix) override {
    return storage_->List(location_, credentials_, prefix);
  }
  // BackupStorage::Delete batches for S3's 1000-key bound itself.
  absl::Status Delete(const std::vector<std::string>& keys) override {
    return storage_->Delete(location_, credentials_, keys);
  }
  std::string Where(const std::string& key) const override {
    return absl::StrCat("s3://", location_.bucket, "/", key);
  }

 private:
  BackupStorage* storage_;
  const S3LocationSpec location_;
  const StorageCredentials credentials_;
};

class AgentLocationStore : public LocationStore {
 public:
  AgentLocationStore(std::string name, agent::api::StorageLocation location,
                     std::vector<std::shared_ptr<NodeAgent>> agents)
      : name_(std::move(name)), location_(std::move(location)), agents_(std::move(agents)) {}

  absl::Status Put(const std::string& key, const std::string& body) override {
    agent::api::StorageRequest r = Request("put");
    r.key = key;
    r.body_base64 = absl::Base64Escape(body);
    return Call(r).status();
  }
  absl::StatusOr<std::string> Get(const std::string& key) override {
    agent::api::StorageRequest r = Request("get");
    r.key = key;
    ASSIGN_OR_RETURN(const agent::api::StorageReply reply, Call(r));
    std::string body;
    if (!absl::Base64Unescape(reply.body_base64, &body)) {
      return absl::InternalError(absl::StrCat("agent storage: ", key, ": bad base64 body"));
    }
    return body;
  }
  absl::StatusOr<std::vector<StoredObject>> List(const std::string& prefix) override {
    std::vector<StoredObject> out;
    agent::api::StorageRequest r = Request("list");
    r.prefix = prefix;
    do {
      ASSIGN_OR_RETURN(const agent::api::StorageReply page, Call(r));
      for (const agent::api::StoredObjectInfo& o : page.objects) {
        out.push_back({o.key, o.size, absl::FromUnixSeconds(o.last_modified_unix), o.etag});
      }
      r.token = page.next_token;
    } while (!r.token.empty());
    return out;
  }
  absl::Status Delete(const std::vector<std::string>& keys) override {
    for (size_t i = 0; i < keys.size(); i += kDeleteBatch) {
      agent::api::StorageRequest r = Request("delete");
      r.keys.assign(keys.begin() + static_cast<ptrdiff_t>(i),
                    keys.begin() + static_cast<ptrdiff_t>(std::min(keys.size(), i + kDeleteBatch)));
      RETURN_IF_ERROR(Call(r).status());
    }
    return absl::OkStatus();
  }
  std::string Where(const std::string& key) const override {
    return absl::StrCat("filesystem://", name_, "/", key);
  }

 private:
  agent::api::StorageRequest Request(const char* op) const {
    agent::api::StorageRequest r;
    r.op = op;
    r.location = location_;
    return r;
  }
  // The first agent that answers; one that cannot be reached (Unavailable) passes the request
  // on to the next.
  absl::StatusOr<agent::api::StorageReply> Call(const agent::api::StorageRequest& r) {
    absl::Status last = absl::UnavailableError("no member's agent to reach it through");
    for (const auto& agent : agents_) {
      auto reply = agent->Storage(r);
      if (!absl::IsUnavailable(reply.status())) return reply;
      last = reply.status();
    }
    return base::Annotate(last, absl::StrCat("filesystem location ", name_));
  }

  const std::string name_;
  const agent::api::StorageLocation location_;
  const std::vector<std::shared_ptr<NodeAgent>> agents_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<LocationStore>> StorageAccess::Open(
    const ClusterSpec& spec, const kube::Object& cluster, const StorageLocationSpec& location,
    BackupStorage* s3, const kube::Store* pods) {
  if (!location.IsFilesystem()) {
    if (!s3) return absl::FailedPreconditionError("no backup storage");
    ASSIGN_OR_RETURN(StorageCredentials credentials, ReadCredentials(spec, location.s3));
    return std::make_unique<S3LocationStore>(s3, location.s3, std::move(credentials));
  }
  std::vector<std::shared_ptr<NodeAgent>> agents;
  if (pods) {
    for (const ReportedMember& m : ReportedMembers(cluster)) {
      auto agent = AgentOf(spec, *pods, m.pod);
      if (agent.ok()) agents.push_back(*std::move(agent));
    }
  }
  if (agents.empty()) {
    return absl::UnavailableError(absl::StrCat("filesystem location ", location.name,
                                               ": no member's agent to reach it through yet"));
  }
  return std::make_unique<AgentLocationStore>(location.name, AgentLocation(location),
                                              std::move(agents));
}

}  // namespace ringkeeper
