// kube::Store: the informer's thread-safe cache of objects, keyed by "ns/name", with indexes.
//
// Objects are held packed (MessagePack of their JSON: about their size as JSON text, where a
// JSON DOM costs six to eight times it) and unpacked on every read: a reader gets its own
// shared_ptr<const Object>, a snapshot that stays valid after the store changes. A reconcile
// pass reads the dozen objects of one cluster; the memory of a thousand clusters' objects is
// what this saves. A store has the indexes added to it, none by default: each costs a set
// entry per object and value (IndexByNamespace, IndexByOwnerUid and IndexByLabels below are
// the common ones). All methods are thread-safe.
//
// The resourceVersion is kept beside the packed object, not in it: an update that changes
// nothing but the version (a status field a transform dropped, a no-op write) packs to the same
// bytes, and Put says so without unpacking anything.
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

  // Adds a custom index. Call before the store holds objects.
  void AddIndex(std::string name, IndexFunc func);

  // What Put did.
  struct PutResult {
    ObjectPtr stored;    // the object now under its key
    ObjectPtr previous;  // the object it replaced (null when new, or when !changed: not read)
    // False when the object was already stored with the same content, its resourceVersion
    // aside: only the version was updated.
    bool changed = true;
  };
  // Inserts or replaces.
  PutResult Put(Object object);
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
  // Bytes of the packed objects, their versions and keys (not the maps' and indexes' nodes),
  // counted when asked (a scrape): O(objects).
  size_t bytes() const;

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
  struct Entry {
    std::string packed;  // the object without its resourceVersion
    std::string resource_version;
  };
  // The object packed without its resourceVersion (put back on the way out).
  static Entry Pack(Object& object);
  static ObjectPtr Unpack(const Entry& entry);

  mutable std::shared_mutex mu_;
  std::map<std::string, Entry> objects_;
  std::map<std::string, Index, std::less<>> indexes_;
};

// The namespace (kIndexNamespace).
Store::IndexFunc IndexByNamespace();
// The UID of every owner reference (kIndexOwnerUid).
Store::IndexFunc IndexByOwnerUid();
// Every label as "key=value" (kIndexLabel).
Store::IndexFunc IndexByLabels();

}  // namespace kube
