#include "kube/leader_election.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "kube/errors.h"
#include "kube/resource.h"

namespace kube {

namespace {

// A raced write is re-read at once, but only a few times in a row: a lease that keeps
// changing under us is someone else's.
constexpr int kMaxImmediateRetries = 3;

int64_t DurationSeconds(absl::Duration d) {
  return absl::ToInt64Seconds(absl::Ceil(d, absl::Seconds(1)));
}

// The part of a Lease that leader election reads; any change to it restarts the expiry clock.
Json RecordOf(const Object& lease) {
  Json record = Json::object();
  auto spec = lease.json().find("spec");
  if (spec == lease.json().end() || !spec->is_object()) return record;
  for (const char* field :
       {"holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime", "leaseTransitions"}) {
    auto it = spec->find(field);
    if (it != spec->end()) record[field] = *it;
  }
  return record;
}

}  // namespace

std::string FormatMicroTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

absl::Status ValidateLeaderElectionConfig(const LeaderElectionConfig& c) {
  if (c.lease_namespace.empty() || c.lease_name.empty() || c.identity.empty()) {
    return absl::InvalidArgumentError("leader election needs a lease namespace, name and identity");
  }
  if (!(c.retry_period > absl::ZeroDuration() && c.renew_deadline > c.retry_period &&
        c.lease_duration > c.renew_deadline)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "leader election needs lease_duration > renew_deadline > retry_period > 0, got ",
        absl::FormatDuration(c.lease_duration), ", ", absl::FormatDuration(c.renew_deadline), ", ",
        absl::FormatDuration(c.retry_period)));
  }
  if (c.lease_duration < absl::Seconds(1)) {
    return absl::InvalidArgumentError("leaseDurationSeconds is whole seconds: at least 1s");
  }
  return absl::OkStatus();
}

// Cuts every request off at the elector's current deadline, so no request outlives the renew
// deadline however the server or network misbehaves.
class LeaderElector::DeadlineTransport : public HttpTransport {
 public:
  DeadlineTransport(std::shared_ptr<HttpTransport> inner, absl::Duration default_timeout)
      : inner_(std::move(inner)), default_timeout_(default_timeout) {}

  void set_deadline(Clock::time_point deadline) {
    deadline_ns_.store(deadline.time_since_epoch().count());
  }

  absl::StatusOr<HttpResponse> Do(const HttpRequest& request) override {
    const Clock::time_point deadline{Clock::duration(deadline_ns_.load())};
    const absl::Duration left = absl::FromChrono(deadline - Clock::now());
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat(request.method, " ", request.path, ": leader election deadline passed"));
    }
    HttpRequest bounded = request;
    const absl::Duration base =
        request.timeout == absl::ZeroDuration() ? default_timeout_ : request.timeout;
    bounded.timeout = std::max(std::min(base, left), absl::Milliseconds(1));
    return inner_->Do(bounded);
  }

  absl::StatusOr<HttpResponse> Stream(const HttpRequest& request, const StreamSink& sink,
                                      const std::atomic<bool>* cancel) override {
    return inner_->Stream(request, sink, cancel);
  }

 private:
  const std::shared_ptr<HttpTransport> inner_;
  const absl::Duration default_timeout_;
  std::atomic<Clock::rep> deadline_ns_{Clock::time_point::max().time_since_epoch().count()};
};

namespace {

RestConfig ElectionRestConfig(RestConfig rest) {
  // 429/503 retries would sleep inside the client, past the renew deadline; the elector
  // retries on its own schedule instead.
  rest.max_retries = 0;
  return rest;
}

}  // namespace

LeaderElector::LeaderElector(const RestConfig& rest, LeaderElectionConfig config,
                             LeaderCallbacks callbacks, std::shared_ptr<HttpTransport> transport)
    : config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      transport_(std::make_shared<DeadlineTransport>(
          transport ? std::move(transport) : NewHttpTransport(ElectionRestConfig(rest)),
          rest.timeout)),
      client_(ElectionRestConfig(rest), transport_) {}

LeaderElector::~LeaderElector() { Stop(); }

void LeaderElector::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

bool LeaderElector::stopping() {
  std::lock_guard<std::mutex> lock(mu_);
  return stop_;
}

bool LeaderElector::WaitUntil(Clock::time_point until) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_until(lock, until, [this] { return stop_; });
  return stop_;
}

void LeaderElector::SetLeading(bool leading) { leading_.store(leading); }

absl::Status LeaderElector::Run() {
  RETURN_IF_ERROR(ValidateLeaderElectionConfig(config_));
  spdlog::info("leader election: {} campaigning for lease {}/{}", config_.identity,
               config_.lease_namespace, config_.lease_name);
  if (!Campaign()) return absl::OkStatus();
  return Lead();
}

