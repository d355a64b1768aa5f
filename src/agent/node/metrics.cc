// The curated metric set (DESIGN.md "Metrics") as one Jolokia bulk read, and its rendering in
// the Prometheus text format. Each spec is one request in the bulk; MBean patterns (`*`) expand
// to every matching MBean, whose key properties become labels.
#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "agent/node/jolokia_node_control.h"

namespace agent::node {
namespace {

using json = nlohmann::json;

struct Attr {
  const char* attribute;  // Jolokia attribute (or "Attr/inner" for composite values)
  const char* suffix;     // metric name suffix
  const char* type;       // counter | gauge
};

struct Spec {
  const char* mbean;
  const char* metric;                                       // metric name prefix
  std::vector<std::pair<const char*, const char*>> labels;  // mbean key -> label name
  std::vector<Attr> attrs;
};

const std::vector<Spec>& Specs() {
  static const auto* specs = new std::vector<Spec>{
      {"org.apache.cassandra.metrics:type=ClientRequest,scope=*,name=Latency",
       "cassandra_client_request_latency",
       {{"scope", "request_type"}},
       {{"Count", "_total", "counter"},
        {"50thPercentile", "_p50_microseconds", "gauge"},
        {"99thPercentile", "_p99_microseconds", "gauge"},
        {"OneMinuteRate", "_rate1m", "gauge"}}},
      {"org.apache.cassandra.metrics:type=ClientRequest,scope=*,name=Timeouts",
       "cassandra_client_request_timeouts",
       {{"scope", "request_type"}},
       {{"Count", "_total", "counter"}}},
      {"org.apache.cassandra.metrics:type=ClientRequest,scope=*,name=Unavailables",
       "cassandra_client_request_unavailables",
       {{"scope", "request_type"}},
       {{"Count", "_total", "counter"}}},
      {"org.apache.cassandra.metrics:type=ClientRequest,scope=*,name=Failures",
       "cassandra_client_request_failures",
       {{"scope", "request_type"}},
       {{"Count", "_total", "counter"}}},
      {"org.apache.cassandra.metrics:type=Table,keyspace=*,scope=*,name=ReadLatency",
       "cassandra_table_read_latency",
       {{"keyspace", "keyspace"}, {"scope", "table"}},
       {{"Count", "_total", "counter"}, {"99thPercentile", "_p99_microseconds", "gauge"}}},
      {"org.apache.cassandra.metrics:type=Table,keyspace=*,scope=*,name=WriteLatency",
       "cassandra_table_write_latency",
       {{"keyspace", "keyspace"}, {"scope", "table"}},
       {{"Count", "_total", "counter"}, {"99thPercentile", "_p99_microseconds", "gauge"}}},
      {"org.apache.cassandra.metrics:type=Table,keyspace=*,scope=*,name=LiveSSTableCount",
       "cassandra_table_live_sstables",
       {{"keyspace", "keyspace"}, {"scope", "table"}},
       {{"Value", "", "gauge"}}},
      {"org.apache.cassandra.metrics:type=Table,keyspace=*,scope=*,name=LiveDiskSpaceUsed",
       "cassandra_table_live_disk_space_used_bytes",
       {{"keyspace", "keyspace"}, {"scope", "table"}},
       {{"Count", "", "gauge"}}},
      {"org.apache.cassandra.metrics:type=Table,keyspace=*,scope=*,name=TombstoneScannedHistogram",
       "cassandra_table_tombstones_scanned",
       {{"keyspace", "keyspace"}, {"scope", "table"}},
       {{"99thPercentile", "_p99", "gauge"}}},
      {"org.apache.cassandra.metrics:type=Table,keyspace=*,scope=*,name=PendingCompactions",
       "cassandra_table_pending_compactions",
       {{"keyspace", "keyspace"}, {"scope", "table"}},
       {{"Value", "", "gauge"}}},
      {"org.apache.cassandra.metrics:type=Storage,name=Load",
       "cassandra_storage_load_bytes",
       {},
       {{"Count", "", "gauge"}}},
      {"org.apache.cassandra.metrics:type=Storage,name=TotalHints",
       "cassandra_storage_hints",
       {},
       {{"Count", "_total", "counter"}}},
      {"org.apache.cassandra.metrics:type=Storage,name=TotalHintsInProgress",
       "cassandra_storage_hints_in_progress",
       {},
       {{"Count", "", "gauge"}}},
      {"org.apache.cassandra.metrics:type=Compaction,name=PendingTasks",
       "cassandra_compaction_pending_tasks",
       {},
       {{"Value", "", "gauge"}}},
      {"org.apache.cassandra.metrics:type=Compaction,name=CompletedTasks",
       "cassandra_compaction_completed_tasks",
       {},
       {{"Value", "_total", "counter"}}},
      {"org.apache.cassandra.metrics:type=DroppedMessage,scope=*,name=Dropped",
       "cassandra_dropped_messages",
       {{"scope", "message_type"}},
       {{"Count", "_total", "counter"}}},
      {"org.apache.cassandra.metrics:type=ThreadPools,path=*,scope=*,name=PendingTasks",
       "cassandra_thread_pool_pending_tasks",
       {{"path", "path"}, {"scope", "pool"}},
       {{"Value", "", "gauge"}}},
      {"org.apache.cassandra.metrics:type=ThreadPools,path=*,scope=*,name=ActiveTasks",
       "cassandra_thread_pool_active_tasks",
       {{"path", "path"}, {"scope", "pool"}},
       {{"Value", "", "gauge"}}},
      {"org.apache.cassandra.metrics:type=ThreadPools,path=*,scope=*,name=CurrentlyBlockedTasks",
       "cassandra_thread_pool_blocked_tasks",
       {{"path", "path"}, {"scope", "pool"}},
       {{"Count", "", "gauge"}}},
      {"org.apache.cassandra.metrics:type=Client,name=connectedNativeClients",
       "cassandra_client_connected_native_clients",
       {},
       {{"Value", "", "gauge"}}},
      {"java.lang:type=Memory",
       "jvm_memory_heap",
       {},
       {{"HeapMemoryUsage/used", "_used_bytes", "gauge"},
        {"HeapMemoryUsage/max", "_max_bytes", "gauge"}}},
      {"java.lang:type=GarbageCollector,name=*",
       "jvm_gc",
       {{"name", "gc"}},
       {{"CollectionCount", "_collections_total", "counter"},
        {"CollectionTime", "_collection_milliseconds_total", "counter"}}},
  };
  return *specs;
}

constexpr char kStorageService[] = "org.apache.cassandra.db:type=StorageService";

std::map<std::string, std::string> KeyProperties(const std::string& name) {
  std::map<std::string, std::string> props;
  auto colon = name.find(':');
  if (colon == std::string::npos) return props;
  for (absl::string_view kv : absl::StrSplit(name.substr(colon + 1), ',')) {
    auto eq = kv.find('=');
    if (eq == absl::string_view::npos) continue;
    std::string value(kv.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
    props[std::string(kv.substr(0, eq))] = value;
  }
  return props;
}

std::string Escape(const std::string& v) {
  return absl::StrReplaceAll(v, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}});
}

std::string Number(const json& v) {
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return absl::StrCat(v.get<double>());
  if (v.is_boolean()) return v.get<bool>() ? "1" : "0";
  return "";
}

struct Family {
  std::string type;
  std::vector<std::string> samples;
};

}  // namespace

