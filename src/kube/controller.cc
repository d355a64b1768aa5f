#include "kube/controller.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "metrics/exposition.h"
#include "spdlog/spdlog.h"

namespace kube {
namespace {

constexpr absl::string_view kTerminalUrl = "type.ringkeeper.dev/kube.Terminal";

enum class Outcome { kDone, kRequeueAfter, kError, kTerminal };

Outcome Classify(const absl::StatusOr<Result>& result) {
  if (!result.ok()) return IsTerminal(result.status()) ? Outcome::kTerminal : Outcome::kError;
  return result->requeue_after > absl::ZeroDuration() ? Outcome::kRequeueAfter : Outcome::kDone;
}

// Code and message only: Status::ToString would also dump payloads (API error bodies, our mark).
std::string ForLog(const absl::Status& s) {
  return absl::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message());
}

}  // namespace

absl::Status TerminalError(absl::Status cause) {
  if (!cause.ok()) cause.SetPayload(kTerminalUrl, absl::Cord("true"));
  return cause;
}

bool IsTerminal(const absl::Status& status) {
  return !status.ok() && status.GetPayload(kTerminalUrl).has_value();
}

Controller::Controller(std::string name, Reconciler& reconciler, WorkQueue& queue, int workers)
    : name_(std::move(name)),
      reconciler_(reconciler),
      queue_(queue),
      workers_(std::max(workers, 1)) {}

Controller::~Controller() { Stop(); }

void Controller::Start() {
  if (!threads_.empty()) return;
  spdlog::info("controller {}: starting {} workers", name_, workers_);
  for (int i = 0; i < workers_; ++i) threads_.emplace_back([this] { Work(); });
}

void Controller::Stop() {
  // Workers leave their loop when Get returns nullopt, which ShutDown makes immediate; a
  // reconcile in flight finishes first, and its requeue is then ignored by the queue.
  queue_.ShutDown();
  for (std::thread& t : threads_) t.join();
  if (!threads_.empty()) spdlog::info("controller {}: stopped", name_);
  threads_.clear();
}

void Controller::Enqueue(const ObjectKey& key) { queue_.Add(key.ToString()); }

void Controller::EnqueueAfter(const ObjectKey& key, absl::Duration delay) {
  queue_.AddAfter(key.ToString(), delay);
}

Controller::Metrics Controller::metrics() const {
  std::lock_guard<std::mutex> lock(mu_);
  return metrics_;
}

void Controller::Work() {
  while (std::optional<std::string> key = queue_.Get()) ProcessOne(*key);
}

void Controller::ProcessOne(const std::string& key) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<Result> result;
  // A throwing reconciler must not take the worker (and with it the process) down; the
  // exception becomes an ordinary, retried error.
  try {
    result = reconciler_.Reconcile(ObjectKey::FromString(key));
  } catch (const std::exception& e) {
    result = absl::InternalError(absl::StrCat("exception: ", e.what()));
  } catch (...) {
    result = absl::InternalError("exception of unknown type");
  }
  const Outcome outcome = Classify(result);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++metrics_.reconciles;
    if (outcome == Outcome::kError || outcome == Outcome::kTerminal) ++metrics_.errors;
    if (outcome == Outcome::kTerminal) ++metrics_.terminal_errors;
    metrics_.duration.Record(absl::FromChrono(std::chrono::steady_clock::now() - start));
  }
  switch (outcome) {
    case Outcome::kError:
      queue_.AddRateLimited(key);
      spdlog::warn("controller {}: reconcile {}: {} (retry {})", name_, key,
                   ForLog(result.status()), queue_.NumRequeues(key));
      break;
    case Outcome::kTerminal:
      queue_.Forget(key);
      spdlog::error("controller {}: reconcile {}: {} (terminal, not retried)", name_, key,
                    ForLog(result.status()));
      break;
    case Outcome::kRequeueAfter:
      // Forget first: a scheduled re-check is success, so the next error backs off from base.
      queue_.Forget(key);
      queue_.AddAfter(key, result->requeue_after);
      break;
    case Outcome::kDone:
      queue_.Forget(key);
      break;
  }
  // Done last: a key re-added during the reconcile is queued only now, never concurrently.
  queue_.Done(key);
}

