// Client-runtime benchmark against a real API server ($KUBECONFIG): time to list 10,000
// ConfigMaps, watch events per second decoded into a cache, and memory per cached Pod.
// bench/run.sh runs it next to kubectl on the same server and prints both.
//
//   kube_bench --namespace NS [--configmaps 10000] [--pods 2000] [--repeat 3]
// Creates the objects when the namespace lacks them. Prints "figure <name> <value> <unit>".
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kube/client.h"
#include "kube/errors.h"
#include "kube/informer.h"

namespace {

using kube::Client;
using kube::Object;

void Figure(const std::string& name, double value, const std::string& unit) {
  std::cout << "figure " << name << " " << value << " " << unit << std::endl;
}

size_t HeapInUse() { return mallinfo2().uordblks; }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Creates name-0..name-(n-1) of what `make` builds, on 8 threads, skipping existing ones.
void Populate(Client& client, const kube::Resource& r, int n,
              const std::function<Object(int)>& make) {
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        auto created = client.Create(r, make(i));
        if (!created.ok() && !absl::IsAlreadyExists(created.status())) {
          std::cerr << created.status() << "\n";
          std::exit(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Ringkeeper client-runtime benchmark");
  std::string ns;
  int configmaps = 10000, pods = 2000, repeat = 3;
  app.add_option("--namespace", ns)->required();
  app.add_option("--configmaps", configmaps);
  app.add_option("--pods", pods);
  app.add_option("--repeat", repeat);
  CLI11_PARSE(app, argc, argv);

  auto config = kube::LoadDefaultConfig();
  if (!config.ok()) {
    std::cerr << config.status() << "\n";
    return 1;
  }
  config->timeout = absl::Minutes(2);
  Client client(*config);

  Object namespace_object;
  namespace_object.set_api_version("v1").set_kind("Namespace").set_name(ns);
  (void)client.Create(kube::resources::kNamespaces, namespace_object);

  absl::Time start = absl::Now();
  Populate(client, kube::resources::kConfigMaps, configmaps, [&](int i) {
    Object cm;
    cm.set_api_version("v1")
        .set_kind("ConfigMap")
        .set_namespace(ns)
        .set_name(absl::StrCat("cm-", i));
    cm.set_label("bench", "kube");
    cm.json()["data"] = {{"index", std::to_string(i)}, {"payload", std::string(256, 'x')}};
    return cm;
  });
  Figure("setup_configmaps_seconds", absl::ToDoubleSeconds(absl::Now() - start), "s");
  start = absl::Now();
  Populate(client, kube::resources::kPods, pods, [&](int i) {
    Object pod;
    pod.set_api_version("v1").set_kind("Pod").set_namespace(ns).set_name(absl::StrCat("pod-", i));
    pod.set_label("app", "cassandra").set_label("bench", "kube");
    pod.json()["spec"] = {{"automountServiceAccountToken", false},
                          {"containers",
                           {{{"name", "cassandra"},
                             {"image", "ringkeeper/cassandra:5.0"},
                             {"ports", {{{"containerPort", 9042}, {"name", "cql"}}}},
                             {"env", {{{"name", "CASSANDRA_CLUSTER_NAME"}, {"value", "bench"}}}},
                             {"resources", {{"requests", {{"cpu", "1"}, {"memory", "2Gi"}}}}}}}}};
    return pod;
  });
  Figure("setup_pods_seconds", absl::ToDoubleSeconds(absl::Now() - start), "s");

  // 1. Listing every ConfigMap, paged by 500 as kubectl does.
  std::vector<double> list_ms;
  for (int r = 0; r < repeat; ++r) {
    absl::Time t0 = absl::Now();
    kube::ListOptions options;
    options.limit = 500;
    auto list = client.List(kube::resources::kConfigMaps, ns, options);
    if (!list.ok() || static_cast<int>(list->items.size()) < configmaps) {
      std::cerr << "list: " << (list.ok() ? "short" : list.status().ToString()) << "\n";
      return 1;
    }
    list_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
  }
  Figure("list_configmaps_ms", Median(list_ms), "ms");

  // 2. Watch throughput: a watch from resourceVersion 0 replays every object as ADDED; each is
  // decoded and put in a Store, as the informer does.
  std::vector<double> rates;
  for (int r = 0; r < repeat; ++r) {
    kube::Store store;
    // One value per object, as the operator's index of a Cluster's objects.
    store.AddIndex(std::string(kube::kIndexNamespace), kube::IndexByNamespace());
    int events = 0;
    kube::WatchOptions options;
    options.resource_version = "0";
    options.label_selector = "bench=kube";
    absl::Time t0 = absl::Now();
    absl::Status s = client.Watch(
        kube::resources::kConfigMaps, ns, options,
        [&](kube::WatchEvent e) {
          store.Upsert(std::make_shared<const Object>(std::move(e.object)));
          return ++events < configmaps;
        },
        nullptr);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - t0);
    if (!s.ok() || events < configmaps) {
      std::cerr << "watch: " << s << " after " << events << " events\n";
      return 1;
    }
    rates.push_back(events / seconds);
  }
  Figure("watch_events_per_second", Median(rates), "events/s");

  // 3. Memory per cached Pod: the heap an informer's store holds for each Pod.
  malloc_trim(0);
  const size_t before = HeapInUse();
  {
    kube::InformerOptions options;
    options.ns = ns;
    options.label_selector = "bench=kube";
    options.transform = kube::StripManagedFields;  // as the operator caches its Pods
    options.indexes[std::string(kube::kIndexNamespace)] = kube::IndexByNamespace();  // one, too
    kube::Informer informer(client, kube::resources::kPods, options);
    informer.Start();
    if (!informer.WaitForSync(absl::Minutes(2))) {
      std::cerr << "informer did not sync\n";
      return 1;
    }
    informer.Stop();  // the list's transient buffers are freed; the store remains
    malloc_trim(0);
    const size_t after = HeapInUse();
    const size_t cached = informer.store().size();
    // The JSON the server sends for each Pod (managedFields and all): what the cache mirrors.
    kube::ListOptions list_options;
    list_options.label_selector = "bench=kube";
    auto listed = client.List(kube::resources::kPods, ns, list_options);
    if (!listed.ok()) {
      std::cerr << "list pods: " << listed.status() << "\n";
      return 1;
    }
    size_t json_bytes = 0;
    for (const auto& p : listed->items) json_bytes += p.Dump().size();
    Figure("cached_pods", static_cast<double>(cached), "pods");
    Figure("memory_per_cached_pod_bytes",
           static_cast<double>(after - before) / static_cast<double>(cached), "bytes");
    Figure("json_per_pod_bytes",
           static_cast<double>(json_bytes) / static_cast<double>(listed->items.size()), "bytes");
  }
  return 0;
}
