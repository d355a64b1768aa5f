#include "agent/config/render.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "yaml-cpp/yaml.h"

namespace agent::config {
namespace {

absl::StatusOr<YAML::Node> ParseMap(absl::string_view text, absl::string_view what) {
  YAML::Node node;
  try {
    node = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": malformed YAML: ", e.what()));
  }
  if (node.IsNull()) return YAML::Node(YAML::NodeType::Map);
  if (!node.IsMap()) return absl::InvalidArgumentError(absl::StrCat(what, ": not a YAML map"));
  return node;
}

// Merges `over` into `base`: maps merge key by key, anything else replaces.
void Merge(YAML::Node base, const YAML::Node& over) {
  for (const auto& kv : over) {
    const std::string key = kv.first.as<std::string>();
    if (kv.second.IsMap() && base[key] && base[key].IsMap()) {
      Merge(base[key], kv.second);
    } else {
      base[key] = YAML::Clone(kv.second);
    }
  }
}

YAML::Node StringList(const std::vector<std::string>& items) {
  YAML::Node list(YAML::NodeType::Sequence);
  for (const auto& item : items) list.push_back(item);
  return list;
}

}  // namespace

KnownKeys ParseKnownKeys(absl::string_view text) {
  KnownKeys keys;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty() && line[0] != '#') keys.emplace(line);
  }
  return keys;
}

const std::vector<std::string>& OperatorOwnedKeys() {
  static const auto* keys = new std::vector<std::string>{
      "cluster_name",    "seed_provider",         "listen_address",      "broadcast_address",
      "rpc_address",     "broadcast_rpc_address", "num_tokens",          "initial_token",
      "auto_bootstrap",  "data_file_directories", "commitlog_directory", "saved_caches_directory",
      "hints_directory", "cdc_raw_directory",     "endpoint_snitch",     "authenticator",
      "authorizer",      "listen_interface",      "rpc_interface"};
  return *keys;
}

absl::StatusOr<std::string> RenderCassandraYaml(absl::string_view base_yaml,
                                                absl::string_view overrides_yaml,
                                                const api::InitSettings& s,
                                                const KnownKeys& known) {
  auto base = ParseMap(base_yaml, "base cassandra.yaml");
  if (!base.ok()) return base.status();
  auto overrides = ParseMap(overrides_yaml, "cassandra.yaml overrides");
  if (!overrides.ok()) return overrides.status();

  std::vector<std::string> unknown;
  for (const auto& kv : *overrides) {
    const std::string key = kv.first.as<std::string>();
    if (!known.contains(key)) {
      unknown.push_back(key);
      continue;
    }
    const auto& owned = OperatorOwnedKeys();
    if (std::find(owned.begin(), owned.end(), key) != owned.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cassandra.yaml override \"", key, "\" is set by the operator and cannot be overridden"));
    }
  }
  if (!unknown.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown cassandra.yaml key(s) in overrides: ", absl::StrJoin(unknown, ", "),
                     " (not known to this Cassandra version)"));
  }
  for (const auto& kv : *base) {
    const std::string key = kv.first.as<std::string>();
    if (!known.contains(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown cassandra.yaml key in the base file: ", key));
    }
  }

  YAML::Node out = *base;
  Merge(out, *overrides);

  if (s.cluster_name.empty()) return absl::InvalidArgumentError("settings: cluster_name is empty");
  if (s.listen_address.empty()) {
    return absl::InvalidArgumentError("settings: listen_address is empty");
  }
  if (s.seeds.empty()) return absl::InvalidArgumentError("settings: seeds is empty");
  out["cluster_name"] = s.cluster_name;
  YAML::Node seed_provider(YAML::NodeType::Sequence);
  YAML::Node provider;
  provider["class_name"] = "org.apache.cassandra.locator.SimpleSeedProvider";
  YAML::Node params;
  params["seeds"] = absl::StrJoin(s.seeds, ",");
  provider["parameters"].push_back(params);
  seed_provider.push_back(provider);
  out["seed_provider"] = seed_provider;
  out["endpoint_snitch"] = "GossipingPropertyFileSnitch";
  out["listen_address"] = s.listen_address;
  if (!s.broadcast_address.empty()) out["broadcast_address"] = s.broadcast_address;
  out["rpc_address"] = s.rpc_address.empty() ? s.listen_address : s.rpc_address;
  if (!s.broadcast_rpc_address.empty()) {
    out["broadcast_rpc_address"] = s.broadcast_rpc_address;
  } else if (!s.broadcast_address.empty() && out["rpc_address"].as<std::string>() == "0.0.0.0") {
    out["broadcast_rpc_address"] = s.broadcast_address;
  }
  if (!s.initial_tokens.empty()) {
    out["initial_token"] = absl::StrJoin(s.initial_tokens, ",");
    out["num_tokens"] = static_cast<int>(s.initial_tokens.size());
    out.remove("allocate_tokens_for_local_replication_factor");
  } else {
    if (s.num_tokens <= 0) return absl::InvalidArgumentError("settings: num_tokens must be > 0");
    out["num_tokens"] = s.num_tokens;
  }
  out["auto_bootstrap"] = s.auto_bootstrap;
  const std::string dir = std::string(absl::StripSuffix(s.data_dir, "/"));
  out["data_file_directories"] = StringList({dir + "/data"});
  out["commitlog_directory"] = dir + "/commitlog";
  out["saved_caches_directory"] = dir + "/saved_caches";
  out["hints_directory"] = dir + "/hints";
  out["cdc_raw_directory"] = dir + "/cdc_raw";
  if (!s.authenticator.empty()) out["authenticator"] = s.authenticator;
  if (!s.authorizer.empty()) out["authorizer"] = s.authorizer;

  YAML::Emitter emitter;
  emitter << out;
  return absl::StrCat("# Rendered by ringkeeper-agent init; do not edit.\n", emitter.c_str(), "\n");
}

