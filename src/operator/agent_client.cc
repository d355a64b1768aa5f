#include "operator/agent_client.h"

#include "absl/strings/str_cat.h"
#include "kube/config.h"
#include "nlohmann/json.hpp"

namespace ringkeeper {
namespace {

template <typename T>
absl::StatusOr<T> Decode(const absl::StatusOr<std::string>& body, const char* what) {
  if (!body.ok()) return body.status();
  try {
    return nlohmann::json::parse(*body).get<T>();
  } catch (const nlohmann::json::exception& e) {
    return absl::InternalError(absl::StrCat("agent ", what, ": bad reply: ", e.what()));
  }
}

}  // namespace

AgentClient::AgentClient(const std::string& address, const AgentCredentials& credentials,
                         absl::Duration timeout, int port) {
  kube::RestConfig config;
  const bool tls = !credentials.ca_pem.empty();
  config.server = absl::StrCat(tls ? "https://" : "http://", address, ":", port);
  config.ca_pem = credentials.ca_pem;
  config.tls_server_name = credentials.server_name;
  config.client_cert_pem = credentials.client_cert_pem;
  config.client_key_pem = credentials.client_key_pem;
  config.token_source = std::make_shared<kube::StaticTokenSource>(credentials.token);
  config.timeout = timeout;
  config.max_response_bytes = size_t{16} << 20;
  config.user_agent = "ringkeeper-operator";
  transport_ = kube::NewHttpTransport(config);
}

absl::StatusOr<std::string> AgentClient::Do(const std::string& method, const std::string& path,
                                            const std::string& body) {
  kube::HttpRequest request;
  request.method = method;
  request.path = path;
  request.body = body;
  if (!body.empty()) request.content_type = "application/json";
  auto response = transport_->Do(request);
  if (!response.ok()) return response.status();
  if (response->status >= 200 && response->status < 300) return response->body;
  std::string message = response->body;
  try {
    message = nlohmann::json::parse(response->body).get<agent::api::Error>().message;
  } catch (const nlohmann::json::exception&) {
  }
  message = absl::StrCat("agent ", method, " ", path, ": ", response->status, " ", message);
  switch (response->status) {
    case 409:
      return absl::AlreadyExistsError(message);
    case 400:
      return absl::InvalidArgumentError(message);
    case 404:
      return absl::NotFoundError(message);
    case 503:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::StatusOr<agent::api::NodeInfo> AgentClient::NodeInfo() {
  return Decode<agent::api::NodeInfo>(Do("GET", agent::api::kNodeInfo), "node");
}

absl::StatusOr<agent::api::ConfigKeys> AgentClient::ConfigKeys() {
  return Decode<agent::api::ConfigKeys>(Do("GET", agent::api::kConfigKeys), "config keys");
}

absl::StatusOr<agent::api::RangeMap> AgentClient::Ranges(const std::string& keyspace) {
  // Keyspace names are [A-Za-z0-9_]: nothing to escape.
  return Decode<agent::api::RangeMap>(
      Do("GET", absl::StrCat(agent::api::kRanges, "?keyspace=", keyspace)), "ranges");
}

absl::StatusOr<agent::api::SeedList> AgentClient::SetSeeds(const std::vector<std::string>& seeds) {
  return Decode<agent::api::SeedList>(
      Do("PUT", agent::api::kSeeds, nlohmann::json(agent::api::SeedList{seeds}).dump()), "seeds");
}

absl::StatusOr<agent::api::StorageReply> AgentClient::Storage(
    const agent::api::StorageRequest& request) {
  return Decode<agent::api::StorageReply>(
      Do("POST", agent::api::kStorage, nlohmann::json(request).dump()), "storage");
}

absl::StatusOr<agent::api::Ring> AgentClient::Ring() {
  return Decode<agent::api::Ring>(Do("GET", agent::api::kRing), "ring");
}

absl::StatusOr<agent::api::Operation> AgentClient::Start(
    const agent::api::OperationRequest& request) {
  return Decode<agent::api::Operation>(
      Do("POST", agent::api::kOperations, nlohmann::json(request).dump()), "operation");
}

absl::StatusOr<agent::api::Operation> AgentClient::Operation(const std::string& id) {
  return Decode<agent::api::Operation>(Do("GET", absl::StrCat(agent::api::kOperations, "/", id)),
                                       "operation");
}

absl::StatusOr<std::vector<agent::api::Operation>> AgentClient::Operations() {
  return Decode<std::vector<agent::api::Operation>>(Do("GET", agent::api::kOperations),
                                                    "operations");
}

}  // namespace ringkeeper
