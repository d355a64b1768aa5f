// Leader election against a real kube-apiserver: candidates run as separate processes
// (leader_elect_demo) so a leader can be killed outright, as a crashed operator pod would be.
//
// Needs the environment of test/env/kube-env.sh (KUBECONFIG); fails without it.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/errors.h"
#include "kube/leader_election.h"
#include "kube/resource.h"
#include "kube/testing/test_env.h"

extern char** environ;

namespace kube {
namespace {

using ::kube::testing::WaitFor;

// A child process whose stdout lines are collected. Destroying it SIGKILLs and reaps it.
class Child {
 public:
  explicit Child(const std::vector<std::string>& args) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    reader_ = std::thread([this, fd = fds[0]] { Read(fd); });
  }
  ~Child() {
    Kill();
    if (reader_.joinable()) reader_.join();
  }

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  void Signal(int sig) {
    if (started() && !Reaped()) kill(pid_, sig);
  }
  void Kill() {
    Signal(SIGKILL);
    WaitExit(absl::Seconds(10));
  }

  bool HasLine(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& l : lines_) {
      if (l == line) return true;
    }
    return false;
  }
  std::string Output() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const std::string& l : lines_) absl::StrAppend(&out, l, "\n");
    return out;
  }

  // The exit status once the process has exited (-1 for death by signal).
  std::optional<int> WaitExit(absl::Duration timeout) {
    WaitFor([this] { return Reaped(); }, timeout, absl::Milliseconds(10));
    std::lock_guard<std::mutex> lock(mu_);
    return exit_status_;
  }

 private:
  bool Reaped() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started() || exit_status_) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return true;
  }

  void Read(int fd) {
    std::string partial;
    char buf[4096];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof(buf));
      if (n <= 0) break;
      partial.append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = partial.find('\n')) != std::string::npos) {
        std::lock_guard<std::mutex> lock(mu_);
        lines_.push_back(partial.substr(0, nl));
        partial.erase(0, nl + 1);
      }
    }
    close(fd);
  }

  pid_t pid_ = -1;
  std::thread reader_;
  std::mutex mu_;
  std::vector<std::string> lines_;
  std::optional<int> exit_status_;
};

struct Timing {
  int lease_ms;
  int renew_ms;
  int retry_ms;
};

class LeaderElectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = kube::testing::AdminClient();
    ns_ = kube::testing::CreateNamespace(*client_, "rk-le");
  }

  void TearDown() override {
    children_.clear();  // SIGKILL and reap every candidate first
    if (client_ && !ns_.empty()) (void)client_->Delete(resources::kNamespaces, "", ns_);
  }

  Child& StartCandidate(const std::string& identity, Timing t) {
    children_.push_back(std::make_unique<Child>(std::vector<std::string>{
        LEADER_ELECT_DEMO_PATH, "--identity", identity, "--namespace", ns_, "--lease", lease_,
        "--lease-duration-ms", std::to_string(t.lease_ms), "--renew-deadline-ms",
        std::to_string(t.renew_ms), "--retry-period-ms", std::to_string(t.retry_ms)}));
    EXPECT_TRUE(children_.back()->started()) << "cannot start " << LEADER_ELECT_DEMO_PATH;
    return *children_.back();
  }

  std::optional<Object> Lease() {
    auto lease = client_->Get(resources::kLeases, ns_, lease_);
    if (!lease.ok()) return std::nullopt;
    return *lease;
  }
  std::string Holder() {
    auto lease = Lease();
    return lease ? lease->String("/spec/holderIdentity") : "";
  }
  int64_t Transitions() {
    auto lease = Lease();
    return lease ? IntField(lease->json()["spec"], "leaseTransitions") : -1;
  }
  // Waits for the lease to be written `n` more times (renewals), so every candidate has had
  // time to observe it in its steady state.
  bool WaitForWrites(int n, absl::Duration timeout) {
    std::string last;
    int seen = -1;
    return WaitFor(
        [&] {
          auto lease = Lease();
          if (!lease) return false;
          if (lease->resource_version() != last) {
            last = lease->resource_version();
            ++seen;
          }
          return seen >= n;
        },
        timeout);
  }

  std::unique_ptr<Client> client_;
  std::string ns_;
  const std::string lease_ = "ringkeeper-leader";
  std::vector<std::unique_ptr<Child>> children_;
};

