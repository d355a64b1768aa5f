#include "kube/event_recorder.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "kube/errors.h"
#include "kube/resource.h"

namespace kube {

struct EventRecorder::Entry {
  absl::Time last_recorded;  // guarded by EventRecorder::mu_

  std::mutex mu;  // held while this event is written, so identical events count up in order
  bool created = false;
  std::string ns;
  std::string name;
  int64_t count = 0;
};

namespace {

constexpr size_t kMaxNameBytes = 253;  // a DNS subdomain

// Cuts at most `max` bytes without splitting a UTF-8 sequence (the API server rejects
// invalid UTF-8).
std::string TruncateUtf8(absl::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return std::string(s.substr(0, end));
}

// client-go names events "<object>.<unix nanos in hex>". Nanoseconds alone can repeat when
// two events are recorded in the same tick, so the value only ever increases in a process.
std::string UniqueSuffix() {
  static std::atomic<int64_t> last{0};
  int64_t now = absl::ToUnixNanos(absl::Now());
  int64_t prev = last.load();
  int64_t next;
  do {
    next = std::max(now, prev + 1);
  } while (!last.compare_exchange_weak(prev, next));
  return absl::StrCat(absl::Hex(next));
}

std::string EventName(const std::string& object_name) {
  std::string suffix = UniqueSuffix();
  std::string prefix = object_name.substr(0, kMaxNameBytes - suffix.size() - 1);
  // A DNS label ends in an alphanumeric character, so the cut must too.
  while (!prefix.empty() && !std::isalnum(static_cast<unsigned char>(prefix.back()))) {
    prefix.pop_back();
  }
  if (prefix.empty()) return suffix;
  return absl::StrCat(prefix, ".", suffix);
}

std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
}

}  // namespace

absl::string_view EventTypeName(EventType type) {
  return type == EventType::kWarning ? "Warning" : "Normal";
}

EventRecorder::EventRecorder(Client& client, EventRecorderOptions options)
    : client_(client), options_(std::move(options)) {}

std::shared_ptr<EventRecorder::Entry> EventRecorder::Lookup(const std::string& key,
                                                            absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it != index_.end()) {
    std::shared_ptr<Entry> entry = it->second->second;
    lru_.splice(lru_.begin(), lru_, it->second);
    const bool fresh = now - entry->last_recorded <= options_.aggregation_window;
    entry->last_recorded = now;
    if (fresh) return entry;
    // Too old to aggregate: a new Event. An in-flight writer may still hold the old entry.
    entry = std::make_shared<Entry>();
    entry->last_recorded = now;
    it->second->second = entry;
    return entry;
  }
  auto entry = std::make_shared<Entry>();
  entry->last_recorded = now;
  lru_.emplace_front(key, entry);
  index_[key] = lru_.begin();
  while (lru_.size() > std::max<size_t>(options_.cache_size, 1)) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return entry;
}

void EventRecorder::Event(const Object& regarding, EventType type, absl::string_view reason,
                          absl::string_view message) {
  const std::string text = TruncateUtf8(message, kMaxEventMessageBytes);
  const absl::Time now = absl::Now();
  // The uid tells apart a deleted object from its namesake; kind/namespace/name cover objects
  // that have no uid yet.
  const std::string key =
      absl::StrCat(regarding.uid(), "\x1f", regarding.kind(), "\x1f", regarding.ns(), "\x1f",
                   regarding.name(), "\x1f", EventTypeName(type), "\x1f", reason, "\x1f", text);
  std::shared_ptr<Entry> entry = Lookup(key, now);

  std::lock_guard<std::mutex> lock(entry->mu);
  if (entry->created) {
    const Json patch = {{"count", entry->count + 1}, {"lastTimestamp", FormatRfc3339(now)}};
    auto patched = client_.MergePatch(resources::kEvents, entry->ns, entry->name, patch);
    if (patched.ok()) {
      ++entry->count;
      return;
    }
    if (!absl::IsNotFound(patched.status())) {
      spdlog::warn("event {} {} on {}: {}", EventTypeName(type), reason, regarding.key().ToString(),
                   patched.status().message());
      return;
    }
    // The API server's event TTL removed it: start over.
    entry->created = false;
  }
  Create(*entry, regarding, type, reason, text, now);
}

bool EventRecorder::Create(Entry& entry, const Object& regarding, EventType type,
                           absl::string_view reason, const std::string& message, absl::Time now) {
  const std::string ns = regarding.ns().empty() ? "default" : regarding.ns();
  Json involved = {{"apiVersion", regarding.api_version()},
                   {"kind", regarding.kind()},
                   {"name", regarding.name()},
                   {"uid", regarding.uid()},
                   {"resourceVersion", regarding.resource_version()}};
  if (!regarding.ns().empty()) involved["namespace"] = regarding.ns();
  const std::string instance = options_.instance.empty() ? Hostname() : options_.instance;
  Json event = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"namespace", ns}}},
      {"involvedObject", std::move(involved)},
      {"reason", std::string(reason)},
      {"message", message},
      {"type", std::string(EventTypeName(type))},
      {"source", {{"component", options_.component}}},
      {"reportingComponent", options_.component},
      {"reportingInstance", instance},
      {"firstTimestamp", FormatRfc3339(now)},
      {"lastTimestamp", FormatRfc3339(now)},
      {"count", 1},
  };
  absl::Status status;
  // A name clash (another recorder picked the same nanosecond) is retried once with a new name.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const std::string name = EventName(regarding.name());
    event["metadata"]["name"] = name;
    auto created = client_.Create(resources::kEvents, Object(event));
    if (created.ok()) {
      entry.created = true;
      entry.ns = ns;
      entry.name = name;
      entry.count = 1;
      return true;
    }
    status = created.status();
    if (!absl::IsAlreadyExists(status)) break;
  }
  spdlog::warn("event {} {} on {}: {}", EventTypeName(type), reason, regarding.key().ToString(),
               status.message());
  return false;
}

}  // namespace kube
