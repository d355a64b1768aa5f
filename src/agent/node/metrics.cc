// The curated metric set (DESIGN.md "Metrics") as one Jolokia bulk read, and its rendering in
// the Prometheus text format. Each spec is one request in the bulk; MBean patterns (`*`) expand
// to every matching MBean, whose key properties become labels.
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "absl/strings/str_split.h"
#include "agent/node/jolokia_node_control.h"

namespace agent::node {
namespace {

using json = nlohmann::json;

struct Attr {
  const char* attribute;  // Jolokia attribute (or "Attr/inner" for composite values)
  const char* suffix;     // metric name suffix
  metrics::Type type;
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
       {{"Count", "_total", metrics::Type::kCounter},
        {"50thPercentile", "_p50_microseconds", metrics::Type::kGauge},
        {"99thPercentile", "_p99_microseconds", metrics::Type::kGauge},
        {"OneMinuteRate", "_rate1m", metrics::Type::kGauge}}},
      {"org.apache.cassandra.metrics:type=ClientRequest,scope=*,name=Timeouts",
       "cassandra_client_request_timeouts",
       {{"scope", "request_type"}},
       {{"Count", "_total", metrics::Type::kCounter}}},
      {"org.apache.cassandra.metrics:type=ClientRequest,scope=*,name=Unavailables",
       "cassandra_client_request_unavailables",
       {{"scope", "request_type"}},
       {{"Count", "_total", metrics::Type::kCounter}}},
      {"org.apache.cassandra.metrics:type=ClientRequest,scope=*,name=Failures",
       "cassandra_client_request_failures",
       {{"scope", "request_type"}},
       {{"Count", "_total", metrics::Type::kCounter}}},
      {"org.apache.cassandra.metrics:type=Table,keyspace=*,scope=*,name=ReadLatency",
       "cassandra_table_read_latency",
       {{"keyspace", "keyspace"}, {"scope", "table"}},
       {{"Count", "_total", metrics::Type::kCounter},
        {"99thPercentile", "_p99_microseconds", metrics::Type::kGauge}}},
      {"org.apache.cassandra.metrics:type=Table,keyspace=*,scope=*,name=WriteLatency",
       "cassandra_table_write_latency",
       {{"keyspace", "keyspace"}, {"scope", "table"}},
       {{"Count", "_total", metrics::Type::kCounter},
        {"99thPercentile", "_p99_microseconds", metrics::Type::kGauge}}},
      {"org.apache.cassandra.metrics:type=Table,keyspace=*,scope=*,name=LiveSSTableCount",
       "cassandra_table_live_sstables",
       {{"keyspace", "keyspace"}, {"scope", "table"}},
       {{"Value", "", metrics::Type::kGauge}}},
      {"org.apache.cassandra.metrics:type=Table,keyspace=*,scope=*,name=LiveDiskSpaceUsed",
       "cassandra_table_live_disk_space_used_bytes",
       {{"keyspace", "keyspace"}, {"scope", "table"}},
       {{"Count", "", metrics::Type::kGauge}}},
      {"org.apache.cassandra.metrics:type=Table,keyspace=*,scope=*,name=TombstoneScannedHistogram",
       "cassandra_table_tombstones_scanned",
       {{"keyspace", "keyspace"}, {"scope", "table"}},
       {{"99thPercentile", "_p99", metrics::Type::kGauge}}},
      {"org.apache.cassandra.metrics:type=Table,keyspace=*,scope=*,name=PendingCompactions",
       "cassandra_table_pending_compactions",
       {{"keyspace", "keyspace"}, {"scope", "table"}},
       {{"Value", "", metrics::Type::kGauge}}},
      {"org.apache.cassandra.metrics:type=Storage,name=Load",
       "cassandra_storage_load_bytes",
       {},
       {{"Count", "", metrics::Type::kGauge}}},
      {"org.apache.cassandra.metrics:type=Storage,name=TotalHints",
       "cassandra_storage_hints",
       {},
       {{"Count", "_total", metrics::Type::kCounter}}},
      {"org.apache.cassandra.metrics:type=Storage,name=TotalHintsInProgress",
       "cassandra_storage_hints_in_progress",
       {},
       {{"Count", "", metrics::Type::kGauge}}},
      {"org.apache.cassandra.metrics:type=Compaction,name=PendingTasks",
       "cassandra_compaction_pending_tasks",
       {},
       {{"Value", "", metrics::Type::kGauge}}},
      {"org.apache.cassandra.metrics:type=Compaction,name=CompletedTasks",
       "cassandra_compaction_completed_tasks",
       {},
       {{"Value", "_total", metrics::Type::kCounter}}},
      {"org.apache.cassandra.metrics:type=DroppedMessage,scope=*,name=Dropped",
       "cassandra_dropped_messages",
       {{"scope", "message_type"}},
       {{"Count", "_total", metrics::Type::kCounter}}},
      {"org.apache.cassandra.metrics:type=ThreadPools,path=*,scope=*,name=PendingTasks",
       "cassandra_thread_pool_pending_tasks",
       {{"path", "path"}, {"scope", "pool"}},
       {{"Value", "", metrics::Type::kGauge}}},
      {"org.apache.cassandra.metrics:type=ThreadPools,path=*,scope=*,name=ActiveTasks",
       "cassandra_thread_pool_active_tasks",
       {{"path", "path"}, {"scope", "pool"}},
       {{"Value", "", metrics::Type::kGauge}}},
      {"org.apache.cassandra.metrics:type=ThreadPools,path=*,scope=*,name=CurrentlyBlockedTasks",
       "cassandra_thread_pool_blocked_tasks",
       {{"path", "path"}, {"scope", "pool"}},
       {{"Count", "", metrics::Type::kGauge}}},
      {"org.apache.cassandra.metrics:type=Client,name=connectedNativeClients",
       "cassandra_client_connected_native_clients",
       {},
       {{"Value", "", metrics::Type::kGauge}}},
      {"java.lang:type=Memory",
       "jvm_memory_heap",
       {},
       {{"HeapMemoryUsage/used", "_used_bytes", metrics::Type::kGauge},
        {"HeapMemoryUsage/max", "_max_bytes", metrics::Type::kGauge}}},
      {"java.lang:type=GarbageCollector,name=*",
       "jvm_gc",
       {{"name", "gc"}},
       {{"CollectionCount", "_collections_total", metrics::Type::kCounter},
        {"CollectionTime", "_collection_milliseconds_total", metrics::Type::kCounter}}},
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

// Jolokia answers numbers, booleans, or null (NaN) and strings for values it cannot read.
std::optional<double> Number(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  return std::nullopt;
}

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

std::string RenderPrometheus(const json& responses, const metrics::Labels& labels) {
  metrics::Exposition out;
  const auto& specs = Specs();
  auto emit = [&](const std::string& name, metrics::Type type, const metrics::Labels& series,
                  std::optional<double> value) {
    if (!value) return;
    out.Declare(name, type);
    out.Add(name, series, *value);
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
      metrics::Labels series = labels;
      for (const auto& [key, label] : spec.labels) series.emplace_back(label, props[key]);
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
        if (v) emit(std::string(spec.metric) + a.suffix, a.type, series, Number(*v));
      }
    }
  }
  // Node state: 1 for the current operation mode.
  if (responses.size() > specs.size()) {
    const json& r = responses[specs.size()];
    if (r.value("status", 0) == 200 && r["value"].is_object()) {
      metrics::Labels series = labels;
      series.emplace_back("mode", r["value"].value("OperationMode", ""));
      emit("cassandra_node_operation_mode", metrics::Type::kGauge, series, 1);
    }
  }
  return out.Text();
}

}  // namespace agent::node
