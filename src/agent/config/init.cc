#include "agent/config/init.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/config/config_keys.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "nlohmann/json.hpp"

namespace agent::config {
namespace fs = std::filesystem;
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::Status WriteFileAtomically(const fs::path& path, const std::string& content) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp.string()));
    out << content;
    if (!out.flush()) return absl::InternalError(absl::StrCat("cannot write ", tmp.string()));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat("rename ", path.string(), ": ", ec.message()));
  return absl::OkStatus();
}

int64_t ReadInt(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return 0;
  int64_t v = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &v)) return 0;
  return v;
}

struct LoadedKeys {
  KnownKeys keys;
  std::string source;
};

// config-keys.txt when given and present (our image, the cassandra tier), else derived from the
// Cassandra jar (the official image has no such file).
absl::StatusOr<LoadedKeys> LoadKnownKeys(const InitOptions& o) {
  std::error_code ec;
  const bool have_file = !o.known_keys_file.empty() && fs::exists(o.known_keys_file, ec);
  if (have_file || o.cassandra_lib_dir.empty()) {
    if (o.known_keys_file.empty()) {
      return absl::InvalidArgumentError("neither a config keys file nor a Cassandra lib folder");
    }
    ASSIGN_OR_RETURN(const std::string text, ReadFile(o.known_keys_file));
    return LoadedKeys{ParseKnownKeys(text), o.known_keys_file};
  }
  auto derived = ConfigKeysFromLib(o.cassandra_lib_dir);
  if (!derived.ok()) return base::Annotate(derived.status(), "cassandra.yaml keys");
  return LoadedKeys{std::move(derived->keys), std::move(derived->jar)};
}

}  // namespace

bool DataVolumeEmpty(const std::string& data_dir) {
  std::error_code ec;
  for (const char* sub : {"data", "commitlog"}) {
    const fs::path p = fs::path(data_dir) / sub;
    if (!fs::is_directory(p, ec)) continue;
    if (fs::directory_iterator(p, ec) != fs::directory_iterator()) return false;
  }
  return true;
}

