// The Cluster CRD's status schema, as the API server applies it to a status write (pure; for the
// fake cluster): fields the schema does not name are pruned, an enum value it does not list or a
// value of the wrong type is refused (422). A status the real API server would refuse or prune
// is then refused or pruned in the scenario tier too.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "kube/object.h"

namespace ringkeeper::testing {

// Applies `schema` (an OpenAPI v3 structural schema) to `value` in place. InvalidArgument names
// the path of the first violation.
absl::Status ApplySchema(kube::Json& value, const kube::Json& schema, const std::string& path);

// The schema of the Cluster's and the Repair's status in charts/ringkeeper/files/crds (read once).
const kube::Json& ClusterStatusSchema();
const kube::Json& RepairStatusSchema();

}  // namespace ringkeeper::testing
