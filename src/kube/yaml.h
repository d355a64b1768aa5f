// YAML manifests to kube::Object: parses one or more YAML documents ("---" separated) into
// JSON objects with Kubernetes' scalar rules (quoted scalars are strings; plain ones become
// null, booleans, integers or floats when they look like one).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kube/object.h"

namespace kube {

// Every non-empty document; InvalidArgument (with the parser's line) on malformed YAML or a
// document that is not a mapping.
absl::StatusOr<std::vector<Object>> ObjectsFromYaml(absl::string_view text);

// Exactly one document.
absl::StatusOr<Object> ObjectFromYaml(absl::string_view text);

}  // namespace kube
