// The role and password `agent serve` uses for its own CQL reads (/v1/schema), read from files
// that may change under it (a rotated Secret), so callers read them again on every use.
//
// Two layouts:
//   - a file: role on the first line, password on the second (--cql-credentials-file);
//   - a directory holding `username` and `password` (a mounted Secret with those keys;
//     --cql-credentials-dir). One trailing newline per value is dropped. Both values are read
//     from the same Secret version: kubelet swaps a mounted Secret's files atomically through a
//     `..data` symlink, so the directory `username` resolves into is the one both are read from.
//
// Errors: Unavailable when a file cannot be read or the role is empty (the Secret may not be
// there yet: a later use tries again). Thread-safe (no shared state).
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace agent::server {

struct CqlCredentials {
  std::string username;
  std::string password;
};

absl::StatusOr<CqlCredentials> ReadCqlCredentialsFile(const std::string& path);
absl::StatusOr<CqlCredentials> ReadCqlCredentialsDir(const std::string& dir);

}  // namespace agent::server
