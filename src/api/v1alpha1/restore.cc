#include "api/v1alpha1/restore.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "api/v1alpha1/fields.h"

namespace ringkeeper {
namespace {

using kube::FieldAt;
using kube::IntField;
using kube::Json;
using kube::StringField;

}  // namespace

absl::StatusOr<RestoreSpec> ParseRestore(const kube::Object& restore) {
  const Json& spec = FieldAt(restore.json(), {"spec"});
  RestoreSpec r;
  r.name = restore.name();
  r.ns = restore.ns();
  r.uid = restore.uid();
  r.cluster = StringField(spec, "cluster");
  r.backup = StringField(spec, "backup");
  const Json& source = FieldAt(spec, {"source"});
  r.source_location = StringField(source, "storageLocation");
  r.source_cluster = StringField(source, "cluster");
  r.source_backup = StringField(source, "backup");
  r.keyspaces = fields::Strings(spec, "keyspaces");
  if (const std::string t = StringField(spec, "pointInTime"); !t.empty()) {
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, t, &r.point_in_time, &error) ||
        r.point_in_time != absl::FromUnixSeconds(absl::ToUnixSeconds(r.point_in_time))) {
      return absl::InvalidArgumentError(
          absl::StrCat("spec.pointInTime: ", t, " is not an RFC 3339 time in whole seconds"));
    }
  }
  if (r.cluster.empty()) return absl::InvalidArgumentError("spec.cluster is required");
  if (r.backup.empty() == r.source_backup.empty()) {
    return absl::InvalidArgumentError("set exactly one of spec.backup and spec.source");
  }
  if (!r.source_backup.empty() && (r.source_location.empty() || r.source_cluster.empty())) {
    return absl::InvalidArgumentError("spec.source needs storageLocation, cluster and backup");
  }
  return r;
}

RestoreStatus ParseRestoreStatus(const Json& status) {
  RestoreStatus s;
  ParseRunStatus(status, s);
  const Json& source = FieldAt(status, {"source"});
  s.location = StringField(source, "storageLocation");
  s.source_cluster = StringField(source, "cluster");
  s.source_backup = StringField(source, "backup");
  const Json& schema = FieldAt(status, {"schema"});
  s.schema_pod = StringField(schema, "pod");
  s.schema_operation = StringField(schema, "operation");
  s.schema_done = fields::Bool(schema, "done");
  s.method = StringField(status, "method");
  s.replay_target = StringField(FieldAt(status, {"pointInTime"}), "target");
  s.replay_since = StringField(FieldAt(status, {"pointInTime"}), "since");
  s.replay_tables = fields::Strings(FieldAt(status, {"pointInTime"}), "tables");
  if (const Json& nodes = FieldAt(status, {"nodes"}); nodes.is_array()) {
    for (const Json& n : nodes) {
      s.nodes.push_back({StringField(n, "pod"), StringField(n, "source"),
                         StringField(n, "operation"), StringField(n, "phase"),
                         IntField(n, "filesDone"), IntField(n, "bytes"), StringField(n, "message"),
                         StringField(n, "replay"), StringField(n, "replayPodUid")});
    }
  }
  return s;
}

Json ToJson(const RestoreStatus& s) {
  Json out = Json::object();
  AddRunStatus(s, "AllNodesRestored",
               absl::StrCat(s.nodes.size(), " nodes restored from ", s.source_backup), out);
  if (!s.source_backup.empty()) {
    out["source"] = {{"storageLocation", s.location},
                     {"cluster", s.source_cluster},
                     {"backup", s.source_backup}};
  }
  if (!s.schema_pod.empty()) {
    out["schema"] = {{"pod", s.schema_pod}, {"done", s.schema_done}};
    if (!s.schema_operation.empty()) out["schema"]["operation"] = s.schema_operation;
  }
  if (!s.method.empty()) out["method"] = s.method;
  if (!s.replay_target.empty()) {
    out["pointInTime"] = {
        {"target", s.replay_target}, {"since", s.replay_since}, {"tables", s.replay_tables}};
  }
  Json nodes = Json::array();
  for (const RestoreNodeStatus& n : s.nodes) {
    Json j = {{"pod", n.pod},
              {"source", n.source},
              {"phase", n.phase},
              {"filesDone", n.files_done},
              {"bytes", n.bytes}};
    if (!n.operation.empty()) j["operation"] = n.operation;
    if (!n.message.empty()) j["message"] = n.message;
    if (!n.replay_phase.empty()) j["replay"] = n.replay_phase;
    if (!n.replay_pod_uid.empty()) j["replayPodUid"] = n.replay_pod_uid;
    nodes.push_back(std::move(j));
  }
  out["nodes"] = std::move(nodes);
  return out;
}

}  // namespace ringkeeper
