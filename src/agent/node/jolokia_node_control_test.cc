#include "agent/node/jolokia_node_control.h"

#include <set>

#include "absl/strings/match.h"
#include "agent/node/metrics.h"
#include "gtest/gtest.h"

namespace agent::node {
namespace {

using json = nlohmann::json;

TEST(ParseSize, Units) {
  EXPECT_EQ(ParseSize("0 bytes"), 0);
  EXPECT_EQ(ParseSize("512 bytes"), 512);
  EXPECT_EQ(ParseSize("1.5 KiB"), 1536);
  EXPECT_EQ(ParseSize("2 MiB"), 2 << 20);
  EXPECT_EQ(ParseSize("1 GiB"), int64_t{1} << 30);
  EXPECT_EQ(ParseSize("garbage"), 0);
}

TEST(NormalizeEndpoint, Forms) {
  EXPECT_EQ(NormalizeEndpoint("/127.0.0.2:7000"), "127.0.0.2");
  EXPECT_EQ(NormalizeEndpoint("host/10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(NormalizeEndpoint("10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(NormalizeEndpoint("[::1]:7000"), "::1");
}

// Jolokia's answers to the catalogue searches of a node with one user table.
json CatalogAnswers() {
  auto found = [](std::vector<std::string> names) {
    return json{{"status", 200}, {"value", names}};
  };
  return json::array(
      {found({"org.apache.cassandra.metrics:keyspace=shop,name=LiveSSTableCount,scope=orders,"
              "type=Table",
              "org.apache.cassandra.metrics:keyspace=system,name=LiveSSTableCount,scope=local,"
              "type=Table"}),
       found({"org.apache.cassandra.metrics:name=Latency,scope=Write,type=ClientRequest",
              "org.apache.cassandra.metrics:name=Latency,scope=Read,type=ClientRequest",
              "org.apache.cassandra.metrics:name=Latency,scope=Read-QUORUM,type=ClientRequest"}),
       found({"org.apache.cassandra.metrics:name=Dropped,scope=MUTATION,type=DroppedMessage"}),
       found({"java.lang:name=G1 Young Generation,type=GarbageCollector"}),
       found({"org.apache.cassandra.metrics:name=PendingTasks,path=request,scope=ReadStage,"
              "type=ThreadPools"}),
       {{"status", 200}, {"value", {{"SchemaVersion", "v1"}}}}});
}

TEST(MetricCatalog, FindsUserTablesAndNodeWideNamesSorted) {
  ASSERT_EQ(CatalogRequests().size(), CatalogAnswers().size());
  const MetricCatalog c = ParseCatalog(CatalogAnswers());
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(c.tables, (Pairs{{"shop", "orders"}}));                         // system.local left out
  EXPECT_EQ(c.request_types, (std::vector<std::string>{"Read", "Write"}));  // no per-CL scopes
  EXPECT_EQ(c.dropped_message_types, std::vector<std::string>{"MUTATION"});
  EXPECT_EQ(c.gc_collectors, std::vector<std::string>{"G1 Young Generation"});
  EXPECT_EQ(c.thread_pools, (Pairs{{"request", "ReadStage"}}));
  EXPECT_EQ(c.schema_version, "v1");
  // A failed search leaves its part empty, the rest stands.
  json answers = CatalogAnswers();
  answers[0] = {{"status", 500}, {"error", "boom"}};
  EXPECT_TRUE(ParseCatalog(answers).tables.empty());
  EXPECT_EQ(ParseCatalog(answers).request_types.size(), 2U);
}

TEST(MetricPlan, ReadsEveryMBeanByItsExactName) {
  const MetricPlan plan(ParseCatalog(CatalogAnswers()));
  std::set<std::string> mbeans;
  for (const auto& r : plan.requests()) {
    const std::string mbean = r["mbean"];
    EXPECT_EQ(mbean.find('*'), std::string::npos) << mbean;  // a pattern costs a search per read
    EXPECT_EQ(r["type"], "read");
    mbeans.insert(mbean);
  }
  EXPECT_TRUE(mbeans.contains(
      "org.apache.cassandra.metrics:type=Table,keyspace=shop,scope=orders,name=ReadLatency"));
  EXPECT_TRUE(mbeans.contains("java.lang:type=GarbageCollector,name=G1 Young Generation"));
  EXPECT_TRUE(
      mbeans.contains("org.apache.cassandra.metrics:type=ThreadPools,path=request,scope=ReadStage,"
                      "name=ActiveTasks"));
  EXPECT_FALSE(mbeans.contains(
      "org.apache.cassandra.metrics:type=Table,keyspace=system,scope=local,name=ReadLatency"));
  EXPECT_EQ(plan.requests().back()["mbean"], "org.apache.cassandra.db:type=StorageService");
}

TEST(MetricPlan, RendersAnswersAsLabelledSeriesAndCountsWhatIsGone) {
  const MetricPlan plan(ParseCatalog(CatalogAnswers()));
  json responses = json::array();
  for (const auto& r : plan.requests()) {
    const std::string mbean = r["mbean"];
    json value;
    if (absl::StrContains(mbean, "keyspace=shop,scope=orders,name=ReadLatency")) {
      value = {{"Count", 42}, {"99thPercentile", nullptr}};
    } else if (absl::StrContains(mbean, "keyspace=shop,scope=orders,name=WriteLatency")) {
      value = {{"Count", 7}, {"99thPercentile", 12.5}};
    } else if (mbean == "java.lang:type=Memory") {
      value = {{"HeapMemoryUsage", {{"used", 100}, {"max", 200}}}};
    } else if (absl::StrContains(mbean, "G1 Young")) {
      value = {{"CollectionCount", 7}, {"CollectionTime", 30}};
    } else if (mbean == "org.apache.cassandra.db:type=StorageService") {
      value = {{"OperationMode", "NORMAL"},
               {"SchemaVersion", "v2"},
               {"LiveNodes", {"10.0.0.1", "10.0.0.2"}},
               {"UnreachableNodes", {"10.0.0.3"}},
               {"JoiningNodes", {"10.0.0.2"}},
               {"EndpointToHostId", {{"10.0.0.1", "a"}, {"10.0.0.3", "c"}}}};
    }
    if (absl::StrContains(mbean, "name=LiveSSTableCount")) {
      responses.push_back(
          {{"status", 404}, {"error", "javax.management.InstanceNotFoundException"}});
    } else if (value.is_null()) {
      responses.push_back({{"status", 200}, {"value", {{"Value", "n/a"}, {"Count", nullptr}}}});
    } else {
      responses.push_back({{"status", 200}, {"value", value}});
    }
  }
  const auto scrape = plan.Render(responses, {{"cluster", "c"}, {"pod", "p"}});
  const std::string& text = scrape.text;
  EXPECT_EQ(scrape.missing, 1);  // the dropped table's SSTable count
  EXPECT_EQ(scrape.schema_version, "v2");
  EXPECT_TRUE(absl::StrContains(text,
                                "# TYPE cassandra_table_read_latency_total counter\n"
                                "cassandra_table_read_latency_total{cluster=\"c\",pod=\"p\","
                                "keyspace=\"shop\",table=\"orders\"} 42\n"))
      << text;
  EXPECT_TRUE(absl::StrContains(text,
                                "cassandra_table_write_latency_p99_microseconds{cluster="
                                "\"c\",pod=\"p\",keyspace=\"shop\",table=\"orders\"} 12.5\n"))
      << text;
  EXPECT_FALSE(absl::StrContains(text, "read_latency_p99"));  // null (NaN) values are skipped
  EXPECT_FALSE(absl::StrContains(text, "n/a"));
  EXPECT_TRUE(absl::StrContains(text, "jvm_memory_heap_used_bytes{cluster=\"c\",pod=\"p\"} 100\n"));
  EXPECT_TRUE(absl::StrContains(
      text, "jvm_gc_collections_total{cluster=\"c\",pod=\"p\",gc=\"G1 Young Generation\"} 7\n"));
  EXPECT_TRUE(absl::StrContains(
      text, "cassandra_node_operation_mode{cluster=\"c\",pod=\"p\",mode=\"NORMAL\"} 1\n"));
  // The ring as this node sees it: every state written, 0 too.
  EXPECT_TRUE(absl::StrContains(
      text, "cassandra_ring_endpoints{cluster=\"c\",pod=\"p\",state=\"UN\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(
      text, "cassandra_ring_endpoints{cluster=\"c\",pod=\"p\",state=\"UJ\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(
      text, "cassandra_ring_endpoints{cluster=\"c\",pod=\"p\",state=\"DN\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(
      text, "cassandra_ring_endpoints{cluster=\"c\",pod=\"p\",state=\"DL\"} 0\n"));
}

TEST(EndpointStates, AsNodetoolPrintsThem) {
  const json ss = {{"LiveNodes", {"10.0.0.1", "10.0.0.2", "10.0.0.4"}},
                   {"UnreachableNodes", {"10.0.0.3"}},
                   {"JoiningNodes", {"10.0.0.2"}},
                   {"LeavingNodes", {"/10.0.0.3:7000"}},
                   {"MovingNodes", json::array()},
                   {"EndpointToHostId", {{"10.0.0.1", "a"}, {"10.0.0.5", "e"}}}};
  const std::map<std::string, std::string> want = {{"10.0.0.1", "UN"},
                                                   {"10.0.0.2", "UJ"},
                                                   {"10.0.0.3", "DL"},
                                                   {"10.0.0.4", "UN"},
                                                   {"10.0.0.5", "DN"}};
  EXPECT_EQ(EndpointStates(ss), want);
  EXPECT_TRUE(EndpointStates(json()).empty());
}

TEST(VolumeUsage, ReadsTheFilesystemOfAPath) {
  VolumeUsage usage;
  ASSERT_TRUE(ReadVolumeUsage("/", usage));
  EXPECT_GT(usage.used_bytes + usage.available_bytes, 0);
  EXPECT_FALSE(ReadVolumeUsage("/nonexistent/path", usage));
  metrics::Exposition out;
  RenderVolumeUsage({10, 30}, {{"pod", "p"}}, out);
  EXPECT_TRUE(absl::StrContains(out.Text(), "cassandra_data_volume_used_bytes{pod=\"p\"} 10\n"));
  EXPECT_TRUE(
      absl::StrContains(out.Text(), "cassandra_data_volume_available_bytes{pod=\"p\"} 30\n"));
}

TEST(JolokiaNodeControl, UnreachableIsUnavailableWithReason) {
  JolokiaNodeControl node({"127.0.0.1", 1, "/nonexistent"});
  auto info = node.GetNodeInfo();
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(info.status().message().find("unreachable"), absl::string_view::npos);
}

}  // namespace
}  // namespace agent::node
