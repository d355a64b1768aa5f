#include "kube/client.h"

#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "kube/errors.h"

namespace kube {
namespace {

constexpr absl::Duration kDefaultRetryAfter = absl::Seconds(1);
constexpr absl::Duration kMaxRetryAfter = absl::Seconds(30);
// Content negotiation for metadata-only reads: the server converts each object to
// meta.k8s.io/v1 PartialObjectMetadata (every resource supports it since 1.15).
constexpr char kAcceptMetadataList[] =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
constexpr char kAcceptMetadata[] = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

std::string Escape(absl::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

// Builds "?a=b&c=d" from the non-empty pairs.
class Query {
 public:
  Query& Add(absl::string_view key, absl::string_view value) {
    if (value.empty()) return *this;
    absl::StrAppend(&q_, q_.empty() ? "?" : "&", key, "=", Escape(value));
    return *this;
  }
  const std::string& str() const { return q_; }

 private:
  std::string q_;
};

bool IsJson(absl::string_view content_type) {
  return absl::StartsWith(content_type, "application/json");
}

absl::Status CheckJsonContentType(const HttpRequest& request, const HttpResponse& response) {
  if (IsJson(response.content_type)) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(request.method, " ", request.path,
                                          ": expected application/json, got content type \"",
                                          response.content_type.substr(0, 64), "\""));
}

HttpRequest JsonRequest(std::string method, std::string path, const Json& body,
                        std::string content_type = "application/json") {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.body = body.dump();
  r.content_type = std::move(content_type);
  return r;
}

}  // namespace

Client::Client(RestConfig config)
    : config_(std::move(config)), transport_(NewHttpTransport(config_)) {}

Client::Client(RestConfig config, std::shared_ptr<HttpTransport> transport)
    : config_(std::move(config)), transport_(std::move(transport)) {}

absl::StatusOr<HttpResponse> Client::DoWithRetry(const HttpRequest& request) {
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(HttpResponse response, transport_->Do(request));
    spdlog::debug("{} {} -> {}", request.method, request.path, response.status);
    if (response.status >= 200 && response.status < 300) return response;
    const bool retryable = response.status == 429 || response.status == 503;
    if (!retryable || attempt >= config_.max_retries) {
      return base::Annotate(
          StatusFromResponse(response.status, response.body, response.retry_after),
          absl::StrCat(request.method, " ", request.path));
    }
    // 429 and 503 mean the server did not process the request, so any verb may be resent.
    absl::Duration wait =
        std::min(response.retry_after.value_or(kDefaultRetryAfter), kMaxRetryAfter);
    spdlog::info("{} {}: HTTP {}, retrying in {}", request.method, request.path, response.status,
                 absl::FormatDuration(wait));
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(wait));
  }
}

absl::StatusOr<Object> Client::DoObject(const HttpRequest& request) {
  ASSIGN_OR_RETURN(HttpResponse response, DoWithRetry(request));
  RETURN_IF_ERROR(CheckJsonContentType(request, response));
  auto object = Object::Parse(response.body);
  if (!object.ok()) {
    return base::Annotate(absl::DataLossError(object.status().message()),
                          absl::StrCat(request.method, " ", request.path));
  }
  return object;
}

absl::StatusOr<Object> Client::Get(const Resource& r, absl::string_view ns,
                                   absl::string_view name) {
  HttpRequest req;
  req.path = r.ObjectPath(ns, name);
  return DoObject(req);
}

