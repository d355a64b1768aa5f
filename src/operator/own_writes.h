// The objects a reconciler last wrote, by key. The informer's cache may not hold a status write
// yet, and a pass must never act on a status older than one it wrote (it would redo what it
// recorded as done): resourceVersions are etcd revisions, so of two versions of one object (same
// uid) the larger is the newer. A write is held only until the cache has it (or something
// newer): at a thousand clusters, holding each one's last status write would double what the
// Clusters' cache costs. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "kube/store.h"  // ObjectPtr

namespace ringkeeper {

class OwnWrites {
 public:
  // `cached`, or our last write of that object when it is newer. Forgets the write once
  // `cached` is at least as new, or is another object of that name.
  kube::ObjectPtr Newest(const std::string& key, kube::ObjectPtr cached);
  void Remember(const std::string& key, kube::ObjectPtr written);
  void Forget(const std::string& key);
  // Writes held (not yet seen in the cache).
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, kube::ObjectPtr> written_;  // guarded by mu_
};

}  // namespace ringkeeper
