// kube::WorkQueue: the queue of reconcile keys ("ns/name") between event handlers and
// controller workers, with client-go's guarantees:
//   - a key added while queued is queued once;
//   - a key added while a worker processes it is marked dirty and queued again on Done(key),
//     so a key is never handed to two workers at once and no change is missed;
//   - AddAfter delays an add; AddRateLimited delays it by the larger of a per-key exponential
//     backoff and an overall token bucket; Forget resets the key's backoff. A delayed add of a
//     key already due (queued, or processing and marked dirty) does nothing: the pass it is
//     due for starts later than the add and reads whatever the add was for.
//
// Shutdown: ShutDown() makes every Get (waiting or later) return nullopt at once, drops keys
// still queued or waiting for their delay, and ignores later adds. Reconciles are level-based,
// so dropped keys are picked up again by the informers' initial list on the next start.
//
// Thread-safe: every method may be called from any thread. One internal timer thread moves
// delayed keys to the queue when they are due; it is joined by ShutDown() or the destructor.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kube {

using SteadyTime = std::chrono::steady_clock::time_point;

struct RateLimiterOptions {
  // Per-key backoff: base_delay * 2^failures, capped at max_delay.
  absl::Duration base_delay = absl::Milliseconds(5);
  absl::Duration max_delay = absl::Seconds(1000);
  // Overall token bucket shared by all keys; qps <= 0 turns it off.
  double qps = 10;
  int burst = 100;
};

// The per-key backoff for a key that has failed `failures` times before (pure).
absl::Duration BackoffFor(int failures, const RateLimiterOptions& options = {});

// A token bucket of `burst` tokens refilled at `qps` per second. Reserve() takes a token and
// returns how long the caller must wait for it (zero while tokens remain); reservations queue
// up, so N reservations past the burst wait N/qps. Time is passed in, so tests need no clock.
// Not synchronized: WorkQueue calls it under its lock.
class TokenBucket {
 public:
  TokenBucket(double qps, int burst);
  absl::Duration Reserve(SteadyTime now);

 private:
  double qps_;
  double burst_;
  double tokens_;  // negative when reservations are waiting for tokens
  std::optional<SteadyTime> last_;
};

// Count, sum and max of a series of durations.
struct DurationStats {
  uint64_t count = 0;
  absl::Duration sum = absl::ZeroDuration();
  absl::Duration max = absl::ZeroDuration();

  void Record(absl::Duration d);
};

class WorkQueue {
 public:
  struct Metrics {
    int64_t depth = 0;            // keys ready for a worker
    int64_t waiting = 0;          // keys waiting for a delay (AddAfter, AddRateLimited)
    int64_t processing = 0;       // keys handed out and not yet Done
    uint64_t adds = 0;            // keys that entered the queue (deduplicated adds not counted)
    uint64_t retries = 0;         // AddRateLimited calls
    DurationStats queue_latency;  // from entering the queue to Get
    DurationStats work_duration;  // from Get to Done
  };

  explicit WorkQueue(RateLimiterOptions options = {});
  ~WorkQueue();  // ShutDown()
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void Add(absl::string_view key);
  // Adds `key` once `delay` has passed (at once when delay <= 0). A key already waiting keeps
  // the earlier of its two deadlines.
  void AddAfter(absl::string_view key, absl::Duration delay);
  // AddAfter(key, max(BackoffFor(NumRequeues(key)), token bucket delay)), and counts a requeue.
  void AddRateLimited(absl::string_view key);
  // Resets the key's failure count (call when it was processed successfully).
  void Forget(absl::string_view key);
  // How many times AddRateLimited was called for `key` since the last Forget.
  int NumRequeues(absl::string_view key) const;

  // Blocks until a key is ready and returns it (the caller must call Done(key) when finished),
  // or returns nullopt once the queue is shut down.
  std::optional<std::string> Get();
  void Done(absl::string_view key);

  // See "Shutdown" above. Keys already handed out may still be Done. Safe to call twice.
  void ShutDown();
  bool ShuttingDown() const;
  // Keys ready for a worker (not counting delayed or in-flight keys).
  int64_t Len() const;
  Metrics metrics() const;

 private:
  void AddLocked(const std::string& key, SteadyTime now);
  void TimerLoop();

  const RateLimiterOptions options_;

  mutable std::mutex mu_;
  std::condition_variable ready_cv_;  // workers: a key is ready or shutdown
  std::condition_variable timer_cv_;  // timer: an earlier deadline or shutdown
  // Guarded by mu_:
  bool shutting_down_ = false;
  std::deque<std::string> queue_;                           // ready, in order
  std::unordered_map<std::string, SteadyTime> dirty_;       // needs processing -> when added
  std::unordered_map<std::string, SteadyTime> processing_;  // handed out -> when
  std::set<std::pair<SteadyTime, std::string>> waiting_;    // by deadline
  std::unordered_map<std::string, SteadyTime> waiting_deadline_;
  std::unordered_map<std::string, int> failures_;
  TokenBucket bucket_;
  Metrics metrics_;

  std::thread timer_;
};

}  // namespace kube
