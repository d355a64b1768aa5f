#include "operator/seams_real.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/v1alpha1/naming.h"
#include "cql/auth_setup.h"
#include "cql/schema.h"
#include "operator/agent_client.h"
#include "s3/client.h"

namespace ringkeeper {

absl::StatusOr<kube::Object> KubeObjects::Get(const kube::Resource& r, const std::string& ns,
                                              const std::string& name) {
  return client_.Get(r, ns, name);
}

absl::StatusOr<kube::Object> KubeObjects::Apply(const kube::Resource& r, const kube::Json& object) {
  return client_.Apply(r, kube::Object(object), {field_manager_, /*force=*/true});
}

absl::StatusOr<kube::Object> KubeObjects::Create(const kube::Resource& r,
                                                 const kube::Json& object) {
  return client_.Create(r, kube::Object(object));
}

absl::Status KubeObjects::Delete(const kube::Resource& r, const std::string& ns,
                                 const std::string& name, const std::string& uid, Deletion how) {
  kube::DeleteOptions options;
  options.precondition_uid = uid;
  if (how == Deletion::kWithoutGrace) options.grace_period_seconds = 0;
  if (how == Deletion::kOrphanDependents) options.propagation_policy = "Orphan";
  return client_.Delete(r, ns, name, options);
}

absl::StatusOr<kube::Object> KubeObjects::UpdateStatus(const kube::Resource& r,
                                                       const kube::Object& object) {
  return client_.UpdateStatus(r, object);
}

namespace {

std::unique_ptr<s3::Client> ClientFor(const S3LocationSpec& location,
                                      const StorageCredentials& credentials) {
  s3::Endpoint endpoint;
  endpoint.url = location.EffectiveEndpoint();
  endpoint.region = location.region;
  endpoint.path_style = location.path_style;
  return std::make_unique<s3::Client>(
      endpoint, s3::Credentials{credentials.access_key_id, credentials.secret_access_key, ""});
}

}  // namespace

absl::Status S3BackupStorage::Put(const S3LocationSpec& location,
                                  const StorageCredentials& credentials, const std::string& key,
                                  const std::string& body) {
  return ClientFor(location, credentials)->PutObject(location.bucket, key, body);
}

absl::StatusOr<std::string> S3BackupStorage::Get(const S3LocationSpec& location,
                                                 const StorageCredentials& credentials,
                                                 const std::string& key) {
  return ClientFor(location, credentials)->GetObject(location.bucket, key);
}

absl::StatusOr<std::vector<StoredObject>> S3BackupStorage::List(
    const S3LocationSpec& location, const StorageCredentials& credentials,
    const std::string& prefix) {
  auto client = ClientFor(location, credentials);
  std::vector<StoredObject> out;
  std::string token;
  do {
    auto page = client->ListObjects(location.bucket, prefix, token);
    if (!page.ok()) return page.status();
    for (const auto& o : page->objects) out.push_back({o.key, o.size, o.last_modified, o.etag});
    token = page->next_token;
  } while (!token.empty());
  return out;
}

absl::Status S3BackupStorage::Delete(const S3LocationSpec& location,
                                     const StorageCredentials& credentials,
                                     const std::vector<std::string>& keys) {
  auto client = ClientFor(location, credentials);
  std::vector<std::string> batch;
  for (const std::string& key : keys) {  // S3 deletes at most 1000 keys a request
    batch.push_back(key);
    if (batch.size() == 1000) {
      if (absl::Status s = client->DeleteObjects(location.bucket, batch); !s.ok()) return s;
      batch.clear();
    }
  }
  if (!batch.empty()) return client->DeleteObjects(location.bucket, batch);
  return absl::OkStatus();
}

void RecorderEvents::Event(const kube::Object& regarding, bool warning, const std::string& reason,
                           const std::string& message) {
  recorder_.Event(regarding, warning ? kube::EventType::kWarning : kube::EventType::kNormal, reason,
                  message);
}

std::shared_ptr<NodeAgent> HttpNodeAgents::For(const std::string& address,
                                               const std::string& token) {
  const absl::Time now = absl::Now();
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(agents_, [&](const auto& e) { return now - e.second.last_used >= idle_; });
  Entry& entry = agents_[absl::StrCat(token, "@", address)];
  if (!entry.agent) entry.agent = std::make_shared<AgentClient>(address, token);
  entry.last_used = now;
  return entry.agent;
}

size_t HttpNodeAgents::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return agents_.size();
}

namespace {

class ClientSession : public CqlSession {
 public:
  explicit ClientSession(std::unique_ptr<cql::Client> client) : client_(std::move(client)) {}
  absl::StatusOr<cql::ResultSet> Query(const std::string& statement,
                                       cql::Consistency consistency) override {
    return client_->Query(statement, consistency);
  }
  absl::Status WaitForSchemaAgreement(absl::Duration timeout) override {
    return cql::WaitForSchemaAgreement(*client_, timeout).status();
  }

 private:
  std::unique_ptr<cql::Client> client_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<CqlSession>> CqlClientSessions::Connect(
    const std::string& host, const CqlCredentials& login) {
  auto client = cql::Client::Connect(host, port_, login.user, login.password);
  if (!client.ok()) return client.status();
  return std::make_unique<ClientSession>(*std::move(client));
}

absl::Status CqlClientSessions::SetupSuperuser(const std::string& host,
                                               const CqlCredentials& superuser) {
  return cql::SetupSuperuser(host, port_, superuser.user, superuser.password).status();
}

absl::Time SystemClock::Now() const { return absl::Now(); }

}  // namespace ringkeeper