bool LeaderElector::Campaign() {
  const Clock::duration retry = absl::ToChronoNanoseconds(config_.retry_period);
  int raced = 0;
  while (!stopping()) {
    const Clock::time_point start = Clock::now();
    const Outcome outcome =
        TryAcquireOrRenew(start + absl::ToChronoNanoseconds(config_.renew_deadline));
    if (outcome == Outcome::kHolding) {
      last_renew_ = start;
      return true;
    }
    if (outcome == Outcome::kRaced && ++raced <= kMaxImmediateRetries) continue;
    raced = 0;
    const Clock::time_point now = Clock::now();
    Clock::duration wait = retry;
    // Wake when the holder's lease runs out rather than up to a retry period later, so a
    // dead leader is replaced promptly.
    if (outcome == Outcome::kHeldByOther) wait = std::min(wait, TimeToExpiry(now));
    if (WaitUntil(now + std::max(wait, Clock::duration(std::chrono::milliseconds(1))))) break;
  }
  return false;
}

absl::Status LeaderElector::Lead() {
  SetLeading(true);
  spdlog::info("leader election: {} leads lease {}/{}", config_.identity, config_.lease_namespace,
               config_.lease_name);
  if (callbacks_.on_started_leading) callbacks_.on_started_leading();

  const Clock::duration retry = absl::ToChronoNanoseconds(config_.retry_period);
  const Clock::duration renew_deadline = absl::ToChronoNanoseconds(config_.renew_deadline);
  auto lost = [&](absl::string_view why) {
    SetLeading(false);
    spdlog::error("leader election: {} lost lease {}/{}: {}", config_.identity,
                  config_.lease_namespace, config_.lease_name, why);
    if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
    return absl::AbortedError(absl::StrCat("leader election: lost lease ", config_.lease_namespace,
                                           "/", config_.lease_name, ": ", why));
  };

  int raced = 0;
  Clock::time_point next = last_renew_ + retry;
  for (;;) {
    const Clock::time_point deadline = last_renew_ + renew_deadline;
    // Waking at the deadline, not after it, is what makes the loss prompt.
    if (WaitUntil(std::min(next, deadline))) break;
    const Clock::time_point start = Clock::now();
    if (start >= deadline) {
      return lost(
          absl::StrCat("not renewed within ", absl::FormatDuration(config_.renew_deadline)));
    }
    const Outcome outcome = TryAcquireOrRenew(deadline);
    const Clock::time_point now = Clock::now();
    switch (outcome) {
      case Outcome::kHolding:
        last_renew_ = start;
        raced = 0;
        next = start + retry;
        break;
      case Outcome::kHeldByOther:
        return lost(absl::StrCat("now held by ", observed_holder_));
      case Outcome::kRaced:
        next = ++raced <= kMaxImmediateRetries ? now : now + retry;
        break;
      case Outcome::kError:
        next = now + retry;
        break;
    }
  }

  Release();
  SetLeading(false);
  if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
  return absl::OkStatus();
}

LeaderElector::Clock::duration LeaderElector::TimeToExpiry(Clock::time_point now) const {
  const Clock::time_point expiry = observed_time_ + std::chrono::seconds(observed_duration_s_);
  return expiry > now ? expiry - now : Clock::duration::zero();
}

bool LeaderElector::Observe(const Object& lease, Clock::time_point now) {
  lease_ = lease;
  Json record = RecordOf(lease);
  std::string dumped = record.dump();
  if (dumped != observed_record_) {
    observed_record_ = std::move(dumped);
    observed_time_ = now;
    observed_duration_s_ = IntField(record, "leaseDurationSeconds");
    observed_holder_ = StringField(record, "holderIdentity");
    if (!observed_holder_.empty() && observed_holder_ != reported_leader_) {
      reported_leader_ = observed_holder_;
      spdlog::info("leader election: lease {}/{} is held by {}", config_.lease_namespace,
                   config_.lease_name, reported_leader_);
      if (callbacks_.on_new_leader) callbacks_.on_new_leader(reported_leader_);
    }
  }
  return !observed_holder_.empty() && observed_holder_ != config_.identity &&
         TimeToExpiry(now) > Clock::duration::zero();
}

namespace {

// Writes the election record into `lease`'s spec, keeping every other field as read.
void SetRecord(Object& lease, const std::string& holder, int64_t duration_s,
               const std::string& acquire_time, const std::string& renew_time,
               int64_t transitions) {
  Json& spec = lease.json()["spec"];
  if (!spec.is_object()) spec = Json::object();
  spec["holderIdentity"] = holder;
  spec["leaseDurationSeconds"] = duration_s;
  spec["acquireTime"] = acquire_time;
  spec["renewTime"] = renew_time;
  spec["leaseTransitions"] = transitions;
}

}  // namespace

