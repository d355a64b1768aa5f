#include "kube/informer.h"

#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "kube/errors.h"
#include "metrics/exposition.h"

namespace kube {

ResourceEventHandler EnqueueSelf(std::function<void(const ObjectKey&)> enqueue) {
  auto f = std::make_shared<std::function<void(const ObjectKey&)>>(std::move(enqueue));
  return {
      [f](const Object& o) { (*f)(o.key()); },
      [f](const Object&, const Object& o) { (*f)(o.key()); },
      [f](const Object& o) { (*f)(o.key()); },
  };
}

ResourceEventHandler EnqueueControllerOwner(std::string owner_kind,
                                            std::function<void(const ObjectKey&)> enqueue) {
  auto map = [kind = std::move(owner_kind), enqueue = std::move(enqueue)](const Object& o) {
    auto owner = o.controller_owner();
    // Owners are in the object's namespace (or cluster-scoped, when it has none).
    if (owner && owner->kind == kind) enqueue(ObjectKey{o.ns(), owner->name});
  };
  return {
      map,
      [map](const Object& old_object, const Object& new_object) {
        map(new_object);
        // A changed owner: the old owner must learn it lost the object.
        auto a = old_object.controller_owner(), b = new_object.controller_owner();
        if (a && (!b || a->uid != b->uid)) map(old_object);
      },
      map,
  };
}

Informer::Informer(Client& client, Resource resource, InformerOptions options)
    : client_(client), resource_(std::move(resource)), options_(std::move(options)) {
  for (const auto& [name, func] : options_.indexes) store_.AddIndex(name, func);
}

Informer::~Informer() { Stop(); }

void Informer::AddHandler(ResourceEventHandler handler) { handlers_.push_back(std::move(handler)); }

void Informer::Start() {
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Informer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Informer::WaitForSync(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout), [this] {
    return synced_.load() || stop_.load();
  }) && synced_.load();
}

Informer::Stats Informer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::string RenderPrometheus(absl::Span<const Informer* const> informers) {
  struct Counter {
    const char* name;
    const char* help;
    uint64_t Informer::Stats::*field;
  };
  static constexpr Counter kCounters[] = {
      {"ringkeeper_informer_events_total", "Changes applied to the cache (handlers told).",
       &Informer::Stats::events},
      {"ringkeeper_informer_unchanged_total",
       "Updates that moved only the cached object's resourceVersion (no handler told).",
       &Informer::Stats::unchanged},
      {"ringkeeper_informer_lists_total", "Full lists: the first one and every relist.",
       &Informer::Stats::lists},
      {"ringkeeper_informer_gone_total", "Watches ended by 410 Gone (a relist followed).",
       &Informer::Stats::gone},
      {"ringkeeper_informer_errors_total", "Failed lists and watches (each followed by a backoff).",
       &Informer::Stats::errors},
  };
  auto labels = [](const Informer& i) -> metrics::Labels {
    return {{"resource", i.resource().resource}, {"view", i.metadata_only() ? "metadata" : "full"}};
  };
  metrics::Exposition out;
  out.Declare("ringkeeper_informer_objects", metrics::Type::kGauge,
              "Objects in the informer's cache.");
  out.Declare("ringkeeper_informer_bytes", metrics::Type::kGauge,
              "Bytes of the cached objects as packed (without the maps' and indexes' overhead).");
  for (const Counter& c : kCounters) out.Declare(c.name, metrics::Type::kCounter, c.help);
  for (const Informer* i : informers) {
    const Informer::Stats stats = i->stats();
    out.Add("ringkeeper_informer_objects", labels(*i), double(i->store().size()));
    out.Add("ringkeeper_informer_bytes", labels(*i), double(i->store().bytes()));
    for (const Counter& c : kCounters) out.Add(c.name, labels(*i), double(stats.*c.field));
  }
  return out.Text();
}

std::string Informer::last_resource_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return resource_version_;
}

void Informer::SleepInterruptibly(absl::Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, absl::ToChronoMilliseconds(d), [this] { return stop_.load(); });
}