absl::StatusOr<ObjectList> Client::ListPage(const Resource& r, absl::string_view ns,
                                            const ListOptions& options) {
  HttpRequest req;
  req.path = r.CollectionPath(ns) +
             Query()
                 .Add("labelSelector", options.label_selector)
                 .Add("fieldSelector", options.field_selector)
                 .Add("limit", options.limit > 0 ? std::to_string(options.limit) : "")
                 .Add("continue", options.continue_token)
                 .Add("resourceVersion", options.resource_version)
                 .str();
  if (options.metadata_only) req.accept = kAcceptMetadataList;
  ASSIGN_OR_RETURN(Object list, DoObject(req));
  ObjectList out;
  out.resource_version = list.String("/metadata/resourceVersion");
  out.continue_token = list.String("/metadata/continue");
  Json& items = list.json()["items"];
  if (items.is_null()) return out;  // an empty list may omit items
  if (!items.is_array()) {
    return absl::DataLossError(absl::StrCat("GET ", req.path, ": \"items\" is not an array"));
  }
  out.items.reserve(items.size());
  // Lists omit each item's apiVersion/kind; fill them in so items look like Get results.
  const std::string api_version = r.api_version();
  for (Json& item : items) {
    if (!item.is_object()) continue;
    Object o(std::move(item));
    if (o.kind().empty()) o.set_kind(r.kind);
    if (o.api_version().empty()) o.set_api_version(api_version);
    out.items.push_back(std::move(o));
  }
  return out;
}

absl::Status Client::ListPages(const Resource& r, absl::string_view ns, ListOptions options,
                               const std::function<void(ObjectList& page)>& on_page,
                               const std::function<void()>& on_restart) {
  bool restarted = false;
  options.continue_token.clear();
  for (;;) {
    auto page = ListPage(r, ns, options);
    if (!page.ok()) {
      // The continue token expired (410): the pages so far are from a compacted snapshot;
      // start over once so the result is consistent.
      if (IsGone(page.status()) && !options.continue_token.empty() && !restarted) {
        restarted = true;
        on_restart();
        options.continue_token.clear();
        continue;
      }
      return page.status();
    }
    const std::string next = page->continue_token;
    on_page(*page);
    if (next.empty()) return absl::OkStatus();
    options.continue_token = next;
  }
}

absl::StatusOr<ObjectList> Client::List(const Resource& r, absl::string_view ns,
                                        ListOptions options) {
  ObjectList all;
  RETURN_IF_ERROR(ListPages(
      r, ns, std::move(options),
      [&all](ObjectList& page) {
        all.resource_version = page.resource_version;
        all.items.insert(all.items.end(), std::make_move_iterator(page.items.begin()),
                         std::make_move_iterator(page.items.end()));
      },
      [&all] { all = {}; }));
  return all;
}

absl::StatusOr<Object> Client::Create(const Resource& r, const Object& object) {
  return DoObject(JsonRequest("POST", r.CollectionPath(object.ns()), object.json()));
}

absl::StatusOr<Object> Client::Update(const Resource& r, const Object& object) {
  return DoObject(JsonRequest("PUT", r.ObjectPath(object.ns(), object.name()), object.json()));
}

absl::StatusOr<Object> Client::UpdateStatus(const Resource& r, const Object& object) {
  return DoObject(
      JsonRequest("PUT", r.ObjectPath(object.ns(), object.name(), "status"), object.json()));
}

absl::StatusOr<Object> Client::Apply(const Resource& r, const Object& object,
                                     const ApplyOptions& options) {
  return ApplyTo(r, object, options, "");
}

absl::StatusOr<Object> Client::ApplyStatus(const Resource& r, const Object& object,
                                           const ApplyOptions& options) {
  return ApplyTo(r, object, options, "status");
}

absl::StatusOr<Object> Client::ApplyTo(const Resource& r, const Object& object,
                                       const ApplyOptions& options, absl::string_view subresource) {
  if (options.field_manager.empty()) {
    return absl::InvalidArgumentError("server-side apply needs a field manager");
  }
  const std::string query = Query()
                                .Add("fieldManager", options.field_manager)
                                .Add("force", options.force ? "true" : "")
                                .str();
  // The apply content type is YAML, and JSON is YAML.
  return DoObject(JsonRequest("PATCH",
                              r.ObjectPath(object.ns(), object.name(), subresource) + query,
                              object.json(), "application/apply-patch+yaml"));
}

absl::StatusOr<Object> Client::MergePatch(const Resource& r, absl::string_view ns,
                                          absl::string_view name, const Json& patch,
                                          absl::string_view subresource) {
  return DoObject(JsonRequest("PATCH", r.ObjectPath(ns, name, subresource), patch,
                              "application/merge-patch+json"));
}

