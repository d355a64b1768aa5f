// The operator's client of a Cassandra pod's agent (the HTTP API in src/agent/api/api.h), over
// the same HTTP transport as the Kubernetes client, with the cluster's bearer token, over mutual
// TLS when the credentials carry certificates.
//
// Errors: Unavailable when the agent cannot be reached or Cassandra behind it is not up (503);
// AlreadyExists when a conflicting operation runs (409); NotFound for an unknown operation id;
// Internal for anything else, with the agent's message.
// Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/api/api.h"
#include "kube/http.h"
#include "operator/seams.h"

namespace ringkeeper {

class AgentClient : public NodeAgent {
 public:
  // `address`: the pod's IP (or its member Service IP); the agent listens on `port`. Plain HTTP
  // when the credentials carry no CA.
  AgentClient(const std::string& address, const AgentCredentials& credentials,
              absl::Duration timeout = absl::Seconds(10), int port = agent::api::kAgentPort);

  absl::StatusOr<agent::api::NodeInfo> NodeInfo() override;
  absl::StatusOr<agent::api::ConfigKeys> ConfigKeys() override;
  absl::StatusOr<agent::api::RangeMap> Ranges(const std::string& keyspace) override;
  absl::StatusOr<agent::api::StorageReply> Storage(
      const agent::api::StorageRequest& request) override;
  absl::StatusOr<agent::api::Ring> Ring() override;
  absl::StatusOr<agent::api::SeedList> SetSeeds(const std::vector<std::string>& seeds) override;
  absl::StatusOr<agent::api::Operation> Start(const agent::api::OperationRequest& request) override;
  absl::StatusOr<agent::api::Operation> Operation(const std::string& id) override;
  absl::StatusOr<std::vector<agent::api::Operation>> Operations();

 private:
  absl::StatusOr<std::string> Do(const std::string& method, const std::string& path,
                                 const std::string& body = "");

  std::shared_ptr<kube::HttpTransport> transport_;
};

}  // namespace ringkeeper
