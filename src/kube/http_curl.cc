// The libcurl implementation of HttpTransport.
//
// Easy handles are pooled so keep-alive connections are reused across requests; each request
// takes a handle for its whole duration, so concurrent requests never share one. TLS material
// is handed to curl as in-memory blobs: no temporary files with private keys.
#include <curl/curl.h>

#include <mutex>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "kube/http.h"

namespace kube {
namespace {

// curl_global_init is not thread-safe; run it once before the first handle.
void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  const StreamSink* sink = nullptr;  // null: buffer the body
  const std::atomic<bool>* cancel = nullptr;
  size_t max_bytes = 0;
  CURL* curl = nullptr;
  HttpResponse response;
  bool too_large = false;
  bool sink_stopped = false;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  absl::string_view line(data, size * n);
  auto colon = line.find(':');
  if (colon != absl::string_view::npos) {
    std::string name = absl::AsciiStrToLower(line.substr(0, colon));
    absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (name == "content-type") {
      t->response.content_type = std::string(value);
    } else if (name == "retry-after") {
      int seconds = 0;
      // Only the delta-seconds form; an HTTP-date falls back to the default delay.
      if (absl::SimpleAtoi(value, &seconds) && seconds >= 0) {
        t->response.retry_after = absl::Seconds(seconds);
      }
    }
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  long code = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
  if (t->sink != nullptr && code >= 200 && code < 300) {
    if (!(*t->sink)(absl::string_view(data, len))) {
      t->sink_stopped = true;
      return 0;  // makes curl stop with CURLE_WRITE_ERROR, which we report as success
    }
    return len;
  }
  if (t->response.body.size() + len > t->max_bytes) {
    t->too_large = true;
    return 0;
  }
  t->response.body.append(data, len);
  return len;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return (t->cancel != nullptr && t->cancel->load()) ? 1 : 0;
}

class CurlTransport : public HttpTransport {
 public:
  explicit CurlTransport(const RestConfig& config) : config_(config) { GlobalInitOnce(); }

  ~CurlTransport() override {
    for (CURL* c : pool_) curl_easy_cleanup(c);
  }

  absl::StatusOr<HttpResponse> Do(const HttpRequest& request) override {
    return Perform(request, nullptr, nullptr);
  }

  absl::StatusOr<HttpResponse> Stream(const HttpRequest& request, const StreamSink& sink,
                                      const std::atomic<bool>* cancel) override {
    return Perform(request, &sink, cancel);
  }

 private:
  CURL* Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!pool_.empty()) {
        CURL* c = pool_.back();
        pool_.pop_back();
        curl_easy_reset(c);  // keeps the connection cache, clears options
        return c;
      }
    }
    return curl_easy_init();
  }

  void Release(CURL* c) {
    std::lock_guard<std::mutex> lock(mu_);
    constexpr size_t kMaxPooled = 16;
    if (pool_.size() < kMaxPooled) {
      pool_.push_back(c);
    } else {
      curl_easy_cleanup(c);
    }
  }

  void SetTls(CURL* c) {
    if (config_.insecure_skip_tls_verify) {
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    // curl copies each blob (CURL_BLOB_COPY), so the config's strings need not outlive it.
    auto blob = [](const std::string& pem) {
      return curl_blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
    };
    if (!config_.ca_pem.empty()) {
      curl_blob b = blob(config_.ca_pem);
      curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &b);
    }
    if (!config_.client_cert_pem.empty()) {
      curl_blob cert = blob(config_.client_cert_pem);
      curl_blob key = blob(config_.client_key_pem);
      curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert);
      curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
      curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key);
    }
  }

  absl::StatusOr<HttpResponse> Perform(const HttpRequest& request, const StreamSink* sink,
                                       const std::atomic<bool>* cancel) {
    struct curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, absl::StrCat("Accept: ", request.accept).c_str());
    if (!request.content_type.empty()) {
      headers =
          curl_slist_append(headers, absl::StrCat("Content-Type: ", request.content_type).c_str());
    }
    if (config_.token_source) {
      auto token = config_.token_source->Token();
      if (!token.ok()) {
        curl_slist_free_all(headers);
        return base::Annotate(token.status(), "bearer token");
      }
      headers = curl_slist_append(headers, absl::StrCat("Authorization: Bearer ", *token).c_str());
    }
    // No "Expect: 100-continue" round trip for large bodies.
    headers = curl_slist_append(headers, "Expect:");

    CURL* c = Acquire();
    Transfer t;
    t.sink = sink;
    t.cancel = cancel;
    t.max_bytes = config_.max_response_bytes;
    t.curl = c;
    const std::string url = config_.server + request.path;
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
        request.method == "PATCH") {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, config_.user_agent.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10'000L);
    // Detect a dead peer on long-lived watches.
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    absl::Duration timeout =
        request.timeout == absl::ZeroDuration() ? config_.timeout : request.timeout;
    if (timeout != absl::InfiniteDuration()) {
      curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                       static_cast<long>(absl::ToInt64Milliseconds(timeout)));
    }
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    SetTls(c);

    const CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    t.response.status = static_cast<int>(code);
    curl_slist_free_all(headers);
    Release(c);

    const std::string where = absl::StrCat(request.method, " ", request.path);
    if (t.too_large) {
      return absl::ResourceExhaustedError(absl::StrCat(
          where, ": response body exceeds the limit of ", config_.max_response_bytes, " bytes"));
    }
    if (rc == CURLE_WRITE_ERROR && t.sink_stopped) return t.response;
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
      return absl::CancelledError(absl::StrCat(where, ": cancelled"));
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      return absl::DeadlineExceededError(absl::StrCat(where, ": ", curl_easy_strerror(rc)));
    }
    if (rc != CURLE_OK) {
      return absl::UnavailableError(absl::StrCat(where, ": ", curl_easy_strerror(rc)));
    }
    return t.response;
  }

  const RestConfig config_;
  std::mutex mu_;
  std::vector<CURL*> pool_;
};

}  // namespace

std::shared_ptr<HttpTransport> NewCurlTransport(const RestConfig& config) {
  return std::make_shared<CurlTransport>(config);
}

}  // namespace kube
