// kube::Client: the REST verbs of the Kubernetes API on kube::Object, plus discovery and
// watch. Every call is one request (List follows `continue` pages), with 429/503 retried
// after the server's Retry-After up to RestConfig::max_retries times.
//
// Thread-safe: share one Client across workers. Errors are typed (see kube/errors.h).
// Logging: method, path and status at debug level; never bodies, so Secrets never reach logs.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kube/config.h"
#include "kube/http.h"
#include "kube/object.h"
#include "kube/resource.h"
#include "kube/watch.h"

namespace kube {

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t limit = 500;  // page size; 0 = no paging
  std::string continue_token;
  std::string resource_version;  // "" = most recent (quorum read)
  // Items as PartialObjectMetadata: only apiVersion, kind and metadata, for readers that need
  // names, labels, owners and versions (a fraction of the bytes and of the memory).
  bool metadata_only = false;
};

struct ObjectList {
  std::vector<Object> items;
  std::string resource_version;  // of the list: where a watch starts
  std::string continue_token;    // non-empty when more pages follow (ListPage only)
};

struct DeleteOptions {
  std::optional<std::string> precondition_uid;
  std::optional<std::string> precondition_resource_version;
  std::string propagation_policy;  // "", "Foreground", "Background", "Orphan"
  std::optional<int64_t> grace_period_seconds;
};

struct ApplyOptions {
  std::string field_manager;  // required
  bool force = false;         // take ownership of conflicting fields
};

struct WatchOptions {
  std::string resource_version;
  std::string label_selector;
  std::string field_selector;
  bool allow_bookmarks = true;
  int64_t timeout_seconds = 0;  // server-side end of the watch; 0 = server default
  bool metadata_only = false;   // as in ListOptions
};

class Client {
 public:
  explicit Client(RestConfig config);
  Client(RestConfig config, std::shared_ptr<HttpTransport> transport);

  const RestConfig& config() const { return config_; }

  absl::StatusOr<Object> Get(const Resource& r, absl::string_view ns, absl::string_view name);
  // One page.
  absl::StatusOr<ObjectList> ListPage(const Resource& r, absl::string_view ns,
                                      const ListOptions& options);
  // Every page, following `continue`; a 410 mid-way (continue token expired) restarts once
  // from the first page.
  absl::StatusOr<ObjectList> List(const Resource& r, absl::string_view ns,
                                  ListOptions options = {});
  // The same pages, each handed to `on_page` as it comes (a caller keeps one page at a time);
  // `on_restart` is called before the pages are listed again after a 410.
  absl::Status ListPages(const Resource& r, absl::string_view ns, ListOptions options,
                         const std::function<void(ObjectList& page)>& on_page,
                         const std::function<void()>& on_restart);
  absl::StatusOr<Object> Create(const Resource& r, const Object& object);
  // PUT with the object's resourceVersion: a stale one gives IsConflict.
  absl::StatusOr<Object> Update(const Resource& r, const Object& object);
  absl::StatusOr<Object> UpdateStatus(const Resource& r, const Object& object);
  // Server-side apply of `object` (a fully specified intent with apiVersion/kind/name).
  absl::StatusOr<Object> Apply(const Resource& r, const Object& object,
                               const ApplyOptions& options);
  absl::StatusOr<Object> ApplyStatus(const Resource& r, const Object& object,
                                     const ApplyOptions& options);
  // RFC 7386 JSON merge patch; `subresource` may be "status".
  absl::StatusOr<Object> MergePatch(const Resource& r, absl::string_view ns, absl::string_view name,
                                    const Json& patch, absl::string_view subresource = "");
  // POST to an object's subresource (serviceaccounts/token, pods/eviction); returns the
  // server's response object.
  absl::StatusOr<Object> CreateSubresource(const Resource& r, absl::string_view ns,
                                           absl::string_view name, absl::string_view subresource,
                                           const Object& body);
  absl::Status Delete(const Resource& r, absl::string_view ns, absl::string_view name,
                      const DeleteOptions& options = {});

  // Whether the server serves `resource` in group/version (discovery); false, not an error,
  // when the group/version is absent.
  absl::StatusOr<bool> HasResource(absl::string_view group, absl::string_view version,
                                   absl::string_view resource);
  // gitVersion from /version, e.g. "v1.34.4".
  absl::StatusOr<std::string> ServerVersion();

  // Streams watch events to `handler` until the server ends the watch (OK), the handler
  // returns false (OK), `*cancel` turns true (Cancelled), or an error: a watch ERROR event
  // becomes its typed status (IsGone for 410: the caller must relist), a broken stream is
  // DataLoss/Unavailable.
  absl::Status Watch(const Resource& r, absl::string_view ns, const WatchOptions& options,
                     const std::function<bool(WatchEvent)>& handler,
                     const std::atomic<bool>* cancel);

 private:
  absl::StatusOr<HttpResponse> DoWithRetry(const HttpRequest& request);
  absl::StatusOr<Object> DoObject(const HttpRequest& request);
  absl::StatusOr<Object> ApplyTo(const Resource& r, const Object& object,
                                 const ApplyOptions& options, absl::string_view subresource);

  const RestConfig config_;
  const std::shared_ptr<HttpTransport> transport_;
};

}  // namespace kube
