#include "operator/own_writes.h"

#include "absl/strings/numbers.h"

namespace ringkeeper {

kube::ObjectPtr OwnWrites::Newest(const std::string& key, kube::ObjectPtr cached) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = written_.find(key);
  if (!cached || it == written_.end()) return cached;
  int64_t in_cache = 0, ours = 0;
  if (absl::SimpleAtoi(cached->resource_version(), &in_cache) &&
      absl::SimpleAtoi(it->second->resource_version(), &ours) && ours > in_cache &&
      it->second->uid() == cached->uid()) {
    return it->second;
  }
  written_.erase(it);  // the cache has it, or the object is another one now
  return cached;
}

size_t OwnWrites::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return written_.size();
}

void OwnWrites::Remember(const std::string& key, kube::ObjectPtr written) {
  std::lock_guard<std::mutex> lock(mu_);
  written_[key] = std::move(written);
}

void OwnWrites::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  written_.erase(key);
}

}  // namespace ringkeeper
