// ringkeeper-operator: watches Clusters and what they own, reconciles them while it holds the
// leader Lease, serves /metrics (metrics port) and /healthz, /readyz (health port).
// Wiring only: the decisions live in reconciler.cc and operations.cc.
#include <openssl/rand.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/log.h"
#include "base/stop_signals.h"
#include "httplib.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/controller.h"
#include "kube/event_recorder.h"
#include "kube/informer.h"
#include "kube/leader_election.h"
#include "kube/resource.h"
#include "kube/workqueue.h"
#include "metrics/exposition.h"
#include "operator/cluster_spec.h"
#include "operator/reconciler.h"
#include "operator/seams_real.h"

namespace {

namespace res = kube::resources;

// Counts the requests this process makes to the API server, by verb, for /metrics (a pass
// that changes nothing must show no writes).
class CountingTransport : public kube::HttpTransport {
 public:
  static constexpr char kRequests[] = "ringkeeper_kube_requests_total";

  explicit CountingTransport(std::shared_ptr<kube::HttpTransport> inner)
      : inner_(std::move(inner)) {}
  absl::StatusOr<kube::HttpResponse> Do(const kube::HttpRequest& request) override {
    Count(absl::StrContains(request.path, "watch=") ? "WATCH" : request.method);
    return inner_->Do(request);
  }
  absl::StatusOr<kube::HttpResponse> Stream(const kube::HttpRequest& request,
                                            const kube::StreamSink& sink,
                                            const std::atomic<bool>* cancel) override {
    Count("WATCH");
    return inner_->Stream(request, sink, cancel);
  }
  std::string RenderPrometheus() const {
    metrics::Exposition out;
    out.Declare(kRequests, metrics::Type::kCounter, "Requests to the API server by verb.");
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [verb, n] : counts_) out.Add(kRequests, {{"verb", verb}}, double(n));
    return out.Text();
  }

 private:
  void Count(const std::string& verb) {
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_[verb];
  }
  std::shared_ptr<kube::HttpTransport> inner_;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> counts_;
};

// Enqueues the Cluster an object belongs to (its cassandra.rook.io/cluster label).
kube::ResourceEventHandler EnqueueClusterOf(std::function<void(const kube::ObjectKey&)> enqueue) {
  auto map = [enqueue = std::move(enqueue)](const kube::Object& o) {
    if (auto cluster = o.label(ringkeeper::kLabelCluster)) enqueue({o.ns(), *cluster});
  };
  return {map, [map](const kube::Object&, const kube::Object& o) { map(o); }, map};
}

int64_t ResidentBytes() {
  std::ifstream in("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// The leader gauge and the process' own.
std::string RenderProcessMetrics(bool leading) {
  metrics::Exposition out;
  out.Declare("ringkeeper_leader", metrics::Type::kGauge, "1 while this process holds the Lease.");
  out.Add("ringkeeper_leader", {}, leading ? 1 : 0);
  out.Declare("process_resident_memory_bytes", metrics::Type::kGauge);
  out.Add("process_resident_memory_bytes", {}, double(ResidentBytes()));
  out.Declare("process_cpu_seconds_total", metrics::Type::kCounter);
  out.Add("process_cpu_seconds_total", {}, CpuSeconds());
  return out.Text();
}

// httplib's stop() does nothing before listen() has bound its socket (a stop signal can come that
// early): wait for the server to run, or for listen() to have given up, then stop it.
void StopServer(httplib::Server& server, const std::atomic<bool>& listen_returned) {
  while (!server.is_running() && !listen_returned) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  server.stop();
}

// The informers of the kinds the operator owns, each filling the Caches member named beside
// it: adding a kind is one line here and one member in Caches, and cannot shift the others.
struct OwnedKind {
  const kube::Resource* resource;
  const kube::Store* ringkeeper::Caches::*cache;
};
constexpr OwnedKind kOwnedKinds[] = {
    {&res::kStatefulSets, &ringkeeper::Caches::statefulsets},
    {&res::kServices, &ringkeeper::Caches::services},
    {&res::kPods, &ringkeeper::Caches::pods},
    {&res::kConfigMaps, &ringkeeper::Caches::configmaps},
    {&res::kPersistentVolumeClaims, &ringkeeper::Caches::pvcs},
    {&res::kPodDisruptionBudgets, &ringkeeper::Caches::pdbs},
};

// What a stop signal does, from the signal thread: remember the stop, and stop the leader
// elector if there is one (Run then releases the lease and returns). main creates the elector
// only through Elect, so a signal that comes first means no campaign at all.
class Stopper {
 public:
  void Stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    if (elector_) elector_->Stop();
  }
  bool stopped() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stopped_;
  }
  // The elector `make` builds, kept to be stopped; null when a stop came first.
  kube::LeaderElector* Elect(const std::function<std::unique_ptr<kube::LeaderElector>()>& make) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopped_) elector_ = make();
    return elector_.get();
  }

 private:
  mutable std::mutex mu_;
  bool stopped_ = false;
  std::unique_ptr<kube::LeaderElector> elector_;
};

}  // namespace

