#include "agent/config/config_keys.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/config/class_file.h"
#include "agent/config/zip_reader.h"
#include "base/status_macros.h"

namespace agent::config {
namespace fs = std::filesystem;
namespace {

constexpr absl::string_view kConfigClass = "org/apache/cassandra/config/Config";
// Config and its supertypes: a bound on the walk, whatever a hostile jar claims.
constexpr int kMaxClasses = 32;
constexpr uintmax_t kMaxJarBytes = uintmax_t{512} << 20;

// The probe matches oldName="?([a-zA-Z0-9_]+) in the annotation's toString().
std::string OldNamePrefix(absl::string_view value) {
  size_t n = 0;
  while (n < value.size() &&
         (absl::ascii_isalnum(static_cast<unsigned char>(value[n])) || value[n] == '_')) {
    ++n;
  }
  return std::string(value.substr(0, n));
}

void AddKeys(const JavaClass& c, KnownKeys& keys) {
  for (const JavaField& f : c.fields) {
    // Class.getFields(): public fields only; of those, instance fields that can be set.
    if (!(f.access_flags & kAccPublic)) continue;
    if (!(f.access_flags & (kAccStatic | kAccFinal))) keys.insert(f.name);
    for (const JavaAnnotation& a : f.annotations) {
      const std::string type = SimpleTypeName(a.type);
      if (type != "Replaces" && type != "ReplacesList") continue;
      for (const auto& [element, value] : a.strings) {
        if (element != "oldName") continue;
        std::string old_name = OldNamePrefix(value);
        if (!old_name.empty()) keys.insert(std::move(old_name));
      }
    }
  }
}

absl::StatusOr<std::string> ReadFileBounded(const fs::path& path) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return absl::NotFoundError(absl::StrCat("cannot read ", path.string()));
  if (size > kMaxJarBytes) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), ": ", size, " bytes, too large"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path.string()));
  std::string data(size, '\0');
  if (!in.read(data.data(), static_cast<std::streamsize>(size))) {
    return absl::InternalError(absl::StrCat("read ", path.string()));
  }
  return data;
}

// The official image's jar and Maven's, then the rest, each group by name.
int JarRank(const std::string& name) {
  if (absl::StartsWith(name, "apache-cassandra-")) return 0;
  if (absl::StartsWith(name, "cassandra-all-")) return 1;
  return 2;
}

}  // namespace

absl::StatusOr<KnownKeys> ConfigKeysFromJar(absl::string_view jar) {
  KnownKeys keys;
  // Class.getFields() includes the public fields of superclasses and superinterfaces: walk
  // them inside the jar. JDK classes (java/...) are not in it; Object has no fields.
  std::vector<std::string> pending = {std::string(kConfigClass)};
  std::set<std::string> seen;
  while (!pending.empty()) {
    const std::string name = std::move(pending.back());
    pending.pop_back();
    if (absl::StartsWith(name, "java/") || !seen.insert(name).second) continue;
    if (static_cast<int>(seen.size()) > kMaxClasses) {
      return absl::InvalidArgumentError(absl::StrCat(kConfigClass, " has too many supertypes"));
    }
    auto bytes = ReadZipEntry(jar, absl::StrCat(name, ".class"));
    if (!bytes.ok()) return base::Annotate(bytes.status(), absl::StrCat("class ", name));
    auto c = ParseClassFile(*bytes);
    if (!c.ok()) return base::Annotate(c.status(), absl::StrCat("class ", name));
    if (c->name != name) {
      return absl::InvalidArgumentError(absl::StrCat(name, ".class declares ", c->name));
    }
    AddKeys(*c, keys);
    if (!c->super_class.empty()) pending.push_back(c->super_class);
    for (const std::string& i : c->interfaces) pending.push_back(i);
  }
  if (keys.empty()) return absl::FailedPreconditionError(absl::StrCat("no keys in ", kConfigClass));
  return keys;
}

absl::StatusOr<std::string> ConfigJarInDir(const std::string& dir) {
  std::vector<std::string> jars;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (absl::EndsWith(name, ".jar") && entry.is_regular_file(ec)) jars.push_back(name);
  }
  if (ec) return absl::NotFoundError(absl::StrCat("list ", dir, ": ", ec.message()));
  std::sort(jars.begin(), jars.end(), [](const std::string& a, const std::string& b) {
    return std::pair(JarRank(a), a) < std::pair(JarRank(b), b);
  });
  for (const std::string& name : jars) {
    const std::string path = (fs::path(dir) / name).string();
    auto data = ReadFileBounded(path);
    if (!data.ok()) continue;
    // A jar we cannot read as a zip is not the one we want; keep looking.
    if (auto has = ZipHasEntry(*data, kConfigClassEntry); has.ok() && *has) return path;
  }
  return absl::NotFoundError(absl::StrCat("no jar in ", dir, " holds ", kConfigClassEntry));
}

absl::StatusOr<DerivedKeys> ConfigKeysFromLib(const std::string& dir) {
  ASSIGN_OR_RETURN(std::string jar, ConfigJarInDir(dir));
  ASSIGN_OR_RETURN(const std::string data, ReadFileBounded(jar));
  auto keys = ConfigKeysFromJar(data);
  if (!keys.ok()) return base::Annotate(keys.status(), jar);
  return DerivedKeys{std::move(jar), *std::move(keys)};
}

}  // namespace agent::config
