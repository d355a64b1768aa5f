// kube::Store: the informer's thread-safe cache of objects, keyed by "ns/name", with indexes.
//
// Objects are held as shared_ptr<const Object>: readers get cheap snapshots that stay valid
// after the store changes. Built-in indexes: by namespace, by owner UID (every owner
// reference), by label ("key=value"). All methods are thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "kube/object.h"

namespace kube {

using ObjectPtr = std::shared_ptr<const Object>;

inline constexpr absl::string_view kIndexNamespace = "namespace";
inline constexpr absl::string_view kIndexOwnerUid = "owner-uid";
inline constexpr absl::string_view kIndexLabel = "label";

class Store {
 public:
  // Values an object is indexed under.
  using IndexFunc = std::function<std::vector<std::string>(const Object&)>;

  Store();

  // Adds a custom index. Call before the store holds objects.
  void AddIndex(std::string name, IndexFunc func);

  // Inserts or replaces; returns the previous object under that key, if any.
  ObjectPtr Upsert(ObjectPtr object);
  // Removes; returns the removed object, if any.
  ObjectPtr Remove(const std::string& key);

  ObjectPtr Get(const std::string& key) const;
  std::vector<ObjectPtr> List() const;
  std::vector<std::string> Keys() const;
  // Objects indexed under `value` in `index` (e.g. kIndexLabel, "app=cassandra").
  std::vector<ObjectPtr> ByIndex(absl::string_view index, absl::string_view value) const;
  size_t size() const;

 private:
  struct Index {
    IndexFunc func;
    std::map<std::string, std::set<std::string>, std::less<>> keys_by_value;
  };
  void IndexLocked(const std::string& key, const Object& object);
  void UnindexLocked(const std::string& key, const Object& object);

  mutable std::shared_mutex mu_;
  std::map<std::string, ObjectPtr> objects_;
  std::map<std::string, Index, std::less<>> indexes_;
};

}  // namespace kube