void Controller::RenderPrometheus(std::string& out) const {
  const Controller* self = this;
  out += kube::RenderPrometheus(absl::MakeConstSpan(&self, 1));
}

namespace {

struct Snapshot {
  const std::string* controller;
  Controller::Metrics c;
  WorkQueue::Metrics q;
};

struct Sample {
  const char* suffix;
  double (*value)(const Snapshot&);
};

struct Family {
  const char* name;
  metrics::Type type;
  const char* help;
  std::vector<Sample> samples;
};

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

const std::vector<Family>& Families() {
  using metrics::Type;
  static const auto* families = new std::vector<Family>{
      {"ringkeeper_reconcile_total",
       Type::kCounter,
       "Reconcile calls, whatever their outcome.",
       {{"", [](const Snapshot& s) { return double(s.c.reconciles); }}}},
      {"ringkeeper_reconcile_errors_total",
       Type::kCounter,
       "Reconciles that failed (any error).",
       {{"", [](const Snapshot& s) { return double(s.c.errors); }}}},
      {"ringkeeper_reconcile_terminal_errors_total",
       Type::kCounter,
       "Reconciles that failed with a terminal error (not retried).",
       {{"", [](const Snapshot& s) { return double(s.c.terminal_errors); }}}},
      {"ringkeeper_reconcile_duration_seconds",
       Type::kSummary,
       "Time spent in Reconcile.",
       {{"_sum", [](const Snapshot& s) { return Seconds(s.c.duration.sum); }},
        {"_count", [](const Snapshot& s) { return double(s.c.duration.count); }}}},
      {"ringkeeper_workqueue_depth",
       Type::kGauge,
       "Keys ready and waiting for a worker.",
       {{"", [](const Snapshot& s) { return double(s.q.depth); }}}},
      {"ringkeeper_workqueue_waiting",
       Type::kGauge,
       "Keys waiting out a delay (a requeue or a backoff) before they are ready.",
       {{"", [](const Snapshot& s) { return double(s.q.waiting); }}}},
      {"ringkeeper_workqueue_processing",
       Type::kGauge,
       "Keys a worker is reconciling now.",
       {{"", [](const Snapshot& s) { return double(s.q.processing); }}}},
      {"ringkeeper_workqueue_adds_total",
       Type::kCounter,
       "Keys that entered the work queue.",
       {{"", [](const Snapshot& s) { return double(s.q.adds); }}}},
      {"ringkeeper_workqueue_retries_total",
       Type::kCounter,
       "Rate-limited (backoff) re-adds.",
       {{"", [](const Snapshot& s) { return double(s.q.retries); }}}},
      {"ringkeeper_workqueue_queue_duration_seconds",
       Type::kSummary,
       "Time a key waited in the queue before a worker took it.",
       {{"_sum", [](const Snapshot& s) { return Seconds(s.q.queue_latency.sum); }},
        {"_count", [](const Snapshot& s) { return double(s.q.queue_latency.count); }}}},
      {"ringkeeper_workqueue_work_duration_seconds",
       Type::kSummary,
       "Time from a worker taking a key to marking it done.",
       {{"_sum", [](const Snapshot& s) { return Seconds(s.q.work_duration.sum); }},
        {"_count", [](const Snapshot& s) { return double(s.q.work_duration.count); }}}},
  };
  return *families;
}

}  // namespace

std::string RenderPrometheus(absl::Span<const Controller* const> controllers) {
  // Snapshot once, so the samples of one family agree with each other.
  std::vector<Snapshot> snapshots;
  for (const Controller* c : controllers) {
    snapshots.push_back({&c->name(), c->metrics(), c->queue_metrics()});
  }
  metrics::Exposition out;
  for (const Family& f : Families()) {
    out.Declare(f.name, f.type, f.help);
    for (const Sample& sample : f.samples) {
      for (const Snapshot& s : snapshots) {
        out.Add(f.name, {{"controller", *s.controller}}, sample.value(s), sample.suffix);
      }
    }
  }
  return out.Text();
}

}  // namespace kube
