// The HTTP transport under kube::Client: one request in, one response (or a stream) out.
// An interface so unit tests can script responses; NewHttpTransport makes the real one
// (cpp-httplib with OpenSSL, TLS with in-memory PEMs, connection reuse: http_transport.cc).
//
// Implementations are thread-safe: many requests may run at once.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kube/config.h"

namespace kube {

struct HttpRequest {
  std::string method = "GET";
  std::string path;  // with the query string: "/api/v1/pods?limit=500"
  std::string body;
  std::string content_type;  // set when there is a body
  std::string accept = "application/json";
  // Zero: the config's timeout. Watches pass InfiniteDuration and rely on cancellation.
  absl::Duration timeout = absl::ZeroDuration();
};

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;  // empty for streamed responses with a 2xx status
  std::optional<absl::Duration> retry_after;
};

// Called with each chunk of a streamed 2xx body; return false to stop reading.
using StreamSink = std::function<bool(absl::string_view chunk)>;

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // Transport failures (refused, TLS, timeout) are Unavailable / DeadlineExceeded; a body over
  // the size limit is ResourceExhausted. Non-2xx responses are returned, not errors.
  virtual absl::StatusOr<HttpResponse> Do(const HttpRequest& request) = 0;

  // Like Do, but a 2xx body goes to `sink` as it arrives. Returns when the server ends the
  // body, the sink returns false, or `*cancel` becomes true (then: Cancelled).
  virtual absl::StatusOr<HttpResponse> Stream(const HttpRequest& request, const StreamSink& sink,
                                              const std::atomic<bool>* cancel) = 0;
};

// A server RestConfig::server does not parse as http(s)://host[:port] makes a transport whose
// every request fails with InvalidArgument.
std::shared_ptr<HttpTransport> NewHttpTransport(const RestConfig& config);

}  // namespace kube
