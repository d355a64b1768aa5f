// `ringkeeper-agent init`: reads the image's base conf, the operator's settings and the user's
// overrides, decides the start mode from the data volume, and writes the node's conf folder.
// Files are written to a temporary name and renamed, so a crash leaves either the old or the new
// file; running it again with the same inputs writes the same files (idempotent).
//
// Errors: InvalidArgument for bad input (named key/field), NotFound for missing files (a keys
// file absent with no --cassandra-lib, or no jar there holding Config.class),
// Unimplemented for a restore (the backup module provides the hook), Internal for I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "agent/api/api.h"
#include "agent/config/render.h"

namespace agent::config {

inline constexpr char kJavaVersionFile[] = "java-specification-version";

struct InitOptions {
  std::string base_conf_dir;    // the image's conf (cassandra.yaml, jvm*.options, logback.xml)
  std::string out_conf_dir;     // where Cassandra reads its conf (may equal base_conf_dir)
  std::string settings_file;    // JSON api::InitSettings
  std::string overrides_file;   // optional YAML map of cassandra.yaml overrides
  std::string known_keys_file;  // config-keys.txt of this Cassandra version; used when present
  // Else the keys are derived from the jar holding Config.class in this folder (config_keys.h):
  // the official image has no config-keys.txt.
  // The file kJavaVersionFile there holds the image's java.specification.version (written by the
  // base-config container); with it, the Jolokia jar is the one for that Java (render.h).
  std::string cassandra_lib_dir;
  // Where the known keys are written, one a line, for the sidecar to serve (api::kConfigKeys);
  // empty: not written.
  std::string keys_out_file;
  // Overrides settings.listen_address: in a pod the operator cannot know the pod IP in advance.
  std::string listen_address;
  int64_t memory_limit_bytes = 0;  // 0: read from the cgroup (v2, then v1), else /proc/meminfo
  // Restore hook: fills the empty data volume from a backup (backup issue). Null: Unimplemented.
  std::function<absl::Status(const api::InitSettings&)> restore;
  // Commit log archiving and replay (agent/server/commitlog.h): prepares a pending replay (and
  // clears settings.replay when there is none: done already) and returns
  // commitlog_archiving.properties, written over the image's. Null: the image's kept.
  std::function<absl::StatusOr<std::string>(api::InitSettings&)> archiving;
};

struct InitResult {
  StartMode mode;
  std::string conf_dir;
  std::string keys_source;  // the keys file or jar the known cassandra.yaml keys came from
  size_t key_count = 0;
};

absl::StatusOr<InitResult> RunInit(const InitOptions& options);

// True when the data volume holds no Cassandra data: no keyspace folders under data/ and no
// commit log segments.
bool DataVolumeEmpty(const std::string& data_dir);

// The container's memory limit in bytes (cgroup v2 memory.max, v1 memory.limit_in_bytes, or
// MemTotal when unlimited).
int64_t ContainerMemoryLimit();

}  // namespace agent::config
