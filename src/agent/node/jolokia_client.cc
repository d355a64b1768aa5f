#include "agent/node/jolokia_client.h"

#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace agent::node {

absl::StatusOr<nlohmann::json> JolokiaClient::Bulk(const nlohmann::json& requests,
                                                   absl::Duration timeout) const {
  httplib::Client client(host_, port_);
  client.set_connection_timeout(2, 0);
  const int64_t us = absl::ToInt64Microseconds(timeout);
  client.set_read_timeout(us / 1000000, us % 1000000);
  client.set_write_timeout(10, 0);
  auto res = client.Post("/jolokia/", requests.dump(), "application/json");
  if (!res) {
    return absl::UnavailableError(absl::StrCat("jolokia at ", host_, ":", port_,
                                               " unreachable: ", httplib::to_string(res.error())));
  }
  if (res->status != 200) {
    return absl::UnavailableError(absl::StrCat("jolokia answered HTTP ", res->status));
  }
  // Jolokia can emit non-JSON numbers (NaN, Infinity) for gauges; parse leniently by mapping
  // them to null first.
  std::string body = std::move(res->body);
  for (const char* bad : {"NaN", "-Infinity", "Infinity"}) {
    for (size_t pos = 0; (pos = body.find(bad, pos)) != std::string::npos;) {
      // Only bare tokens (after ':' ',' or '['), not inside strings.
      size_t prev = pos;
      while (prev > 0 && body[prev - 1] == ' ') --prev;
      if (prev > 0 && (body[prev - 1] == ':' || body[prev - 1] == ',' || body[prev - 1] == '[')) {
        body.replace(pos, std::strlen(bad), "null");
        pos += 4;
      } else {
        pos += std::strlen(bad);
      }
    }
  }
  nlohmann::json out = nlohmann::json::parse(body, nullptr, false);
  if (out.is_discarded() || !out.is_array()) {
    return absl::InternalError("jolokia: malformed bulk answer");
  }
  return out;
}

absl::StatusOr<nlohmann::json> JolokiaClient::One(const nlohmann::json& request,
                                                  absl::Duration timeout) const {
  auto out = Bulk(nlohmann::json::array({request}), timeout);
  if (!out.ok()) return out.status();
  if (out->empty()) return absl::InternalError("jolokia: empty answer");
  return Value((*out)[0]);
}

nlohmann::json JolokiaClient::Read(const std::string& mbean, const nlohmann::json& attribute) {
  return {{"type", "read"}, {"mbean", mbean}, {"attribute", attribute}};
}

nlohmann::json JolokiaClient::Exec(const std::string& mbean, const std::string& operation,
                                   nlohmann::json arguments) {
  return {{"type", "exec"}, {"mbean", mbean}, {"operation", operation}, {"arguments", arguments}};
}

absl::StatusOr<nlohmann::json> JolokiaClient::Value(const nlohmann::json& response) {
  const int status = response.value("status", 0);
  if (status == 200) return response.contains("value") ? response["value"] : nlohmann::json();
  std::string error = response.value("error", std::string("unknown error"));
  if (status == 404) return absl::NotFoundError(absl::StrCat("jolokia: ", error));
  return absl::FailedPreconditionError(absl::StrCat("jolokia: ", error));
}

}  // namespace agent::node
