// The cpp-httplib implementation of HttpTransport (OpenSSL for TLS).
//
// Clients are pooled so keep-alive connections are reused across requests; a request takes a
// client for its whole duration, so concurrent requests never share one (an httplib client
// serves one request at a time). TLS material is handed to OpenSSL from memory: no temporary
// files with private keys.
//
// Cancelling a stream: httplib reads a quiet watch in a blocking read, and only stop() from
// another thread ends it. Each transport has one canceller thread, started with the first
// cancellable stream, which looks at the streams' cancel flags every 100 ms and stops the
// client of a flag set.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/openssl_error.h"
#include "base/status_macros.h"
#include "base/stop_signals.h"
#include "httplib.h"
#include "kube/http.h"

namespace kube {
namespace {

// The parts of RestConfig::server httplib wants apart.
struct Origin {
  bool tls = true;
  std::string host;
  int port = 443;
};

absl::StatusOr<Origin> ParseServer(absl::string_view server) {
  Origin o;
  if (absl::ConsumePrefix(&server, "https://")) {
    o.tls = true;
    o.port = 443;
  } else if (absl::ConsumePrefix(&server, "http://")) {
    o.tls = false;
    o.port = 80;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("server \"", server, "\": expected https:// or http://"));
  }
  server = server.substr(0, server.find('/'));
  size_t colon = server.rfind(':');
  if (colon != absl::string_view::npos && server.find(']', colon) == absl::string_view::npos) {
    if (!absl::SimpleAtoi(server.substr(colon + 1), &o.port) || o.port <= 0 || o.port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("server \"", server, "\": bad port"));
    }
    server = server.substr(0, colon);
  }
  // "[::1]" -> "::1": httplib brackets an IPv6 literal itself where it must.
  if (server.size() > 2 && server.front() == '[' && server.back() == ']') {
    server = server.substr(1, server.size() - 2);
  }
  if (server.empty()) return absl::InvalidArgumentError("server: no host");
  o.host = std::string(server);
  return o;
}

using base::OpenSslError;

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
}

// The TLS context of one client: the CA bundle (every certificate of it), the client
// certificate (with its chain) and key, all from PEM in memory; and the server's verification,
// chain and name (`host`: a DNS name or an IP address), done by OpenSSL in the handshake.
// (httplib's own verification, after the handshake, would first load the system's whole CA
// bundle into every client's context: ~0.5 MiB each, a dozen watches at once.)
absl::Status ConfigureTls(SSL_CTX* ctx, const RestConfig& config, const std::string& host) {
  if (config.insecure_skip_tls_verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  } else {
    if (config.ca_pem.empty() && SSL_CTX_set_default_verify_paths(ctx) != 1) {
      return absl::InternalError(absl::StrCat("system trust store: ", OpenSslError()));
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
    // The name the certificate must carry: the host dialled, unless the config names another
    // (a server reached by an address its certificate cannot know, like a pod's).
    const std::string& name = config.tls_server_name.empty() ? host : config.tls_server_name;
    if (X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) != 1) {  // not an IP address
      ERR_clear_error();
      X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    }
  }
  if (!config.ca_pem.empty()) {
    X509_STORE* store = X509_STORE_new();
    BioPtr bio = MemoryBio(config.ca_pem);
    int added = 0;
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(store, cert);
      X509_free(cert);
      ++added;
    }
    ERR_clear_error();  // the end of the bundle reads as an error
    if (added == 0) {
      X509_STORE_free(store);
      return absl::InvalidArgumentError("certificate authority: no PEM certificate in it");
    }
    SSL_CTX_set_cert_store(ctx, store);  // the context owns it now
  }
  if (!config.client_cert_pem.empty()) {
    BioPtr bio = MemoryBio(config.client_cert_pem);
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (cert == nullptr || SSL_CTX_use_certificate(ctx, cert) != 1) {
      X509_free(cert);
      return absl::InvalidArgumentError(absl::StrCat("client certificate: ", OpenSslError()));
    }
    X509_free(cert);
    while (X509* intermediate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      SSL_CTX_add0_chain_cert(ctx, intermediate);  // the context owns it
    }
    ERR_clear_error();
    BioPtr key_bio = MemoryBio(config.client_key_pem);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
    const bool ok = key != nullptr && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
                    SSL_CTX_check_private_key(ctx) == 1;
    EVP_PKEY_free(key);
    // Never the key's bytes in a message: only OpenSSL's reason.
    if (!ok) return absl::InvalidArgumentError(absl::StrCat("client key: ", OpenSslError()));
  }
  return absl::OkStatus();
}

