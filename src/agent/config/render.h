// Pure rendering of a Cassandra node's configuration from the image's base files, the operator's
// settings (api::InitSettings) and the user's cassandra.yaml overrides. No I/O: init.h does the
// files. Everything here is deterministic, so running `agent init` again gives the same files.
//
// Errors: InvalidArgument naming the offending key or value (unknown cassandra.yaml key, a key
// the operator owns, malformed YAML).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/api/api.h"

namespace agent::config {

// The cassandra.yaml keys this Cassandra version knows: config-keys.txt, one key a line (written
// by hack/cassandra/fetch.sh and our image), or derived from the version's jar (config_keys.h).
using KnownKeys = std::set<std::string, std::less<>>;
KnownKeys ParseKnownKeys(absl::string_view text);

// Keys the operator sets from InitSettings; a user override of one of them is refused, since the
// node's identity and the cluster's topology must come from one place.
const std::vector<std::string>& OperatorOwnedKeys();

// base + user overrides (top-level keys replace; nested maps merge) + operator settings.
// Every top-level key of the result must be in `known`.
absl::StatusOr<std::string> RenderCassandraYaml(absl::string_view base_yaml,
                                                absl::string_view overrides_yaml,
                                                const api::InitSettings& settings,
                                                const KnownKeys& known);

std::string RenderRackDc(const api::InitSettings& settings);

// A rendered cassandra.yaml with its SimpleSeedProvider's seeds replaced by `seeds` (each an
// address or host name; the rest of the file as it was). InvalidArgument for an empty list, an
// entry with anything but letters, digits, '.', ':' and '-', or a file without our seed provider.
absl::StatusOr<std::string> WithSeeds(absl::string_view cassandra_yaml,
                                      const std::vector<std::string>& seeds);

// What the node does on start, decided from whether its data volume is empty.
enum class StartMode {
  kExisting,  // data present: start as usual
  kFresh,     // empty volume, never joined: bootstrap (or take initial_token)
  kReplace,   // empty volume, the member had joined before: replace its own sticky address
  kRestore,   // empty volume, a backup to restore: the restore hook fills the volume first
};
absl::string_view StartModeName(StartMode mode);
StartMode DecideStartMode(bool data_volume_empty, const api::InitSettings& settings);

// Heap for a container with `memory_limit_bytes`: half the limit, at most 16 GiB, at least
// 256 MiB, rounded down to MiB (Cassandra also needs off-heap memory for memtables, bloom
// filters, compression metadata and the page cache).
int64_t HeapBytesFor(int64_t memory_limit_bytes);

// The Jolokia jar for the Java that runs Cassandra (its java.specification.version, "" when it
// could not be read): `jar` itself (Jolokia 2.6, built for Java 17) on 17 and later, else its
// sibling jolokia-agent-java11.jar (2.3.0, Java 11 classes: runs on any, but cannot pass a Set, so
// restores stream instead of importing). Java 8 and older are refused: Jolokia 2 needs 11.
absl::StatusOr<std::string> JolokiaJarForJava(const std::string& jar,
                                              absl::string_view java_version);
inline constexpr char kJolokiaJava11Jar[] = "jolokia-agent-java11.jar";

// The contents of jvm-ringkeeper.options: heap, Jolokia on 127.0.0.1, replace address.
std::string RenderJvmOptions(const api::InitSettings& settings, int64_t memory_limit_bytes,
                             StartMode mode);

}  // namespace agent::config
