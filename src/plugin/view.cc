#include "plugin/view.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ringkeeper::plugin {
namespace {

using kube::FieldAt;
using kube::Json;
using kube::StringField;

// Columns padded to their widest cell, two spaces apart (as nodetool lays out its table).
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, row[i]);
      if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 2, ' ');
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string Condition(const Json& cluster, const char* type) {
  const Json& conditions = FieldAt(cluster, {"status", "conditions"});
  if (!conditions.is_array()) return "";
  for (const Json& c : conditions) {
    if (StringField(c, "type") == type) return StringField(c, "status");
  }
  return "";
}

std::string Or(const std::string& value, const char* otherwise) {
  return value.empty() ? otherwise : value;
}

std::string LastRepairLine(const Json& cluster, const std::vector<Json>& repairs) {
  std::string line = "never";
  if (const Json* r = LastComplete(repairs, StringField(FieldAt(cluster, {"metadata"}), "name"))) {
    line = absl::StrCat(StringField(FieldAt(*r, {"status"}), "completionTime"), " (repair/",
                        StringField(FieldAt(*r, {"metadata"}), "name"), ", ",
                        Or(StringField(FieldAt(*r, {"spec"}), "type"), "full"), ")");
  }
  // The table whose repair is due first: what gc_grace allows before deleted data may return.
  const Json& tables = FieldAt(cluster, {"status", "repairCoverage", "tables"});
  const Json* due = nullptr;
  if (tables.is_array()) {
    for (const Json& t : tables) {
      if (StringField(t, "repairBy").empty()) continue;
      if (!due || StringField(t, "repairBy") < StringField(*due, "repairBy")) due = &t;
    }
  }
  if (due) {
    absl::StrAppend(&line, "; next due by ", StringField(*due, "repairBy"), " (",
                    StringField(*due, "keyspace"), ".", StringField(*due, "table"), ")");
  }
  return line;
}

std::string LastBackupLine(const Json& cluster, const std::vector<Json>& backups) {
  const Json* b = LastComplete(backups, StringField(FieldAt(cluster, {"metadata"}), "name"));
  if (!b) return "never";
  return absl::StrCat(StringField(FieldAt(*b, {"status"}), "completionTime"), " (backup/",
                      StringField(FieldAt(*b, {"metadata"}), "name"), " in ",
                      StringField(FieldAt(*b, {"spec"}), "storageLocation"), ")");
}

}  // namespace

const Json* LastComplete(const std::vector<Json>& objects, const std::string& cluster) {
  const Json* last = nullptr;
  for (const Json& o : objects) {
    if (StringField(FieldAt(o, {"spec"}), "cluster") != cluster) continue;
    // A preview compares replicas and repairs nothing.
    if (StringField(FieldAt(o, {"spec"}), "type") == "preview") continue;
    if (StringField(FieldAt(o, {"status"}), "phase") != "Complete") continue;
    // RFC 3339 in UTC (the operator writes them so) sorts as text.
    if (!last || StringField(FieldAt(o, {"status"}), "completionTime") >
                     StringField(FieldAt(*last, {"status"}), "completionTime")) {
      last = &o;
    }
  }
  return last;
}

std::string RingView(const Json& cluster, const std::vector<Json>& repairs,
                     const std::vector<Json>& backups) {
  const Json& meta = FieldAt(cluster, {"metadata"});
  const Json& status = FieldAt(cluster, {"status"});
  std::string out =
      absl::StrCat("Cluster ", StringField(meta, "namespace"), "/", StringField(meta, "name"),
                   ": Ready ", Or(Condition(cluster, "Ready"), "Unknown"), ", members ",
                   Or(StringField(status, "membersSummary"), "?"), ", Cassandra ",
                   Or(StringField(FieldAt(cluster, {"spec"}), "version"), "?"), "\n");
  const Json& operation = FieldAt(status, {"operation"});
  if (const std::string kind = StringField(operation, "kind"); !kind.empty()) {
    const std::string phase = StringField(operation, "phase"), pod = StringField(operation, "pod");
    absl::StrAppend(&out, "Operation: ", kind, phase.empty() ? "" : " ", phase,
                    pod.empty() ? "" : absl::StrCat(" (pod ", pod, ")"), "\n");
  }
  absl::StrAppend(&out, "Last repair: ", LastRepairLine(cluster, repairs), "\n");
  absl::StrAppend(&out, "Last backup: ", LastBackupLine(cluster, backups), "\n");

  const Json& dcs = FieldAt(status, {"dataCenters"});
  if (!dcs.is_array() || dcs.empty()) {
    absl::StrAppend(&out, "\n(no member reported yet)\n");
    return out;
  }
  for (const Json& dc : dcs) {
    const std::string title = absl::StrCat("Datacenter: ", StringField(dc, "name"));
    absl::StrAppend(&out, "\n", title, "\n", std::string(title.size(), '='), "\n",
                    "Status=Up/Down\n|/ State=Normal/Leaving/Joining/Moving\n");
    std::vector<std::vector<std::string>> rows = {
        {"--", "Address", "Load", "Tokens", "Owns", "Host ID", "Rack", "Pod", "Node"}};
    std::vector<Json> members;
    const Json& listed = FieldAt(dc, {"members"});
    if (listed.is_array()) members.assign(listed.begin(), listed.end());
    // By rack, then pod name: the order of the StatefulSets' ordinals.
    std::sort(members.begin(), members.end(), [](const Json& a, const Json& b) {
      return std::make_pair(StringField(a, "rack"), StringField(a, "pod")) <
             std::make_pair(StringField(b, "rack"), StringField(b, "pod"));
    });
    for (const Json& m : members) {
      const Json& tokens = FieldAt(m, {"tokens"});
      rows.push_back({Or(StringField(m, "state"), "?"), Or(StringField(m, "address"), "?"),
                      Or(StringField(m, "load"), "?"),
                      tokens.is_number_integer() ? std::to_string(tokens.get<int64_t>()) : "?",
                      Or(StringField(m, "owns"), "?"), Or(StringField(m, "hostId"), "?"),
                      Or(StringField(m, "rack"), "?"), Or(StringField(m, "pod"), "?"),
                      Or(StringField(m, "node"), "?")});
    }
    absl::StrAppend(&out, Table(rows));
  }
  return out;
}

}  // namespace ringkeeper::plugin