json MetricRequests() {
  json requests = json::array();
  for (const auto& spec : Specs()) {
    json attrs = json::array();
    std::set<std::string> seen;
    for (const auto& a : spec.attrs) {
      std::string attr = a.attribute;
      attr = attr.substr(0, attr.find('/'));
      if (seen.insert(attr).second) attrs.push_back(attr);
    }
    requests.push_back({{"type", "read"}, {"mbean", spec.mbean}, {"attribute", attrs}});
  }
  requests.push_back({{"type", "read"},
                      {"mbean", kStorageService},
                      {"attribute", json::array({"OperationMode"})}});
  return requests;
}

std::string RenderPrometheus(const json& responses, const std::string& labels) {
  std::map<std::string, Family> families;
  const auto& specs = Specs();
  auto emit = [&](const std::string& name, const char* type, const std::string& extra,
                  const std::string& value) {
    if (value.empty()) return;
    auto& f = families[name];
    f.type = type;
    std::string all = labels;
    if (!extra.empty()) all = all.empty() ? extra : absl::StrCat(all, ",", extra);
    f.samples.push_back(absl::StrCat(name, "{", all, "} ", value));
  };
  for (size_t i = 0; i < specs.size() && i < responses.size(); ++i) {
    const auto& spec = specs[i];
    const json& r = responses[i];
    if (r.value("status", 0) != 200 || !r.contains("value")) continue;
    // A pattern read answers {mbean: {attr: value}}; an exact read answers {attr: value}.
    std::vector<std::pair<std::string, json>> beans;
    if (std::string(spec.mbean).find('*') != std::string::npos) {
      for (const auto& [name, attrs] : r["value"].items()) beans.emplace_back(name, attrs);
    } else {
      beans.emplace_back(spec.mbean, r["value"]);
    }
    for (const auto& [name, attrs] : beans) {
      auto props = KeyProperties(name);
      std::string extra;
      for (const auto& [key, label] : spec.labels) {
        if (!extra.empty()) extra += ",";
        absl::StrAppend(&extra, label, "=\"", Escape(props[key]), "\"");
      }
      for (const auto& a : spec.attrs) {
        std::vector<std::string> path = absl::StrSplit(a.attribute, '/');
        const json* v = &attrs;
        for (const auto& p : path) {
          if (!v->is_object() || !v->contains(p)) {
            v = nullptr;
            break;
          }
          v = &(*v)[p];
        }
        if (v) emit(absl::StrCat(spec.metric, a.suffix), a.type, extra, Number(*v));
      }
    }
  }
  // Node state: 1 for the current operation mode.
  if (responses.size() > specs.size()) {
    const json& r = responses[specs.size()];
    if (r.value("status", 0) == 200 && r["value"].is_object()) {
      emit("cassandra_node_operation_mode", "gauge",
           absl::StrCat("mode=\"", Escape(r["value"].value("OperationMode", "")), "\""), "1");
    }
  }
  std::string out;
  for (const auto& [name, f] : families) {
    absl::StrAppend(&out, "# TYPE ", name, " ", f.type, "\n");
    for (const auto& s : f.samples) absl::StrAppend(&out, s, "\n");
  }
  return out;
}

}  // namespace agent::node