TEST_F(LeaderElectionTest, FollowerTakesOverWithinLeaseDurationWhenLeaderIsKilled) {
  const Timing t{4000, 3000, 1000};
  Child& a = StartCandidate("candidate-a", t);
  Child& b = StartCandidate("candidate-b", t);

  std::string leader;
  ASSERT_TRUE(WaitFor([&] { return !(leader = Holder()).empty(); }, absl::Seconds(15)))
      << "nobody took the lease";
  ASSERT_TRUE(leader == "candidate-a" || leader == "candidate-b") << leader;
  Child& leading = leader == "candidate-a" ? a : b;
  Child& following = leader == "candidate-a" ? b : a;
  const std::string follower = leader == "candidate-a" ? "candidate-b" : "candidate-a";
  ASSERT_TRUE(WaitFor([&] { return leading.HasLine("LEADING " + leader); }, absl::Seconds(5)));
  ASSERT_TRUE(WaitFor([&] { return following.HasLine("NEW_LEADER " + leader); }, absl::Seconds(5)))
      << following.Output();
  ASSERT_TRUE(WaitForWrites(3, absl::Seconds(10))) << "the leader does not renew";
  EXPECT_FALSE(following.HasLine("LEADING " + follower));
  const int64_t transitions = Transitions();

  leading.Signal(SIGKILL);
  const absl::Time killed = absl::Now();
  const absl::Duration lease_duration = absl::Milliseconds(t.lease_ms);
  const absl::Duration retry = absl::Milliseconds(t.retry_ms);
  ASSERT_TRUE(WaitFor([&] { return Holder() == follower; }, lease_duration + retry * 5,
                      absl::Milliseconds(10)))
      << "no takeover; holder " << Holder() << "\n"
      << following.Output();
  const absl::Duration handover = absl::Now() - killed;
  std::printf("handover after SIGKILL: %s (lease %s, retry %s)\n",
              absl::FormatDuration(handover).c_str(), absl::FormatDuration(lease_duration).c_str(),
              absl::FormatDuration(retry).c_str());
  std::fflush(stdout);

  // Not before the lease ran out as the follower saw it (its last view of a renewal is at most
  // a retry period older than the kill)...
  EXPECT_GE(handover, lease_duration - retry - absl::Milliseconds(100));
  // ...and at most a retry period after it. The small margin covers this test's own polling
  // and request latency, not the elector.
  EXPECT_LE(handover, lease_duration + retry + absl::Milliseconds(200));
  EXPECT_GT(Transitions(), transitions);
  EXPECT_TRUE(WaitFor([&] { return following.HasLine("LEADING " + follower); }, absl::Seconds(2)))
      << following.Output();
  EXPECT_EQ(leading.WaitExit(absl::Seconds(5)), -1);  // died by the signal
}

TEST_F(LeaderElectionTest, GracefulStopReleasesTheLeaseForAPromptHandover) {
  // A long lease, so a handover that waited for expiry could not pass.
  const Timing t{15000, 10000, 1000};
  Child& a = StartCandidate("candidate-a", t);
  Child& b = StartCandidate("candidate-b", t);

  std::string leader;
  ASSERT_TRUE(WaitFor([&] { return !(leader = Holder()).empty(); }, absl::Seconds(15)));
  Child& leading = leader == "candidate-a" ? a : b;
  Child& following = leader == "candidate-a" ? b : a;
  const std::string follower = leader == "candidate-a" ? "candidate-b" : "candidate-a";
  ASSERT_TRUE(WaitFor([&] { return following.HasLine("NEW_LEADER " + leader); }, absl::Seconds(5)))
      << following.Output();
  const int64_t transitions = Transitions();

  leading.Signal(SIGTERM);
  const absl::Time stopped = absl::Now();
  ASSERT_TRUE(
      WaitFor([&] { return Holder() == follower; }, absl::Seconds(10), absl::Milliseconds(10)))
      << "holder " << Holder();
  const absl::Duration handover = absl::Now() - stopped;
  std::printf("handover after graceful stop: %s (lease 15s)\n",
              absl::FormatDuration(handover).c_str());
  std::fflush(stdout);

  // Release, then the follower's next attempt: about one retry period, far below the lease.
  EXPECT_LE(handover, absl::Milliseconds(t.retry_ms) + absl::Seconds(1));
  EXPECT_EQ(leading.WaitExit(absl::Seconds(5)), 0);
  EXPECT_TRUE(leading.HasLine("STOPPED " + leader)) << leading.Output();
  EXPECT_GT(Transitions(), transitions);
}

