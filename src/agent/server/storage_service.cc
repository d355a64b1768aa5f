#include "agent/server/storage_service.h"

#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "backup/store.h"
#include "base/status_macros.h"

namespace agent::server {

absl::StatusOr<api::StorageReply> ServeStorage(const api::StorageRequest& r,
                                               const std::string& locations_dir) {
  if (r.location.path.empty()) {
    return absl::InvalidArgumentError("storage: only filesystem locations are served here");
  }
  const std::filesystem::path path = std::filesystem::path(r.location.path).lexically_normal();
  const std::string under = std::filesystem::path(locations_dir).lexically_normal().string() + "/";
  if (!absl::StartsWith(path.string(), under) || path.string().size() == under.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("storage: ", r.location.path, " is not a location under ", locations_dir));
  }
  backup::FileStore store(path.string());
  api::StorageReply reply;
  if (r.op == "get") {
    ASSIGN_OR_RETURN(const std::string body, store.Get(r.key));
    reply.body_base64 = absl::Base64Escape(body);
  } else if (r.op == "put") {
    std::string body;
    if (!absl::Base64Unescape(r.body_base64, &body)) {
      return absl::InvalidArgumentError("storage: body_base64 is not base64");
    }
    RETURN_IF_ERROR(store.Put(r.key, body));
  } else if (r.op == "list") {
    ASSIGN_OR_RETURN(const backup::ListPage page, store.List(r.prefix, r.token));
    for (const backup::ObjectInfo& o : page.objects) {
      reply.objects.push_back({o.key, o.size, o.etag, absl::ToUnixSeconds(o.last_modified)});
    }
    reply.next_token = page.next_token;
  } else if (r.op == "delete") {
    if (r.keys.size() > 1000) return absl::InvalidArgumentError("storage: over 1000 keys");
    RETURN_IF_ERROR(store.Delete(r.keys));
  } else {
    return absl::InvalidArgumentError(absl::StrCat("storage: unknown op \"", r.op, "\""));
  }
  return reply;
}

}  // namespace agent::server
