#include "kube/errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "kube/object.h"

namespace kube {
namespace {

using Json = nlohmann::json;

// The payload holds a small JSON document: {"code":409,"reason":"Conflict","causes":[...],
// "retryAfterMs":1000}. One URL for all of it keeps Annotate() (which copies payloads) simple.
constexpr absl::string_view kPayloadUrl = "type.ringkeeper.dev/kube.ApiError";

absl::StatusCode CodeFor(int http, absl::string_view reason) {
  switch (http) {
    case 400:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 409:
      return reason == "AlreadyExists" ? absl::StatusCode::kAlreadyExists
                                       : absl::StatusCode::kAborted;
    case 410:
      return absl::StatusCode::kOutOfRange;
    case 422:
      return absl::StatusCode::kInvalidArgument;
    case 429:
      return absl::StatusCode::kResourceExhausted;
    case 503:
    case 504:
      return absl::StatusCode::kUnavailable;
    default:
      if (http >= 500) return absl::StatusCode::kInternal;
      return absl::StatusCode::kUnknown;
  }
}

std::optional<Json> Payload(const absl::Status& s) {
  auto p = s.GetPayload(kPayloadUrl);
  if (!p) return std::nullopt;
  Json j = Json::parse(std::string(*p), nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

absl::Status Build(int http, const Json* status_obj, absl::string_view raw_body,
                   std::optional<absl::Duration> retry_after) {
  std::string reason, message;
  Json causes = Json::array();
  if (status_obj != nullptr && status_obj->is_object() &&
      kube::StringField(*status_obj, "kind") == "Status") {
    reason = kube::StringField(*status_obj, "reason");
    message = kube::StringField(*status_obj, "message");
    if (http == 0) http = static_cast<int>(kube::IntField(*status_obj, "code"));
    auto details = status_obj->find("details");
    if (details != status_obj->end() && details->is_object()) {
      auto c = details->find("causes");
      if (c != details->end() && c->is_array()) {
        for (const Json& cause : *c) {
          if (!cause.is_object()) continue;
          causes.push_back({{"reason", kube::StringField(cause, "reason")},
                            {"message", kube::StringField(cause, "message")},
                            {"field", kube::StringField(cause, "field")}});
        }
      }
    }
  }
  if (message.empty()) {
    // Not a Status object (a proxy's HTML page, a truncated body): quote a bounded prefix.
    constexpr size_t kMaxQuoted = 200;
    absl::string_view prefix = raw_body.substr(0, kMaxQuoted);
    message = prefix.empty() ? "no response body" : absl::StrCat("response body: ", prefix);
  }
  absl::Status status(CodeFor(http, reason), absl::StrCat("HTTP ", http, reason.empty() ? "" : " ",
                                                          reason, ": ", message));
  Json payload = {{"code", http}, {"reason", reason}, {"causes", causes}};
  if (retry_after) payload["retryAfterMs"] = absl::ToInt64Milliseconds(*retry_after);
  status.SetPayload(kPayloadUrl, absl::Cord(payload.dump()));
  return status;
}

}  // namespace

absl::Status StatusFromResponse(int http_code, absl::string_view body,
                                std::optional<absl::Duration> retry_after) {
  Json obj = Json::parse(body, nullptr, false);
  return Build(http_code, obj.is_discarded() ? nullptr : &obj, body, retry_after);
}

absl::Status StatusFromStatusObject(absl::string_view status_json) {
  Json obj = Json::parse(status_json, nullptr, false);
  if (obj.is_discarded() || !obj.is_object()) {
    return absl::DataLossError("watch ERROR event without a readable Status object");
  }
  return Build(0, &obj, status_json, std::nullopt);
}

int HttpCode(const absl::Status& s) {
  auto p = Payload(s);
  return p ? static_cast<int>(kube::IntField(*p, "code")) : 0;
}

std::string Reason(const absl::Status& s) {
  auto p = Payload(s);
  return p ? kube::StringField(*p, "reason") : "";
}

std::vector<StatusCause> Causes(const absl::Status& s) {
  std::vector<StatusCause> out;
  auto p = Payload(s);
  if (!p || !p->contains("causes")) return out;
  for (const Json& c : (*p)["causes"]) {
    out.push_back({kube::StringField(c, "reason"), kube::StringField(c, "message"),
                   kube::StringField(c, "field")});
  }
  return out;
}

std::optional<absl::Duration> RetryAfter(const absl::Status& s) {
  auto p = Payload(s);
  if (!p || !p->contains("retryAfterMs")) return std::nullopt;
  return absl::Milliseconds((*p)["retryAfterMs"].get<int64_t>());
}

}  // namespace kube
