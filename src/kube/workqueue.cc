#include "kube/workqueue.h"

#include <algorithm>
#include <cmath>

namespace kube {
namespace {

absl::Duration Since(SteadyTime start, SteadyTime now) { return absl::FromChrono(now - start); }

}  // namespace

absl::Duration BackoffFor(int failures, const RateLimiterOptions& options) {
  // Past 2^62 the product overflows; any such exponent is far beyond a sane cap anyway.
  if (failures >= 62) return options.max_delay;
  return std::min(options.base_delay * std::ldexp(1.0, std::max(failures, 0)), options.max_delay);
}

TokenBucket::TokenBucket(double qps, int burst)
    : qps_(qps), burst_(std::max(burst, 1)), tokens_(burst_) {}

absl::Duration TokenBucket::Reserve(SteadyTime now) {
  if (qps_ <= 0) return absl::ZeroDuration();  // no overall limit
  if (last_.has_value() && now > *last_) {
    tokens_ = std::min(burst_, tokens_ + absl::ToDoubleSeconds(Since(*last_, now)) * qps_);
  }
  if (!last_.has_value() || now > *last_) last_ = now;
  tokens_ -= 1;
  // A negative balance is the queue of earlier reservations this one waits behind.
  return tokens_ >= 0 ? absl::ZeroDuration() : absl::Seconds(-tokens_ / qps_);
}

void DurationStats::Record(absl::Duration d) {
  ++count;
  sum += d;
  max = std::max(max, d);
}

WorkQueue::WorkQueue(RateLimiterOptions options)
    : options_(options), bucket_(options.qps, options.burst), timer_([this] { TimerLoop(); }) {}

WorkQueue::~WorkQueue() { ShutDown(); }

void WorkQueue::Add(absl::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  AddLocked(std::string(key), std::chrono::steady_clock::now());
}

void WorkQueue::AddLocked(const std::string& key, SteadyTime now) {
  if (shutting_down_) return;
  // Dirty means "will be processed again"; a second add has nothing to add.
  if (!dirty_.emplace(key, now).second) return;
  ++metrics_.adds;
  // In flight: Done() queues it, so the key never reaches a second worker.
  if (processing_.count(key) > 0) return;
  queue_.push_back(key);
  ready_cv_.notify_one();
}

void WorkQueue::AddAfter(absl::string_view key, absl::Duration delay) {
  std::lock_guard<std::mutex> lock(mu_);
  const SteadyTime now = std::chrono::steady_clock::now();
  if (delay <= absl::ZeroDuration()) {
    AddLocked(std::string(key), now);
    return;
  }
  if (shutting_down_) return;
  if (dirty_.count(std::string(key)) > 0) return;  // due already, sooner than this
  const SteadyTime deadline = now + absl::ToChronoNanoseconds(delay);
  auto [it, inserted] = waiting_deadline_.emplace(std::string(key), deadline);
  if (!inserted) {
    if (it->second <= deadline) return;
    waiting_.erase({it->second, it->first});
    it->second = deadline;
  }
  // Only a new earliest deadline changes how long the timer must sleep.
  const bool earliest = waiting_.empty() || deadline < waiting_.begin()->first;
  waiting_.emplace(deadline, it->first);
  if (earliest) timer_cv_.notify_one();
}

void WorkQueue::AddRateLimited(absl::string_view key) {
  absl::Duration delay;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutting_down_) return;
    ++metrics_.retries;
    const int failures = failures_[std::string(key)]++;
    delay =
        std::max(BackoffFor(failures, options_), bucket_.Reserve(std::chrono::steady_clock::now()));
  }
  AddAfter(key, delay);
}

void WorkQueue::Forget(absl::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(std::string(key));
}

int WorkQueue::NumRequeues(absl::string_view key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(std::string(key));
  return it == failures_.end() ? 0 : it->second;
}

std::optional<std::string> WorkQueue::Get() {
  std::unique_lock<std::mutex> lock(mu_);
  ready_cv_.wait(lock, [this] { return shutting_down_ || !queue_.empty(); });
  if (shutting_down_) return std::nullopt;
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  const SteadyTime now = std::chrono::steady_clock::now();
  auto dirty = dirty_.find(key);
  metrics_.queue_latency.Record(Since(dirty->second, now));
  dirty_.erase(dirty);
  processing_[key] = now;
  return key;
}

void WorkQueue::Done(absl::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = processing_.find(std::string(key));
  if (it == processing_.end()) return;  // not handed out: a caller bug, but harmless
  metrics_.work_duration.Record(Since(it->second, std::chrono::steady_clock::now()));
  processing_.erase(it);
  // Added again while in flight: its turn comes now.
  if (!shutting_down_ && dirty_.count(std::string(key)) > 0) {
    queue_.emplace_back(key);
    ready_cv_.notify_one();
  }
}

void WorkQueue::ShutDown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Only the first call joins the timer, so concurrent calls never join one thread twice.
    if (shutting_down_) return;
    shutting_down_ = true;
    queue_.clear();
    dirty_.clear();
    waiting_.clear();
    waiting_deadline_.clear();
  }
  ready_cv_.notify_all();
  timer_cv_.notify_all();
  // The timer thread never calls ShutDown, so this is never a self-join.
  timer_.join();
}

bool WorkQueue::ShuttingDown() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutting_down_;
}

int64_t WorkQueue::Len() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(queue_.size());
}

WorkQueue::Metrics WorkQueue::metrics() const {
  std::lock_guard<std::mutex> lock(mu_);
  Metrics m = metrics_;
  m.depth = static_cast<int64_t>(queue_.size());
  m.waiting = static_cast<int64_t>(waiting_.size());
  m.processing = static_cast<int64_t>(processing_.size());
  return m;
}

void WorkQueue::TimerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!shutting_down_) {
    if (waiting_.empty()) {
      timer_cv_.wait(lock);
      continue;
    }
    const SteadyTime now = std::chrono::steady_clock::now();
    if (waiting_.begin()->first > now) {
      timer_cv_.wait_until(lock, waiting_.begin()->first);
      continue;
    }
    std::string key = waiting_.begin()->second;
    waiting_.erase(waiting_.begin());
    waiting_deadline_.erase(key);
    AddLocked(key, now);
  }
}

}  // namespace kube