absl::StatusOr<Object> Client::CreateSubresource(const Resource& r, absl::string_view ns,
                                                 absl::string_view name,
                                                 absl::string_view subresource,
                                                 const Object& body) {
  return DoObject(JsonRequest("POST", r.ObjectPath(ns, name, subresource), body.json()));
}

absl::Status Client::Delete(const Resource& r, absl::string_view ns, absl::string_view name,
                            const DeleteOptions& options) {
  Json body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}};
  if (options.precondition_uid) body["preconditions"]["uid"] = *options.precondition_uid;
  if (options.precondition_resource_version) {
    body["preconditions"]["resourceVersion"] = *options.precondition_resource_version;
  }
  if (!options.propagation_policy.empty()) {
    body["propagationPolicy"] = options.propagation_policy;
  }
  if (options.grace_period_seconds) body["gracePeriodSeconds"] = *options.grace_period_seconds;
  return DoWithRetry(JsonRequest("DELETE", r.ObjectPath(ns, name), body)).status();
}

absl::StatusOr<bool> Client::HasResource(absl::string_view group, absl::string_view version,
                                         absl::string_view resource) {
  Resource gv{std::string(group), std::string(version), "", "", false};
  HttpRequest req;
  req.path = gv.GroupVersionPath();
  auto list = DoObject(req);
  if (!list.ok()) {
    if (absl::IsNotFound(list.status())) return false;
    return list.status();
  }
  const Json& resources = list->json()["resources"];
  if (!resources.is_array()) return false;
  for (const Json& res : resources) {
    if (StringField(res, "name") == resource) return true;
  }
  return false;
}

absl::StatusOr<std::string> Client::ServerVersion() {
  HttpRequest req;
  req.path = "/version";
  ASSIGN_OR_RETURN(Object v, DoObject(req));
  return v.String("/gitVersion");
}

absl::Status Client::Watch(const Resource& r, absl::string_view ns, const WatchOptions& options,
                           const std::function<bool(WatchEvent)>& handler,
                           const std::atomic<bool>* cancel) {
  HttpRequest req;
  req.path = r.CollectionPath(ns) +
             Query()
                 .Add("watch", "1")
                 .Add("resourceVersion", options.resource_version)
                 .Add("allowWatchBookmarks", options.allow_bookmarks ? "true" : "")
                 .Add("labelSelector", options.label_selector)
                 .Add("fieldSelector", options.field_selector)
                 .Add("timeoutSeconds",
                      options.timeout_seconds > 0 ? std::to_string(options.timeout_seconds) : "")
                 .str();
  req.timeout = absl::InfiniteDuration();
  if (options.metadata_only) req.accept = kAcceptMetadata;

  WatchDecoder decoder;
  absl::Status stream_status;  // why decoding stopped, if it did
  bool handler_stopped = false;
  auto sink = [&](absl::string_view chunk) -> bool {
    absl::Status s = decoder.Feed(chunk, [&](WatchEvent event) -> absl::Status {
      if (event.type == WatchEvent::Type::kError) {
        return StatusFromStatusObject(event.object.Dump());
      }
      if (!handler(std::move(event))) {
        handler_stopped = true;
        return absl::CancelledError("handler stopped the watch");
      }
      return absl::OkStatus();
    });
    if (!s.ok()) {
      stream_status = s;
      return false;
    }
    return true;
  };
  auto response = transport_->Stream(req, sink, cancel);
  if (!response.ok()) return base::Annotate(response.status(), "watch " + r.resource);
  if (response->status < 200 || response->status >= 300) {
    return base::Annotate(
        StatusFromResponse(response->status, response->body, response->retry_after),
        "watch " + r.resource);
  }
  if (handler_stopped) return absl::OkStatus();
  if (!stream_status.ok()) return base::Annotate(stream_status, "watch " + r.resource);
  if (!IsJson(response->content_type)) {
    return absl::DataLossError(absl::StrCat("watch ", r.resource,
                                            ": expected application/json, got content type \"",
                                            response->content_type.substr(0, 64), "\""));
  }
  return base::Annotate(decoder.Finish(), "watch " + r.resource);
}

}  // namespace kube