absl::StatusOr<std::string> WithSeeds(absl::string_view cassandra_yaml,
                                      const std::vector<std::string>& seeds) {
  if (seeds.empty()) return absl::InvalidArgumentError("seeds: the list is empty");
  for (const std::string& seed : seeds) {
    const bool ok = !seed.empty() && std::all_of(seed.begin(), seed.end(), [](char c) {
      return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == ':' || c == '-';
    });
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("seeds: \"", seed, "\" is no address or host name"));
    }
  }
  ASSIGN_OR_RETURN(YAML::Node conf, ParseMap(cassandra_yaml, "cassandra.yaml"));
  YAML::Node provider = conf["seed_provider"];
  if (!provider.IsSequence() || provider.size() != 1 ||
      provider[0]["class_name"].as<std::string>("") !=
          "org.apache.cassandra.locator.SimpleSeedProvider" ||
      !provider[0]["parameters"].IsSequence() || provider[0]["parameters"].size() != 1) {
    return absl::InvalidArgumentError(
        "cassandra.yaml: no SimpleSeedProvider with one parameters map (not rendered by init?)");
  }
  provider[0]["parameters"][0]["seeds"] = absl::StrJoin(seeds, ",");
  YAML::Emitter emitter;
  emitter << conf;
  return absl::StrCat(
      "# Rendered by ringkeeper-agent init, its seeds set by the agent; do not "
      "edit.\n",
      emitter.c_str(), "\n");
}

// prefer_local=false: peers must reach a node at its broadcast address (the sticky Service IP)
// only. With true they remember its listen address (the pod IP), which a recreated pod no longer
// has, and a restarted or replaced node never gossips again.
std::string RenderRackDc(const api::InitSettings& s) {
  return absl::StrCat("# Rendered by ringkeeper-agent init.\ndc=", s.dc.empty() ? "dc1" : s.dc,
                      "\nrack=", s.rack.empty() ? "rack1" : s.rack, "\nprefer_local=false\n");
}

absl::string_view StartModeName(StartMode mode) {
  switch (mode) {
    case StartMode::kExisting:
      return "existing";
    case StartMode::kFresh:
      return "fresh";
    case StartMode::kReplace:
      return "replace";
    case StartMode::kRestore:
      return "restore";
  }
  return "unknown";
}

StartMode DecideStartMode(bool data_volume_empty, const api::InitSettings& s) {
  if (!data_volume_empty) return StartMode::kExisting;
  // A restore wins over a replacement: the data comes from the backup, tokens with it.
  if (!s.restore.backup.empty()) return StartMode::kRestore;
  if (s.member_joined_before) return StartMode::kReplace;
  return StartMode::kFresh;
}

int64_t HeapBytesFor(int64_t memory_limit_bytes) {
  constexpr int64_t kMiB = 1 << 20;
  constexpr int64_t kMin = 256 * kMiB;
  constexpr int64_t kMax = int64_t{16} << 30;
  int64_t heap = std::clamp(memory_limit_bytes / 2, kMin, kMax);
  return heap / kMiB * kMiB;
}

absl::StatusOr<std::string> JolokiaJarForJava(const std::string& jar,
                                              absl::string_view java_version) {
  const absl::string_view v = absl::StripAsciiWhitespace(java_version);
  // "1.8" before Java 9, then "11", "17", "21".
  int major = 0;
  const bool parsed =
      absl::SimpleAtoi(absl::StartsWith(v, "1.") ? v.substr(2) : v.substr(0, v.find('.')), &major);
  if (parsed && major >= 17) return jar;
  if (parsed && major < 11) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Cassandra runs on Java ", v, " here; the agent's Jolokia needs Java 11 or later"));
  }
  return (std::filesystem::path(jar).parent_path() / kJolokiaJava11Jar).string();
}

std::string RenderJvmOptions(const api::InitSettings& s, int64_t memory_limit_bytes,
                             StartMode mode) {
  const int64_t heap = s.heap_bytes > 0 ? s.heap_bytes : HeapBytesFor(memory_limit_bytes);
  const int64_t heap_mib = heap >> 20;
  std::string out = "# Rendered by ringkeeper-agent init; do not edit.\n";
  absl::StrAppend(&out, "-Xms", heap_mib, "m\n-Xmx", heap_mib, "m\n");
  if (!s.jolokia_jar.empty()) {
    // Jolokia only on loopback: the sidecar is its only client; nothing else may reach JMX.
    absl::StrAppend(&out, "-javaagent:", s.jolokia_jar, "=host=127.0.0.1,port=", s.jolokia_port,
                    ",discoveryEnabled=false\n");
  }
  if (mode == StartMode::kReplace) {
    const std::string& self = s.broadcast_address.empty() ? s.listen_address : s.broadcast_address;
    absl::StrAppend(&out, "-Dcassandra.replace_address_first_boot=", self, "\n");
  }
  // A pending replay of a restore to a point in time replays the restored tables only: the
  // others keep what they hold (a table truncated after the point stays truncated).
  if (!s.replay.run.empty() && !s.replay.tables.empty()) {
    absl::StrAppend(&out, "-Dcassandra.replayList=", absl::StrJoin(s.replay.tables, ","), "\n");
  }
  for (const auto& opt : s.extra_jvm_options) absl::StrAppend(&out, opt, "\n");
  return out;
}

}  // namespace agent::config
