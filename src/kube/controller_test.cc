#include "kube/controller.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "base/status_macros.h"
#include "gtest/gtest.h"
#include "kube/testing/test_env.h"

namespace kube {
namespace {

using Clock = std::chrono::steady_clock;

// Polls every millisecond (queue timings are in milliseconds), up to ten seconds.
bool WaitFor(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(10)) {
  return testing::WaitFor(done, timeout, absl::Milliseconds(1));
}

// Runs `behavior` with the 0-based call number and records each call.
class FakeReconciler : public Reconciler {
 public:
  struct Call {
    ObjectKey key;
    Clock::time_point at;
    int num_requeues;  // the queue's count for the key when the call started
  };
  using Behavior = std::function<absl::StatusOr<Result>(int call)>;

  FakeReconciler(const WorkQueue& queue, Behavior behavior)
      : queue_(queue), behavior_(std::move(behavior)) {}

  absl::StatusOr<Result> Reconcile(const ObjectKey& key) override {
    int call;
    {
      std::lock_guard<std::mutex> lock(mu_);
      call = static_cast<int>(calls_.size());
      calls_.push_back({key, Clock::now(), queue_.NumRequeues(key.ToString())});
    }
    return behavior_(call);
  }

  std::vector<Call> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  const WorkQueue& queue_;
  const Behavior behavior_;
  mutable std::mutex mu_;
  std::vector<Call> calls_;
};

class ControllerTest : public ::testing::Test {
 protected:
  static RateLimiterOptions Fast() {
    RateLimiterOptions options;
    options.base_delay = absl::Milliseconds(2);
    return options;
  }

  // True once `n` keys have been marked Done: every outcome has reached the queue by then.
  bool WaitForDone(uint64_t n) {
    return WaitFor([&] { return queue_.metrics().work_duration.count >= n; });
  }

