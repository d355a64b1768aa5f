// Typed Kubernetes API errors on top of absl::Status.
//
// Every non-2xx response becomes an absl::Status whose code says whether to retry and whose
// payload keeps the HTTP code, the server's `reason` and its `details.causes`, so callers ask
// IsConflict(status) instead of parsing messages. Mapping:
//   400 InvalidArgument (BadRequest)    401 Unauthenticated      403 PermissionDenied
//   404 NotFound                        409 AlreadyExists or Aborted (Conflict: stale update)
//   410 OutOfRange (Gone/Expired: relist) 422 InvalidArgument (Invalid, with causes)
//   429 ResourceExhausted               500 Internal             503/504 Unavailable
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kube {

struct StatusCause {
  std::string reason;  // "FieldValueInvalid"
  std::string message;
  std::string field;  // "spec.replicas"
};

// Builds the status for an HTTP response. `body` is the server's Status object when it sent
// one (it may be anything: hostile or truncated bodies give a plain message).
absl::Status StatusFromResponse(int http_code, absl::string_view body,
                                std::optional<absl::Duration> retry_after = std::nullopt);

// Builds the status for a watch ERROR event's Status object.
absl::Status StatusFromStatusObject(absl::string_view status_json);

int HttpCode(const absl::Status& s);  // 0 when the status did not come from the server
std::string Reason(const absl::Status& s);
std::vector<StatusCause> Causes(const absl::Status& s);
std::optional<absl::Duration> RetryAfter(const absl::Status& s);

// 404 and 409 AlreadyExists need no helper of ours: absl::IsNotFound(s) and
// absl::IsAlreadyExists(s) say it (a 409 Conflict is kAborted, so it never looks like one).
inline bool IsConflict(const absl::Status& s) {
  return HttpCode(s) == 409 && s.code() == absl::StatusCode::kAborted;
}
inline bool IsGone(const absl::Status& s) { return HttpCode(s) == 410; }
inline bool IsInvalid(const absl::Status& s) { return HttpCode(s) == 422; }
inline bool IsForbidden(const absl::Status& s) { return HttpCode(s) == 403; }
inline bool IsUnauthorized(const absl::Status& s) { return HttpCode(s) == 401; }
inline bool IsTooManyRequests(const absl::Status& s) { return HttpCode(s) == 429; }

}  // namespace kube
