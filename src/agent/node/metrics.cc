#include "agent/node/metrics.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/substitute.h"
#include "agent/node/jolokia_node_control.h"

namespace agent::node {
namespace {

using json = nlohmann::json;

// What a spec's MBean name is filled in with, one read per catalogue entry.
enum class Over { kNode, kTable, kRequestType, kDroppedMessageType, kGcCollector, kThreadPool };

struct Attr {
  const char* attribute;  // Jolokia attribute (or "Attr/inner" for composite values)
  const char* suffix;     // metric name suffix
  metrics::Type type;
};

struct Spec {
  Over over;
  const char* mbean;   // exact name; $0 (and $1) filled from the catalogue
  const char* metric;  // metric name prefix
  std::vector<Attr> attrs;
};

constexpr auto kCounter = metrics::Type::kCounter;
constexpr auto kGauge = metrics::Type::kGauge;
constexpr char kTable[] = "org.apache.cassandra.metrics:type=Table,keyspace=$0,scope=$1,name=";
constexpr char kPool[] = "org.apache.cassandra.metrics:type=ThreadPools,path=$0,scope=$1,name=";

// The curated set. Only what a dashboard or alert reads: each attribute costs a read per MBean,
// and each percentile a snapshot of its histogram (so per table the 99th only; the node-wide
// request latencies have the median too).
const std::vector<Spec>& Specs() {
  static const auto* specs = new std::vector<Spec>{
      {Over::kRequestType,
       "org.apache.cassandra.metrics:type=ClientRequest,scope=$0,name=Latency",
       "cassandra_client_request_latency",
       {{"Count", "_total", kCounter},
        {"50thPercentile", "_p50_microseconds", kGauge},
        {"99thPercentile", "_p99_microseconds", kGauge}}},
      {Over::kRequestType,
       "org.apache.cassandra.metrics:type=ClientRequest,scope=$0,name=Timeouts",
       "cassandra_client_request_timeouts",
       {{"Count", "_total", kCounter}}},
      {Over::kRequestType,
       "org.apache.cassandra.metrics:type=ClientRequest,scope=$0,name=Unavailables",
       "cassandra_client_request_unavailables",
       {{"Count", "_total", kCounter}}},
      {Over::kRequestType,
       "org.apache.cassandra.metrics:type=ClientRequest,scope=$0,name=Failures",
       "cassandra_client_request_failures",
       {{"Count", "_total", kCounter}}},
      {Over::kTable,
       "ReadLatency",
       "cassandra_table_read_latency",
       {{"Count", "_total", kCounter}, {"99thPercentile", "_p99_microseconds", kGauge}}},
      {Over::kTable,
       "WriteLatency",
       "cassandra_table_write_latency",
       {{"Count", "_total", kCounter}, {"99thPercentile", "_p99_microseconds", kGauge}}},
      {Over::kTable, "LiveSSTableCount", "cassandra_table_live_sstables", {{"Value", "", kGauge}}},
      {Over::kTable,
       "LiveDiskSpaceUsed",
       "cassandra_table_live_disk_space_used_bytes",
       {{"Count", "", kGauge}}},
      {Over::kTable,
       "EstimatedPartitionCount",
       "cassandra_table_estimated_partitions",
       {{"Value", "", kGauge}}},
      {Over::kTable,
       "TombstoneScannedHistogram",
       "cassandra_table_tombstones_scanned",
       {{"99thPercentile", "_p99", kGauge}}},
      {Over::kTable,
       "PendingCompactions",
       "cassandra_table_pending_compactions",
       {{"Value", "", kGauge}}},
      {Over::kNode,
       "org.apache.cassandra.metrics:type=Storage,name=Load",
       "cassandra_storage_load_bytes",
       {{"Count", "", kGauge}}},
      {Over::kNode,
       "org.apache.cassandra.metrics:type=Storage,name=TotalHints",
       "cassandra_storage_hints",
       {{"Count", "_total", kCounter}}},
      {Over::kNode,
       "org.apache.cassandra.metrics:type=Storage,name=TotalHintsInProgress",
       "cassandra_storage_hints_in_progress",
       {{"Count", "", kGauge}}},
      {Over::kNode,
       "org.apache.cassandra.metrics:type=Compaction,name=PendingTasks",
       "cassandra_compaction_pending_tasks",
       {{"Value", "", kGauge}}},
      {Over::kNode,
       "org.apache.cassandra.metrics:type=Compaction,name=CompletedTasks",
       "cassandra_compaction_completed_tasks",
       {{"Value", "_total", kCounter}}},
      {Over::kNode,
       "org.apache.cassandra.metrics:type=Compaction,name=BytesCompacted",
       "cassandra_compaction_bytes_compacted",
       {{"Count", "_total", kCounter}}},
      {Over::kDroppedMessageType,
       "org.apache.cassandra.metrics:type=DroppedMessage,scope=$0,name=Dropped",
       "cassandra_dropped_messages",
       {{"Count", "_total", kCounter}}},
      {Over::kThreadPool,
       "PendingTasks",
       "cassandra_thread_pool_pending_tasks",
       {{"Value", "", kGauge}}},
      {Over::kThreadPool,
       "ActiveTasks",
       "cassandra_thread_pool_active_tasks",
       {{"Value", "", kGauge}}},
      {Over::kThreadPool,
       "CurrentlyBlockedTasks",
       "cassandra_thread_pool_blocked_tasks",
       {{"Count", "", kGauge}}},
      {Over::kNode,
       "org.apache.cassandra.metrics:type=Client,name=connectedNativeClients",
       "cassandra_client_connected_native_clients",
       {{"Value", "", kGauge}}},
      {Over::kNode,
       "java.lang:type=Memory",
       "jvm_memory_heap",
       {{"HeapMemoryUsage/used", "_used_bytes", kGauge},
        {"HeapMemoryUsage/max", "_max_bytes", kGauge}}},
      {Over::kGcCollector,
       "java.lang:type=GarbageCollector,name=$0",
       "jvm_gc",
       {{"CollectionCount", "_collections_total", kCounter},
        {"CollectionTime", "_collection_milliseconds_total", kCounter}}},
  };
  return *specs;
}

constexpr char kStorageService[] = "org.apache.cassandra.db:type=StorageService";
constexpr std::array<const char*, 5> kSearches = {
    "org.apache.cassandra.metrics:type=Table,keyspace=*,scope=*,name=LiveSSTableCount",
    "org.apache.cassandra.metrics:type=ClientRequest,scope=*,name=Latency",
    "org.apache.cassandra.metrics:type=DroppedMessage,scope=*,name=Dropped",
    "java.lang:type=GarbageCollector,*",
    "org.apache.cassandra.metrics:type=ThreadPools,path=*,scope=*,name=PendingTasks",
};
// Cassandra's own keyspaces (SchemaConstants): their tables get no per-table series.
const std::set<std::string>& SystemKeyspaces() {
  static const auto* names = new std::set<std::string>{
      "system",        "system_schema", "system_auth",           "system_distributed",
      "system_traces", "system_views",  "system_virtual_schema", "system_cluster_metadata"};
  return *names;
}

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

// The names a search found, each as its key properties.
std::vector<std::map<std::string, std::string>> Found(const json& response) {
  std::vector<std::map<std::string, std::string>> out;
  if (response.value("status", 0) != 200 || !response.contains("value") ||
      !response["value"].is_array()) {
    return out;
  }
  for (const auto& name : response["value"]) {
    if (name.is_string()) out.push_back(KeyProperties(name.get<std::string>()));
  }
  return out;
}

template <typename T>
void SortUnique(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// Jolokia answers numbers, booleans, or null (NaN) and strings for values it cannot read.
std::optional<double> Number(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  return std::nullopt;
}

const json* AttributeAt(const json& attrs, const char* path) {
  const json* v = &attrs;
  for (absl::string_view step : absl::StrSplit(path, '/')) {
    auto it = v->is_object() ? v->find(std::string(step)) : v->end();
    if (!v->is_object() || it == v->end()) return nullptr;
    v = &*it;
  }
  return v;
}

}  // namespace

json CatalogRequests() {
  json requests = json::array();
  for (const char* pattern : kSearches)
    requests.push_back({{"type", "search"}, {"mbean", pattern}});
  requests.push_back(JolokiaClient::Read(kStorageService, json::array({"SchemaVersion"})));
  return requests;
}

MetricCatalog ParseCatalog(const json& responses) {
  MetricCatalog c;
  if (!responses.is_array() || responses.size() < kSearches.size() + 1) return c;
  for (auto& p : Found(responses[0])) {
    if (!SystemKeyspaces().contains(p["keyspace"]))
      c.tables.emplace_back(p["keyspace"], p["scope"]);
  }
  // Per consistency level scopes ("Read-QUORUM"...) are left out: the by-type ones carry them.
  for (auto& p : Found(responses[1])) {
    if (!absl::StrContains(p["scope"], '-')) c.request_types.push_back(p["scope"]);
  }
  for (auto& p : Found(responses[2])) c.dropped_message_types.push_back(p["scope"]);
  for (auto& p : Found(responses[3])) c.gc_collectors.push_back(p["name"]);
  for (auto& p : Found(responses[4])) c.thread_pools.emplace_back(p["path"], p["scope"]);
  SortUnique(c.tables);
  SortUnique(c.request_types);
  SortUnique(c.dropped_message_types);
  SortUnique(c.gc_collectors);
  SortUnique(c.thread_pools);
  if (auto v = JolokiaClient::Value(responses[kSearches.size()]); v.ok() && v->is_object()) {
    c.schema_version = v->value("SchemaVersion", "");
  }
  return c;
}

MetricPlan::MetricPlan(const MetricCatalog& catalog) : requests_(json::array()) {
  const auto& specs = Specs();
  for (size_t i = 0; i < specs.size(); ++i) {
    const Spec& spec = specs[i];
    json attributes = json::array();
    for (const auto& a : spec.attrs) {
      std::string attr = a.attribute;
      attr = attr.substr(0, attr.find('/'));
      if (std::find(attributes.begin(), attributes.end(), attr) == attributes.end()) {
        attributes.push_back(attr);
      }
    }
    auto add = [&](const std::string& mbean, Read read) {
      requests_.push_back(JolokiaClient::Read(mbean, attributes));
      reads_.push_back(std::move(read));
    };
    // One read per name, the name in the spec's MBean pattern and in the `label`.
    auto each = [&](const std::vector<std::string>& names, const char* label) {
      for (const auto& n : names) add(absl::Substitute(spec.mbean, n), {i, {{label, n}}});
    };
    switch (spec.over) {
      case Over::kNode:
        add(spec.mbean, {i, {}});
        break;
      case Over::kTable:
        for (const auto& [ks, table] : catalog.tables) {
          add(absl::Substitute(kTable, ks, table) + spec.mbean,
              {i, {{"keyspace", ks}, {"table", table}}});
        }
        break;
      case Over::kRequestType:
        each(catalog.request_types, "request_type");
        break;
      case Over::kDroppedMessageType:
        each(catalog.dropped_message_types, "message_type");
        break;
      case Over::kGcCollector:
        each(catalog.gc_collectors, "gc");
        break;
      case Over::kThreadPool:
        for (const auto& [path, pool] : catalog.thread_pools) {
          add(absl::Substitute(kPool, path, pool) + spec.mbean,
              {i, {{"path", path}, {"pool", pool}}});
        }
        break;
    }
  }
  requests_.push_back(JolokiaClient::Read(
      kStorageService,
      json::array({"OperationMode", "SchemaVersion", "LiveNodes", "UnreachableNodes",
                   "JoiningNodes", "LeavingNodes", "MovingNodes", "EndpointToHostId"})));
}

MetricPlan::Scrape MetricPlan::Render(const json& responses, const metrics::Labels& labels) const {
  Scrape out;
  metrics::Exposition text;
  const auto& specs = Specs();
  for (size_t i = 0; i < reads_.size() && i < responses.size(); ++i) {
    const json& r = responses[i];
    if (r.value("status", 0) == 404) ++out.missing;  // InstanceNotFound: the catalogue is old
    if (r.value("status", 0) != 200 || !r.contains("value")) continue;
    const Spec& spec = specs[reads_[i].spec];
    metrics::Labels series = labels;
    series.insert(series.end(), reads_[i].labels.begin(), reads_[i].labels.end());
    for (const auto& a : spec.attrs) {
      const json* v = AttributeAt(r["value"], a.attribute);
      std::optional<double> value = v ? Number(*v) : std::nullopt;
      if (!value) continue;
      const std::string name = std::string(spec.metric) + a.suffix;
      text.Declare(name, a.type);
      text.Add(name, series, *value);
    }
  }
  // The node's mode, and the ring as this node sees it: endpoints by state, every state written
  // (0 too) so a panel or alert on "DN" has a series before the first node goes down.
  if (responses.size() == requests_.size()) {
    auto ss = JolokiaClient::Value(responses.back());
    if (ss.ok() && ss->is_object()) {
      out.schema_version = ss->value("SchemaVersion", "");
      metrics::Labels mode = labels;
      mode.emplace_back("mode", ss->value("OperationMode", ""));
      text.Declare("cassandra_node_operation_mode", kGauge);
      text.Add("cassandra_node_operation_mode", mode, 1);
      std::map<std::string, int> by_state;
      for (const char* s : {"UN", "UJ", "UL", "UM", "DN", "DJ", "DL", "DM"}) by_state[s] = 0;
      for (const auto& [endpoint, state] : EndpointStates(*ss)) ++by_state[state];
      text.Declare("cassandra_ring_endpoints", kGauge,
                   "endpoints by state (UN, DN...) as this node sees the ring");
      for (const auto& [state, n] : by_state) {
        metrics::Labels s = labels;
        s.emplace_back("state", state);
        text.Add("cassandra_ring_endpoints", s, n);
      }
    }
  }
  out.text = text.Text();
  return out;
}

bool ReadVolumeUsage(const std::string& path, VolumeUsage& out) {
  struct statvfs fs {};
  if (statvfs(path.c_str(), &fs) != 0) return false;
  const double block = static_cast<double>(fs.f_frsize);
  out.used_bytes = block * static_cast<double>(fs.f_blocks - fs.f_bfree);
  out.available_bytes = block * static_cast<double>(fs.f_bavail);
  return true;
}

void RenderVolumeUsage(const VolumeUsage& usage, const metrics::Labels& labels,
                       metrics::Exposition& out) {
  out.Declare("cassandra_data_volume_used_bytes", kGauge, "bytes used on the data volume");
  out.Add("cassandra_data_volume_used_bytes", labels, usage.used_bytes);
  out.Declare("cassandra_data_volume_available_bytes", kGauge,
              "bytes Cassandra may still write on the data volume");
  out.Add("cassandra_data_volume_available_bytes", labels, usage.available_bytes);
}

}  // namespace agent::node
