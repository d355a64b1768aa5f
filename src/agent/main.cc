// ringkeeper-agent: `init` (init container) renders the node's conf; `serve` (sidecar) is the
// operator's HTTP API to the node. Wiring only; the logic lives in config/, node/, server/.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "agent/config/init.h"
#include "agent/node/jolokia_node_control.h"
#include "agent/server/commitlog.h"
#include "agent/server/cql_credentials.h"
#include "agent/server/node_backup.h"
#include "agent/server/node_restore.h"
#include "agent/server/server.h"
#include "base/log.h"
#include "base/stop_signals.h"
#include "cql/auth_setup.h"
#include "cql/client.h"
#include "cql/schema.h"
#include "nlohmann/json.hpp"

namespace {

// `setup-auth`: the superuser role over CQL, cassandra/cassandra disabled.
struct SetupAuthFlags {
  std::string host = "127.0.0.1", user, password, password_file, read_keyspace;
  int port = 9042;
};

// `serve`'s commit log shipping and replay clean-up (agent/server/commitlog.h).
struct ArchiveFlags {
  std::string settings_file;  // the member's settings (InitSettings JSON; a mounted ConfigMap)
  std::string conf_dir;       // Cassandra's conf folder (its commitlog_archiving.properties)
  int interval_seconds = 5;
};

// One pass: a finished replay's settings removed once Cassandra is up (it read them at start),
// then the archived segments shipped. Errors are logged and the next pass tries again.
void ArchivePass(const ArchiveFlags& f, const agent::server::ServerOptions& serve,
                 const std::string& data_dir, agent::node::NodeControl& node) {
  // Only a member with archiving (its settings mounted) ever replays; the others' agents have
  // the conf folder for their seeds and ask Cassandra nothing here.
  if (f.settings_file.empty()) return;
  if (!f.conf_dir.empty()) {
    auto info = node.GetNodeInfo();
    if (info.ok() && info->operation_mode == "NORMAL") {
      auto run = agent::server::FinishReplay(f.conf_dir, data_dir);
      if (!run.ok()) {
        spdlog::warn("replay: {}", run.status().message());
      } else if (!run->empty()) {
        spdlog::info("replay {}: done; restore settings removed", *run);
      }
    }
  }
  std::ifstream in(f.settings_file);
  if (!in) return;
  agent::api::InitSettings settings;
  try {
    settings = nlohmann::json::parse(in).get<agent::api::InitSettings>();
  } catch (const std::exception& e) {
    spdlog::warn("archive: {}: {}", f.settings_file, e.what());
    return;
  }
  const agent::api::StorageLocation& location = settings.commitlog_archive;
  if (!location.Configured()) return;
  auto stores = agent::server::OpenStorage(location);
  if (!stores.ok()) {
    // The operator copies the credentials when archiving starts; kubelet refreshes the volume.
    spdlog::debug("archive: {}", stores.status().message());
    return;
  }
  const backup::NodePath node_path{location.prefix, settings.cluster_name, serve.pod};
  auto shipped = agent::server::ShipSegments(
      *stores, node_path,
      (std::filesystem::path(data_dir) / agent::server::kCommitLogArchiveDir).string(),
      backup::UploadOptions{});
  if (!shipped.ok()) {
    spdlog::warn("archive: {}", shipped.status().message());
  } else if (shipped->segments > 0) {
    spdlog::info("archive: {} commit log segments shipped ({} bytes), the last {}",
                 shipped->segments, shipped->bytes, shipped->last);
  }
}

// `serve`'s CQL login for /v1/schema.
struct CqlFlags {
  std::string host = "127.0.0.1", credentials_file, credentials_dir;
  int port = 9042;
  std::string tls_ca_file, tls_name;  // client encryption: the CA (PEM file), the nodes' name
};

// A member of a Cluster created from a backup: its source node's files fetched onto the empty
// volume before Cassandra first starts (the operator's Restore imports them once it is up). An
// error fails the init container, which kubelet runs again; files already fetched are kept.
absl::Status FetchBackupBeforeStart(const agent::api::InitSettings& s) {
  agent::server::BackupIdentity self;
  self.cluster = s.cluster_name;
  self.data_dir = s.data_dir;
  backup::DownloadStats stats;
  auto staged = agent::server::FetchNodeFiles(self, s.restore, stats, nullptr);
  if (!staged.ok()) return staged.status();
  std::printf(
      "restore: %zu files of backup %s (node %s of %s): %lld bytes fetched, %lld files "
      "already here\n",
      staged->files, s.restore.backup.c_str(), s.restore.source_node.c_str(),
      s.restore.source_cluster.c_str(), static_cast<long long>(stats.bytes_received.load()),
      static_cast<long long>(stats.files_skipped.load()));
  return absl::OkStatus();
}

// commitlog_archiving.properties: archive_command when archiving is on; a replay's segments
// fetched and its restore settings when one is pending (not yet done on this volume).
absl::StatusOr<std::string> ArchivingBeforeStart(agent::api::InitSettings& s) {
  bool pending = false;
  auto segments = agent::server::PrepareReplay(s, &pending);
  if (!segments.ok()) return segments.status();
  if (!pending) s.replay = {};
  if (pending) {
    std::printf("replay: %zu commit log segments up to %s (restore %s)\n", *segments,
                agent::server::RestorePointInTime(s.replay.point_in_time_unix).c_str(),
                s.replay.run.c_str());
  }
  return agent::server::ArchivingProperties(s);
}

int RunInitCommand(agent::config::InitOptions init) {
  init.restore = FetchBackupBeforeStart;
  init.archiving = ArchivingBeforeStart;
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

int RunSetupAuth(SetupAuthFlags f) {
  if (!f.password_file.empty()) {
    std::ifstream in(f.password_file);
    std::getline(in, f.password);
  }
  auto versions = cql::SetupSuperuser(f.host, f.port, f.user, f.password);
  if (!versions.ok()) {
    spdlog::error("setup-auth: {}", versions.status().message());
    return 1;
  }
  std::printf("superuser %s ready; cassandra/cassandra disabled\n", f.user.c_str());
  std::printf("schema agreement: %zu nodes on %s\n", versions->peers.size() + 1,
              versions->local.c_str());
  if (f.read_keyspace.empty()) return 0;
  auto client = cql::Client::Connect(f.host, f.port, f.user, f.password);
  if (!client.ok()) return 1;
  auto rs =
      (*client)->Query("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = " +
                       cql::QuoteLiteral(f.read_keyspace));
  if (!rs.ok() || rs->rows.empty()) {
    spdlog::error("read replication: {}", rs.ok() ? "no such keyspace" : rs.status().message());
    return 1;
  }
  std::printf("replication %s: %s\n", f.read_keyspace.c_str(),
              rs->rows[0].columns["replication"].c_str());
  return 0;
}

int RunServe(const agent::server::ServerOptions& serve, const agent::node::JolokiaOptions& jolokia,
             const CqlFlags& cql_flags, const ArchiveFlags& archive) {
  // A stop signal stops the server from the signal thread (base::StopSignals), once it serves:
  // httplib's stop() does nothing before listen has bound its socket.
  std::atomic<agent::server::Server*> running{nullptr};
  std::atomic<bool> run_returned{false};
  base::StopSignals signals([&](int signal) {
    spdlog::info("signal {}: stopping", signal);
    while (!run_returned) {
      agent::server::Server* server = running.load();
      if (server && server->Listening()) {
        server->Stop();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  agent::node::JolokiaNodeControl node(jolokia);
  // A fresh connection per use: the credentials may have been rotated since the last one.
  auto connect = [&cql_flags](absl::Duration timeout = absl::Seconds(
                                  5)) -> absl::StatusOr<std::unique_ptr<cql::Client>> {
    // Neither flag: no authentication (an AllowAllAuthenticator node).
    absl::StatusOr<agent::server::CqlCredentials> credentials = agent::server::CqlCredentials{};
    if (!cql_flags.credentials_file.empty()) {
      credentials = agent::server::ReadCqlCredentialsFile(cql_flags.credentials_file);
    } else if (!cql_flags.credentials_dir.empty()) {
      credentials = agent::server::ReadCqlCredentialsDir(cql_flags.credentials_dir);
    }
    if (!credentials.ok()) return credentials.status();
    cql::TlsOptions tls;
    if (!cql_flags.tls_ca_file.empty()) {
      std::ifstream in(cql_flags.tls_ca_file);  // re-read: kubelet refreshes the mounted Secret
      tls.ca_pem.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      if (tls.ca_pem.empty()) {
        return absl::UnavailableError("cql: cannot read the CA " + cql_flags.tls_ca_file);
      }
      tls.server_name = cql_flags.tls_name;
    }
    return cql::Client::Connect(cql_flags.host, cql_flags.port, credentials->username,
                                credentials->password, timeout, tls);
  };
  auto schema_versions = [&connect]() -> absl::StatusOr<cql::SchemaVersions> {
    auto client = connect();
    if (!client.ok()) return client.status();
    return cql::ReadSchemaVersions(**client);
  };
  auto keyspaces = [&connect]() -> absl::StatusOr<std::map<std::string, backup::KeyspaceSchema>> {
    auto client = connect();
    if (!client.ok()) return client.status();
    auto read = cql::ReadKeyspaces(**client);
    if (!read.ok()) return read.status();
    std::map<std::string, backup::KeyspaceSchema> out;
    for (auto& [name, k] : *read) out[name] = {std::move(k.replication), k.durable_writes};
    return out;
  };
  // A restore's schema: statements in order (a TRUNCATE flushes first: a longer timeout), then
  // every node on the same schema before the data comes back.
  auto execute = [&connect](const std::vector<std::string>& statements) -> absl::Status {
    auto client = connect(absl::Minutes(2));
    if (!client.ok()) return client.status();
    for (const std::string& statement : statements) {
      if (auto done = (*client)->Query(statement); !done.ok()) {
        return absl::Status(done.status().code(),
                            absl::StrCat(statement.substr(0, 120), ": ", done.status().message()));
      }
    }
    return cql::WaitForSchemaAgreement(**client, absl::Minutes(1)).status();
  };
  agent::server::ServerOptions options = serve;
  options.data_dir = jolokia.data_dir;
  options.conf_dir = archive.conf_dir;
  agent::server::Server server(options, &node, schema_versions, keyspaces, execute);
  running = &server;
  // Its own Jolokia client: the server's serves requests on other threads.
  std::mutex archive_mu;
  std::condition_variable archive_wake;
  std::thread archiver([&] {
    agent::node::JolokiaNodeControl archive_node(jolokia);
    std::unique_lock<std::mutex> lock(archive_mu);
    while (!archive_wake.wait_for(lock, std::chrono::seconds(archive.interval_seconds),
                                  [&] { return run_returned.load(); })) {
      lock.unlock();
      ArchivePass(archive, serve, jolokia.data_dir, archive_node);
      lock.lock();
    }
  });
  absl::Status status = server.Run();
  {
    std::lock_guard<std::mutex> lock(archive_mu);
    run_returned = true;
  }
  archive_wake.notify_all();
  archiver.join();
  if (!status.ok()) {
    spdlog::error("serve: {}", status.message());
    return 1;
  }
  spdlog::info("stopped");
  return 0;
}

void AddInitFlags(CLI::App& init_cmd, agent::config::InitOptions& init) {
  init_cmd.add_option("--base-conf", init.base_conf_dir, "the image's conf folder")->required();
  init_cmd.add_option("--out-conf", init.out_conf_dir, "conf folder Cassandra reads")->required();
  init_cmd.add_option("--settings", init.settings_file, "operator settings (JSON)")->required();
  init_cmd.add_option("--overrides", init.overrides_file, "cassandra.yaml overrides (YAML)");
  init_cmd.add_option("--config-keys", init.known_keys_file,
                      "cassandra.yaml keys this Cassandra version knows (one a "
                      "line); used when the file exists");
  init_cmd.add_option(
      "--cassandra-lib", init.cassandra_lib_dir,
      "folder holding Cassandra's jar: the keys are derived from its Config class when the "
      "--config-keys file is absent (the official image has none)");
  init_cmd.add_option("--keys-out", init.keys_out_file,
                      "write the known cassandra.yaml keys here, one a line (served by "
                      "`serve --config-keys-file`)");
  init_cmd.add_option("--listen-address", init.listen_address,
                      "this node's listen address (overrides the settings; the pod IP)");
  init_cmd.add_option("--memory-limit", init.memory_limit_bytes,
                      "bytes (default: the container's limit)");
}

void AddServeFlags(CLI::App& serve_cmd, agent::server::ServerOptions& serve,
                   agent::node::JolokiaOptions& jolokia, CqlFlags& cql, ArchiveFlags& archive) {
  serve_cmd.add_option("--settings", archive.settings_file,
                       "the member's settings (JSON, re-read each pass): commit log archiving");
  serve_cmd.add_option(
      "--conf-dir", archive.conf_dir,
      "Cassandra's conf folder: its seeds changed on request (PUT /v1/seeds), a replay's "
      "restore settings removed once it is up");
  serve_cmd.add_option("--archive-interval", archive.interval_seconds,
                       "seconds between two shipping passes");
  serve_cmd.add_option("--listen", serve.listen_address, "address to bind");
  serve_cmd.add_option("--port", serve.port, "port to bind");
  serve_cmd.add_option("--token-file", serve.token_file, "bearer token (mounted Secret)")
      ->required();
  serve_cmd.add_option("--peer-agent-port", serve.peer_agent_port, "peers' agent port");
  serve_cmd.add_option("--jolokia-port", jolokia.port, "Jolokia port on 127.0.0.1");
  serve_cmd.add_option("--data-dir", jolokia.data_dir, "the node's data volume");
  serve_cmd.add_option("--cluster", serve.cluster, "metrics label");
  serve_cmd.add_option("--dc", serve.dc, "metrics label");
  serve_cmd.add_option("--rack", serve.rack, "metrics label");
  serve_cmd.add_option("--pod", serve.pod, "metrics label");
  serve_cmd.add_option("--config-keys-file", serve.config_keys_file,
                       "the keys `init --keys-out` wrote (GET /v1/config/keys)");
  serve_cmd.add_option("--tls-cert", serve.tls_cert, "serve HTTPS with this certificate (PEM)");
  serve_cmd.add_option("--tls-key", serve.tls_key, "its private key (PEM)");
  serve_cmd.add_option("--health-port", serve.health_port,
                       "a plain HTTP port for /healthz, /readyz and /metrics only (with TLS: "
                       "the kubelet's probes and Prometheus have no client certificate)");
  serve_cmd.add_option("--client-ca", serve.client_ca,
                       "require client certificates signed by this CA (mTLS)");
  serve_cmd.add_option("--peer-tls-name", serve.peer_server_name,
                       "the name peers' certificates are verified against (they are dialled by "
                       "address)");
  serve_cmd.add_option("--cql-host", cql.host, "this node's CQL address (for /v1/schema)");
  serve_cmd.add_option("--cql-port", cql.port, "this node's CQL port");
  serve_cmd.add_option("--cql-tls-ca", cql.tls_ca_file,
                       "client encryption: the CA the node's certificate chains to (PEM file)");
  serve_cmd.add_option("--cql-tls-name", cql.tls_name,
                       "client encryption: the name the node's certificate carries");
  auto* cql_file_opt =
      serve_cmd.add_option("--cql-credentials-file", cql.credentials_file,
                           "role and password, one a line (mounted Secret; re-read on use)");
  serve_cmd
      .add_option("--cql-credentials-dir", cql.credentials_dir,
                  "folder with files username and password (mounted Secret; re-read on use)")
      ->excludes(cql_file_opt);
}

void AddSetupAuthFlags(CLI::App& auth_cmd, SetupAuthFlags& f) {
  auth_cmd.add_option("--host", f.host, "CQL address");
  auth_cmd.add_option("--port", f.port, "CQL port");
  auth_cmd.add_option("--superuser", f.user, "role to create")->required();
  auth_cmd.add_option("--password", f.password, "its password");
  auth_cmd.add_option("--password-file", f.password_file, "file holding its password");
  auth_cmd.add_option("--read-replication", f.read_keyspace,
                      "then print this keyspace's replication");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ringkeeper-agent: configures and manages one Cassandra node"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  agent::config::InitOptions init;
  auto* init_cmd = app.add_subcommand("init", "render the node's configuration (init container)");
  AddInitFlags(*init_cmd, init);
  agent::server::ServerOptions serve;
  agent::node::JolokiaOptions jolokia;
  CqlFlags cql_flags;
  ArchiveFlags archive;
  auto* serve_cmd = app.add_subcommand("serve", "serve the operator's HTTP API (sidecar)");
  AddServeFlags(*serve_cmd, serve, jolokia, cql_flags, archive);
  SetupAuthFlags auth;
  auto* auth_cmd = app.add_subcommand(
      "setup-auth", "create the superuser role over CQL and disable cassandra/cassandra");
  AddSetupAuthFlags(*auth_cmd, auth);
  CLI11_PARSE(app, argc, argv);
  base::InitLogging(log_level);

  if (*init_cmd) return RunInitCommand(init);
  if (*auth_cmd) return RunSetupAuth(auth);
  if (*serve_cmd) return RunServe(serve, jolokia, cql_flags, archive);
  return 0;
}
