// The agent's HTTP server (`agent serve`): the routes of api/api.h over a NodeControl.
//
// Transport: HTTP, or HTTPS (optionally mutual) per ServerOptions' TLS files.
// Authentication: every route but /healthz, /readyz and /metrics (probes) needs `Authorization:
// Bearer <token>` equal (constant-time) to the content of `token_file`, re-read on every request so
// a rotated Secret takes effect without a restart; anything else gets 401 and nothing is done. An
// empty or missing token file refuses everything (never anonymous).
//
// /readyz: this node serves CQL and is UN as its peers see it: the agents of up to three peers
// are asked for their ring view (same token) and a majority of the answers must say UN; a
// single-node ring uses its own view. (UN alone comes about a second before the CQL port opens,
// and a client Service would send new connections to a node that refuses them.)
//
// /v1/seeds (PUT): cassandra.yaml's seeds replaced in `conf_dir` and reloaded (api::SeedList).
//
// /v1/schema: the schema versions from `schema_versions` (a CQL read on this node, injected so
// tests can fake it), judged against the live endpoints of the node's ring.
// Thread-safe; Start() blocks until Stop().
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "agent/node/node_control.h"
#include "agent/server/operations.h"
#include "cql/schema.h"

namespace httplib {
class Server;
struct Response;
}  // namespace httplib

namespace agent::server {

struct ServerOptions {
  std::string listen_address = "0.0.0.0";
  int port = api::kAgentPort;
  std::string token_file;
  int peer_agent_port = api::kAgentPort;
  // TLS: with cert and key (PEM files) the server speaks HTTPS only; with client_ca as well,
  // the handshake requires a client certificate signed by that CA (mTLS), on every route, the
  // bearer token is still required where it is without TLS, and every route but GET kRing
  // requires the operator's certificate (api::kOperatorTlsName). The same cert/key/CA are the
  // client credentials towards peers' agents, whose certificates are verified against
  // `peer_server_name` (peers are dialled by address). Files are read once, at construction.
  std::string tls_cert, tls_key, client_ca;
  std::string peer_server_name = api::kAgentTlsName;
  // With TLS, the kubelet's probes and Prometheus present no client certificate: a second,
  // plain HTTP port serving only the anonymous routes (/healthz, /readyz, /metrics). 0: none.
  int health_port = 0;
  // Labels on every metric, and this node's name in backups.
  std::string cluster, dc, rack, pod;
  std::string data_dir;  // the node's data volume (backups read its snapshots there)
  // The keys `agent init` wrote (InitOptions::keys_out_file), served at api::kConfigKeys; read
  // on each request (init writes it before the sidecar starts). Empty: 404.
  std::string config_keys_file;
  // Cassandra's conf folder (its cassandra.yaml): PUT api::kSeeds changes the seeds there.
  // Empty: refused.
  std::string conf_dir;
  // The filesystem storage locations' mounts (api::kLocationsDir): kStorage serves only
  // locations under it.
  std::string locations_dir = api::kLocationsDir;
};

// Reads this node's schema versions (cql::ReadSchemaVersions over a fresh connection).
using SchemaVersionsProbe = std::function<absl::StatusOr<cql::SchemaVersions>()>;

class Server {
 public:
  // `node` is borrowed and must outlive the server; an empty `schema_versions` makes
  // /v1/schema answer 503, an empty `keyspaces` fails every backup (its schema is saved) and
  // an empty `execute` every restore of a schema.
  Server(ServerOptions options, node::NodeControl* node,
         SchemaVersionsProbe schema_versions = nullptr, KeyspacesProbe keyspaces = nullptr,
         CqlExecutor execute = nullptr);
  ~Server();

  // Binds and serves until Stop(); returns an error if the port cannot be bound or the TLS
  // files cannot be loaded.
  absl::Status Run();
  void Stop();
  // True once bound (for tests).
  bool Listening() const;

  // Constant-time comparison of a presented token with the expected one.
  static bool TokenMatches(const std::string& presented, const std::string& expected);

 private:
  void Routes();
  void ProbeRoutes(httplib::Server& s);  // the anonymous routes, on either server
  void Guard();                          // authentication, error replies, request log
  void ServeMetrics(httplib::Response& res);
  void ServeReadyz(httplib::Response& res);
  void ServeConfigKeys(httplib::Response& res);
  void ServeSchema(httplib::Response& res);
  void ServeSetSeeds(const std::string& body, httplib::Response& res);
  std::string PeersState(const std::string& self_address, const std::string& host_id,
                         const api::Ring& ring);

  ServerOptions options_;
  node::NodeControl* node_;
  SchemaVersionsProbe schema_versions_;
  Operations operations_;
  std::mutex conf_mu_;  // one writer of cassandra.yaml at a time
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<httplib::Server> health_;  // options_.health_port's, or null
  std::thread health_thread_;
};

}  // namespace agent::server