TEST_F(LeaderElectionTest, LeaderWhoseLeaseIsTakenStopsLeading) {
  const Timing t{4000, 3000, 1000};
  Child& a = StartCandidate("candidate-a", t);
  ASSERT_TRUE(WaitFor([&] { return a.HasLine("LEADING candidate-a"); }, absl::Seconds(15)))
      << a.Output();

  // Take the lease by force, as another operator instance would after a partition.
  bool stolen = WaitFor(
      [&] {
        auto lease = Lease();
        if (!lease) return false;
        Json& spec = lease->json()["spec"];
        const std::string now = FormatMicroTime(absl::Now());
        spec["holderIdentity"] = "intruder";
        spec["leaseDurationSeconds"] = 3600;
        spec["acquireTime"] = now;
        spec["renewTime"] = now;
        spec["leaseTransitions"] = IntField(spec, "leaseTransitions") + 1;
        return client_->Update(resources::kLeases, *lease).ok();  // a 409 races a renewal
      },
      absl::Seconds(10));
  ASSERT_TRUE(stolen);
  const absl::Time taken = absl::Now();

  // The next renewal (a retry period away) sees the other holder.
  ASSERT_TRUE(WaitFor([&] { return a.HasLine("STOPPED candidate-a"); },
                      absl::Milliseconds(t.renew_ms) + absl::Seconds(1)))
      << a.Output();
  std::printf("lost leadership %s after the lease was taken\n",
              absl::FormatDuration(absl::Now() - taken).c_str());
  EXPECT_EQ(a.WaitExit(absl::Seconds(5)), 1);
  EXPECT_EQ(Holder(), "intruder");  // and it did not write the lease back
}

// In process: IsLeader(), the callbacks, and what a release leaves in the Lease.
TEST_F(LeaderElectionTest, InProcessElectorLeadsAndReleasesOnStop) {
  const RestConfig& rest = client_->config();
  LeaderElectionConfig config{
      ns_, lease_, "in-process", absl::Seconds(4), absl::Seconds(3), absl::Seconds(1)};
  std::atomic<int> started{0}, stopped{0};
  std::mutex mu;
  std::vector<std::string> leaders;
  LeaderElector elector(rest, config,
                        {.on_started_leading = [&] { ++started; },
                         .on_stopped_leading = [&] { ++stopped; },
                         .on_new_leader =
                             [&](const std::string& who) {
                               std::lock_guard<std::mutex> lock(mu);
                               leaders.push_back(who);
                             }});
  absl::Status result = absl::UnknownError("not run");
  std::thread runner([&] { result = elector.Run(); });

  EXPECT_TRUE(WaitFor([&] { return elector.IsLeader(); }, absl::Seconds(10)));
  EXPECT_EQ(started.load(), 1);
  EXPECT_EQ(Holder(), "in-process");
  EXPECT_TRUE(WaitForWrites(2, absl::Seconds(5))) << "no renewals";
  EXPECT_TRUE(elector.IsLeader());

  elector.Stop();
  runner.join();
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_FALSE(elector.IsLeader());
  EXPECT_EQ(stopped.load(), 1);
  auto lease = Lease();
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->String("/spec/holderIdentity"), "");
  EXPECT_EQ(IntField(lease->json()["spec"], "leaseDurationSeconds"), 1);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(leaders, std::vector<std::string>{"in-process"});
}

TEST_F(LeaderElectionTest, StopWhileWaitingReturnsPromptlyWithoutLeading) {
  Object lease;
  lease.set_api_version("coordination.k8s.io/v1")
      .set_kind("Lease")
      .set_namespace(ns_)
      .set_name(lease_);
  const std::string now = FormatMicroTime(absl::Now());
  lease.json()["spec"] = {{"holderIdentity", "someone-else"},
                          {"leaseDurationSeconds", 3600},
                          {"acquireTime", now},
                          {"renewTime", now},
                          {"leaseTransitions", 0}};
  ASSERT_TRUE(client_->Create(resources::kLeases, lease).ok());

  std::atomic<bool> saw_other{false}, started{false};
  LeaderElector elector(
      client_->config(),
      {ns_, lease_, "waiting", absl::Seconds(15), absl::Seconds(10), absl::Seconds(2)},
      {.on_started_leading = [&] { started = true; },
       .on_stopped_leading = nullptr,
       .on_new_leader =
           [&](const std::string& who) {
             if (who == "someone-else") saw_other = true;
           }});
  absl::Status result = absl::UnknownError("not run");
  std::thread runner([&] { result = elector.Run(); });
  EXPECT_TRUE(WaitFor([&] { return saw_other.load(); }, absl::Seconds(5)));

  const absl::Time stop = absl::Now();
  elector.Stop();
  runner.join();
  EXPECT_LT(absl::Now() - stop, absl::Milliseconds(500));  // not a retry period
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_FALSE(started.load());
  EXPECT_EQ(Holder(), "someone-else");
}

TEST(LeaderElectionConfigTest, RejectsInconsistentDurations) {
  LeaderElectionConfig c{"ns", "lease", "me"};
  EXPECT_TRUE(ValidateLeaderElectionConfig(c).ok());
  c.renew_deadline = c.lease_duration;
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateLeaderElectionConfig(c)));
  c = {"ns", "lease", ""};
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateLeaderElectionConfig(c)));
  EXPECT_EQ(FormatMicroTime(absl::FromUnixMicros(1136214245000001)), "2006-01-02T15:04:05.000001Z");
}

}  // namespace
}  // namespace kube
