#include "backup/layout.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cql/keyspaces.h"
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

std::string CommitLogPrefix(const NodePath& n) { return n.Root() + "/commitlog/"; }

std::string CommitLogKey(const NodePath& n, const std::string& md5, int64_t size,
                         const std::string& segment) {
  return absl::StrCat(CommitLogPrefix(n), md5, "-", size, "-", segment);
}

absl::StatusOr<SegmentKey> ParseCommitLogKey(const NodePath& n, const std::string& key) {
  const std::string prefix = CommitLogPrefix(n);
  const std::vector<std::string> parts = absl::StrSplit(
      absl::string_view(key).substr(std::min(key.size(), prefix.size())), absl::MaxSplits('-', 2));
  SegmentKey k;
  if (!absl::StartsWith(key, prefix) || parts.size() != 3 || parts[0].size() != 32 ||
      !absl::SimpleAtoi(parts[1], &k.size) || k.size < 0 || parts[2].empty() ||
      absl::StrContains(parts[2], '/')) {
    return absl::InvalidArgumentError(absl::StrCat("not a commit log segment key: ", key));
  }
  k.md5 = parts[0];
  k.segment = parts[2];
  return k;
}

absl::StatusOr<std::vector<std::string>> RestoredKeyspaces(const Manifest& manifest,
                                                           const std::vector<std::string>& wanted) {
  std::vector<std::string> out;
  if (wanted.empty()) {
    for (const auto& [name, k] : manifest.keyspaces) {
      if (!cql::IsSystemKeyspace(name)) out.push_back(name);
    }
    return out;
  }
  for (const std::string& name : wanted) {
    if (!manifest.keyspaces.contains(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("backup ", manifest.backup, " has no keyspace ", name));
    }
    if (cql::IsSystemKeyspace(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("system keyspace ", name, " cannot be restored into a running cluster"));
    }
    out.push_back(name);
  }
  return out;
}

std::string TableOfDirectory(const std::string& directory) {
  const size_t dash = directory.rfind('-');
  if (dash == std::string::npos || directory.size() - dash - 1 != 32) return directory;
  return directory.substr(0, dash);
}

std::vector<std::string> TablesOf(const Manifest& manifest,
                                  const std::vector<std::string>& keyspaces) {
  std::set<std::string> tables;
  for (const FileEntry& f : manifest.files) {
    if (std::find(keyspaces.begin(), keyspaces.end(), f.keyspace) == keyspaces.end()) continue;
    tables.insert(absl::StrCat(f.keyspace, ".", TableOfDirectory(f.table)));
  }
  return {tables.begin(), tables.end()};
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
                     {"key", f.key},
                     {"etag", f.etag}});
  }
  Json keyspaces = Json::object();
  for (const auto& [name, k] : m.keyspaces) {
    keyspaces[name] = {{"replication", k.replication}, {"durableWrites", k.durable_writes}};
  }
  return Json{{"backup", m.backup},     {"cluster", m.cluster}, {"dc", m.dc},
              {"rack", m.rack},         {"node", m.node},       {"hostId", m.host_id},
              {"tokens", m.tokens},     {"started", m.started}, {"finished", m.finished},
              {"keyspaces", keyspaces}, {"files", files}}
      .dump(1);
}

std::string IndexKey(const std::string& prefix, const std::string& cluster,
                     const std::string& backup) {
  return absl::StrCat(prefix.empty() ? "" : prefix + "/", cluster, "/backups/", backup, ".json");
}

std::string ToJson(const Index& index) {
  Json nodes = Json::array();
  for (const IndexNode& n : index.nodes) {
    nodes.push_back({{"node", n.node},
                     {"dc", n.dc},
                     {"rack", n.rack},
                     {"manifest", n.manifest},
                     {"bytes", n.bytes}});
  }
  return Json{{"backup", index.backup},
              {"cluster", index.cluster},
              {"namespace", index.ns},
              {"started", index.started},
              {"finished", index.finished},
              {"bytes", index.bytes},
              {"nodes", nodes}}
      .dump(1);
}

absl::StatusOr<Index> ParseIndex(const std::string& text) {
  Index index;
  try {
    const Json j = Json::parse(text);
    index.backup = j.at("backup").get<std::string>();
    index.cluster = j.at("cluster").get<std::string>();
    index.ns = j.value("namespace", "");
    index.started = j.value("started", "");
    index.finished = j.value("finished", "");
    index.bytes = j.value("bytes", int64_t{0});
    for (const Json& n : j.at("nodes")) {
      index.nodes.push_back({n.at("node").get<std::string>(), n.value("dc", ""),
                             n.value("rack", ""), n.at("manifest").get<std::string>(),
                             n.value("bytes", int64_t{0})});
    }
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("not a backup index: ", e.what()));
  }
  return index;
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
    const Json keyspaces = j.value("keyspaces", Json::object());
    for (const auto& [name, k] : keyspaces.items()) {
      m.keyspaces[name] = {k.at("replication").get<std::map<std::string, std::string>>(),
                           k.value("durableWrites", true)};
    }
    for (const Json& f : j.at("files")) {
      m.files.push_back({f.at("keyspace").get<std::string>(), f.at("table").get<std::string>(),
                         f.at("name").get<std::string>(), f.at("size").get<int64_t>(),
                         f.at("md5").get<std::string>(), f.at("key").get<std::string>(),
                         f.value("etag", "")});
    }
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("not a backup manifest: ", e.what()));
  }
  return m;
}

Verification VerifyFiles(const Manifest& manifest,
                         const std::map<std::string, StoredFile>& stored) {
  Verification v;
  for (const FileEntry& f : manifest.files) {
    auto it = stored.find(f.key);
    if (it == stored.end()) {
      v.problems.push_back(absl::StrCat(f.key, ": not stored"));
      continue;
    }
    if (it->second.size != f.size) {
      v.problems.push_back(absl::StrCat(f.key, ": stored with ", it->second.size,
                                        " bytes, the manifest says ", f.size));
      continue;
    }
    // A multipart ETag ("-<parts>") is no MD5 of the content: compared only when recorded.
    const std::string& etag = it->second.etag;
    const std::string expected =
        !f.etag.empty() ? f.etag : (absl::StrContains(etag, '-') ? "" : f.md5);
    if (!etag.empty() && !expected.empty() && absl::AsciiStrToLower(etag) != expected) {
      v.problems.push_back(
          absl::StrCat(f.key, ": stored with ETag ", etag, ", expected ", expected));
      continue;
    }
    ++v.files;
    v.bytes += f.size;
  }
  return v;
}

}  // namespace backup
