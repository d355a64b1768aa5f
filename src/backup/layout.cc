#include "backup/layout.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace backup {

using Json = nlohmann::json;

std::string NodePath::Root() const {
  return prefix.empty() ? absl::StrCat(cluster, "/", node)
                        : absl::StrCat(prefix, "/", cluster, "/", node);
}

std::string DataPrefix(const NodePath& n) { return n.Root() + "/data/"; }

std::string DataKey(const NodePath& n, const std::string& keyspace, const std::string& table,
                    const std::string& md5, int64_t size, const std::string& file) {
  return absl::StrCat(DataPrefix(n), keyspace, "/", table, "/", md5, "-", size, "-", file);
}

std::string ManifestKey(const NodePath& n, const std::string& backup) {
  return absl::StrCat(n.Root(), "/manifests/", backup, ".json");
}

int64_t Manifest::TotalBytes() const {
  int64_t total = 0;
  for (const FileEntry& f : files) total += f.size;
  return total;
}

std::string ToJson(const Manifest& m) {
  Json files = Json::array();
  for (const FileEntry& f : m.files) {
    files.push_back({{"keyspace", f.keyspace},
                     {"table", f.table},
                     {"name", f.name},
                     {"size", f.size},
                     {"md5", f.md5},
                     {"key", f.key}});
  }
  return Json{{"backup", m.backup}, {"cluster", m.cluster}, {"dc", m.dc},
              {"rack", m.rack},     {"node", m.node},       {"hostId", m.host_id},
              {"tokens", m.tokens}, {"started", m.started}, {"finished", m.finished},
              {"files", files}}
      .dump(1);
}

absl::StatusOr<Manifest> ParseManifest(const std::string& text) {
  Manifest m;
  try {
    const Json j = Json::parse(text);
    m.backup = j.at("backup").get<std::string>();
    m.cluster = j.at("cluster").get<std::string>();
    m.dc = j.value("dc", "");
    m.rack = j.value("rack", "");
    m.node = j.at("node").get<std::string>();
    m.host_id = j.value("hostId", "");
    m.tokens = j.value("tokens", std::vector<std::string>{});
    m.started = j.value("started", "");
    m.finished = j.at("finished").get<std::string>();
    for (const Json& f : j.at("files")) {
      m.files.push_back({f.at("keyspace").get<std::string>(), f.at("table").get<std::string>(),
                         f.at("name").get<std::string>(), f.at("size").get<int64_t>(),
                         f.at("md5").get<std::string>(), f.at("key").get<std::string>()});
    }
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("not a backup manifest: ", e.what()));
  }
  return m;
}

}  // namespace backup
