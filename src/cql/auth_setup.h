// The generated-superuser flow: log in (as cassandra/cassandra on a new cluster, or as the
// superuser when it exists already), create the superuser role, log in with it, and disable the
// default role. Idempotent. Errors as in client.h.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace cql {

absl::Status SetupSuperuser(const std::string& host, int port, const std::string& user,
                            const std::string& password);

// Quotes a CQL string literal ('' doubling).
std::string QuoteLiteral(const std::string& s);

}  // namespace cql
