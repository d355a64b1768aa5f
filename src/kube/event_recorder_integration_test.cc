// EventRecorder against a real kube-apiserver: what kubectl describe would show.
//
// Needs the environment of test/env/kube-env.sh (KUBECONFIG); fails without it.
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/event_recorder.h"
#include "kube/resource.h"
#include "kube/testing/test_env.h"

namespace kube {
namespace {

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  return kube::testing::WaitFor(done, timeout);
}

class EventRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = kube::testing::AdminClient();
    ns_ = kube::testing::CreateNamespace(*client_, "rk-events");
    Object cm;
    cm.set_api_version("v1").set_kind("ConfigMap").set_namespace(ns_).set_name("cassandra-0");
    cm.json()["data"] = {{"k", "v"}};
    auto created = client_->Create(resources::kConfigMaps, cm);
    ASSERT_TRUE(created.ok()) << created.status();
    regarding_ = *created;
    ASSERT_FALSE(regarding_.uid().empty());
  }

  void TearDown() override {
    if (client_ && !ns_.empty()) (void)client_->Delete(resources::kNamespaces, "", ns_);
  }

  // All events about the object with `uid` (in namespace `ns`, or all namespaces).
  std::vector<Object> EventsFor(const std::string& uid, const std::string& ns) {
    ListOptions options;
    options.field_selector = "involvedObject.uid=" + uid;
    auto list = client_->List(resources::kEvents, ns, options);
    EXPECT_TRUE(list.ok()) << list.status();
    return list.ok() ? list->items : std::vector<Object>{};
  }
  bool WaitForEvents(size_t n, std::vector<Object>* out) {
    return WaitFor(
        [&] {
          *out = EventsFor(regarding_.uid(), ns_);
          return out->size() == n;
        },
        absl::Seconds(10));
  }
  static int64_t Count(const Object& e) { return IntField(e.json(), "count"); }
  static const Object* WithReason(const std::vector<Object>& events, const std::string& reason) {
    for (const Object& e : events) {
      if (e.String("/reason") == reason) return &e;
    }
    return nullptr;
  }

  std::unique_ptr<Client> client_;
  std::string ns_;
  Object regarding_;
};

TEST_F(EventRecorderTest, WritesAnEventAboutTheObject) {
  EventRecorder recorder(*client_, {.component = "ringkeeper-test", .instance = "pod-0"});
  recorder.Event(regarding_, EventType::kNormal, "Created", "made the thing");

  std::vector<Object> events;
  ASSERT_TRUE(WaitForEvents(1, &events));
  const Object& e = events[0];
  EXPECT_TRUE(absl::StartsWith(e.name(), regarding_.name() + ".")) << e.name();
  EXPECT_EQ(e.ns(), ns_);
  EXPECT_EQ(e.String("/involvedObject/apiVersion"), "v1");
  EXPECT_EQ(e.String("/involvedObject/kind"), "ConfigMap");
  EXPECT_EQ(e.String("/involvedObject/name"), regarding_.name());
  EXPECT_EQ(e.String("/involvedObject/namespace"), ns_);
  EXPECT_EQ(e.String("/involvedObject/uid"), regarding_.uid());
  EXPECT_EQ(e.String("/involvedObject/resourceVersion"), regarding_.resource_version());
  EXPECT_EQ(e.String("/reason"), "Created");
  EXPECT_EQ(e.String("/message"), "made the thing");
  EXPECT_EQ(e.String("/type"), "Normal");
  EXPECT_EQ(e.String("/source/component"), "ringkeeper-test");
  EXPECT_EQ(e.String("/reportingComponent"), "ringkeeper-test");
  EXPECT_EQ(e.String("/reportingInstance"), "pod-0");
  EXPECT_FALSE(e.String("/firstTimestamp").empty());
  EXPECT_EQ(e.String("/firstTimestamp"), e.String("/lastTimestamp"));
  EXPECT_EQ(Count(e), 1);
}

