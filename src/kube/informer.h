// kube::Informer: keeps a Store in step with one resource on the API server (list, then
// watch from the list's resourceVersion) and tells handlers what changed.
//
// Guarantees: every change the server makes is seen, once. A dropped watch resumes from the
// last resourceVersion seen (events or bookmarks) with capped exponential backoff; a 410 Gone
// (the version was compacted away) triggers a relist whose differences to the store are
// delivered as add/update/delete. An event whose resourceVersion equals the cached object's
// is not applied again. An update that leaves the cached object as it was but for its
// resourceVersion (what changed is something the transform drops, or a no-op write) moves the
// version and tells no handler: a handler that would enqueue work for it would find nothing new.
//
// Threading: one background thread per informer; handlers run on it, one at a time, and should
// only enqueue work. Store reads are safe from any thread. Start/Stop from the owner thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "kube/client.h"
#include "kube/store.h"

namespace kube {

struct ResourceEventHandler {
  std::function<void(const Object&)> on_add;
  std::function<void(const Object& old_object, const Object& new_object)> on_update;
  std::function<void(const Object&)> on_delete;
};

// A handler that enqueues the object's own key.
ResourceEventHandler EnqueueSelf(std::function<void(const ObjectKey&)> enqueue);
// A handler that enqueues the key of the object's controller owner when that owner is of
// `owner_kind` (objects without such an owner are ignored).
ResourceEventHandler EnqueueControllerOwner(std::string owner_kind,
                                            std::function<void(const ObjectKey&)> enqueue);

// Changes an object on its way into the cache (controller-runtime's TransformFunc): drops what
// the cache's readers never read, so a thousand cached Pods do not cost their managedFields.
// Must be a pure function of the object and keep metadata's name, namespace, resourceVersion,
// uid, labels and ownerReferences (the store's keys and indexes).
using Transform = std::function<void(Json& object)>;

// The transform every cache of the operator starts from: metadata.managedFields and the
// kubectl last-applied annotation go (server-side apply bookkeeping, a copy of the object).
void StripManagedFields(Json& object);

struct InformerOptions {
  std::string ns;  // "" = all namespaces
  std::string label_selector;
  std::string field_selector;
  Transform transform;  // none: objects are cached as the server sent them
  // Cache PartialObjectMetadata only (apiVersion, kind, metadata): for kinds whose readers need
  // names, labels, owners, annotations, versions, never spec or status.
  bool metadata_only = false;
  // The store's indexes, by name (none by default; see Store).
  std::map<std::string, Store::IndexFunc> indexes;
  int64_t page_size = 500;
  absl::Duration min_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(30);
};

class Informer;

// Each informer's cache size and event counts in the Prometheus text format, labelled by
// resource and view ("metadata" for a metadata-only watch, else "full"):
// ringkeeper_informer_objects, _bytes, _events_total, _unchanged_total, _lists_total, _gone_total,
// _errors_total.
std::string RenderPrometheus(absl::Span<const Informer* const> informers);

class Informer {
 public:
  struct Stats {
    uint64_t lists = 0;    // full lists (the first one and every relist)
    uint64_t watches = 0;  // watch requests started
    uint64_t events = 0;   // events applied to the store
    uint64_t skipped = 0;  // events not applied: already in the store at that version
    // Updates that changed the cached object's resourceVersion only (no handler told).
    uint64_t unchanged = 0;
    uint64_t bookmarks = 0;
    uint64_t gone = 0;    // 410s that forced a relist
    uint64_t errors = 0;  // failed lists/watches (followed by backoff)
  };

  // `client` must outlive the informer.
  Informer(Client& client, Resource resource, InformerOptions options = {});
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Handlers must be added before Start.
  void AddHandler(ResourceEventHandler handler);
  // Starts the background thread. After a Stop, Start resumes from the last resourceVersion.
  void Start();
  // Stops the watch and joins the thread. Safe to call twice.
  void Stop();

  // True once the first list is in the store.
  bool HasSynced() const { return synced_.load(); }
  bool WaitForSync(absl::Duration timeout);

  const Store& store() const { return store_; }
  const Resource& resource() const { return resource_; }
  bool metadata_only() const { return options_.metadata_only; }
  Stats stats() const;
  // The resourceVersion the next watch starts from.
  std::string last_resource_version() const;

 private:
  void Run();
  absl::Status Relist();
  absl::Status WatchOnce();
  void Apply(WatchEvent::Type type, Object object);
  void SleepInterruptibly(absl::Duration d);

  Client& client_;
  const Resource resource_;
  const InformerOptions options_;
  std::vector<ResourceEventHandler> handlers_;
  Store store_;

  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> synced_{false};
  mutable std::mutex mu_;  // guards stats_, resource_version_, and the wait/sync condvar
  std::condition_variable cv_;
  Stats stats_;
  std::string resource_version_;
};

}  // namespace kube
