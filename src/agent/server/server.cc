#include "agent/server/server.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "agent/config/render.h"
#include "agent/server/commitlog.h"
#include "agent/server/storage_service.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "httplib.h"
#include "metrics/exposition.h"

namespace agent::server {
namespace {

using json = nlohmann::json;

int HttpStatus(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kUnauthenticated:  // the node refused the agent's CQL credentials
      return 503;
    default:
      return 500;
  }
}

void Reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void ReplyError(httplib::Response& res, const absl::Status& s) {
  Reply(res, HttpStatus(s), api::Error{std::string(s.message())});
}

std::string ReadToken(const std::string& path) {
  if (path.empty()) return "";
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(ss.str()));
}

// Parses a JSON body into T; the error names the problem (400).
template <typename T>
absl::StatusOr<T> ParseBody(const std::string& body) {
  try {
    return json::parse(body).get<T>();
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("malformed JSON body: ", e.what()));
  }
}

// Configures the HTTPS context: our certificate chain and key, TLS 1.2+, and with a client CA a
// mandatory, CA-verified client certificate (the handshake fails without one).
bool SetupTls(SSL_CTX& ctx, const ServerOptions& o) {
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(&ctx, o.tls_cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(&ctx, o.tls_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(&ctx) != 1) {
    spdlog::error("tls: cannot load certificate {} / key {}", o.tls_cert, o.tls_key);
    return false;
  }
  if (!o.client_ca.empty()) {
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.client_ca.c_str());
    if (names == nullptr ||
        SSL_CTX_load_verify_locations(&ctx, o.client_ca.c_str(), nullptr) != 1) {
      spdlog::error("tls: cannot load client CA {}", o.client_ca);
      return false;
    }
    SSL_CTX_set_client_CA_list(&ctx, names);
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return true;
}

// The subject common name of the client certificate the TLS handshake verified; "" without one.
std::string ClientCertificateName(const httplib::Request& req) {
  if (req.ssl == nullptr) return "";
  X509* cert = SSL_get1_peer_certificate(req.ssl);
  if (cert == nullptr) return "";
  char name[256] = {0};
  const int n =
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof(name));
  X509_free(cert);
  return n > 0 ? std::string(name, n) : "";
}

std::unique_ptr<httplib::Server> MakeHttpServer(const ServerOptions& o) {
  if (o.tls_cert.empty() && o.tls_key.empty()) return std::make_unique<httplib::Server>();
  return std::make_unique<httplib::SSLServer>([o](SSL_CTX& ctx) { return SetupTls(ctx, o); });
}

}  // namespace

Server::Server(ServerOptions options, node::NodeControl* node, SchemaVersionsProbe schema_versions,
               KeyspacesProbe keyspaces, CqlExecutor execute)
    : options_(std::move(options)),
      node_(node),
      schema_versions_(std::move(schema_versions)),
      operations_(node,
                  BackupIdentity{options_.cluster, options_.dc, options_.rack, options_.pod,
                                 options_.data_dir, std::move(keyspaces), std::move(execute)}),
      http_(MakeHttpServer(options_)) {
  Routes();
  if (options_.health_port > 0) {
    health_ = std::make_unique<httplib::Server>();
    ProbeRoutes(*health_);
  }
}

Server::~Server() {
  Stop();
  if (health_thread_.joinable()) health_thread_.join();
}

bool Server::TokenMatches(const std::string& presented, const std::string& expected) {
  if (expected.empty()) return false;
  // Compare fixed-size digests so neither content nor length leaks through timing.
  unsigned char a[32] = {0}, b[32] = {0};
  unsigned int la = 0, lb = 0;
  EVP_Digest(presented.data(), presented.size(), a, &la, EVP_sha256(), nullptr);
  EVP_Digest(expected.data(), expected.size(), b, &lb, EVP_sha256(), nullptr);
  return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

// Every route but the probes and /metrics needs the bearer token; errors answer in JSON.
void Server::Guard() {
  auto& s = *http_;
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.path == api::kHealthz || req.path == api::kReadyz || req.path == api::kMetrics) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    const std::string header = req.get_header_value("Authorization");
    const std::string expected = ReadToken(options_.token_file);
    if (!absl::StartsWith(header, "Bearer ") || !TokenMatches(header.substr(7), expected)) {
      Reply(res, 401, api::Error{"unauthorized"});
      return httplib::Server::HandlerResponse::Handled;
    }
    // A peer (the agents share a certificate, server and client) asks for the ring; everything
    // else, which reads or changes the node, is the operator's alone.
    const bool peer_route = req.method == "GET" && req.path == api::kRing;
    if (!options_.client_ca.empty() && !peer_route &&
        ClientCertificateName(req) != api::kOperatorTlsName) {
      Reply(res, 403,
            api::Error{absl::StrCat("forbidden: ", req.path, " takes the operator's certificate")});
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty()) {
      Reply(res, res.status,
            api::Error{res.status == 404 ? absl::StrCat("no route ", req.method, " ", req.path)
                                         : absl::StrCat("HTTP ", res.status)});
    }
  });
  s.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    if (req.path != api::kMetrics && req.path != api::kHealthz) {
      spdlog::debug("{} {} {}", req.method, req.path, res.status);
    }
  });
}