LeaderElector::Outcome LeaderElector::TryAcquireOrRenew(Clock::time_point deadline) {
  transport_->set_deadline(deadline);
  const int64_t duration_s = DurationSeconds(config_.lease_duration);

  // Fast path: the leader rewrites the lease it last wrote. Its resourceVersion makes this
  // fail if anyone else wrote in between; then the slow path reads who.
  if (leading_.load() && lease_) {
    const Json record = RecordOf(*lease_);
    Object next = *lease_;
    SetRecord(next, config_.identity, duration_s, StringField(record, "acquireTime"),
              FormatMicroTime(absl::Now()), IntField(record, "leaseTransitions"));
    auto updated = client_.Update(resources::kLeases, next);
    if (updated.ok()) {
      Observe(*updated, Clock::now());
      return Outcome::kHolding;
    }
    spdlog::debug("leader election: renew of {}/{} failed, re-reading: {}", config_.lease_namespace,
                  config_.lease_name, updated.status().message());
  }

  auto got = client_.Get(resources::kLeases, config_.lease_namespace, config_.lease_name);
  if (!got.ok()) {
    if (!absl::IsNotFound(got.status())) {
      spdlog::warn("leader election: read lease {}/{}: {}", config_.lease_namespace,
                   config_.lease_name, got.status().message());
      return Outcome::kError;
    }
    Object lease;
    lease.set_api_version(resources::kLeases.api_version())
        .set_kind(resources::kLeases.kind)
        .set_namespace(config_.lease_namespace)
        .set_name(config_.lease_name);
    const std::string now = FormatMicroTime(absl::Now());
    SetRecord(lease, config_.identity, duration_s, now, now, 0);
    auto created = client_.Create(resources::kLeases, lease);
    if (created.ok()) {
      Observe(*created, Clock::now());
      return Outcome::kHolding;
    }
    if (absl::IsAlreadyExists(created.status())) return Outcome::kRaced;
    spdlog::warn("leader election: create lease {}/{}: {}", config_.lease_namespace,
                 config_.lease_name, created.status().message());
    return Outcome::kError;
  }

  if (Observe(*got, Clock::now())) return Outcome::kHeldByOther;

  // Ours, released, or expired: take it.
  const Json record = RecordOf(*got);
  const bool ours = StringField(record, "holderIdentity") == config_.identity;
  const std::string now = FormatMicroTime(absl::Now());
  Object next = *got;
  SetRecord(next, config_.identity, duration_s, ours ? StringField(record, "acquireTime") : now,
            now, IntField(record, "leaseTransitions") + (ours ? 0 : 1));
  auto updated = client_.Update(resources::kLeases, next);
  if (updated.ok()) {
    Observe(*updated, Clock::now());
    return Outcome::kHolding;
  }
  if (IsConflict(updated.status())) return Outcome::kRaced;
  spdlog::warn("leader election: update lease {}/{}: {}", config_.lease_namespace,
               config_.lease_name, updated.status().message());
  return Outcome::kError;
}

void LeaderElector::Release() {
  // Best effort, bounded: the process is on its way out.
  transport_->set_deadline(Clock::now() + absl::ToChronoNanoseconds(config_.renew_deadline));
  for (int attempt = 0; attempt < 2 && lease_; ++attempt) {
    const Json record = RecordOf(*lease_);
    if (StringField(record, "holderIdentity") != config_.identity) return;
    Object next = *lease_;
    const std::string now = FormatMicroTime(absl::Now());
    // A one-second lease with no holder: any candidate takes it at its next attempt.
    SetRecord(next, "", 1, now, now, IntField(record, "leaseTransitions"));
    auto updated = client_.Update(resources::kLeases, next);
    if (updated.ok()) {
      spdlog::info("leader election: {} released lease {}/{}", config_.identity,
                   config_.lease_namespace, config_.lease_name);
      lease_ = *updated;
      return;
    }
    if (!IsConflict(updated.status())) {
      spdlog::warn("leader election: release lease {}/{}: {}", config_.lease_namespace,
                   config_.lease_name, updated.status().message());
      return;
    }
    // Someone wrote since our last renewal: look again, and release only if still ours.
    auto got = client_.Get(resources::kLeases, config_.lease_namespace, config_.lease_name);
    if (!got.ok()) return;
    lease_ = *got;
  }
}

}  // namespace kube
