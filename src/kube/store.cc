#include "kube/store.h"

#include <mutex>

namespace kube {

Store::Store() {
  AddIndex(std::string(kIndexNamespace),
           [](const Object& o) { return std::vector<std::string>{o.ns()}; });
  AddIndex(std::string(kIndexOwnerUid), [](const Object& o) {
    std::vector<std::string> uids;
    for (const auto& ref : o.owner_references()) uids.push_back(ref.uid);
    return uids;
  });
  AddIndex(std::string(kIndexLabel), [](const Object& o) {
    std::vector<std::string> values;
    for (const auto& [k, v] : o.labels()) values.push_back(k + "=" + v);
    return values;
  });
}

void Store::AddIndex(std::string name, IndexFunc func) {
  std::unique_lock lock(mu_);
  Index& index = indexes_[std::move(name)];
  index.func = std::move(func);
  for (const auto& [key, object] : objects_) {
    for (auto& v : index.func(*object)) index.keys_by_value[v].insert(key);
  }
}

void Store::IndexLocked(const std::string& key, const Object& object) {
  for (auto& [name, index] : indexes_) {
    for (auto& v : index.func(object)) index.keys_by_value[v].insert(key);
  }
}

void Store::UnindexLocked(const std::string& key, const Object& object) {
  for (auto& [name, index] : indexes_) {
    for (auto& v : index.func(object)) {
      auto it = index.keys_by_value.find(v);
      if (it == index.keys_by_value.end()) continue;
      it->second.erase(key);
      if (it->second.empty()) index.keys_by_value.erase(it);
    }
  }
}

ObjectPtr Store::Upsert(ObjectPtr object) {
  const std::string key = object->key().ToString();
  std::unique_lock lock(mu_);
  ObjectPtr& slot = objects_[key];
  ObjectPtr previous = std::move(slot);
  if (previous) UnindexLocked(key, *previous);
  IndexLocked(key, *object);
  slot = std::move(object);
  return previous;
}

ObjectPtr Store::Remove(const std::string& key) {
  std::unique_lock lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return nullptr;
  ObjectPtr previous = std::move(it->second);
  objects_.erase(it);
  UnindexLocked(key, *previous);
  return previous;
}

ObjectPtr Store::Get(const std::string& key) const {
  std::shared_lock lock(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Store::List() const {
  std::shared_lock lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(objects_.size());
  for (const auto& [key, object] : objects_) out.push_back(object);
  return out;
}

std::vector<std::string> Store::Keys() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  out.reserve(objects_.size());
  for (const auto& [key, object] : objects_) out.push_back(key);
  return out;
}

std::vector<ObjectPtr> Store::ByIndex(absl::string_view index, absl::string_view value) const {
  std::shared_lock lock(mu_);
  std::vector<ObjectPtr> out;
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) return out;
  auto keys = idx->second.keys_by_value.find(value);
  if (keys == idx->second.keys_by_value.end()) return out;
  for (const auto& key : keys->second) out.push_back(objects_.at(key));
  return out;
}

size_t Store::size() const {
  std::shared_lock lock(mu_);
  return objects_.size();
}

}  // namespace kube