void Informer::Run() {
  std::mt19937 rng(std::random_device{}());
  absl::Duration backoff = options_.min_backoff;
  // A restarted informer resumes watching from where it stopped; its next watch gets a 410
  // (and relists) if that version is gone by then.
  bool need_list = !synced_.load();
  while (!stop_) {
    absl::Status s = need_list ? Relist() : WatchOnce();
    if (stop_) break;
    if (s.ok()) {
      // A list, or a watch the server ended on its timeout: carry on at once.
      need_list = false;
      backoff = options_.min_backoff;
      continue;
    }
    if (IsGone(s)) {
      // Our resourceVersion was compacted away: only a fresh list can catch us up.
      spdlog::info("informer {}: {}; relisting", resource_.resource, s.message());
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.gone;
      need_list = true;
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.errors;
    }
    // Jitter keeps many informers from reconnecting to a restarted server in lockstep.
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    const absl::Duration wait = backoff * jitter(rng);
    spdlog::warn("informer {}: {}; retrying in {}", resource_.resource, s.message(),
                 absl::FormatDuration(wait));
    SleepInterruptibly(wait);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::Status Informer::Relist() {
  ListOptions list_options;
  list_options.label_selector = options_.label_selector;
  list_options.field_selector = options_.field_selector;
  list_options.limit = options_.page_size;
  list_options.metadata_only = options_.metadata_only;
  // Each page goes into the store as it comes: only one page is ever held whole (text and
  // parsed) before the transform and the store's packing shrink it. Thousands of Pods listed
  // at once would otherwise be the process' high-water mark.
  std::set<std::string> listed;
  std::string resource_version;
  RETURN_IF_ERROR(client_.ListPages(
      resource_, options_.ns, list_options,
      [&](ObjectList& page) {
        for (Object& object : page.items) {
          listed.insert(object.key().ToString());
          Apply(WatchEvent::Type::kModified, std::move(object));
        }
        resource_version = page.resource_version;
      },
      // What was applied stays: each object was current at some point, and is applied again
      // if newer.
      [&listed] { listed.clear(); }));
  // Whatever the store holds that the list lacks was deleted while we were not watching.
  for (const std::string& key : store_.Keys()) {
    if (listed.count(key) != 0) continue;
    ObjectPtr gone = store_.Remove(key);
    if (!gone) continue;
    for (auto& h : handlers_) {
      if (h.on_delete) h.on_delete(*gone);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.lists;
    resource_version_ = resource_version;
  }
  if (!synced_.exchange(true)) cv_.notify_all();
  return absl::OkStatus();
}

absl::Status Informer::WatchOnce() {
  WatchOptions watch_options;
  watch_options.resource_version = last_resource_version();
  watch_options.label_selector = options_.label_selector;
  watch_options.field_selector = options_.field_selector;
  watch_options.metadata_only = options_.metadata_only;
  // Random 5–10 minute server-side timeouts spread the reconnects of many informers.
  static thread_local std::mt19937 rng(std::random_device{}());
  watch_options.timeout_seconds = std::uniform_int_distribution<int64_t>(300, 600)(rng);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.watches;
  }
  return client_.Watch(
      resource_, options_.ns, watch_options,
      [this](WatchEvent event) {
        const std::string rv = event.object.resource_version();
        if (event.type == WatchEvent::Type::kBookmark) {
          std::lock_guard<std::mutex> lock(mu_);
          ++stats_.bookmarks;
        } else {
          Apply(event.type, std::move(event.object));
        }
        // Advance only after the event is applied: a crash between the two replays it, and
        // Apply skips what the store already has.
        if (!rv.empty()) {
          std::lock_guard<std::mutex> lock(mu_);
          resource_version_ = rv;
        }
        return !stop_.load();
      },
      &stop_);
}

void StripManagedFields(Json& object) {
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return;
  metadata->erase("managedFields");
  auto annotations = metadata->find("annotations");
  if (annotations == metadata->end() || !annotations->is_object()) return;
  annotations->erase("kubectl.kubernetes.io/last-applied-configuration");
  if (annotations->empty()) metadata->erase(annotations);
}

void Informer::Apply(WatchEvent::Type type, Object object) {
  if (options_.transform) options_.transform(object.json());
  const std::string key = object.key().ToString();
  if (type == WatchEvent::Type::kDeleted) {
    ObjectPtr gone = store_.Remove(key);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++(gone ? stats_.events : stats_.skipped);
    }
    if (!gone) return;
    for (auto& h : handlers_) {
      if (h.on_delete) h.on_delete(object);
    }
    return;
  }
  const std::string cached_version = store_.ResourceVersionOf(key);
  if (!cached_version.empty() && cached_version == object.resource_version()) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.skipped;
    return;
  }
  Store::PutResult put = store_.Put(std::move(object));
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++(put.changed ? stats_.events : stats_.unchanged);
  }
  if (!put.changed) return;
  for (auto& h : handlers_) {
    if (put.previous) {
      if (h.on_update) h.on_update(*put.previous, *put.stored);
    } else if (h.on_add) {
      h.on_add(*put.stored);
    }
  }
}

}  // namespace kube
