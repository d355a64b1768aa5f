// kube::Store: the informer's thread-safe cache of objects, keyed by "ns/name", with indexes.
//
// Objects are held packed (MessagePack of their JSON: about their size as JSON text, where a
// JSON DOM costs six to eight times it) and unpacked on every read: a reader gets its own
// shared_ptr<const Object>, a snapshot that stays valid after the store changes. A reconcile
// pass reads the dozen objects of one cluster; the memory of a thousand clusters' objects is
// what this saves. Built-in indexes: by namespace, by owner UID (every owner reference), by
// label ("key=value"). All methods are thread-safe.
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
  ObjectPtr Upsert(const ObjectPtr& object);
  // Removes; returns the removed object, if any.
  ObjectPtr Remove(const std::string& key);

  ObjectPtr Get(const std::string& key) const;
  // The resourceVersion of the object under `key` ("" when absent), without unpacking it.
  std::string ResourceVersionOf(const std::string& key) const;
  std::vector<ObjectPtr> List() const;
  std::vector<std::string> Keys() const;
  // Objects indexed under `value` in `index` (e.g. kIndexLabel, "app=cassandra").
  std::vector<ObjectPtr> ByIndex(absl::string_view index, absl::string_view value) const;
  size_t size() const;

 private:
  struct Index {
    IndexFunc func;
    // The keys are the objects_ map's own (its nodes never move): an index costs a pointer per
    // object and value, not a copy of the key. Ordered by the keys' text, so reads come in key
    // order.
    struct ByText {
      bool operator()(const std::string* a, const std::string* b) const { return *a < *b; }
    };
    std::map<std::string, std::set<const std::string*, ByText>, std::less<>> keys_by_value;
  };
  void IndexLocked(const std::string& key, const Object& object);
  void UnindexLocked(const std::string& key, const Object& object);
  static std::string Pack(const Object& object);
  static ObjectPtr Unpack(const std::string& packed);

  struct Entry {
    std::string packed;
    std::string resource_version;
  };

  mutable std::shared_mutex mu_;
  std::map<std::string, Entry> objects_;
  std::map<std::string, Index, std::less<>> indexes_;
};

}  // namespace kube
