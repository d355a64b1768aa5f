#include "kube/store.h"

#include <mutex>

namespace kube {

Store::IndexFunc IndexByNamespace() {
  return [](const Object& o) { return std::vector<std::string>{o.ns()}; };
}

Store::IndexFunc IndexByOwnerUid() {
  return [](const Object& o) {
    std::vector<std::string> uids;
    for (const auto& ref : o.owner_references()) uids.push_back(ref.uid);
    return uids;
  };
}

Store::IndexFunc IndexByLabels() {
  return [](const Object& o) {
    std::vector<std::string> values;
    for (const auto& [k, v] : o.labels()) values.push_back(k + "=" + v);
    return values;
  };
}

void Store::AddIndex(std::string name, IndexFunc func) {
  std::unique_lock lock(mu_);
  Index& index = indexes_[std::move(name)];
  index.func = std::move(func);
  for (const auto& [key, entry] : objects_) {
    for (auto& v : index.func(*Unpack(entry))) index.keys_by_value[v].insert(&key);
  }
}

Store::Entry Store::Pack(Object& object) {
  Entry entry;
  Json& json = object.json();
  auto metadata = json.find("metadata");
  const bool versioned =
      metadata != json.end() && metadata->is_object() && metadata->contains("resourceVersion");
  if (versioned) {
    entry.resource_version = object.resource_version();
    metadata->erase("resourceVersion");
  }
  Json::to_msgpack(json, entry.packed);
  entry.packed.shrink_to_fit();
  if (versioned) (*metadata)["resourceVersion"] = entry.resource_version;
  return entry;
}

ObjectPtr Store::Unpack(const Entry& entry) {
  // What Pack wrote always reads back; a failure would be a bug here, and an empty object
  // (no name) is what a reader copes with best.
  Json json = Json::from_msgpack(entry.packed, /*strict=*/true, /*allow_exceptions=*/false);
  if (json.is_discarded()) json = Json::object();
  if (!entry.resource_version.empty() && json.is_object()) {
    json["metadata"]["resourceVersion"] = entry.resource_version;
  }
  return std::make_shared<const Object>(std::move(json));
}

void Store::IndexLocked(const std::string& key, const Object& object) {
  for (auto& [name, index] : indexes_) {
    for (auto& v : index.func(object)) index.keys_by_value[v].insert(&key);
  }
}

void Store::UnindexLocked(const std::string& key, const Object& object) {
  for (auto& [name, index] : indexes_) {
    for (auto& v : index.func(object)) {
      auto it = index.keys_by_value.find(v);
      if (it == index.keys_by_value.end()) continue;
      it->second.erase(&key);
      if (it->second.empty()) index.keys_by_value.erase(it);
    }
  }
}

Store::PutResult Store::Put(Object object) {
  const std::string key = object.key().ToString();
  Entry fresh = Pack(object);  // outside the lock
  PutResult result;
  result.stored = std::make_shared<const Object>(std::move(object));
  std::unique_lock lock(mu_);
  auto [it, inserted] = objects_.try_emplace(key);
  const std::string& stored_key = it->first;  // what the indexes point at
  Entry& slot = it->second;
  if (!inserted && slot.packed == fresh.packed) {
    slot.resource_version = std::move(fresh.resource_version);
    result.changed = false;
    return result;
  }
  if (!inserted) {
    result.previous = Unpack(slot);
    UnindexLocked(stored_key, *result.previous);
  }
  IndexLocked(stored_key, *result.stored);
  slot = std::move(fresh);
  return result;
}

ObjectPtr Store::Upsert(const ObjectPtr& object) {
  // Tests and fakes call this; the informer calls Put, which does not read what it replaces
  // when only the version moved.
  ObjectPtr previous = Get(object->key().ToString());
  Put(*object);
  return previous;
}

ObjectPtr Store::Remove(const std::string& key) {
  std::unique_lock lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return nullptr;
  ObjectPtr previous = Unpack(it->second);
  UnindexLocked(it->first, *previous);  // while the key the indexes point at still exists
  objects_.erase(it);
  return previous;
}

ObjectPtr Store::Get(const std::string& key) const {
  std::shared_lock lock(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : Unpack(it->second);
}

std::string Store::ResourceVersionOf(const std::string& key) const {
  std::shared_lock lock(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? "" : it->second.resource_version;
}

std::vector<ObjectPtr> Store::List() const {
  std::shared_lock lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(objects_.size());
  for (const auto& [key, entry] : objects_) out.push_back(Unpack(entry));
  return out;
}

std::vector<std::string> Store::Keys() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  out.reserve(objects_.size());
  for (const auto& [key, entry] : objects_) out.push_back(key);
  return out;
}

std::vector<ObjectPtr> Store::ByIndex(absl::string_view index, absl::string_view value) const {
  std::shared_lock lock(mu_);
  std::vector<ObjectPtr> out;
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) return out;
  auto keys = idx->second.keys_by_value.find(value);
  if (keys == idx->second.keys_by_value.end()) return out;
  for (const std::string* key : keys->second) out.push_back(Unpack(objects_.at(*key)));
  return out;
}

size_t Store::size() const {
  std::shared_lock lock(mu_);
  return objects_.size();
}

size_t Store::bytes() const {
  std::shared_lock lock(mu_);
  size_t bytes = 0;
  for (const auto& [key, entry] : objects_) {
    bytes += key.size() + entry.packed.size() + entry.resource_version.size();
  }
  return bytes;
}

}  // namespace kube
