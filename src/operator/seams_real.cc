#include "operator/seams_real.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/v1alpha1/naming.h"
#include "backup/store.h"
#include "base/status_macros.h"
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

absl::StatusOr<kube::Object> KubeObjects::Update(const kube::Resource& r,
                                                 const kube::Json& object) {
  return client_.Update(r, kube::Object(object));
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

std::unique_ptr<backup::S3Store> StoreFor(const S3LocationSpec& location,
                                          const StorageCredentials& credentials) {
  s3::Endpoint endpoint;
  endpoint.url = location.EffectiveEndpoint();
  endpoint.region = location.region;
  endpoint.path_style = location.path_style;
  return std::make_unique<backup::S3Store>(
      endpoint, s3::Credentials{credentials.access_key_id, credentials.secret_access_key, ""},
      location.bucket);
}

}  // namespace

absl::Status S3BackupStorage::Put(const S3LocationSpec& location,
                                  const StorageCredentials& credentials, const std::string& key,
                                  const std::string& body) {
  return StoreFor(location, credentials)->Put(key, body);
}

absl::StatusOr<std::string> S3BackupStorage::Get(const S3LocationSpec& location,
                                                 const StorageCredentials& credentials,
                                                 const std::string& key) {
  return StoreFor(location, credentials)->Get(key);
}

absl::StatusOr<std::vector<StoredObject>> S3BackupStorage::List(
    const S3LocationSpec& location, const StorageCredentials& credentials,
    const std::string& prefix) {
  auto store = StoreFor(location, credentials);
  ASSIGN_OR_RETURN(const std::vector<backup::ObjectInfo> objects, backup::ListAll(*store, prefix));
  std::vector<StoredObject> out;
  for (const auto& o : objects) out.push_back({o.key, o.size, o.last_modified, o.etag});
  return out;
}

absl::Status S3BackupStorage::Delete(const S3LocationSpec& location,
                                     const StorageCredentials& credentials,
                                     const std::vector<std::string>& keys) {
  auto store = StoreFor(location, credentials);
  for (size_t i = 0; i < keys.size(); i += 1000) {  // S3 deletes at most 1000 keys a request
    RETURN_IF_ERROR(store->Delete(std::vector<std::string>(
        keys.begin() + static_cast<ptrdiff_t>(i),
        keys.begin() + static_cast<ptrdiff_t>(std::min(keys.size(), i + 1000)))));
  }
  return absl::OkStatus();
}

void RecorderEvents::Event(const kube::Object& regarding, bool warning, const std::string& reason,
                           const std::string& message) {
  recorder_.Event(regarding, warning ? kube::EventType::kWarning : kube::EventType::kNormal, reason,
                  message);
}

std::shared_ptr<NodeAgent> HttpNodeAgents::For(const std::string& address,
                                               const AgentCredentials& credentials) {
  const absl::Time now = absl::Now();
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(agents_, [&](const auto& e) { return now - e.second.last_used >= idle_; });
  // A pod that moved to TLS, or new certificates, is a new client.
  Entry& entry = agents_[absl::StrCat(credentials.token, "|", credentials.ca_pem, "|",
                                      credentials.client_cert_pem, "@", address)];
  if (!entry.agent) entry.agent = std::make_shared<AgentClient>(address, credentials);
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
  auto client =
      cql::Client::Connect(host, port_, login.user, login.password, absl::Seconds(10), login.tls);
  if (!client.ok()) return client.status();
  return std::make_unique<ClientSession>(*std::move(client));
}

absl::Status CqlClientSessions::SetupSuperuser(const std::string& host,
                                               const CqlCredentials& superuser) {
  return cql::SetupSuperuser(host, port_, superuser.user, superuser.password, absl::Seconds(60),
                             superuser.tls)
      .status();
}

absl::Time SystemClock::Now() const { return absl::Now(); }

}  // namespace ringkeeper