int64_t ContainerMemoryLimit() {
  int64_t total = 0;
  if (auto meminfo = ReadFile("/proc/meminfo"); meminfo.ok()) {
    std::istringstream in(*meminfo);
    std::string key;
    int64_t kb = 0;
    while (in >> key >> kb) {
      if (key == "MemTotal:") {
        total = kb * 1024;
        break;
      }
      in.ignore(1 << 10, '\n');
    }
  }
  int64_t limit = ReadInt("/sys/fs/cgroup/memory.max");
  if (limit <= 0) limit = ReadInt("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  // An unlimited cgroup reports "max" (v2) or a huge number (v1).
  if (limit <= 0 || (total > 0 && limit > total)) return total;
  return limit;
}

namespace {

absl::StatusOr<api::InitSettings> ReadSettings(const InitOptions& o) {
  ASSIGN_OR_RETURN(const std::string text, ReadFile(o.settings_file));
  api::InitSettings settings;
  try {
    settings = nlohmann::json::parse(text).get<api::InitSettings>();
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("settings ", o.settings_file, ": ", e.what()));
  }
  if (!o.listen_address.empty()) settings.listen_address = o.listen_address;
  return settings;
}

// The settings Cassandra starts with in `mode`.
api::InitSettings ForStartMode(const api::InitSettings& settings, StartMode mode) {
  api::InitSettings effective = settings;
  if (mode == StartMode::kReplace) {
    // A replacing node must bootstrap (stream its ranges), and a node that lists itself as a
    // seed never bootstraps: drop our own address from the seeds.
    const std::string& self =
        settings.broadcast_address.empty() ? settings.listen_address : settings.broadcast_address;
    std::erase(effective.seeds, self);
    if (effective.seeds.empty()) effective.seeds = settings.seeds;
    effective.auto_bootstrap = true;
  }
  return effective;
}

// The out folder, with the image's other conf files (jvm options, logback) when it is not the
// image's own folder.
absl::Status PrepareConfDir(const InitOptions& o) {
  std::error_code ec;
  fs::create_directories(o.out_conf_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("mkdir ", o.out_conf_dir, ": ", ec.message()));
  if (fs::weakly_canonical(o.out_conf_dir) == fs::weakly_canonical(o.base_conf_dir)) {
    return absl::OkStatus();
  }
  for (const auto& entry : fs::directory_iterator(o.base_conf_dir, ec)) {
    if (!entry.is_regular_file()) continue;
    const auto name = entry.path().filename().string();
    if (name == "cassandra.yaml") continue;
    fs::copy_file(entry.path(), fs::path(o.out_conf_dir) / name,
                  fs::copy_options::overwrite_existing, ec);
    if (ec) return absl::InternalError(absl::StrCat("copy ", name, ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<InitResult> RunInit(const InitOptions& o) {
  ASSIGN_OR_RETURN(api::InitSettings settings, ReadSettings(o));
  std::string overrides;
  if (!o.overrides_file.empty()) {
    ASSIGN_OR_RETURN(overrides, ReadFile(o.overrides_file));
  }
  // The Java the image runs, written beside its jar by the base-config container (missing
  // outside a pod: the jar is kept).
  const fs::path java_version = fs::path(o.cassandra_lib_dir) / kJavaVersionFile;
  if (!settings.jolokia_jar.empty() && !o.cassandra_lib_dir.empty() && fs::exists(java_version)) {
    ASSIGN_OR_RETURN(const std::string version, ReadFile(java_version.string()));
    ASSIGN_OR_RETURN(settings.jolokia_jar, JolokiaJarForJava(settings.jolokia_jar, version));
  }
  ASSIGN_OR_RETURN(const LoadedKeys loaded, LoadKnownKeys(o));
  const KnownKeys& known = loaded.keys;
  if (!o.keys_out_file.empty()) {
    std::string text;
    for (const std::string& key : known) absl::StrAppend(&text, key, "\n");
    RETURN_IF_ERROR(WriteFileAtomically(o.keys_out_file, text));
  }
  ASSIGN_OR_RETURN(const std::string base_yaml,
                   ReadFile((fs::path(o.base_conf_dir) / "cassandra.yaml").string()));

  const StartMode mode = DecideStartMode(DataVolumeEmpty(settings.data_dir), settings);
  if (mode == StartMode::kRestore) {
    if (!o.restore) {
      return absl::UnimplementedError(
          absl::StrCat("restore of backup ", settings.restore.backup, " is not available yet"));
    }
    RETURN_IF_ERROR(base::Annotate(o.restore(settings), "restore"));
  }
  ASSIGN_OR_RETURN(const std::string yaml,
                   RenderCassandraYaml(base_yaml, overrides, ForStartMode(settings, mode), known));
  // Before the JVM options: a pending replay limits what Cassandra replays (replayList).
  std::string archiving;
  if (o.archiving) {
    auto properties = o.archiving(settings);
    RETURN_IF_ERROR(base::Annotate(properties.status(), "commit log archiving"));
    archiving = *std::move(properties);
  } else {
    settings.replay = {};
  }
  const int64_t memory = o.memory_limit_bytes > 0 ? o.memory_limit_bytes : ContainerMemoryLimit();
  RETURN_IF_ERROR(PrepareConfDir(o));
  const fs::path out(o.out_conf_dir);
  RETURN_IF_ERROR(WriteFileAtomically(out / "cassandra.yaml", yaml));
  RETURN_IF_ERROR(WriteFileAtomically(out / "cassandra-rackdc.properties", RenderRackDc(settings)));
  RETURN_IF_ERROR(WriteFileAtomically(out / "jvm-ringkeeper.options",
                                      RenderJvmOptions(settings, memory, mode)));
  std::error_code ec;
  for (const char* sub : {"data", "commitlog", "saved_caches", "hints", "cdc_raw"}) {
    fs::create_directories(fs::path(settings.data_dir) / sub, ec);
  }
  if (o.archiving) {
    if (settings.commitlog_archive.Configured()) {
      fs::create_directories(fs::path(settings.data_dir) / "commitlog_archive", ec);
    }
    RETURN_IF_ERROR(WriteFileAtomically(out / "commitlog_archiving.properties", archiving));
  }

  return InitResult{mode, o.out_conf_dir, loaded.source, known.size()};
}

}  // namespace agent::config
