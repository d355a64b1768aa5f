#include "plugin/requests.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "api/v1alpha1/naming.h"

namespace ringkeeper::plugin {
namespace {

using kube::FieldAt;
using kube::Json;
using kube::StringField;

constexpr char kApiVersion[] = "cassandra.rook.io/v1alpha1";

Json Object(const char* kind, const std::string& ns, const std::string& name) {
  return {{"apiVersion", kApiVersion},
          {"kind", kind},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", Json::object()}};
}

// Single-quoted for sh: the one character that needs care is the quote itself.
std::string ShellQuoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

Json RestartPatch(absl::Time now) {
  return {{"metadata", {{"annotations", {{kAnnotationRestartedAt, kube::FormatRfc3339(now)}}}}}};
}

Json ReplacePatch() { return {{"metadata", {{"labels", {{kLabelReplace, "true"}}}}}}; }

absl::StatusOr<std::string> ClusterOfPod(const Json& pod) {
  const std::string cluster = StringField(FieldAt(pod, {"metadata", "labels"}), kLabelCluster);
  if (cluster.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "pod ", StringField(FieldAt(pod, {"metadata"}), "name"),
        " is not a Cassandra pod of a Ringkeeper Cluster (no label ", kLabelCluster, ")"));
  }
  return cluster;
}

std::string GeneratedName(const std::string& cluster, const std::string& what, absl::Time now) {
  const std::string stamp = absl::FormatTime("%Y%m%d-%H%M%S", now, absl::UTCTimeZone());
  const std::string suffix = absl::StrCat("-", what, "-", stamp);
  // A DNS label: the suffix kept whole, the cluster's name cut to fit.
  return absl::StrCat(cluster.substr(0, 63 - std::min<size_t>(63, suffix.size())), suffix);
}

Json RepairManifest(const std::string& ns, const std::string& name, const std::string& cluster,
                    const RepairOptions& options) {
  Json r = Object("Repair", ns, name);
  Json& spec = r["spec"];
  spec["cluster"] = cluster;
  if (!options.keyspaces.empty()) spec["keyspaces"] = options.keyspaces;
  if (!options.tables.empty()) spec["tables"] = options.tables;
  if (!options.type.empty()) spec["type"] = options.type;
  if (!options.parallelism.empty()) spec["parallelism"] = options.parallelism;
  if (options.intensity) spec["intensity"] = *options.intensity;
  if (options.segments_per_node) spec["segmentsPerNode"] = *options.segments_per_node;
  return r;
}

Json BackupManifest(const std::string& ns, const std::string& name, const std::string& cluster,
                    const std::string& storage_location,
                    const std::vector<std::string>& keyspaces) {
  Json b = Object("Backup", ns, name);
  b["spec"]["cluster"] = cluster;
  b["spec"]["storageLocation"] = storage_location;
  if (!keyspaces.empty()) b["spec"]["keyspaces"] = keyspaces;
  return b;
}

Json RestoreManifest(const std::string& ns, const std::string& name, const std::string& cluster,
                     const std::string& backup, const std::vector<std::string>& keyspaces,
                     const std::string& point_in_time) {
  Json r = Object("Restore", ns, name);
  r["spec"]["cluster"] = cluster;
  r["spec"]["backup"] = backup;
  if (!keyspaces.empty()) r["spec"]["keyspaces"] = keyspaces;
  if (!point_in_time.empty()) r["spec"]["pointInTime"] = point_in_time;
  return r;
}

bool Finished(const Json& object) {
  const std::string phase = StringField(FieldAt(object, {"status"}), "phase");
  return phase == "Complete" || phase == "Failed";
}

std::string Progress(const Json& object) {
  const Json& status = FieldAt(object, {"status"});
  std::string out = StringField(status, "phase");
  if (out.empty()) return "Pending (not yet picked up by the operator)";
  const Json& segments = FieldAt(status, {"segments"});
  if (segments.is_object()) {
    absl::StrAppend(&out, " ", kube::IntField(segments, "done"), "/",
                    kube::IntField(segments, "total"), " segments");
  }
  if (const int64_t bytes = kube::IntField(status, "bytes"); bytes > 0) {
    absl::StrAppend(&out, ", ", bytes, " bytes");
  }
  for (const char* key : {"waiting", "reason", "message"}) {
    if (const std::string v = StringField(status, key); !v.empty()) absl::StrAppend(&out, "; ", v);
  }
  return out;
}

std::string CqlshCredentials(const std::string& user, const std::string& password) {
  // cqlsh reads both from this section (the password without interpolation).
  return absl::StrCat("[plain_text_auth]\nusername = ", user, "\npassword = ", password, "\n");
}

std::vector<std::string> CqlshWriteCommand(const std::string& file) {
  // Readable by the container's user only: cqlsh refuses a credentials file others can read.
  return {"sh", "-c", absl::StrCat("umask 077 && cat > ", ShellQuoted(file))};
}

std::vector<std::string> CqlshRunCommand(const std::string& file,
                                         const std::vector<std::string>& cqlsh_args) {
  // The file goes when cqlsh ends, however it ends (the shell's EXIT trap; not exec'd).
  std::string script = absl::StrCat("trap ", ShellQuoted(absl::StrCat("rm -f ", ShellQuoted(file))),
                                    " EXIT; cqlsh --credentials ", ShellQuoted(file), " \"$@\"");
  std::vector<std::string> out = {"sh", "-c", script, "cqlsh"};
  out.insert(out.end(), cqlsh_args.begin(), cqlsh_args.end());
  return out;
}

}  // namespace ringkeeper::plugin