void Server::ServeMetrics(httplib::Response& res) {
  const absl::Time start = absl::Now();
  const metrics::Labels labels = {{"cluster", options_.cluster},
                                  {"datacenter", options_.dc},
                                  {"rack", options_.rack},
                                  {"pod", options_.pod}};
  auto text = node_->Metrics(labels);
  metrics::Exposition agent;
  agent.Declare("ringkeeper_agent_node_reachable", metrics::Type::kGauge);
  agent.Add("ringkeeper_agent_node_reachable", labels, text.ok() ? 1 : 0);
  agent.Declare("ringkeeper_agent_scrape_duration_seconds", metrics::Type::kGauge);
  agent.Add("ringkeeper_agent_scrape_duration_seconds", labels,
            absl::ToDoubleSeconds(absl::Now() - start));
  std::string out = text.ok() ? *text : "";
  out += agent.Text();
  res.set_content(out, "text/plain; version=0.0.4");
}

// Ready: this node UN as itself and as most of its peers see it, and serving CQL.
void Server::ServeReadyz(httplib::Response& res) {
  auto info = node_->GetNodeInfo();
  if (!info.ok()) return ReplyError(res, info.status());
  auto ring = node_->GetRing();
  if (!ring.ok()) return ReplyError(res, ring.status());
  info->peers_state = PeersState(info->address, info->host_id, *ring);
  if (info->self_state == "UN" && info->peers_state == "UN" && info->native_transport_running) {
    return Reply(res, 200, json{{"ready", true}, {"state", "UN"}});
  }
  Reply(res, 503,
        api::Error{absl::StrCat("not ready: self ", info->self_state, ", peers see ",
                                info->peers_state.empty() ? "?" : info->peers_state,
                                info->native_transport_running ? "" : ", CQL not serving")});
}

void Server::ServeConfigKeys(httplib::Response& res) {
  std::ifstream in(options_.config_keys_file);
  if (options_.config_keys_file.empty() || !in) {
    return ReplyError(res, absl::NotFoundError("no config keys: agent init wrote none"));
  }
  api::ConfigKeys keys;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) keys.keys.push_back(line);
  }
  std::sort(keys.keys.begin(), keys.keys.end());
  Reply(res, 200, keys);
}

void Server::ServeSchema(httplib::Response& res) {
  if (!schema_versions_) {
    return ReplyError(res, absl::UnavailableError("no CQL access configured"));
  }
  auto versions = schema_versions_();
  if (!versions.ok()) return ReplyError(res, base::Annotate(versions.status(), "read schema"));
  auto ring = node_->GetRing();
  if (!ring.ok()) return ReplyError(res, ring.status());
  std::set<std::string> live;
  for (const auto& e : ring->endpoints) {
    if (e.status == "U") live.insert(e.address);
  }
  api::SchemaAgreement out;
  out.local_version = versions->local;
  out.peer_versions = versions->peers;
  out.disagreeing = cql::DisagreeingPeers(*versions, &live);
  out.agreed = !out.local_version.empty() && out.disagreeing.empty();
  Reply(res, 200, out);
}

