// The agent's kStorage route: object requests on a filesystem storage location this pod mounts,
// for the operator, which mounts none. Only locations under `locations_dir` (the mounts) are
// served, so the route reads and writes nowhere else in the container; S3 locations are refused
// (the operator reaches them itself).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "agent/api/api.h"

namespace agent::server {

// Errors: InvalidArgument (an unknown op, an S3 or foreign location, a bad body), the store's
// (NotFound for a missing key or an unmounted location).
absl::StatusOr<api::StorageReply> ServeStorage(const api::StorageRequest& request,
                                               const std::string& locations_dir);

}  // namespace agent::server
