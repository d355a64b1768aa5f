// ringkeeper-operator: watches Clusters and what they own, reconciles them while it holds the
// leader Lease, serves /metrics (metrics port) and /healthz, /readyz (health port).
// Wiring only: the decisions live in reconciler.cc and operations.cc.
#include <openssl/rand.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
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
#include "base/log.h"
#include "httplib.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/controller.h"
#include "kube/event_recorder.h"
#include "kube/informer.h"
#include "kube/leader_election.h"
#include "kube/resource.h"
#include "kube/workqueue.h"
#include "operator/cluster_spec.h"
#include "operator/reconciler.h"
#include "operator/seams_real.h"

namespace {

namespace res = kube::resources;

// Counts the requests this process makes to the API server, by verb, for /metrics (a pass
// that changes nothing must show no writes).
class CountingTransport : public kube::HttpTransport {
 public:
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
  void Render(std::string& out) const {
    std::lock_guard<std::mutex> lock(mu_);
    absl::StrAppend(&out,
                    "# HELP ringkeeper_kube_requests_total Requests to the API server by verb.\n",
                    "# TYPE ringkeeper_kube_requests_total counter\n");
    for (const auto& [verb, n] : counts_) {
      absl::StrAppend(&out, "ringkeeper_kube_requests_total{verb=\"", verb, "\"} ", n, "\n");
    }
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

std::atomic<bool> g_stop{false};

}  // namespace

int main(int argc, char** argv) {
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
  std::vector<std::unique_ptr<kube::Informer>> children;
  for (const auto* r : {&res::kStatefulSets, &res::kServices, &res::kPods, &res::kConfigMaps,
                        &res::kPersistentVolumeClaims, &res::kPodDisruptionBudgets}) {
    children.push_back(std::make_unique<kube::Informer>(client, *r, owned));
  }
  ringkeeper::Caches caches{&clusters.store(),     &children[0]->store(), &children[1]->store(),
                            &children[2]->store(), &children[3]->store(), &children[4]->store(),
                            &children[5]->store()};
  ringkeeper::ReconcilerOptions options;
  options.defaults.agent_image = agent_image;
  options.resync = absl::Seconds(resync_seconds);
  ringkeeper::KubeObjects objects(client, "ringkeeper-operator");
  ringkeeper::RecorderEvents event_sink(events);
  ringkeeper::HttpNodeAgents agents;
  ringkeeper::CqlClientSessions cql;
  ringkeeper::SystemClock clock;
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
    std::string out;
    const kube::Controller* controllers[] = {&controller};
    out = kube::RenderPrometheus(controllers);
    reconciler.RenderPrometheus(out);
    counting->Render(out);
    absl::StrAppend(&out, "# HELP ringkeeper_leader 1 while this process holds the Lease.\n",
                    "# TYPE ringkeeper_leader gauge\nringkeeper_leader ", leading.load() ? 1 : 0,
                    "\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes ",
                    ResidentBytes(),
                    "\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ",
                    CpuSeconds(), "\n");
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
  std::thread metrics_thread([&] { metrics_server.listen("0.0.0.0", metrics_port); });
  std::thread health_thread([&] { health_server.listen("0.0.0.0", health_port); });

  static std::function<void()> on_signal;
  std::unique_ptr<kube::LeaderElector> elector;
  on_signal = [&] {
    g_stop = true;
    if (elector) elector->Stop();
  };
  std::signal(SIGTERM, [](int) { on_signal(); });
  std::signal(SIGINT, [](int) { on_signal(); });

  clusters.Start();
  for (auto& informer : children) informer->Start();
  bool all_synced = clusters.WaitForSync(absl::Minutes(2));
  for (auto& informer : children)
    all_synced = all_synced && informer->WaitForSync(absl::Minutes(2));
  if (!all_synced) {
    spdlog::error("caches did not sync in 2 minutes");
    return 1;
  }
  synced = true;
  spdlog::info("caches synced: {} clusters; identity {}", clusters.store().size(), identity);

  auto lead = [&] {
    leading = true;
    controller.Start();
    for (const auto& key : clusters.store().Keys()) {
      controller.Enqueue(kube::ObjectKey::FromString(key));
    }
  };
  int rc = 0;
  if (leader_elect) {
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
      if (!g_stop) {
        // Another leader may act now: stop at once, a restart campaigns again.
        spdlog::error("lost the lease: exiting");
        std::_Exit(1);
      }
    };
    callbacks.on_new_leader = [](const std::string& who) { spdlog::info("leader: {}", who); };
    elector = std::make_unique<kube::LeaderElector>(*rest, config, callbacks);
    auto status = elector->Run();
    if (!status.ok()) {
      spdlog::error("leader election: {}", status.message());
      rc = 1;
    }
  } else {
    lead();
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  controller.Stop();
  clusters.Stop();
  for (auto& informer : children) informer->Stop();
  metrics_server.stop();
  health_server.stop();
  metrics_thread.join();
  health_thread.join();
  return rc;
}
