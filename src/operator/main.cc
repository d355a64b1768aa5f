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
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/v1alpha1/backup.h"
#include "api/v1alpha1/naming.h"
#include "api/v1alpha1/repair.h"
#include "api/v1alpha1/restore.h"
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
#include "operator/backup_metrics.h"
#include "operator/backup_schedules.h"
#include "operator/backups.h"
#include "operator/cache_transforms.h"
#include "operator/heap.h"
#include "operator/reconciler.h"
#include "operator/repair_metrics.h"
#include "operator/repair_schedules.h"
#include "operator/repairs.h"
#include "operator/restores.h"
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
  // What the allocator holds: in use by live objects, and resident for none (heap.h).
  const ringkeeper::HeapFigures heap = ringkeeper::ReadHeapFigures();
  out.Declare("ringkeeper_heap_bytes", metrics::Type::kGauge,
              "Bytes the allocator holds resident, by state (in_use, free).");
  out.Add("ringkeeper_heap_bytes", {{"state", "in_use"}}, double(heap.in_use));
  out.Add("ringkeeper_heap_bytes", {{"state", "free"}}, double(heap.free));
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
// What each cache keeps is in cache_transforms.h; a PodDisruptionBudget's and a
// ServiceAccount's metadata is all that is read (the applied-hash annotation), so only
// metadata is watched.
struct OwnedKind {
  const kube::Resource* resource;
  const kube::Store* ringkeeper::Caches::*cache;
  void (*keep)(kube::Json&);  // null: metadata only
};
constexpr OwnedKind kOwnedKinds[] = {
    {&res::kStatefulSets, &ringkeeper::Caches::statefulsets, ringkeeper::KeepOfStatefulSet},
    {&res::kServices, &ringkeeper::Caches::services, ringkeeper::KeepOfService},
    {&res::kPods, &ringkeeper::Caches::pods, ringkeeper::KeepOfPod},
    {&res::kConfigMaps, &ringkeeper::Caches::configmaps, ringkeeper::KeepOfConfigMap},
    {&res::kPersistentVolumeClaims, &ringkeeper::Caches::pvcs,
     ringkeeper::KeepOfPersistentVolumeClaim},
    {&res::kPodDisruptionBudgets, &ringkeeper::Caches::pdbs, nullptr},
    {&res::kNetworkPolicies, &ringkeeper::Caches::networkpolicies, nullptr},
    {&res::kServiceAccounts, &ringkeeper::Caches::serviceaccounts, nullptr},
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

// The command line.
struct Flags {
  std::string kubeconfig, watch_namespace, lease_namespace, lease_name = "ringkeeper-operator";
  std::string identity, log_level = "info", agent_image = "ringkeeper/ringkeeper-agent:dev";
  // The operator's pods, for the NetworkPolicy that keeps the agents' API to them.
  std::string operator_namespace,
      operator_pod_labels = "app.kubernetes.io/name=ringkeeper-operator";
  bool agent_network_policy = true;
  bool leader_elect = true;
  int metrics_port = 8080, health_port = 8081, workers = 2;
  double resync_seconds = 15, lease_seconds = 10, renew_seconds = 7, retry_seconds = 2;
  double batch_seconds = 1;

  void AddTo(CLI::App& app) {
    app.add_option("--kubeconfig", kubeconfig, "kubeconfig (default: $KUBECONFIG or in-cluster)");
    app.add_option("--namespace", watch_namespace, "watch only this namespace (default: all)");
    app.add_option("--leader-elect", leader_elect, "hold a Lease before reconciling");
    app.add_option("--lease-namespace", lease_namespace, "the Lease's namespace");
    app.add_option("--lease-name", lease_name, "the Lease's name");
    app.add_option("--lease-duration", lease_seconds,
                   "seconds a follower waits on a silent leader");
    app.add_option("--renew-deadline", renew_seconds, "seconds the leader tries to renew");
    app.add_option("--retry-period", retry_seconds, "seconds between attempts");
    app.add_option("--identity", identity, "this candidate's name (default: $POD_NAME, hostname)");
    app.add_option("--metrics-port", metrics_port, "port of /metrics");
    app.add_option("--health-port", health_port, "port of /healthz and /readyz");
    app.add_option("--workers", workers, "clusters reconciled at once");
    app.add_option("--resync", resync_seconds, "seconds between polls of a quiet cluster's nodes");
    app.add_option("--event-batch", batch_seconds,
                   "seconds a Cluster's pass waits after a change, so a burst makes one pass");
    app.add_option("--default-agent-image", agent_image,
                   "agent image when a Cluster has no sidecarImage");
    app.add_option("--agent-network-policy", agent_network_policy,
                   "make each Cluster's NetworkPolicy: its agents' API port reachable from the "
                   "operator's pods and the cluster's own only");
    app.add_option("--operator-namespace", operator_namespace,
                   "the operator pods' namespace (default: $POD_NAMESPACE; unset: no "
                   "NetworkPolicy, the operator runs outside the cluster)");
    app.add_option("--operator-pod-labels", operator_pod_labels,
                   "the operator pods' labels, k=v[,k=v]");
    app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  }
};

// $POD_NAME (or the hostname) with a random suffix, unique per process (as client-go): a
// restarted container must not take over the lease of the process it replaces as if it were
// that process; it waits for the lease to expire.
std::string UniqueIdentity() {
  std::string identity;
  if (const char* pod = std::getenv("POD_NAME")) identity = pod;
  if (identity.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    identity = host;
  }
  unsigned char random[4];
  RAND_bytes(random, sizeof(random));
  absl::StrAppendFormat(&identity, "_%02x%02x%02x%02x", random[0], random[1], random[2], random[3]);
  return identity;
}

// The informers: the Clusters (all of them), and the objects the operator owns (by their
// managed-by label), each filling its member of Caches.
class Informers {
 public:
  Informers(kube::Client& client, const std::string& ns)
      : clusters_(client, ringkeeper::kClusters, Options(ns, "")),
        backups_(client, ringkeeper::kBackups, Options(ns, "")),
        restores_(client, ringkeeper::kRestores, Options(ns, "")),
        repairs_(client, ringkeeper::kRepairs, Options(ns, "")),
        configmap_metadata_(client, res::kConfigMaps, MetadataOptions(ns)) {
    caches_.clusters = &clusters_.store();
    caches_.configmap_metadata = &configmap_metadata_.store();
    caches_.restores = &restores_.store();
    const std::string owned = absl::StrCat(ringkeeper::kLabelManagedBy, "=ringkeeper");
    for (const OwnedKind& kind : kOwnedKinds) {
      kube::InformerOptions options = Options(ns, owned);
      options.indexes[std::string(ringkeeper::kIndexCluster)] = ringkeeper::IndexByCluster();
      if (kind.keep) {
        options.transform = kind.keep;
      } else {
        options.metadata_only = true;
      }
      children_.push_back(std::make_unique<kube::Informer>(client, *kind.resource, options));
      caches_.*kind.cache = &children_.back()->store();
    }
  }
  const ringkeeper::Caches& caches() const { return caches_; }
  kube::Informer& clusters() { return clusters_; }
  kube::Informer& backups() { return backups_; }
  kube::Informer& restores() { return restores_; }
  kube::Informer& repairs() { return repairs_; }
  ringkeeper::RepairCaches repair_caches() const {
    return {&repairs_.store(), caches_.clusters, caches_.pods, caches_.services};
  }
  ringkeeper::BackupCaches backup_caches() const {
    return {&backups_.store(), caches_.clusters, caches_.pods};
  }
  ringkeeper::ScheduleCaches schedule_caches() const {
    return {caches_.clusters, &backups_.store(), &restores_.store(), caches_.pods};
  }
  ringkeeper::RepairScheduleCaches repair_schedule_caches() const {
    return {caches_.clusters, &repairs_.store(), caches_.services};
  }
  ringkeeper::RestoreCaches restore_caches() const {
    return {&restores_.store(), &backups_.store(), caches_.clusters, caches_.pods};
  }

  // Each Cluster's own events enqueue it; an owned object's enqueue the Cluster it belongs to.
  // A Backup's or Restore's own events enqueue it (while it runs, its reconciler polls the
  // agents).
  // The scheduler hears of its Cluster and of the Backups its schedules made (their label).
  // The repair scheduler hears of its Cluster and of the Repairs labelled with it.
  // A Cluster's events reach its three controllers `batch` later: the objects a pass created
  // coming back, the pods and claims a StatefulSet makes, the status a pass wrote, each one
  // event, make one pass together (each would otherwise be a pass of its own at a hundred
  // Clusters being created).
  void EnqueueInto(kube::Controller& clusters, kube::Controller& backups,
                   kube::Controller& restores, kube::Controller& repairs,
                   kube::Controller& schedules, kube::Controller& repair_schedules,
                   absl::Duration batch) {
    auto enqueue = [&clusters, batch](const kube::ObjectKey& key) {
      clusters.EnqueueAfter(key, batch);
    };
    clusters_.AddHandler(kube::EnqueueSelf(enqueue));
    for (auto& informer : children_) informer->AddHandler(EnqueueClusterOf(enqueue));
    backups_.AddHandler(
        kube::EnqueueSelf([&backups](const kube::ObjectKey& key) { backups.Enqueue(key); }));
    restores_.AddHandler(
        kube::EnqueueSelf([&restores](const kube::ObjectKey& key) { restores.Enqueue(key); }));
    restores_.AddHandler(EnqueueClusterOf(enqueue));  // a Cluster created from a backup's
    repairs_.AddHandler(
        kube::EnqueueSelf([&repairs](const kube::ObjectKey& key) { repairs.Enqueue(key); }));
    auto schedule = [&schedules, batch](const kube::ObjectKey& key) {
      schedules.EnqueueAfter(key, batch);
    };
    clusters_.AddHandler(kube::EnqueueSelf(schedule));
    backups_.AddHandler(EnqueueClusterOf(schedule));
    auto repair_schedule = [&repair_schedules, batch](const kube::ObjectKey& key) {
      repair_schedules.EnqueueAfter(key, batch);
    };
    clusters_.AddHandler(kube::EnqueueSelf(repair_schedule));
    repairs_.AddHandler(EnqueueClusterOf(repair_schedule));
  }
  void Start() {
    clusters_.Start();
    backups_.Start();
    restores_.Start();
    repairs_.Start();
    configmap_metadata_.Start();
    for (auto& informer : children_) informer->Start();
  }
  void Stop() {
    clusters_.Stop();
    backups_.Stop();
    restores_.Stop();
    repairs_.Stop();
    configmap_metadata_.Stop();
    for (auto& informer : children_) informer->Stop();
  }
  // Every informer, for their metrics.
  std::vector<const kube::Informer*> all() const {
    std::vector<const kube::Informer*> out = {&clusters_, &backups_, &restores_, &repairs_,
                                              &configmap_metadata_};
    for (const auto& informer : children_) out.push_back(informer.get());
    return out;
  }
  bool Synced() const {
    if (!clusters_.HasSynced() || !backups_.HasSynced() || !restores_.HasSynced() ||
        !repairs_.HasSynced() || !configmap_metadata_.HasSynced()) {
      return false;
    }
    for (const auto& informer : children_) {
      if (!informer->HasSynced()) return false;
    }
    return true;
  }

 private:
  // Every ConfigMap's metadata (the users' ones, which a rack names, carry no label of ours).
  static kube::InformerOptions MetadataOptions(const std::string& ns) {
    kube::InformerOptions o = Options(ns, "");
    o.metadata_only = true;
    return o;
  }
  static kube::InformerOptions Options(const std::string& ns, const std::string& selector) {
    kube::InformerOptions o;
    o.ns = ns;
    o.label_selector = selector;
    o.transform = kube::StripManagedFields;  // no reader looks at apply bookkeeping
    // A page is held whole (text and parsed) until the transform shrinks it: at a thousand
    // clusters, pages of 500 Pods are tens of MiB at a start.
    o.page_size = 100;
    return o;
  }
  kube::Informer clusters_;
  kube::Informer backups_;
  kube::Informer restores_;
  kube::Informer repairs_;
  kube::Informer configmap_metadata_;
  std::vector<std::unique_ptr<kube::Informer>> children_;
  ringkeeper::Caches caches_;
};

// /metrics on one port, /healthz and /readyz on another, each served from its own thread.
class Endpoints {
 public:
  Endpoints(std::function<std::string()> metrics, const std::atomic<bool>& synced,
            const std::atomic<bool>& leading) {
    // Two handler threads each (httplib's default is eight or more per server): a scrape, a
    // probe and one more at a time is all these ports see.
    for (httplib::Server* server : {&metrics_, &health_}) {
      server->new_task_queue = [] { return new httplib::ThreadPool(2); };
    }
    metrics_.Get("/metrics",
                 [metrics = std::move(metrics)](const httplib::Request&, httplib::Response& res) {
                   res.set_content(metrics(), "text/plain; version=0.0.4");
                 });
    health_.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    health_.Get("/readyz", [&synced, &leading](const httplib::Request&, httplib::Response& res) {
      if (!synced.load()) {
        res.status = 503;
        res.set_content("caches not synced\n", "text/plain");
        return;
      }
      res.set_content(leading.load() ? "ok (leader)\n" : "ok (standby)\n", "text/plain");
    });
  }
  void Start(int metrics_port, int health_port) {
    metrics_thread_ = Listen(metrics_, "metrics", metrics_port, metrics_returned_);
    health_thread_ = Listen(health_, "health", health_port, health_returned_);
  }
  void Stop() {
    StopServer(metrics_, metrics_returned_);
    StopServer(health_, health_returned_);
    metrics_thread_.join();
    health_thread_.join();
  }

 private:
  static std::thread Listen(httplib::Server& server, const char* what, int port,
                            std::atomic<bool>& returned) {
    return std::thread([&server, what, port, &returned] {
      if (!server.listen("0.0.0.0", port))
        spdlog::error("{}: cannot listen on port {}", what, port);
      returned = true;
    });
  }
  httplib::Server metrics_, health_;
  std::atomic<bool> metrics_returned_{false}, health_returned_{false};
  std::thread metrics_thread_, health_thread_;
};

// Campaigns for the Lease and calls `lead` once it holds it; returns on a stop signal (0) or
// when leader election fails (1). Losing the lease ends the process at once: another leader
// may act now, and a restart campaigns again.
int LeadWhileElected(const Flags& flags, const kube::RestConfig& rest, const std::string& identity,
                     Stopper& stopper, const std::function<void()>& lead,
                     std::atomic<bool>& leading) {
  kube::LeaderElectionConfig config;
  config.lease_namespace = flags.lease_namespace.empty() ? rest.ns : flags.lease_namespace;
  config.lease_name = flags.lease_name;
  config.identity = identity;
  config.lease_duration = absl::Seconds(flags.lease_seconds);
  config.renew_deadline = absl::Seconds(flags.renew_seconds);
  config.retry_period = absl::Seconds(flags.retry_seconds);
  kube::LeaderCallbacks callbacks;
  callbacks.on_started_leading = [&] {
    spdlog::info("leading (lease {}/{})", config.lease_namespace, config.lease_name);
    lead();
  };
  callbacks.on_stopped_leading = [&] {
    leading = false;
    if (!stopper.stopped()) {
      spdlog::error("lost the lease: exiting");
      std::_Exit(1);
    }
  };
  callbacks.on_new_leader = [](const std::string& who) { spdlog::info("leader: {}", who); };
  kube::LeaderElector* elector =
      stopper.Elect([&] { return std::make_unique<kube::LeaderElector>(rest, config, callbacks); });
  if (!elector) return 0;  // stopped first
  if (auto status = elector->Run(); !status.ok()) {
    spdlog::error("leader election: {}", status.message());
    return 1;
  }
  return 0;
}

// Starts the informers, waits (2 minutes at most) for their first lists, then reconciles while
// this process leads (or always, without leader election) until a stop signal. 1 when the
// caches do not sync or leader election fails.
// A kind whose every object its controller reconciles (Backups, Restores, Repairs).
struct OneShotKind {
  kube::Informer* informer;
  kube::Controller* controller;
};

// `per_cluster`: the controllers keyed by Cluster (its reconciler, the schedulers).
int ServeUntilStopped(const Flags& flags, const kube::RestConfig& rest, const std::string& identity,
                      Stopper& stopper, Informers& informers,
                      const std::vector<kube::Controller*>& per_cluster,
                      const std::vector<OneShotKind>& one_shots, std::atomic<bool>& leading,
                      std::atomic<bool>& synced) {
  informers.Start();
  const absl::Time sync_deadline = absl::Now() + absl::Minutes(2);
  while (!informers.Synced() && !stopper.stopped() && absl::Now() < sync_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (stopper.stopped()) {
    spdlog::info("stopped before the caches synced");
    return 0;
  }
  if (!informers.Synced()) {
    spdlog::error("caches did not sync in 2 minutes");
    return 1;
  }
  synced = true;
  spdlog::info("caches synced: {} clusters; identity {}; allocator {}",
               informers.clusters().store().size(), identity, ringkeeper::HeapAllocatorName());
  auto lead = [&] {
    leading = true;
    for (kube::Controller* c : per_cluster) c->Start();
    for (const OneShotKind& kind : one_shots) kind.controller->Start();
    for (const auto& key : informers.clusters().store().Keys()) {
      for (kube::Controller* c : per_cluster) c->Enqueue(kube::ObjectKey::FromString(key));
    }
    for (const OneShotKind& kind : one_shots) {
      for (const auto& key : kind.informer->store().Keys()) {
        kind.controller->Enqueue(kube::ObjectKey::FromString(key));
      }
    }
  };
  if (flags.leader_elect) return LeadWhileElected(flags, rest, identity, stopper, lead, leading);
  lead();
  while (!stopper.stopped()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // First, before any thread exists, so that every thread inherits the blocked signals.
  Stopper stopper;
  base::StopSignals signals([&stopper](int signal) {
    spdlog::info("signal {}: stopping", signal);
    stopper.Stop();
  });
  CLI::App app{"ringkeeper-operator: runs Cassandra clusters on Kubernetes"};
  Flags flags;
  flags.AddTo(app);
  CLI11_PARSE(app, argc, argv);
  base::InitLogging(flags.log_level);

  absl::StatusOr<kube::RestConfig> rest =
      flags.kubeconfig.empty() ? kube::LoadDefaultConfig() : kube::LoadKubeconfig(flags.kubeconfig);
  if (!rest.ok()) {
    spdlog::error("kubernetes config: {}", rest.status().message());
    return 1;
  }
  rest->user_agent = "ringkeeper-operator";
  const std::string identity = flags.identity.empty() ? UniqueIdentity() : flags.identity;
  auto counting = std::make_shared<CountingTransport>(kube::NewHttpTransport(*rest));
  kube::Client client(*rest, counting);
  kube::EventRecorderOptions event_options;
  event_options.instance = identity;
  kube::EventRecorder events(client, event_options);
  Informers informers(client, flags.watch_namespace);

  // The reconciler acts only through these seams.
  ringkeeper::ReconcilerOptions options;
  options.defaults.agent_image = flags.agent_image;
  options.resync = absl::Seconds(flags.resync_seconds);
  if (flags.agent_network_policy) {
    options.operator_pods.ns = flags.operator_namespace;
    if (const char* ns = std::getenv("POD_NAMESPACE"); ns && options.operator_pods.ns.empty()) {
      options.operator_pods.ns = ns;
    }
    for (absl::string_view pair :
         absl::StrSplit(flags.operator_pod_labels, ',', absl::SkipEmpty())) {
      std::pair<std::string, std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
      options.operator_pods.labels[kv.first] = kv.second;
    }
    if (options.operator_pods.ns.empty()) {
      spdlog::warn(
          "no --operator-namespace nor $POD_NAMESPACE: no NetworkPolicy guards the agents' "
          "API port (their mutual TLS still does)");
    }
  }
  ringkeeper::KubeObjects objects(client, "ringkeeper-operator");
  ringkeeper::RecorderEvents event_sink(events);
  ringkeeper::HttpNodeAgents agents;
  ringkeeper::CqlClientSessions cql;
  ringkeeper::SystemClock clock;
  ringkeeper::ClusterMetrics cluster_metrics;
  options.metrics = &cluster_metrics;
  ringkeeper::S3BackupStorage backup_storage;
  options.backup_storage = &backup_storage;
  ringkeeper::ClusterReconciler reconciler(
      {&objects, &objects, &objects, &event_sink, &agents, &cql, &clock}, informers.caches(),
      options);
  kube::WorkQueue queue;
  kube::Controller controller("cluster", reconciler, queue, flags.workers);
  ringkeeper::BackupReconciler backup_reconciler(
      {&objects, &objects, &objects, &event_sink, &agents, &cql, &clock}, &backup_storage,
      informers.backup_caches());
  kube::WorkQueue backup_queue;
  kube::Controller backup_controller("backup", backup_reconciler, backup_queue, flags.workers);
  ringkeeper::RestoreReconciler restore_reconciler(
      {&objects, &objects, &objects, &event_sink, &agents, &cql, &clock}, &backup_storage,
      informers.restore_caches());
  kube::WorkQueue restore_queue;
  kube::Controller restore_controller("restore", restore_reconciler, restore_queue, flags.workers);
  ringkeeper::BackupScheduler scheduler(
      {&objects, &objects, &objects, &event_sink, &agents, &cql, &clock}, &backup_storage,
      informers.schedule_caches());
  kube::WorkQueue schedule_queue;
  kube::Controller schedule_controller("backup-schedule", scheduler, schedule_queue, 1);
  ringkeeper::RepairReconciler repair_reconciler(
      {&objects, &objects, &objects, &event_sink, &agents, &cql, &clock},
      informers.repair_caches());
  kube::WorkQueue repair_queue;
  kube::Controller repair_controller("repair", repair_reconciler, repair_queue, flags.workers);
  ringkeeper::RepairScheduler repair_scheduler(
      {&objects, &objects, &objects, &event_sink, &agents, &cql, &clock},
      informers.repair_schedule_caches());
  kube::WorkQueue repair_schedule_queue;
  kube::Controller repair_schedule_controller("repair-schedule", repair_scheduler,
                                              repair_schedule_queue, 1);
  informers.EnqueueInto(controller, backup_controller, restore_controller, repair_controller,
                        schedule_controller, repair_schedule_controller,
                        absl::Seconds(flags.batch_seconds));

  std::atomic<bool> leading{false}, synced{false};
  Endpoints endpoints(
      [&] {
        // Each part writes its own families, so their texts concatenate into one exposition.
        const kube::Controller* controllers[] = {&controller,          &backup_controller,
                                                 &restore_controller,  &repair_controller,
                                                 &schedule_controller, &repair_schedule_controller};
        return kube::RenderPrometheus(controllers) + cluster_metrics.RenderPrometheus() +
               ringkeeper::RenderBackupMetrics(informers.backups().store()) +
               ringkeeper::RenderRepairMetrics(informers.repairs().store(),
                                               informers.clusters().store()) +
               kube::RenderPrometheus(informers.all()) + counting->RenderPrometheus() +
               RenderProcessMetrics(leading.load());
      },
      synced, leading);
  endpoints.Start(flags.metrics_port, flags.health_port);

  const int rc = ServeUntilStopped(flags, *rest, identity, stopper, informers,
                                   {&controller, &schedule_controller, &repair_schedule_controller},
                                   {{&informers.backups(), &backup_controller},
                                    {&informers.restores(), &restore_controller},
                                    {&informers.repairs(), &repair_controller}},
                                   leading, synced);
  // The same orderly shutdown on every path (joinable threads must not outlive main).
  controller.Stop();
  backup_controller.Stop();
  restore_controller.Stop();
  repair_controller.Stop();
  schedule_controller.Stop();
  repair_schedule_controller.Stop();
  informers.Stop();
  endpoints.Stop();
  spdlog::info("stopped");
  return rc;
}
