// kube::EventRecorder: writes core/v1 Events about the objects Ringkeeper manages, so that
// `kubectl describe` shows what the operator did and why.
//
// Repeats are aggregated as kubectl expects: an event with the same (object, type, reason,
// message) as one recorded within the aggregation window (10 minutes) increments that
// Event's count and lastTimestamp with a JSON merge patch instead of creating another object.
// Recent events are remembered in a bounded LRU; an event evicted from it, or deleted by the
// API server's event TTL, simply starts a new Event.
//
// Failures are logged, never returned or thrown: events are informational. Each call is
// synchronous and bounded by the client's timeout.
//
// Thread-safe: call Event() from any thread. Identical events are serialized so their counts
// add up; different ones are written concurrently. `client` must outlive the recorder.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kube/client.h"
#include "kube/object.h"

namespace kube {

enum class EventType { kNormal, kWarning };

absl::string_view EventTypeName(EventType type);  // "Normal", "Warning"

struct EventRecorderOptions {
  std::string component = "ringkeeper-operator";  // source.component, reportingComponent
  std::string instance;                           // reportingInstance: the pod name
  size_t cache_size = 4096;                       // remembered recent events
  absl::Duration aggregation_window = absl::Minutes(10);
};

// Messages longer than this (bytes) are cut at a UTF-8 character boundary.
inline constexpr size_t kMaxEventMessageBytes = 1024;

class EventRecorder {
 public:
  EventRecorder(Client& client, EventRecorderOptions options);
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // Records that `reason` (CamelCase, from the reason catalogue) happened to `regarding`.
  // The Event goes to the object's namespace, or "default" for cluster-scoped objects.
  void Event(const Object& regarding, EventType type, absl::string_view reason,
             absl::string_view message);

 private:
  struct Entry;
  using Lru = std::list<std::pair<std::string, std::shared_ptr<Entry>>>;

  std::shared_ptr<Entry> Lookup(const std::string& key, absl::Time now);
  bool Create(Entry& entry, const Object& regarding, EventType type, absl::string_view reason,
              const std::string& message, absl::Time now);

  Client& client_;
  const EventRecorderOptions options_;

  std::mutex mu_;  // guards lru_ and index_; an Entry's own fields are guarded by its mutex
  Lru lru_;        // most recent first
  std::unordered_map<std::string, Lru::iterator> index_;
};

}  // namespace kube
