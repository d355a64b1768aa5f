#include "agent/node/jolokia_node_control.h"

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

TEST(RenderPrometheus, PatternAndExactReadsBecomeLabelledSeries) {
  json requests = MetricRequests();
  json responses = json::array();
  for (size_t i = 0; i < requests.size(); ++i) responses.push_back({{"status", 404}});
  // 0: ClientRequest latency pattern; find the Table ReadLatency and Memory entries by mbean.
  responses[0] = {{"status", 200},
                  {"value",
                   {{"org.apache.cassandra.metrics:name=Latency,scope=Read,type=ClientRequest",
                     {{"Count", 42}, {"50thPercentile", 12.5}, {"99thPercentile", nullptr}}}}}};
  for (size_t i = 0; i < requests.size(); ++i) {
    const std::string mbean = requests[i]["mbean"];
    if (mbean == "java.lang:type=Memory") {
      responses[i] = {{"status", 200},
                      {"value", {{"HeapMemoryUsage", {{"used", 100}, {"max", 200}}}}}};
    }
    if (mbean == "org.apache.cassandra.db:type=StorageService") {
      responses[i] = {{"status", 200}, {"value", {{"OperationMode", "NORMAL"}}}};
    }
  }
  const std::string text = RenderPrometheus(responses, {{"cluster", "c"}, {"pod", "p"}});
  EXPECT_NE(text.find("# TYPE cassandra_client_request_latency_total counter\n"
                      "cassandra_client_request_latency_total{cluster=\"c\",pod=\"p\","
                      "request_type=\"Read\"} 42\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("cassandra_client_request_latency_p50_microseconds{cluster=\"c\",pod=\"p\","
                      "request_type=\"Read\"} 12.5\n"),
            std::string::npos);
  EXPECT_EQ(text.find("p99"), std::string::npos);  // null (NaN) values are skipped
  EXPECT_NE(text.find("jvm_memory_heap_used_bytes{cluster=\"c\",pod=\"p\"} 100\n"),
            std::string::npos);
  EXPECT_NE(text.find("cassandra_node_operation_mode{cluster=\"c\",pod=\"p\",mode=\"NORMAL\"} 1"),
            std::string::npos);
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
