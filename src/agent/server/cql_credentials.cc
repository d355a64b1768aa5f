#include "agent/server/cql_credentials.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace agent::server {
namespace {
namespace fs = std::filesystem;

absl::StatusOr<std::string> ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::UnavailableError(absl::StrCat("read ", path.string(), ": ", std::strerror(errno)));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A Secret made with `kubectl create secret --from-file` keeps the file's final newline; it is
// never part of a role or password.
std::string DropTrailingNewline(std::string s) {
  if (absl::EndsWith(s, "\r\n")) {
    s.resize(s.size() - 2);
  } else if (absl::EndsWith(s, "\n")) {
    s.pop_back();
  }
  return s;
}

}  // namespace

absl::StatusOr<CqlCredentials> ReadCqlCredentialsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::UnavailableError(absl::StrCat("read ", path, ": ", std::strerror(errno)));
  CqlCredentials c;
  std::getline(in, c.username);
  std::getline(in, c.password);
  if (c.username.empty()) return absl::UnavailableError(absl::StrCat(path, ": no role on line 1"));
  return c;
}

absl::StatusOr<CqlCredentials> ReadCqlCredentialsDir(const std::string& dir) {
  // DIR/username -> ..data/username, ..data -> ..<timestamp>: the resolved parent is one version
  // of the Secret, so a rotation between the two reads cannot pair an old role with a new password.
  std::error_code ec;
  fs::path version = fs::canonical(fs::path(dir) / "username", ec).parent_path();
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("read ", (fs::path(dir) / "username").string(), ": ", ec.message()));
  }
  auto username = ReadAll(version / "username");
  if (!username.ok()) return username.status();
  auto password = ReadAll(version / "password");
  if (!password.ok()) return password.status();
  CqlCredentials c{DropTrailingNewline(*std::move(username)),
                   DropTrailingNewline(*std::move(password))};
  if (c.username.empty()) return absl::UnavailableError(absl::StrCat(dir, "/username is empty"));
  return c;
}

}  // namespace agent::server
