#include "base/stop_signals.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "gtest/gtest.h"

namespace base {
namespace {

// Signals sent to the whole process, as kubelet and Ctrl-C do, reach on_signal on a normal
// thread; the process survives them (they are blocked everywhere else).
TEST(StopSignalsTest, ProcessSignalsReachTheCallbackAndTheProcessSurvives) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> seen;
  {
    StopSignals signals([&](int signal) {
      std::lock_guard<std::mutex> lock(mu);  // not allowed in a handler; fine here
      seen.push_back(signal);
      cv.notify_all();
    });
    // A thread started after the constructor inherits the mask: a signal cannot land there.
    std::thread([] { kill(getpid(), SIGTERM); }).join();
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return seen.size() == 1; }));
    kill(getpid(), SIGINT);  // after the first is taken: two pending ones come lowest first
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return seen.size() == 2; }));
  }
  EXPECT_EQ(seen, (std::vector<int>{SIGTERM, SIGINT}));
}

TEST(StopSignalsTest, DestructorJoinsWithoutCallingBackAndRestoresTheMask) {
  int calls = 0;
  {
    StopSignals signals([&](int) { ++calls; });
  }
  EXPECT_EQ(calls, 0);
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  EXPECT_FALSE(sigismember(&mask, SIGTERM));
  EXPECT_FALSE(sigismember(&mask, SIGINT));
}

}  // namespace
}  // namespace base