void Server::ServeSetSeeds(const std::string& body, httplib::Response& res) {
  auto request = ParseBody<api::SeedList>(body);
  if (!request.ok()) return ReplyError(res, request.status());
  if (options_.conf_dir.empty()) {
    return ReplyError(res, absl::FailedPreconditionError(
                               "seeds: this agent was started without Cassandra's conf folder "
                               "(--conf-dir)"));
  }
  const std::string path = options_.conf_dir + "/cassandra.yaml";
  bool unchanged = false;  // told again what it already has (the operator repeats itself)
  {
    std::lock_guard<std::mutex> lock(conf_mu_);
    std::ifstream in(path);
    if (!in) return ReplyError(res, absl::InternalError(absl::StrCat("seeds: cannot read ", path)));
    std::stringstream text;
    text << in.rdbuf();
    auto changed = config::WithSeeds(text.str(), request->seeds);
    if (!changed.ok()) return ReplyError(res, changed.status());
    unchanged = *changed == text.str();
    // Whole or not at all: Cassandra reads the file on every seed lookup.
    const std::string tmp = path + ".ringkeeper-tmp";
    if (!unchanged) {
      {
        std::ofstream out(tmp, std::ios::trunc);
        out << *changed;
        if (!out.flush()) {
          return ReplyError(res, absl::InternalError(absl::StrCat("seeds: cannot write ", tmp)));
        }
      }
      if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        return ReplyError(res, absl::InternalError(absl::StrCat("seeds: cannot replace ", path)));
      }
    }
  }
  auto now = node_->ReloadSeeds();
  if (!now.ok()) return ReplyError(res, base::Annotate(now.status(), "seeds written; reload"));
  if (!unchanged) {
    spdlog::info("seeds: {} (Cassandra gossips to {})", absl::StrJoin(request->seeds, ","),
                 absl::StrJoin(*now, ","));
  }
  Reply(res, 200, api::SeedList{*now});
}

