// A Jolokia (JMX over HTTP) client for the agent at 127.0.0.1:<port>/jolokia/. Every call is one
// bulk POST: a JSON array of requests in, a JSON array of responses out (same order).
//
// Errors: Unavailable when Jolokia cannot be reached (Cassandra down or starting: the server maps
// it to 503 with the reason); Internal for a malformed answer. A single request's failure inside
// a bulk answer is not an error of the call: each response carries its own "status"/"error".
// Thread-safe: each call uses its own connection.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace agent::node {

class JolokiaClient {
 public:
  JolokiaClient(std::string host, int port) : host_(std::move(host)), port_(port) {}

  // POSTs `requests` (a JSON array) and returns the array of responses.
  absl::StatusOr<nlohmann::json> Bulk(const nlohmann::json& requests,
                                      absl::Duration timeout = absl::Seconds(30)) const;

  // One request; a failed response becomes an error (FailedPrecondition with Jolokia's message,
  // NotFound for a missing MBean/attribute).
  absl::StatusOr<nlohmann::json> One(const nlohmann::json& request,
                                     absl::Duration timeout = absl::Seconds(30)) const;

  static nlohmann::json Read(const std::string& mbean, const nlohmann::json& attribute);
  static nlohmann::json Exec(const std::string& mbean, const std::string& operation,
                             nlohmann::json arguments = nlohmann::json::array());
  // The value of a response, or an error built from it.
  static absl::StatusOr<nlohmann::json> Value(const nlohmann::json& response);

 private:
  std::string host_;
  int port_;
};

}  // namespace agent::node
