// kube::Controller: worker threads that take keys from a WorkQueue, hand them to a Reconciler,
// and map each outcome to the queue in one place:
//   error                -> AddRateLimited (per-key exponential backoff), logged as a warning
//   terminal error       -> Forget, never retried, logged as an error
//   requeue_after > 0    -> Forget, then AddAfter(requeue_after)
//   done (OK, zero wait) -> Forget
// and always Done(key). An exception thrown by a reconciler is caught in the worker and counts
// as an error.
//
// Ownership: the Reconciler and the WorkQueue are borrowed and must outlive the controller;
// Stop() shuts the queue down, so a queue serves one controller.
// Threading: Start/Stop from the owning thread; Enqueue, metrics and RenderPrometheus from any
// thread. Reconcile runs on several workers at once, but never for the same key at once.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "kube/object.h"
#include "kube/workqueue.h"

namespace kube {

struct Result {
  absl::Duration requeue_after = absl::ZeroDuration();  // zero = done until the next event
};

// Level-based: reads the current state of `key` and moves the world toward the desired state.
class Reconciler {
 public:
  virtual ~Reconciler() = default;
  virtual absl::StatusOr<Result> Reconcile(const ObjectKey& key) = 0;
};

// Marks `cause` as not worth retrying (e.g. an invalid spec only a user edit can fix); the
// code and message are kept. An OK `cause` is returned unchanged.
absl::Status TerminalError(absl::Status cause);
// Whether `status` was marked by TerminalError (base::Annotate keeps the mark).
bool IsTerminal(const absl::Status& status);

class Controller {
 public:
  struct Metrics {
    uint64_t reconciles = 0;       // every Reconcile call, whatever its outcome
    uint64_t errors = 0;           // errors, terminal errors and exceptions
    uint64_t terminal_errors = 0;  // of which terminal
    DurationStats duration;        // of Reconcile calls
  };

  Controller(std::string name, Reconciler& reconciler, WorkQueue& queue, int workers);
  ~Controller();  // Stop()
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Starts the workers (at least one). Call once.
  void Start();
  // Graceful: shuts the queue down (keys not yet handed out are dropped), lets in-flight
  // reconciles finish and joins the workers. Safe to call twice.
  void Stop();

  void Enqueue(const ObjectKey& key);
  // Enqueues after `delay` unless the key is due sooner: the events of a burst (the objects
  // one pass created coming back, a controller's status updates) make one pass, not one each.
  void EnqueueAfter(const ObjectKey& key, absl::Duration delay);

  const std::string& name() const { return name_; }
  Metrics metrics() const;
  WorkQueue::Metrics queue_metrics() const { return queue_.metrics(); }
  // Appends this controller's and its queue's metrics in Prometheus text format.
  void RenderPrometheus(std::string& out) const;

 private:
  void Work();
  void ProcessOne(const std::string& key);

  const std::string name_;
  Reconciler& reconciler_;
  WorkQueue& queue_;
  const int workers_;

  mutable std::mutex mu_;  // guards metrics_
  Metrics metrics_;
  std::vector<std::thread> threads_;  // owner thread only
};

// Prometheus text exposition of several controllers, each metric family (HELP/TYPE) once with
// one sample per controller, label controller="<name>". Names: ringkeeper_reconcile_total,
// ringkeeper_reconcile_errors_total, ringkeeper_reconcile_terminal_errors_total,
// ringkeeper_reconcile_duration_seconds_{sum,count}, ringkeeper_workqueue_depth,
// ringkeeper_workqueue_waiting, ringkeeper_workqueue_processing, ringkeeper_workqueue_adds_total,
// ringkeeper_workqueue_retries_total,
// ringkeeper_workqueue_{queue,work}_duration_seconds_{sum,count}.
std::string RenderPrometheus(absl::Span<const Controller* const> controllers);

}  // namespace kube