TEST_F(EventRecorderTest, RepeatsAggregateAndNewReasonsDoNot) {
  EventRecorderOptions options;
  options.component = "ringkeeper-test";
  EventRecorder recorder(*client_, options);
  recorder.Event(regarding_, EventType::kWarning, "ScaleRefused", "below RF");
  recorder.Event(regarding_, EventType::kWarning, "ScaleRefused", "below RF");

  std::vector<Object> events;
  ASSERT_TRUE(WaitForEvents(1, &events));
  EXPECT_EQ(Count(events[0]), 2);
  EXPECT_EQ(events[0].String("/type"), "Warning");
  EXPECT_GE(events[0].String("/lastTimestamp"), events[0].String("/firstTimestamp"));
  const std::string first_name = events[0].name();

  recorder.Event(regarding_, EventType::kWarning, "Decommissioning", "node 3");
  ASSERT_TRUE(WaitForEvents(2, &events));
  ASSERT_NE(WithReason(events, "Decommissioning"), nullptr);
  EXPECT_EQ(Count(*WithReason(events, "Decommissioning")), 1);
  EXPECT_EQ(WithReason(events, "ScaleRefused")->name(), first_name);

  // The same reason with another message or type is another event too.
  recorder.Event(regarding_, EventType::kWarning, "ScaleRefused", "not all nodes UN");
  recorder.Event(regarding_, EventType::kNormal, "ScaleRefused", "below RF");
  ASSERT_TRUE(WaitForEvents(4, &events));

  recorder.Event(regarding_, EventType::kWarning, "ScaleRefused", "below RF");
  ASSERT_TRUE(WaitFor(
      [&] {
        events = EventsFor(regarding_.uid(), ns_);
        for (const Object& e : events) {
          if (e.name() == first_name) return Count(e) == 3;
        }
        return false;
      },
      absl::Seconds(10)));
}

TEST_F(EventRecorderTest, ConcurrentIdenticalEventsCountUp) {
  EventRecorder recorder(*client_, {});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        recorder.Event(regarding_, EventType::kNormal, "Repairing", "segment done");
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<Object> events;
  ASSERT_TRUE(WaitForEvents(1, &events));
  EXPECT_EQ(Count(events[0]), 40);
}

TEST_F(EventRecorderTest, EvictedOrStaleEventsStartAfresh) {
  {
    EventRecorderOptions options;
    options.cache_size = 1;
    EventRecorder recorder(*client_, options);
    recorder.Event(regarding_, EventType::kNormal, "A", "a");
    recorder.Event(regarding_, EventType::kNormal, "B", "b");  // evicts A
    recorder.Event(regarding_, EventType::kNormal, "A", "a");
    std::vector<Object> events;
    ASSERT_TRUE(WaitForEvents(3, &events));
  }
  {
    EventRecorderOptions options;
    options.aggregation_window = absl::ZeroDuration();
    EventRecorder recorder(*client_, options);
    recorder.Event(regarding_, EventType::kNormal, "C", "c");
    recorder.Event(regarding_, EventType::kNormal, "C", "c");  // outside the window
    std::vector<Object> events;
    ASSERT_TRUE(WaitForEvents(5, &events));
  }
}

TEST_F(EventRecorderTest, LongMessagesAreCutAtACharacterBoundary) {
  EventRecorder recorder(*client_, {});
  std::string message = "x";
  for (int i = 0; i < 700; ++i) message += "é";  // 2 bytes each: 1401 bytes
  recorder.Event(regarding_, EventType::kWarning, "TooLong", message);
  std::vector<Object> events;
  ASSERT_TRUE(WaitForEvents(1, &events));
  const std::string got = events[0].String("/message");
  EXPECT_EQ(got.size(), 1023u);  // 1 + 511 * 2: the 512th "é" would straddle byte 1024
  EXPECT_EQ(got, message.substr(0, 1023));
}

TEST_F(EventRecorderTest, ClusterScopedObjectsGetEventsInDefault) {
  auto ns = client_->Get(resources::kNamespaces, "", ns_);  // cluster-scoped, and ours
  ASSERT_TRUE(ns.ok()) << ns.status();
  EventRecorder recorder(*client_, {});
  const std::string reason = "Checked";
  recorder.Event(*ns, EventType::kNormal, reason, "cluster-scoped");
  std::vector<Object> events;
  ASSERT_TRUE(WaitFor(
      [&] {
        events.clear();
        for (Object& e : EventsFor(ns->uid(), "default")) {
          if (e.String("/reason") == reason) events.push_back(std::move(e));
        }
        return events.size() == 1;
      },
      absl::Seconds(10)));
  EXPECT_EQ(events[0].ns(), "default");
  EXPECT_EQ(events[0].String("/involvedObject/kind"), "Namespace");
  EXPECT_EQ(events[0].String("/involvedObject/namespace"), "");
  (void)client_->Delete(resources::kEvents, events[0].ns(), events[0].name());
}

TEST_F(EventRecorderTest, FailuresAreSwallowed) {
  Object ghost = regarding_;
  ghost.set_namespace("no-such-namespace-rk");  // creating an Event there fails
  EventRecorder recorder(*client_, {});
  const absl::Time start = absl::Now();
  recorder.Event(ghost, EventType::kWarning, "Nowhere", "cannot be written");
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_TRUE(EventsFor(regarding_.uid(), "no-such-namespace-rk").empty());
}

}  // namespace
}  // namespace kube
