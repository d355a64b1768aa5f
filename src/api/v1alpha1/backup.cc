#include "api/v1alpha1/backup.h"

#include "absl/strings/str_cat.h"
#include "api/v1alpha1/fields.h"

namespace ringkeeper {
namespace {

using kube::FieldAt;
using kube::IntField;
using kube::Json;
using kube::StringField;

Json Condition(const char* type, bool is_true, const std::string& reason,
               const std::string& message, const std::string& when) {
  return {{"type", type},
          {"status", is_true ? "True" : "False"},
          {"reason", reason},
          {"message", message},
          {"lastTransitionTime", when}};
}

}  // namespace

absl::StatusOr<BackupSpec> ParseBackup(const kube::Object& backup) {
  const Json& spec = FieldAt(backup.json(), {"spec"});
  BackupSpec b;
  b.name = backup.name();
  b.ns = backup.ns();
  b.uid = backup.uid();
  b.cluster = StringField(spec, "cluster");
  b.storage_location = StringField(spec, "storageLocation");
  if (b.cluster.empty() || b.storage_location.empty()) {
    return absl::InvalidArgumentError("spec.cluster and spec.storageLocation are required");
  }
  b.keyspaces = fields::Strings(spec, "keyspaces");
  if (int64_t p = IntField(spec, "uploadParallelism"); p > 0) b.upload_parallelism = int(p);
  b.bandwidth_bytes_per_second = IntField(spec, "bandwidthBytesPerSecond");
  return b;
}

bool RunStatus::Finished() const {
  return phase == backup_phase::kComplete || phase == backup_phase::kFailed;
}

void RunStatus::Fail(const std::string& why, const std::string& what, const std::string& now) {
  phase = backup_phase::kFailed;
  reason = why;
  message = what;
  if (start_time.empty()) start_time = now;
  completion_time = now;
}

void ParseRunStatus(const Json& status, RunStatus& into) {
  into.phase = StringField(status, "phase");
  into.start_time = StringField(status, "startTime");
  into.completion_time = StringField(status, "completionTime");
  into.reason = StringField(status, "reason");
  into.message = StringField(status, "message");
}

void AddRunStatus(const RunStatus& s, const std::string& complete_reason,
                  const std::string& complete_message, Json& out) {
  auto put = [&out](const char* key, const std::string& v) {
    if (!v.empty()) out[key] = v;
  };
  put("phase", s.phase);
  put("startTime", s.start_time);
  put("completionTime", s.completion_time);
  put("reason", s.reason);
  put("message", s.message);
  const bool complete = s.phase == backup_phase::kComplete;
  const bool failed = s.phase == backup_phase::kFailed;
  // A condition's time is when its status last changed: the start, or the end for the one
  // that turned True.
  if (s.start_time.empty()) return;  // not seen yet: no conditions
  out["conditions"] = Json::array(
      {Condition("Complete", complete, complete ? complete_reason : s.phase,
                 complete ? complete_message : "", complete ? s.completion_time : s.start_time),
       Condition("Failed", failed, failed ? s.reason : "NotFailed", failed ? s.message : "",
                 failed ? s.completion_time : s.start_time)});
}

BackupStatus ParseBackupStatus(const Json& status) {
  BackupStatus s;
  ParseRunStatus(status, s);
  s.bytes = IntField(status, "bytes");
  s.bytes_sent = IntField(status, "bytesSent");
  s.index = StringField(status, "index");
  const Json& v = FieldAt(status, {"verification"});
  s.verification.request = StringField(v, "request");
  s.verification.time = StringField(v, "time");
  s.verification.passed = fields::Bool(v, "passed");
  s.verification.files = IntField(v, "files");
  s.verification.bytes = IntField(v, "bytes");
  s.verification.problems = fields::Strings(v, "problems");
  if (const Json& nodes = FieldAt(status, {"nodes"}); nodes.is_array()) {
    for (const Json& n : nodes) {
      BackupNodeStatus out;
      out.pod = StringField(n, "pod");
      out.dc = StringField(n, "dc");
      out.rack = StringField(n, "rack");
      out.operation = StringField(n, "operation");
      out.phase = StringField(n, "phase");
      out.files_total = IntField(n, "filesTotal");
      out.files_done = IntField(n, "filesDone");
      out.files_skipped = IntField(n, "filesSkipped");
      out.bytes_total = IntField(n, "bytesTotal");
      out.bytes_sent = IntField(n, "bytesSent");
      out.manifest = StringField(n, "manifest");
      out.message = StringField(n, "message");
      s.nodes.push_back(std::move(out));
    }
  }
  return s;
}

Json ToJson(const BackupStatus& s) {
  Json out = Json::object();
  AddRunStatus(s, "AllManifestsWritten",
               absl::StrCat("every node's manifest and the index are stored: ", s.index), out);
  if (!s.index.empty()) out["index"] = s.index;
  if (const BackupVerification& v = s.verification; !v.time.empty()) {
    out["verification"] = {{"time", v.time},
                           {"passed", v.passed},
                           {"files", v.files},
                           {"bytes", v.bytes},
                           {"problems", v.problems}};
    if (!v.request.empty()) out["verification"]["request"] = v.request;
    if (out["conditions"].is_array()) {
      out["conditions"].push_back(
          Condition("Verified", v.passed, v.passed ? "AllFilesStored" : "FilesMissingOrChanged",
                    v.passed ? absl::StrCat(v.files, " files, ", v.bytes, " bytes stored whole")
                             : absl::StrCat(v.problems.size(), " problems, e.g. ",
                                            v.problems.empty() ? "" : v.problems.front()),
                    v.time));
    }
  }
  out["bytes"] = s.bytes;
  out["bytesSent"] = s.bytes_sent;
  Json nodes = Json::array();
  for (const BackupNodeStatus& n : s.nodes) {
    Json j = {{"pod", n.pod},
              {"dc", n.dc},
              {"rack", n.rack},
              {"phase", n.phase},
              {"filesTotal", n.files_total},
              {"filesDone", n.files_done},
              {"filesSkipped", n.files_skipped},
              {"bytesTotal", n.bytes_total},
              {"bytesSent", n.bytes_sent}};
    if (!n.operation.empty()) j["operation"] = n.operation;
    if (!n.manifest.empty()) j["manifest"] = n.manifest;
    if (!n.message.empty()) j["message"] = n.message;
    nodes.push_back(std::move(j));
  }
  out["nodes"] = std::move(nodes);
  return out;
}

}  // namespace ringkeeper