int main(int argc, char** argv) {
  // First, before any thread exists, so that every thread inherits the blocked signals.
  Stopper stopper;
  base::StopSignals signals([&stopper](int signal) {
    spdlog::info("signal {}: stopping", signal);
    stopper.Stop();
  });

  CLI::App app{"ringkeeper-operator: runs Cassandra clusters on Kubernetes"};
  std::string kubeconfig, watch_namespace, lease_namespace, lease_name = "ringkeeper-operator";
  std::string identity, log_level = "info", agent_image = "ringkeeper/ringkeeper-agent:dev";
  bool leader_elect = true;
  int metrics_port = 8080, health_port = 8081, workers = 2;
  double resync_seconds = 15, lease_seconds = 10, renew_seconds = 7, retry_seconds = 2;
  app.add_option("--kubeconfig", kubeconfig, "kubeconfig (default: $KUBECONFIG or in-cluster)");
  app.add_option("--namespace", watch_namespace, "watch only this namespace (default: all)");
  app.add_option("--leader-elect", leader_elect, "hold a Lease before reconciling");
  app.add_option("--lease-namespace", lease_namespace, "the Lease's namespace");
  app.add_option("--lease-name", lease_name, "the Lease's name");
  app.add_option("--lease-duration", lease_seconds, "seconds a follower waits on a silent leader");
  app.add_option("--renew-deadline", renew_seconds, "seconds the leader tries to renew");
  app.add_option("--retry-period", retry_seconds, "seconds between attempts");
  app.add_option("--identity", identity, "this candidate's name (default: $POD_NAME, hostname)");
  app.add_option("--metrics-port", metrics_port, "port of /metrics");
  app.add_option("--health-port", health_port, "port of /healthz and /readyz");
  app.add_option("--workers", workers, "clusters reconciled at once");
  app.add_option("--resync", resync_seconds, "seconds between polls of a quiet cluster's nodes");
  app.add_option("--default-agent-image", agent_image,
                 "agent image when a Cluster has no sidecarImage");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  CLI11_PARSE(app, argc, argv);
  base::InitLogging(log_level);

  absl::StatusOr<kube::RestConfig> rest =
      kubeconfig.empty() ? kube::LoadDefaultConfig() : kube::LoadKubeconfig(kubeconfig);
  if (!rest.ok()) {
    spdlog::error("kubernetes config: {}", rest.status().message());
    return 1;
  }
  rest->user_agent = "ringkeeper-operator";
  if (identity.empty()) {
    if (const char* pod = std::getenv("POD_NAME")) identity = pod;
    if (identity.empty()) {
      char host[256] = {0};
      gethostname(host, sizeof(host) - 1);
      identity = host;
    }
    // Unique per process (as client-go): a restarted container must not take over the lease of
    // the process it replaces as if it were that process; it waits for the lease to expire.
    unsigned char random[4];
    RAND_bytes(random, sizeof(random));
    absl::StrAppendFormat(&identity, "_%02x%02x%02x%02x", random[0], random[1], random[2],
                          random[3]);
  }
  if (lease_namespace.empty()) lease_namespace = rest->ns;

  auto counting = std::make_shared<CountingTransport>(kube::NewCurlTransport(*rest));
  kube::Client client(*rest, counting);
  kube::EventRecorderOptions event_options;
  event_options.instance = identity;
  kube::EventRecorder events(client, event_options);

  // Informers: the Clusters, and the objects the operator owns (by their managed-by label).
  kube::InformerOptions owned;
  owned.ns = watch_namespace;
  owned.label_selector = absl::StrCat(ringkeeper::kLabelManagedBy, "=ringkeeper");
  kube::InformerOptions all;
  all.ns = watch_namespace;
  kube::Informer clusters(client, ringkeeper::kClusters, all);
  ringkeeper::Caches caches;
  caches.clusters = &clusters.store();
  std::vector<std::unique_ptr<kube::Informer>> children;
  for (const OwnedKind& kind : kOwnedKinds) {
    children.push_back(std::make_unique<kube::Informer>(client, *kind.resource, owned));
    caches.*kind.cache = &children.back()->store();
  }
  ringkeeper::ReconcilerOptions options;
  options.defaults.agent_image = agent_image;
  options.resync = absl::Seconds(resync_seconds);
  ringkeeper::KubeObjects objects(client, "ringkeeper-operator");
  ringkeeper::RecorderEvents event_sink(events);
  ringkeeper::HttpNodeAgents agents;
  ringkeeper::CqlClientSessions cql;
  ringkeeper::SystemClock clock;
  ringkeeper::ClusterMetrics cluster_metrics;
  options.metrics = &cluster_metrics;
  ringkeeper::ClusterReconciler reconciler(
      {&objects, &objects, &objects, &event_sink, &agents, &cql, &clock}, caches, options);
  kube::WorkQueue queue;
  kube::Controller controller("cluster", reconciler, queue, workers);
  auto enqueue = [&controller](const kube::ObjectKey& key) { controller.Enqueue(key); };
  clusters.AddHandler(kube::EnqueueSelf(enqueue));
  for (auto& informer : children) informer->AddHandler(EnqueueClusterOf(enqueue));

  std::atomic<bool> leading{false};
  std::atomic<bool> synced{false};

  // /metrics and /healthz, /readyz.
  httplib::Server metrics_server, health_server;
  metrics_server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    // Each part writes its own families, so their texts concatenate into one exposition.
    const kube::Controller* controllers[] = {&controller};
    std::string out = kube::RenderPrometheus(controllers);
    out += cluster_metrics.RenderPrometheus();
    out += counting->RenderPrometheus();
    out += RenderProcessMetrics(leading.load());
    res.set_content(out, "text/plain; version=0.0.4");
  });
  health_server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  health_server.Get("/readyz", [&](const httplib::Request&, httplib::Response& res) {
    if (!synced.load()) {
      res.status = 503;
      res.set_content("caches not synced\n", "text/plain");
      return;
    }
    res.set_content(leading.load() ? "ok (leader)\n" : "ok (standby)\n", "text/plain");
  });
  std::atomic<bool> metrics_returned{false}, health_returned{false};
  std::thread metrics_thread([&] {
    if (!metrics_server.listen("0.0.0.0", metrics_port)) {
      spdlog::error("metrics: cannot listen on port {}", metrics_port);
    }
    metrics_returned = true;
  });
  std::thread health_thread([&] {
    if (!health_server.listen("0.0.0.0", health_port)) {
      spdlog::error("health: cannot listen on port {}", health_port);
    }
    health_returned = true;
  });

  clusters.Start();
  for (auto& informer : children) informer->Start();
  // Every cache's first list within 2 minutes; a stop signal ends the wait early.
  auto all_synced = [&] {
    if (!clusters.HasSynced()) return false;
    for (const auto& informer : children) {
      if (!informer->HasSynced()) return false;
    }
    return true;
  };
  const absl::Time sync_deadline = absl::Now() + absl::Minutes(2);
  while (!all_synced() && !stopper.stopped() && absl::Now() < sync_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  auto lead = [&] {
    leading = true;
    controller.Start();
    for (const auto& key : clusters.store().Keys()) {
      controller.Enqueue(kube::ObjectKey::FromString(key));
    }
  };
  // Until a stop signal, or the lease is lost, or leader election fails (then 1).
  auto serve = [&]() -> int {
    synced = true;
    spdlog::info("caches synced: {} clusters; identity {}", clusters.store().size(), identity);
    if (!leader_elect) {
      lead();
      while (!stopper.stopped()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
      return 0;
    }
    kube::LeaderElectionConfig config;
    config.lease_namespace = lease_namespace;
    config.lease_name = lease_name;
    config.identity = identity;
    config.lease_duration = absl::Seconds(lease_seconds);
    config.renew_deadline = absl::Seconds(renew_seconds);
    config.retry_period = absl::Seconds(retry_seconds);
    kube::LeaderCallbacks callbacks;
    callbacks.on_started_leading = [&] {
      spdlog::info("leading (lease {}/{})", lease_namespace, lease_name);
      lead();
    };
    callbacks.on_stopped_leading = [&] {
      leading = false;
      if (!stopper.stopped()) {
        // Another leader may act now: stop at once, a restart campaigns again.
        spdlog::error("lost the lease: exiting");
        std::_Exit(1);
      }
    };
    callbacks.on_new_leader = [](const std::string& who) { spdlog::info("leader: {}", who); };
    kube::LeaderElector* elector = stopper.Elect(
        [&] { return std::make_unique<kube::LeaderElector>(*rest, config, callbacks); });
    if (!elector) return 0;  // stopped first
    auto status = elector->Run();
    if (!status.ok()) {
      spdlog::error("leader election: {}", status.message());
      return 1;
    }
    return 0;
  };

  int rc = 0;
  if (stopper.stopped()) {
    spdlog::info("stopped before the caches synced");
  } else if (!all_synced()) {
    spdlog::error("caches did not sync in 2 minutes");
    rc = 1;
  } else {
    rc = serve();
  }
  // The same orderly shutdown on every path (joinable threads must not outlive main).
  controller.Stop();
  clusters.Stop();
  for (auto& informer : children) informer->Stop();
  StopServer(metrics_server, metrics_returned);
  StopServer(health_server, health_returned);
  metrics_thread.join();
  health_thread.join();
  spdlog::info("stopped");
  return rc;
}