// A dead peer on a long-lived watch is noticed within about a minute.
void SetKeepAlive(socket_t sock) {
  int on = 1, idle = 30, interval = 10, count = 3;
  setsockopt(sock, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
  setsockopt(sock, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
  setsockopt(sock, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
  setsockopt(sock, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
}

void SetTimeout(httplib::ClientImpl& client, absl::Duration timeout) {
  // An infinite timeout (a watch) is a day: the server ends a watch long before, and a dead
  // peer is found by TCP keep-alive.
  const int64_t us = timeout == absl::InfiniteDuration()
                         ? int64_t{86400} * 1'000'000
                         : std::max<int64_t>(1, absl::ToInt64Microseconds(timeout));
  client.set_read_timeout(us / 1'000'000, us % 1'000'000);
  client.set_write_timeout(us / 1'000'000, us % 1'000'000);
}

// Stops the clients of streams whose cancel flag is set (see the file's comment).
class Canceller {
 public:
  struct Entry {
    const std::atomic<bool>* cancel;
    httplib::ClientImpl* client;
  };
  using Handle = std::list<Entry>::iterator;

  ~Canceller() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  Handle Add(const std::atomic<bool>* cancel, httplib::ClientImpl* client) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
    Handle h = entries_.insert(entries_.end(), Entry{cancel, client});
    wake_.notify_all();
    return h;
  }

  // After this returns, the client is not stopped by this canceller any more.
  void Remove(Handle h) {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.erase(h);
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      if (entries_.empty()) {
        wake_.wait(lock, [this] { return stopping_ || !entries_.empty(); });
        continue;
      }
      wake_.wait_for(lock, std::chrono::milliseconds(100));
      for (Entry& e : entries_) {
        // stop() shuts the socket down under the client's own lock: safe from this thread.
        if (e.client != nullptr && e.cancel->load()) {
          e.client->stop();
          e.client = nullptr;  // once
        }
      }
    }
  }

  std::mutex mu_;
  std::condition_variable wake_;
  std::list<Entry> entries_;
  bool stopping_ = false;
  std::thread thread_;
};

class HttplibTransport : public HttpTransport {
 public:
  HttplibTransport(RestConfig config, Origin origin)
      : config_(std::move(config)), origin_(std::move(origin)) {}

  absl::StatusOr<HttpResponse> Do(const HttpRequest& request) override {
    return Perform(request, nullptr, nullptr);
  }

  absl::StatusOr<HttpResponse> Stream(const HttpRequest& request, const StreamSink& sink,
                                      const std::atomic<bool>* cancel) override {
    return Perform(request, &sink, cancel);
  }

 private:
  // A pooled client (its connection kept alive, `reused`), or a new one (always when `fresh`).
  absl::StatusOr<std::unique_ptr<httplib::ClientImpl>> Acquire(bool fresh, bool& reused) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      // The server closed one kept-alive connection: it has likely closed them all (a restart).
      if (fresh) pool_.clear();
      if (!pool_.empty()) {
        auto c = std::move(pool_.back());
        pool_.pop_back();
        reused = true;
        return c;
      }
    }
    reused = false;
    std::unique_ptr<httplib::ClientImpl> client;
    if (origin_.tls) {
      auto tls = std::make_unique<httplib::SSLClient>(origin_.host, origin_.port);
      if (!tls->is_valid()) return absl::InternalError("TLS context: " + OpenSslError());
      RETURN_IF_ERROR(ConfigureTls(tls->ssl_context(), config_, origin_.host));
      tls->enable_server_certificate_verification(false);  // OpenSSL verifies: ConfigureTls
      client = std::move(tls);
    } else {
      client = std::make_unique<httplib::ClientImpl>(origin_.host, origin_.port);
    }
    client->set_keep_alive(true);
    client->set_url_encode(false);  // paths come encoded (kube::Query)
    client->set_decompress(false);  // no Accept-Encoding: the API server's gzip costs both sides
    client->set_connection_timeout(10, 0);
    client->set_socket_options(SetKeepAlive);
    client->set_tcp_nodelay(true);
    return client;
  }

  void Release(std::unique_ptr<httplib::ClientImpl> c) {
    std::lock_guard<std::mutex> lock(mu_);
    constexpr size_t kMaxPooled = 16;
    if (pool_.size() < kMaxPooled) pool_.push_back(std::move(c));
  }

  absl::StatusOr<HttpResponse> Perform(const HttpRequest& request, const StreamSink* sink,
                                       const std::atomic<bool>* cancel) {
    httplib::Request req;
    req.method = request.method;
    req.path = request.path;
    req.body = request.body;
    req.headers.emplace("Accept", request.accept);
    req.headers.emplace("User-Agent", config_.user_agent);
    if (!request.content_type.empty()) req.headers.emplace("Content-Type", request.content_type);
    if (config_.token_source) {
      auto token = config_.token_source->Token();
      if (!token.ok()) return base::Annotate(token.status(), "bearer token");
      req.headers.emplace("Authorization", absl::StrCat("Bearer ", *token));
    }
    const absl::Duration timeout =
        request.timeout == absl::ZeroDuration() ? config_.timeout : request.timeout;
    const std::string where = absl::StrCat(request.method, " ", request.path);

    // A kept-alive connection the server has closed since (it restarted, or its idle timeout
    // passed) fails before any byte of a response: then the request goes once more, on a new
    // connection, as curl does. Should the first have reached the server after all, the API's
    // writes are safe to repeat: a create answers AlreadyExists, a delete NotFound, an update
    // carries its resourceVersion, a patch sets the same fields again.
    for (int attempt = 0;; ++attempt) {
      bool reused = false;
      ASSIGN_OR_RETURN(std::unique_ptr<httplib::ClientImpl> client, Acquire(attempt > 0, reused));
      Attempt a = Send(*client, req, timeout, sink, cancel);
      if (a.sent && !a.cancelled) Release(std::move(client));
      if (!a.sent && !a.cancelled && a.response.status == 0 && reused && attempt == 0 &&
          (a.error == httplib::Error::Read || a.error == httplib::Error::Write)) {
        continue;
      }
      return Outcome(std::move(a), where, timeout);
    }
  }

  struct Attempt {
    HttpResponse response;
    bool sent = false;  // httplib read a whole response
    bool cancelled = false, too_large = false, sink_stopped = false;
    httplib::Error error = httplib::Error::Success;
    absl::Duration took;
  };

  Attempt Send(httplib::ClientImpl& client, httplib::Request req, absl::Duration timeout,
               const StreamSink* sink, const std::atomic<bool>* cancel) {
    Attempt a;
    HttpResponse& out = a.response;
    // Called once the status line and headers are read, before the body.
    req.response_handler = [&](const httplib::Response& r) {
      out.status = r.status;
      return true;
    };
    req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
      if (sink != nullptr && out.status >= 200 && out.status < 300) {
        if (!(*sink)(absl::string_view(data, len))) {
          a.sink_stopped = true;
          return false;
        }
        return true;
      }
      if (out.body.size() + len > config_.max_response_bytes) {
        a.too_large = true;
        return false;
      }
      out.body.append(data, len);
      return true;
    };
    SetTimeout(client, timeout);
    std::optional<Canceller::Handle> watched;
    if (cancel != nullptr) watched = canceller_.Add(cancel, &client);
    httplib::Response res;
    const absl::Time start = absl::Now();
    a.sent = client.send(req, res, a.error);
    a.took = absl::Now() - start;
    if (watched) canceller_.Remove(*watched);
    a.cancelled = cancel != nullptr && cancel->load();
    out.status = res.status > 0 ? res.status : 0;  // httplib's -1: no status line read
    out.content_type = res.get_header_value("Content-Type");
    int seconds = 0;
    // Only the delta-seconds form; an HTTP-date falls back to the default delay.
    if (absl::SimpleAtoi(res.get_header_value("Retry-After"), &seconds) && seconds >= 0) {
      out.retry_after = absl::Seconds(seconds);
    }
    return a;
  }

  absl::StatusOr<HttpResponse> Outcome(Attempt a, const std::string& where,
                                       absl::Duration timeout) const {
    if (a.too_large) {
      return absl::ResourceExhaustedError(absl::StrCat(
          where, ": response body exceeds the limit of ", config_.max_response_bytes, " bytes"));
    }
    if (a.sink_stopped) return std::move(a.response);
    if (a.cancelled) return absl::CancelledError(absl::StrCat(where, ": cancelled"));
    if (a.sent) return std::move(a.response);
    if (a.error == httplib::Error::ConnectionTimeout ||
        (a.error == httplib::Error::Read && a.took >= timeout)) {
      return absl::DeadlineExceededError(
          absl::StrCat(where, ": ", httplib::to_string(a.error), " (timeout)"));
    }
    return absl::UnavailableError(absl::StrCat(where, ": ", httplib::to_string(a.error)));
  }

  const RestConfig config_;
  const Origin origin_;
  std::mutex mu_;
  std::vector<std::unique_ptr<httplib::ClientImpl>> pool_;
  Canceller canceller_;  // after pool_: stopped (and its thread joined) before the clients go
};

// Every request fails with the same error: what NewHttpTransport returns for a server it
// cannot parse, so that the error surfaces where requests are made.
class FailingTransport : public HttpTransport {
 public:
  explicit FailingTransport(absl::Status why) : why_(std::move(why)) {}
  absl::StatusOr<HttpResponse> Do(const HttpRequest&) override { return why_; }
  absl::StatusOr<HttpResponse> Stream(const HttpRequest&, const StreamSink&,
                                      const std::atomic<bool>*) override {
    return why_;
  }

 private:
  absl::Status why_;
};

}  // namespace

std::shared_ptr<HttpTransport> NewHttpTransport(const RestConfig& config) {
  base::IgnoreBrokenPipes();
  auto origin = ParseServer(config.server);
  if (!origin.ok()) return std::make_shared<FailingTransport>(origin.status());
  return std::make_shared<HttplibTransport>(config, *std::move(origin));
}

}  // namespace kube
