// ringkeeper-agent: `init` (init container) renders the node's conf; `serve` (sidecar) is the
// operator's HTTP API to the node. Wiring only; the logic lives in config/, node/, server/.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>

#include "CLI/CLI.hpp"
#include "agent/config/init.h"
#include "agent/node/jolokia_node_control.h"
#include "agent/server/cql_credentials.h"
#include "agent/server/server.h"
#include "base/log.h"
#include "cql/auth_setup.h"
#include "cql/client.h"
#include "cql/schema.h"

int main(int argc, char** argv) {
  CLI::App app{"ringkeeper-agent: configures and manages one Cassandra node"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");

  agent::config::InitOptions init;
  auto* init_cmd = app.add_subcommand("init", "render the node's configuration (init container)");
  init_cmd->add_option("--base-conf", init.base_conf_dir, "the image's conf folder")->required();
  init_cmd->add_option("--out-conf", init.out_conf_dir, "conf folder Cassandra reads")->required();
  init_cmd->add_option("--settings", init.settings_file, "operator settings (JSON)")->required();
  init_cmd->add_option("--overrides", init.overrides_file, "cassandra.yaml overrides (YAML)");
  init_cmd->add_option("--config-keys", init.known_keys_file,
                       "cassandra.yaml keys this Cassandra version knows (one a "
                       "line); used when the file exists");
  init_cmd->add_option(
      "--cassandra-lib", init.cassandra_lib_dir,
      "folder holding Cassandra's jar: the keys are derived from its Config class when the "
      "--config-keys file is absent (the official image has none)");
  init_cmd->add_option("--keys-out", init.keys_out_file,
                       "write the known cassandra.yaml keys here, one a line (served by "
                       "`serve --config-keys-file`)");
  init_cmd->add_option("--listen-address", init.listen_address,
                       "this node's listen address (overrides the settings; the pod IP)");
  init_cmd->add_option("--memory-limit", init.memory_limit_bytes,
                       "bytes (default: the container's limit)");

  agent::server::ServerOptions serve;
  agent::node::JolokiaOptions jolokia;
  auto* serve_cmd = app.add_subcommand("serve", "serve the operator's HTTP API (sidecar)");
  serve_cmd->add_option("--listen", serve.listen_address, "address to bind");
  serve_cmd->add_option("--port", serve.port, "port to bind");
  serve_cmd->add_option("--token-file", serve.token_file, "bearer token (mounted Secret)")
      ->required();
  serve_cmd->add_option("--peer-agent-port", serve.peer_agent_port, "peers' agent port");
  serve_cmd->add_option("--jolokia-port", jolokia.port, "Jolokia port on 127.0.0.1");
  serve_cmd->add_option("--data-dir", jolokia.data_dir, "the node's data volume");
  serve_cmd->add_option("--cluster", serve.cluster, "metrics label");
  serve_cmd->add_option("--dc", serve.dc, "metrics label");
  serve_cmd->add_option("--rack", serve.rack, "metrics label");
  serve_cmd->add_option("--pod", serve.pod, "metrics label");
  serve_cmd->add_option("--config-keys-file", serve.config_keys_file,
                        "the keys `init --keys-out` wrote (GET /v1/config/keys)");
  serve_cmd->add_option("--tls-cert", serve.tls_cert, "serve HTTPS with this certificate (PEM)");
  serve_cmd->add_option("--tls-key", serve.tls_key, "its private key (PEM)");
  serve_cmd->add_option("--client-ca", serve.client_ca,
                        "require client certificates signed by this CA (mTLS)");
  std::string serve_cql_host = "127.0.0.1", cql_credentials_file, cql_credentials_dir;
  int serve_cql_port = 9042;
  serve_cmd->add_option("--cql-host", serve_cql_host, "this node's CQL address (for /v1/schema)");
  serve_cmd->add_option("--cql-port", serve_cql_port, "this node's CQL port");
  auto* cql_file_opt =
      serve_cmd->add_option("--cql-credentials-file", cql_credentials_file,
                            "role and password, one a line (mounted Secret; re-read on use)");
  serve_cmd
      ->add_option("--cql-credentials-dir", cql_credentials_dir,
                   "folder with files username and password (mounted Secret; re-read on use)")
      ->excludes(cql_file_opt);

  std::string cql_host = "127.0.0.1", su_user, su_password, su_password_file, read_ks;
  int cql_port = 9042;
  auto* auth_cmd = app.add_subcommand(
      "setup-auth", "create the superuser role over CQL and disable cassandra/cassandra");
  auth_cmd->add_option("--host", cql_host, "CQL address");
  auth_cmd->add_option("--port", cql_port, "CQL port");
  auth_cmd->add_option("--superuser", su_user, "role to create")->required();
  auth_cmd->add_option("--password", su_password, "its password");
  auth_cmd->add_option("--password-file", su_password_file, "file holding its password");
  auth_cmd->add_option("--read-replication", read_ks, "then print this keyspace's replication");

  CLI11_PARSE(app, argc, argv);
  base::InitLogging(log_level);

  if (*init_cmd) {
    auto result = agent::config::RunInit(init);
    if (!result.ok()) {
      spdlog::error("init: {}", result.status().message());
      return 1;
    }
    std::printf("start mode: %s\nconf: %s\nconfig keys: %zu from %s\n",
                std::string(agent::config::StartModeName(result->mode)).c_str(),
                result->conf_dir.c_str(), result->key_count, result->keys_source.c_str());
    return 0;
  }
  if (*auth_cmd) {
    if (!su_password_file.empty()) {
      std::ifstream in(su_password_file);
      std::getline(in, su_password);
    }
    auto versions = cql::SetupSuperuser(cql_host, cql_port, su_user, su_password);
    if (!versions.ok()) {
      spdlog::error("setup-auth: {}", versions.status().message());
      return 1;
    }
    std::printf("superuser %s ready; cassandra/cassandra disabled\n", su_user.c_str());
    std::printf("schema agreement: %zu nodes on %s\n", versions->peers.size() + 1,
                versions->local.c_str());
    if (!read_ks.empty()) {
      auto client = cql::Client::Connect(cql_host, cql_port, su_user, su_password);
      if (!client.ok()) return 1;
      auto rs = (*client)->Query(
          "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = " +
          cql::QuoteLiteral(read_ks));
      if (!rs.ok() || rs->rows.empty()) {
        spdlog::error("read replication: {}", rs.ok() ? "no such keyspace" : rs.status().message());
        return 1;
      }
      std::printf("replication %s: %s\n", read_ks.c_str(),
                  rs->rows[0].columns["replication"].c_str());
    }
    return 0;
  }
  if (*serve_cmd) {
    agent::node::JolokiaNodeControl node(jolokia);
    auto schema_versions = [&]() -> absl::StatusOr<cql::SchemaVersions> {
      // Neither flag: no authentication (an AllowAllAuthenticator node).
      absl::StatusOr<agent::server::CqlCredentials> credentials = agent::server::CqlCredentials{};
      if (!cql_credentials_file.empty()) {
        credentials = agent::server::ReadCqlCredentialsFile(cql_credentials_file);
      } else if (!cql_credentials_dir.empty()) {
        credentials = agent::server::ReadCqlCredentialsDir(cql_credentials_dir);
      }
      if (!credentials.ok()) return credentials.status();
      auto client = cql::Client::Connect(serve_cql_host, serve_cql_port, credentials->username,
                                         credentials->password, absl::Seconds(5));
      if (!client.ok()) return client.status();
      return cql::ReadSchemaVersions(**client);
    };
    agent::server::Server server(serve, &node, schema_versions);
    static agent::server::Server* running = &server;
    std::signal(SIGTERM, [](int) { running->Stop(); });
    std::signal(SIGINT, [](int) { running->Stop(); });
    if (auto status = server.Run(); !status.ok()) {
      spdlog::error("serve: {}", status.message());
      return 1;
    }
    return 0;
  }
  return 0;
}
