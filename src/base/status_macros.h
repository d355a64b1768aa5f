// Error-propagation macros for absl::Status / absl::StatusOr.
//
//   RETURN_IF_ERROR(DoThing());
//   ASSIGN_OR_RETURN(auto pod, client.Get(kPods, "ns", "name"));
//
// Context is added by the caller with base::Annotate(status, "what was being done").
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace base {

// Returns `status` with "`context`: " prepended to its message; payloads are kept, so typed
// predicates (kube::IsNotFound, ...) still work on the annotated status.
inline absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  absl::Status annotated(status.code(), absl::StrCat(context, ": ", status.message()));
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    annotated.SetPayload(url, payload);
  });
  return annotated;
}

}  // namespace base

#define RK_STATUS_CONCAT_INNER_(a, b) a##b
#define RK_STATUS_CONCAT_(a, b) RK_STATUS_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                \
  do {                                       \
    ::absl::Status rk_status_ = (expr);      \
    if (!rk_status_.ok()) return rk_status_; \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(RK_STATUS_CONCAT_(rk_statusor_, __LINE__), lhs, expr)

#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                           \
  if (!statusor.ok()) return statusor.status();     \
  lhs = std::move(statusor).value()
