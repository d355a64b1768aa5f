// leader_elect_demo: one leader-election candidate as a process, for the integration tests
// (which kill it with SIGKILL, stop it with SIGTERM, or steal its lease).
//
// Prints one line per transition on stdout, flushed at once:
//   NEW_LEADER <holder>   LEADING <identity>   STOPPED <identity>
// Logs go to stderr. Exit status: 0 after SIGTERM/SIGINT (lease released), 1 when the lease
// was lost, 2 on bad arguments or configuration.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"
#include "base/log.h"
#include "kube/config.h"
#include "kube/leader_election.h"
#include "spdlog/sinks/stdout_color_sinks.h"

namespace {

void Say(const char* what, const std::string& who) {
  std::printf("%s %s\n", what, who.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Runs one leader-election candidate on a Lease."};
  kube::LeaderElectionConfig config;
  config.lease_namespace = "default";
  int64_t lease_ms = 15000, renew_ms = 10000, retry_ms = 2000;
  std::string log_level = "info";
  app.add_option("--identity", config.identity)->required();
  app.add_option("--namespace", config.lease_namespace);
  app.add_option("--lease", config.lease_name)->required();
  app.add_option("--lease-duration-ms", lease_ms);
  app.add_option("--renew-deadline-ms", renew_ms);
  app.add_option("--retry-period-ms", retry_ms);
  app.add_option("--log-level", log_level);
  CLI11_PARSE(app, argc, argv);
  config.lease_duration = absl::Milliseconds(lease_ms);
  config.renew_deadline = absl::Milliseconds(renew_ms);
  config.retry_period = absl::Milliseconds(retry_ms);

  spdlog::set_default_logger(spdlog::stderr_color_mt("leader_elect_demo"));
  base::InitLogging(log_level);

  auto rest = kube::LoadDefaultConfig();
  if (!rest.ok()) {
    spdlog::error("kubeconfig: {}", rest.status().message());
    return 2;
  }

  // SIGTERM/SIGINT are taken by a thread with sigwait, so Stop() runs outside signal context.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const std::string identity = config.identity;
  kube::LeaderElector elector(
      *rest, config,
      {
          .on_started_leading = [&] { Say("LEADING", identity); },
          .on_stopped_leading = [&] { Say("STOPPED", identity); },
          .on_new_leader = [](const std::string& holder) { Say("NEW_LEADER", holder); },
      });
  std::thread([&elector, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    elector.Stop();
  }).detach();

  absl::Status status = elector.Run();
  if (absl::IsInvalidArgument(status)) spdlog::error("{}", status.message());
  // Exit without unwinding: the signal thread still refers to the elector.
  std::fflush(stdout);
  std::_Exit(status.ok() ? 0 : absl::IsInvalidArgument(status) ? 2 : 1);
}
