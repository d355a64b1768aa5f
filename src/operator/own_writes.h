// The objects a reconciler last wrote, by key. The informer's cache may not hold a status write
// yet, and a pass must never act on a status older than one it wrote (it would redo what it
// recorded as done): resourceVersions are etcd revisions, so of two versions of one object (same
// uid) the larger is the newer. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "kube/store.h"  // ObjectPtr

namespace ringkeeper {

class OwnWrites {
 public:
  // `cached`, or our last write of that object when it is newer.
  kube::ObjectPtr Newest(const std::string& key, kube::ObjectPtr cached) const;
  void Remember(const std::string& key, kube::ObjectPtr written);
  void Forget(const std::string& key);

 private:
  mutable std::mutex mu_;
  std::map<std::string, kube::ObjectPtr> written_;  // guarded by mu_
};

}  // namespace ringkeeper