void Server::ProbeRoutes(httplib::Server& s) {
  s.Get(api::kHealthz, [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  s.Get(api::kMetrics,
        [this](const httplib::Request&, httplib::Response& res) { ServeMetrics(res); });
  s.Get(api::kReadyz,
        [this](const httplib::Request&, httplib::Response& res) { ServeReadyz(res); });
}

void Server::Routes() {
  Guard();
  auto& s = *http_;
  ProbeRoutes(s);
  s.Get(api::kNodeInfo, [this](const httplib::Request&, httplib::Response& res) {
    auto info = node_->GetNodeInfo();
    if (!info.ok()) return ReplyError(res, info.status());
    if (auto ring = node_->GetRing(); ring.ok())
      info->peers_state = PeersState(info->address, info->host_id, *ring);
    if (!options_.data_dir.empty()) {
      info->replayed = ReplayedRuns(options_.data_dir);
      info->replaying = ReplayingRuns(options_.data_dir);
    }
    Reply(res, 200, *info);
  });
  s.Get(api::kConfigKeys,
        [this](const httplib::Request&, httplib::Response& res) { ServeConfigKeys(res); });
  s.Get(api::kSchema,
        [this](const httplib::Request&, httplib::Response& res) { ServeSchema(res); });
  s.Put(api::kSeeds, [this](const httplib::Request& req, httplib::Response& res) {
    ServeSetSeeds(req.body, res);
  });
  s.Get(api::kRing, [this](const httplib::Request&, httplib::Response& res) {
    auto ring = node_->GetRing();
    if (!ring.ok()) return ReplyError(res, ring.status());
    Reply(res, 200, *ring);
  });
  s.Get(api::kRanges, [this](const httplib::Request& req, httplib::Response& res) {
    const std::string keyspace = req.get_param_value("keyspace");
    if (keyspace.empty()) {
      return ReplyError(res, absl::InvalidArgumentError("ranges: ?keyspace= is required"));
    }
    auto map = node_->GetRangeMap(keyspace);
    if (!map.ok()) return ReplyError(res, map.status());
    Reply(res, 200, *map);
  });
  s.Get(api::kSnapshots, [this](const httplib::Request&, httplib::Response& res) {
    auto list = node_->ListSnapshots();
    if (!list.ok()) return ReplyError(res, list.status());
    Reply(res, 200, *list);
  });
  s.Post(api::kOperations, [this](const httplib::Request& req, httplib::Response& res) {
    auto request = ParseBody<api::OperationRequest>(req.body);
    if (!request.ok()) return ReplyError(res, request.status());
    auto op = operations_.Start(*request);
    if (!op.ok()) return ReplyError(res, op.status());
    Reply(res, 202, *op);
  });
  s.Post(api::kStorage, [this](const httplib::Request& req, httplib::Response& res) {
    auto request = ParseBody<api::StorageRequest>(req.body);
    if (!request.ok()) return ReplyError(res, request.status());
    auto reply = ServeStorage(*request, options_.locations_dir);
    if (!reply.ok()) return ReplyError(res, reply.status());
    Reply(res, 200, *reply);
  });
  s.Get(api::kOperations, [this](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, json(operations_.List()));
  });
  s.Get(absl::StrCat(api::kOperations, "/([A-Za-z0-9_-]+)"),
        [this](const httplib::Request& req, httplib::Response& res) {
          auto op = operations_.Get(req.matches[1]);
          if (!op.ok()) return ReplyError(res, op.status());
          Reply(res, 200, *op);
        });
}

std::string Server::PeersState(const std::string& self, const std::string& host_id,
                               const api::Ring& ring) {
  std::vector<std::string> peers;
  const api::RingEndpoint* own = nullptr;
  for (const auto& e : ring.endpoints) {
    if (e.address == self) {
      own = &e;
    } else if (e.status == "U" && peers.size() < 3) {
      peers.push_back(e.address);
    }
  }
  if (ring.endpoints.size() <= 1) return own ? own->status + own->state : "";
  const std::string token = ReadToken(options_.token_file);
  std::map<std::string, int> votes;
  int answers = 0;
  const bool tls = !options_.tls_cert.empty();
  for (const auto& peer : peers) {
    // With TLS the peer is dialled at its address under the name its certificate carries.
    const std::string host =
        tls && !options_.peer_server_name.empty() ? options_.peer_server_name : peer;
    httplib::Client client(
        absl::StrCat(tls ? "https://" : "http://", host, ":", options_.peer_agent_port),
        options_.tls_cert, options_.tls_key);
    if (host != peer) client.set_hostname_addr_map({{host, peer}});
    if (tls && !options_.client_ca.empty()) client.set_ca_cert_path(options_.client_ca.c_str());
    client.set_connection_timeout(1, 0);
    client.set_read_timeout(5, 0);
    auto res = client.Get(api::kRing, {{"Authorization", "Bearer " + token}});
    if (!res || res->status != 200) continue;
    auto parsed = json::parse(res->body, nullptr, false);
    if (parsed.is_discarded()) continue;
    ++answers;
    for (const auto& e : parsed.value("endpoints", json::array())) {
      // Only an entry with our own host id counts: after a replacement the peers may still
      // show the replaced host at our address.
      if (e.value("address", "") == self && e.value("host_id", "") == host_id) {
        votes[e.value("status", "") + e.value("state", "")]++;
      }
    }
  }
  for (const auto& [state, n] : votes) {
    if (2 * n > answers) return state;
  }
  return answers == 0 ? "" : "?";
}

absl::Status Server::Run() {
  if (options_.tls_cert.empty() != options_.tls_key.empty() ||
      (!options_.client_ca.empty() && options_.tls_cert.empty())) {
    return absl::InvalidArgumentError(
        "tls: --tls-cert and --tls-key go together; --client-ca needs both");
  }
  if (!http_->is_valid()) {
    return absl::InvalidArgumentError(absl::StrCat("tls: cannot load ", options_.tls_cert, ", ",
                                                   options_.tls_key, ", ", options_.client_ca));
  }
  if (!http_->bind_to_port(options_.listen_address.c_str(), options_.port)) {
    return absl::UnavailableError(
        absl::StrCat("cannot bind ", options_.listen_address, ":", options_.port));
  }
  if (health_) {
    if (!health_->bind_to_port(options_.listen_address.c_str(), options_.health_port)) {
      http_->stop();
      return absl::UnavailableError(
          absl::StrCat("cannot bind ", options_.listen_address, ":", options_.health_port));
    }
    health_thread_ = std::thread([this] { health_->listen_after_bind(); });
    spdlog::info("agent serving probes and metrics on {}:{} (plain HTTP)", options_.listen_address,
                 options_.health_port);
  }
  spdlog::info("agent serving on {}:{}", options_.listen_address, options_.port);
  http_->listen_after_bind();
  return absl::OkStatus();
}

void Server::Stop() {
  if (http_) http_->stop();
  if (health_) health_->stop();
}

bool Server::Listening() const {
  return http_->is_running() && (!health_ || health_->is_running());
}

}  // namespace agent::server
