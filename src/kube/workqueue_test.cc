#include "kube/workqueue.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kube/testing/test_env.h"

namespace kube {
namespace {

using Clock = std::chrono::steady_clock;

// Polls every millisecond (queue timings are in milliseconds), up to ten seconds.
bool WaitFor(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(10)) {
  return testing::WaitFor(done, timeout, absl::Milliseconds(1));
}

void StoreMax(std::atomic<int>& target, int value) {
  int current = target.load();
  while (value > current && !target.compare_exchange_weak(current, value)) {
  }
}

absl::Duration Since(Clock::time_point start) { return absl::FromChrono(Clock::now() - start); }

RateLimiterOptions Fast() {
  RateLimiterOptions options;
  options.base_delay = absl::Milliseconds(1);
  return options;
}

TEST(WorkQueueTest, KeyAddedWhileQueuedIsQueuedOnce) {
  WorkQueue queue;
  queue.Add("ns/a");
  queue.Add("ns/a");
  queue.Add("ns/b");
  ASSERT_EQ(queue.Len(), 2);
  EXPECT_EQ(queue.Get(), "ns/a");
  EXPECT_EQ(queue.Get(), "ns/b");
  EXPECT_EQ(queue.Len(), 0);
  EXPECT_EQ(queue.metrics().adds, 2u);
}

TEST(WorkQueueTest, KeyAddedWhileProcessingIsQueuedAgainOnDone) {
  WorkQueue queue;
  queue.Add("ns/a");
  ASSERT_EQ(queue.Get(), "ns/a");
  queue.Add("ns/a");
  queue.Add("ns/a");
  EXPECT_EQ(queue.Len(), 0) << "must not reach a second worker while in flight";
  queue.Done("ns/a");
  ASSERT_EQ(queue.Len(), 1);
  EXPECT_EQ(queue.Get(), "ns/a");
  queue.Done("ns/a");
  EXPECT_EQ(queue.Len(), 0);
}

TEST(WorkQueueTest, NeverHandsOneKeyToTwoWorkers) {
  constexpr int kKeys = 3;
  constexpr int kWorkers = 8;
  constexpr int kAddsPerProducer = 3000;
  WorkQueue queue;
  std::array<std::atomic<int>, kKeys> in_flight{};
  std::array<std::atomic<int>, kKeys> added_gen{};  // last generation added, per key
  std::array<std::atomic<int>, kKeys> seen_gen{};   // highest generation a worker started on
  std::atomic<int> max_in_flight{0};
  std::atomic<int> generation{0};

  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&] {
      while (std::optional<std::string> key = queue.Get()) {
        const int k = key->back() - '0';
        const int gen = added_gen[k].load();
        StoreMax(max_in_flight, ++in_flight[k]);
        std::this_thread::yield();
        StoreMax(seen_gen[k], gen);
        --in_flight[k];
        queue.Done(*key);
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < 2; ++p) {
    producers.emplace_back([&] {
      for (int i = 1; i <= kAddsPerProducer; ++i) {
        const int k = i % kKeys;
        StoreMax(added_gen[k], ++generation);
        queue.Add(absl::StrCat("ns/k", k));
      }
    });
  }
  for (std::thread& t : producers) t.join();
  // Every key is processed at least once after its last add (no dirty add is lost).
  EXPECT_TRUE(WaitFor([&] {
    for (int k = 0; k < kKeys; ++k) {
      if (seen_gen[k].load() != added_gen[k].load()) return false;
    }
    return true;
  }));
  queue.ShutDown();
  for (std::thread& t : workers) t.join();
  EXPECT_EQ(max_in_flight.load(), 1);
}

TEST(WorkQueueTest, AddAfterReleasesKeysByDeadline) {
  WorkQueue queue;
  const auto start = Clock::now();
  queue.AddAfter("ns/slow", absl::Milliseconds(300));
  queue.AddAfter("ns/fast", absl::Milliseconds(30));
  EXPECT_EQ(queue.Len(), 0);
  EXPECT_EQ(queue.metrics().waiting, 2);

  ASSERT_TRUE(WaitFor([&] { return queue.Len() == 1; }));
  EXPECT_EQ(queue.Get(), "ns/fast");
  EXPECT_GE(Since(start), absl::Milliseconds(30));
  queue.Done("ns/fast");

  ASSERT_TRUE(WaitFor([&] { return queue.Len() == 1; }));
  EXPECT_EQ(queue.Get(), "ns/slow");
  EXPECT_GE(Since(start), absl::Milliseconds(300));
}

TEST(WorkQueueTest, AddAfterKeepsTheEarlierDeadline) {
  WorkQueue queue;
  queue.AddAfter("ns/a", absl::Hours(1));
  queue.AddAfter("ns/a", absl::Milliseconds(10));
  queue.AddAfter("ns/b", absl::Milliseconds(10));
  queue.AddAfter("ns/b", absl::Hours(1));
  EXPECT_EQ(queue.metrics().waiting, 2);
  ASSERT_TRUE(WaitFor([&] { return queue.Len() == 2; }));
  EXPECT_EQ(queue.metrics().waiting, 0);
}

TEST(WorkQueueTest, AddAfterOfAKeyAlreadyDueDoesNothing) {
  WorkQueue queue;
  queue.Add("ns/queued");
  queue.AddAfter("ns/queued", absl::Milliseconds(10));
  EXPECT_EQ(queue.metrics().waiting, 0);  // the queued pass reads what the add was for

  queue.Add("ns/busy");
  ASSERT_EQ(queue.Get(), "ns/queued");
  ASSERT_EQ(queue.Get(), "ns/busy");
  queue.AddAfter("ns/busy", absl::Milliseconds(10));  // processing, not dirty: a pass is owed
  EXPECT_EQ(queue.metrics().waiting, 1);
  queue.Add("ns/queued");  // processing and dirty: due at Done
  queue.AddAfter("ns/queued", absl::Milliseconds(10));
  EXPECT_EQ(queue.metrics().waiting, 1);
  queue.Done("ns/queued");
  EXPECT_EQ(queue.Len(), 1);
}

TEST(WorkQueueTest, AddsWithinADelayMakeOnePass) {
  WorkQueue queue;
  for (int i = 0; i < 5; ++i) queue.AddAfter("ns/a", absl::Milliseconds(30));
  ASSERT_TRUE(WaitFor([&] { return queue.Len() == 1; }));
  EXPECT_EQ(queue.Get(), "ns/a");
  queue.Done("ns/a");
  EXPECT_EQ(queue.metrics().adds, 1);
  EXPECT_EQ(queue.Len(), 0);
}

TEST(WorkQueueTest, AddAfterWithoutDelayAddsAtOnce) {
  WorkQueue queue;
  queue.AddAfter("ns/a", absl::ZeroDuration());
  EXPECT_EQ(queue.Len(), 1);
}

TEST(BackoffTest, DoublesFromBaseUpToCap) {
  EXPECT_EQ(BackoffFor(0), absl::Milliseconds(5));
  EXPECT_EQ(BackoffFor(1), absl::Milliseconds(10));
  EXPECT_EQ(BackoffFor(10), absl::Milliseconds(5120));
  EXPECT_EQ(BackoffFor(17), absl::Milliseconds(655360));
  EXPECT_EQ(BackoffFor(18), absl::Seconds(1000));
  EXPECT_EQ(BackoffFor(1000), absl::Seconds(1000));

  RateLimiterOptions options;
  options.base_delay = absl::Seconds(1);
  options.max_delay = absl::Seconds(6);
  EXPECT_EQ(BackoffFor(2, options), absl::Seconds(4));
  EXPECT_EQ(BackoffFor(3, options), absl::Seconds(6));
}

TEST(WorkQueueTest, AddRateLimitedCountsRequeuesUntilForget) {
  WorkQueue queue(Fast());
  queue.AddRateLimited("ns/a");
  queue.AddRateLimited("ns/a");
  queue.AddRateLimited("ns/a");
  EXPECT_EQ(queue.NumRequeues("ns/a"), 3);
  EXPECT_EQ(queue.NumRequeues("ns/b"), 0);
  EXPECT_EQ(queue.metrics().retries, 3u);
  ASSERT_TRUE(WaitFor([&] { return queue.Len() == 1; }));

  queue.Forget("ns/a");
  EXPECT_EQ(queue.NumRequeues("ns/a"), 0);
}

TEST(WorkQueueTest, AddRateLimitedWaitsForTheBackoff) {
  RateLimiterOptions options;
  options.base_delay = absl::Milliseconds(40);
  WorkQueue queue(options);
  queue.AddRateLimited("ns/a");  // 40 ms
  const auto start = Clock::now();
  queue.AddRateLimited("ns/b");  // 40 ms
  queue.AddRateLimited("ns/b");  // still waiting: keeps the 40 ms deadline, counts a failure
  EXPECT_EQ(queue.NumRequeues("ns/b"), 2);
  ASSERT_TRUE(WaitFor([&] { return queue.Len() == 2; }));
  EXPECT_GE(Since(start), absl::Milliseconds(40));
}

TEST(TokenBucketTest, AllowsBurstThenPacesAtQps) {
  TokenBucket bucket(/*qps=*/10, /*burst=*/2);
  const auto t0 = Clock::now();
  EXPECT_EQ(bucket.Reserve(t0), absl::ZeroDuration());
  EXPECT_EQ(bucket.Reserve(t0), absl::ZeroDuration());
  EXPECT_NEAR(absl::ToDoubleMilliseconds(bucket.Reserve(t0)), 100, 1e-6);
  EXPECT_NEAR(absl::ToDoubleMilliseconds(bucket.Reserve(t0)), 200, 1e-6);
  // 150 ms refill 1.5 tokens of the 2 owed.
  EXPECT_NEAR(absl::ToDoubleMilliseconds(bucket.Reserve(t0 + std::chrono::milliseconds(150))), 150,
              1e-6);
  // A long pause refills to the burst, not beyond.
  const auto later = t0 + std::chrono::seconds(60);
  EXPECT_EQ(bucket.Reserve(later), absl::ZeroDuration());
  EXPECT_EQ(bucket.Reserve(later), absl::ZeroDuration());
  EXPECT_GT(bucket.Reserve(later), absl::ZeroDuration());
}

TEST(WorkQueueTest, AddRateLimitedWaitsForTheTokenBucket) {
  RateLimiterOptions options = Fast();
  options.qps = 20;
  options.burst = 1;
  WorkQueue queue(options);
  const auto start = Clock::now();
  queue.AddRateLimited("ns/a");  // the burst token: 1 ms backoff
  queue.AddRateLimited("ns/b");  // waits 50 ms for a token, longer than its backoff
  ASSERT_TRUE(WaitFor([&] { return queue.Len() == 1; }));
  EXPECT_EQ(queue.Get(), "ns/a");
  ASSERT_TRUE(WaitFor([&] { return queue.Len() == 1; }));
  EXPECT_EQ(queue.Get(), "ns/b");
  EXPECT_GE(Since(start), absl::Milliseconds(50));
}

TEST(WorkQueueTest, ShutDownUnblocksWaitingGet) {
  WorkQueue queue;
  std::atomic<bool> returned{false};
  std::optional<std::string> got = "unset";
  std::thread worker([&] {
    got = queue.Get();
    returned = true;
  });
  queue.ShutDown();
  EXPECT_TRUE(WaitFor([&] { return returned.load(); }));
  worker.join();
  EXPECT_EQ(got, std::nullopt);
  EXPECT_TRUE(queue.ShuttingDown());
}

TEST(WorkQueueTest, ShutDownDropsPendingKeysAndLaterAdds) {
  WorkQueue queue;
  queue.Add("ns/in-flight");
  ASSERT_EQ(queue.Get(), "ns/in-flight");
  queue.Add("ns/a");
  queue.AddAfter("ns/b", absl::Hours(1));
  queue.AddRateLimited("ns/c");
  queue.ShutDown();
  queue.ShutDown();  // idempotent
  EXPECT_EQ(queue.Get(), std::nullopt);
  queue.Add("ns/d");
  queue.AddAfter("ns/e", absl::Milliseconds(1));
  queue.Done("ns/in-flight");
  const WorkQueue::Metrics m = queue.metrics();
  EXPECT_EQ(m.depth, 0);
  EXPECT_EQ(m.waiting, 0);
  EXPECT_EQ(m.processing, 0);
}

TEST(WorkQueueTest, MetricsCountAddsLatencyAndWork) {
  WorkQueue queue;
  queue.Add("ns/a");
  queue.Add("ns/a");
  queue.Add("ns/b");
  ASSERT_EQ(queue.Get(), "ns/a");
  WorkQueue::Metrics m = queue.metrics();
  EXPECT_EQ(m.adds, 2u);
  EXPECT_EQ(m.depth, 1);
  EXPECT_EQ(m.processing, 1);
  EXPECT_EQ(m.queue_latency.count, 1u);
  EXPECT_EQ(m.work_duration.count, 0u);

  queue.Done("ns/a");
  m = queue.metrics();
  EXPECT_EQ(m.processing, 0);
  EXPECT_EQ(m.work_duration.count, 1u);
  EXPECT_GE(m.work_duration.max, absl::ZeroDuration());
  EXPECT_EQ(m.work_duration.sum, m.work_duration.max);
}

}  // namespace
}  // namespace kube