  WorkQueue queue_{Fast()};
  const ObjectKey key_{"ns", "dc1"};
};

TEST_F(ControllerTest, DoneRunsOnce) {
  FakeReconciler reconciler(queue_, [](int) { return Result{}; });
  Controller controller("test", reconciler, queue_, 2);
  controller.Start();
  controller.Enqueue(key_);
  ASSERT_TRUE(WaitForDone(1));

  ASSERT_EQ(reconciler.calls().size(), 1u);
  EXPECT_EQ(reconciler.calls()[0].key, key_);
  const WorkQueue::Metrics q = queue_.metrics();
  EXPECT_EQ(q.depth + q.waiting + q.processing, 0);
  EXPECT_EQ(controller.metrics().reconciles, 1u);
  EXPECT_EQ(controller.metrics().errors, 0u);
}

TEST_F(ControllerTest, ErrorIsRetriedWithGrowingBackoff) {
  FakeReconciler reconciler(queue_, [](int call) -> absl::StatusOr<Result> {
    if (call < 3) return absl::UnavailableError("apiserver down");
    return Result{};
  });
  Controller controller("test", reconciler, queue_, 2);
  controller.Start();
  controller.Enqueue(key_);
  ASSERT_TRUE(WaitForDone(4));

  const std::vector<FakeReconciler::Call> calls = reconciler.calls();
  ASSERT_EQ(calls.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(calls[i].num_requeues, i);
  for (int i = 0; i < 3; ++i) {
    EXPECT_GE(absl::FromChrono(calls[i + 1].at - calls[i].at), BackoffFor(i, Fast()));
  }
  EXPECT_EQ(queue_.NumRequeues(key_.ToString()), 0) << "success must Forget the failures";
  EXPECT_EQ(queue_.metrics().retries, 3u);
  EXPECT_EQ(controller.metrics().reconciles, 4u);
  EXPECT_EQ(controller.metrics().errors, 3u);
  EXPECT_EQ(controller.metrics().terminal_errors, 0u);
}

TEST_F(ControllerTest, TerminalErrorIsNotRetried) {
  FakeReconciler reconciler(queue_, [](int) -> absl::StatusOr<Result> {
    return base::Annotate(TerminalError(absl::InvalidArgumentError("bad spec")), "validate");
  });
  Controller controller("test", reconciler, queue_, 2);
  controller.Start();
  controller.Enqueue(key_);
  ASSERT_TRUE(WaitForDone(1));

  // A retry would have to pass through the queue, which is empty and saw no rate-limited add.
  const WorkQueue::Metrics q = queue_.metrics();
  EXPECT_EQ(q.retries, 0u);
  EXPECT_EQ(q.depth + q.waiting + q.processing, 0);
  EXPECT_EQ(queue_.NumRequeues(key_.ToString()), 0);
  EXPECT_EQ(reconciler.calls().size(), 1u);
  EXPECT_EQ(controller.metrics().errors, 1u);
  EXPECT_EQ(controller.metrics().terminal_errors, 1u);
}

TEST_F(ControllerTest, RequeueAfterRunsAgainAfterTheDelay) {
  FakeReconciler reconciler(
      queue_, [](int call) { return call == 0 ? Result{absl::Milliseconds(50)} : Result{}; });
  Controller controller("test", reconciler, queue_, 2);
  controller.Start();
  controller.Enqueue(key_);
  ASSERT_TRUE(WaitForDone(2));

  const std::vector<FakeReconciler::Call> calls = reconciler.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_GE(absl::FromChrono(calls[1].at - calls[0].at), absl::Milliseconds(50));
  EXPECT_EQ(calls[1].num_requeues, 0) << "a requeue_after is not a failure";
  EXPECT_EQ(queue_.metrics().retries, 0u);
  EXPECT_EQ(controller.metrics().errors, 0u);
}

TEST_F(ControllerTest, ExceptionIsCaughtAndRetried) {
  FakeReconciler reconciler(queue_, [](int call) -> absl::StatusOr<Result> {
    if (call == 0) throw std::runtime_error("boom");
    return Result{};
  });
  Controller controller("test", reconciler, queue_, 1);
  controller.Start();
  controller.Enqueue(key_);
  ASSERT_TRUE(WaitForDone(2));

  EXPECT_EQ(reconciler.calls().size(), 2u);
  EXPECT_EQ(reconciler.calls()[1].num_requeues, 1);
  EXPECT_EQ(controller.metrics().errors, 1u);
}

TEST_F(ControllerTest, StopWaitsForInFlightReconcile) {
  std::atomic<bool> started{false}, release{false}, finished{false}, stop_returned{false};
  std::atomic<bool> stop_returned_before_finish{false};
  FakeReconciler reconciler(queue_, [&](int) {
    started = true;
    WaitFor([&] { return release.load(); });
    if (stop_returned) stop_returned_before_finish = true;
    finished = true;
    return Result{};
  });
  Controller controller("test", reconciler, queue_, 2);
  controller.Start();
  controller.Enqueue(key_);
  ASSERT_TRUE(WaitFor([&] { return started.load(); }));

  std::thread stopper([&] {
    controller.Stop();
    stop_returned = true;
  });
  ASSERT_TRUE(WaitFor([&] { return queue_.ShuttingDown(); }));
  EXPECT_FALSE(WaitFor([&] { return stop_returned.load(); }, absl::Milliseconds(100)));
  release = true;
  stopper.join();

  EXPECT_TRUE(finished);
  EXPECT_FALSE(stop_returned_before_finish);
  EXPECT_EQ(queue_.metrics().work_duration.count, 1u) << "the in-flight key is marked Done";
  controller.Enqueue(key_);  // after Stop: ignored
  EXPECT_EQ(reconciler.calls().size(), 1u);
}

TEST(TerminalErrorTest, MarksWithoutChangingCodeOrMessage) {
  const absl::Status terminal = TerminalError(absl::InvalidArgumentError("bad spec"));
  EXPECT_TRUE(IsTerminal(terminal));
  EXPECT_EQ(terminal.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(terminal.message(), "bad spec");
  EXPECT_TRUE(IsTerminal(base::Annotate(terminal, "reconcile")));
  EXPECT_FALSE(IsTerminal(absl::InvalidArgumentError("bad spec")));
  EXPECT_TRUE(TerminalError(absl::OkStatus()).ok());
  EXPECT_FALSE(IsTerminal(absl::OkStatus()));
}

TEST_F(ControllerTest, RendersPrometheusText) {
  FakeReconciler reconciler(queue_, [](int) { return Result{}; });
  Controller controller("cassandra\"dc", reconciler, queue_, 1);
  controller.Start();
  controller.Enqueue(key_);
  ASSERT_TRUE(WaitForDone(1));

  std::string out;
  controller.RenderPrometheus(out);
  const std::string label = "{controller=\"cassandra\\\"dc\"} ";
  for (const std::string& line : std::vector<std::string>{
           "# TYPE ringkeeper_reconcile_total counter\n",
           "ringkeeper_reconcile_total" + label + "1\n",
           "ringkeeper_reconcile_errors_total" + label + "0\n",
           "ringkeeper_reconcile_duration_seconds_count" + label + "1\n",
           "ringkeeper_workqueue_depth" + label + "0\n",
           "ringkeeper_workqueue_waiting" + label + "0\n",
           "ringkeeper_workqueue_processing" + label + "0\n",
           "ringkeeper_workqueue_adds_total" + label + "1\n",
           "ringkeeper_workqueue_retries_total" + label + "0\n",
           "ringkeeper_workqueue_queue_duration_seconds_count" + label + "1\n",
           "# TYPE ringkeeper_workqueue_queue_duration_seconds summary\n",
       }) {
    EXPECT_NE(out.find(line), std::string::npos) << line << " not in:\n" << out;
  }
  EXPECT_NE(out.find("ringkeeper_reconcile_duration_seconds_sum" + label), std::string::npos);
}

TEST(RenderPrometheusTest, WritesEachFamilyOnceForSeveralControllers) {
  WorkQueue queue_a, queue_b;
  FakeReconciler reconciler(queue_a, [](int) { return Result{}; });
  Controller a("a", reconciler, queue_a, 1);
  Controller b("b", reconciler, queue_b, 1);
  const std::string out = RenderPrometheus({&a, &b});

  const std::string type = "# TYPE ringkeeper_reconcile_total counter\n";
  const size_t first = out.find(type);
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(out.find(type, first + 1), std::string::npos);
  EXPECT_NE(out.find("ringkeeper_reconcile_total{controller=\"a\"} 0\n"), std::string::npos);
  EXPECT_NE(out.find("ringkeeper_reconcile_total{controller=\"b\"} 0\n"), std::string::npos);
}

}  // namespace
}  // namespace kube
