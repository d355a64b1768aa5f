// kube::LeaderElector: leader election on a coordination.k8s.io/v1 Lease, with client-go's
// semantics, so that of several operator replicas exactly one reconciles at a time.
//
// A candidate takes the lease when it is absent (create), already ours, released (empty
// holderIdentity), or expired. Expiry is judged by the local monotonic time at which this
// candidate last saw the lease record change, plus the record's leaseDurationSeconds: no two
// clocks are ever compared, so clock skew between replicas does not matter. Every write is an
// Update carrying the resourceVersion that was read, so when two candidates race the loser
// gets a 409 and stays a follower.
//
// The leader renews every retry_period. If it cannot renew successfully within renew_deadline
// of its last successful renewal, or it sees another holder, it has lost: on_stopped_leading
// runs at once and Run returns. Requests are cut off at the renew deadline, so a hung API
// server cannot stretch it. Because renew_deadline < lease_duration, a leader always stops
// before any other candidate may consider the lease expired.
//
// Threading: Run() blocks its calling thread and runs the callbacks on it, one at a time; they
// must return quickly (start work elsewhere). Stop() and IsLeader() may be called from any
// thread. One elector runs once: call Run() at most once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/http.h"
#include "kube/object.h"

namespace kube {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;  // unique per candidate, e.g. the pod name
  // How long followers wait after the last renewal they saw before taking over.
  absl::Duration lease_duration = absl::Seconds(15);
  // How long the leader keeps trying to renew before giving up. < lease_duration.
  absl::Duration renew_deadline = absl::Seconds(10);
  // Interval between attempts, leader and followers alike. < renew_deadline.
  absl::Duration retry_period = absl::Seconds(2);
};

struct LeaderCallbacks {
  std::function<void()> on_started_leading;
  // Called once when leadership ends: lost (the process should exit at once) or released by
  // Stop().
  std::function<void()> on_stopped_leading;
  // Called when the observed holder changes to a non-empty identity (ours included).
  std::function<void(const std::string& identity)> on_new_leader;
};

// The MicroTime text Kubernetes uses in Leases: "2006-01-02T15:04:05.000000Z".
std::string FormatMicroTime(absl::Time t);

// InvalidArgument unless names are set and lease_duration > renew_deadline > retry_period > 0.
absl::Status ValidateLeaderElectionConfig(const LeaderElectionConfig& config);

class LeaderElector {
 public:
  // Builds its own Client on `rest` (with `transport`, or NewHttpTransport when null) so that it
  // can bound each request by the renew deadline and does no hidden 429/503 retry sleeps.
  LeaderElector(const RestConfig& rest, LeaderElectionConfig config, LeaderCallbacks callbacks,
                std::shared_ptr<HttpTransport> transport = nullptr);
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Campaigns, leads and renews until the lease is lost or Stop() is called. Returns:
  //   OK               after Stop() (a held lease was released first, best effort);
  //   Aborted          leadership was lost (on_stopped_leading has run);
  //   InvalidArgument  a bad config (nothing was done).
  absl::Status Run();

  // Asks Run() to return; a leader releases the lease (holderIdentity cleared,
  // leaseDurationSeconds 1) so a successor takes over at its next attempt. Does not wait.
  void Stop();

  bool IsLeader() const { return leading_.load(); }

 private:
  using Clock = std::chrono::steady_clock;
  class DeadlineTransport;

  enum class Outcome {
    kHolding,      // the lease is ours (acquired or renewed)
    kHeldByOther,  // another live holder
    kRaced,        // 409 / AlreadyExists: the record changed under us; read it again
    kError,        // the API failed; try again later
  };

  bool Campaign();      // true once leading, false when stopped first
  absl::Status Lead();  // returns when lost (Aborted) or stopped (OK)
  Outcome TryAcquireOrRenew(Clock::time_point deadline);
  // Notes a lease read or written at `now`; true when another holder's lease is still valid.
  bool Observe(const Object& lease, Clock::time_point now);
  void Release();
  // Waits until `until` or Stop(); true when stopped.
  bool WaitUntil(Clock::time_point until);
  bool stopping();
  Clock::duration TimeToExpiry(Clock::time_point now) const;
  void SetLeading(bool leading);

  const LeaderElectionConfig config_;
  const LeaderCallbacks callbacks_;
  std::shared_ptr<DeadlineTransport> transport_;
  Client client_;

  // Run()'s thread only.
  std::optional<Object> lease_;      // the last lease read or written
  std::string observed_record_;      // the record part of lease_, to notice changes
  Clock::time_point observed_time_;  // local time that record was first seen
  int64_t observed_duration_s_ = 0;
  std::string observed_holder_;
  std::string reported_leader_;
  Clock::time_point last_renew_;  // start of the last successful acquire/renew attempt

  std::atomic<bool> leading_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
};

}  // namespace kube
