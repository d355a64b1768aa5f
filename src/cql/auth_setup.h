// The generated-superuser flow: log in (as cassandra/cassandra on a new cluster, or as the
// superuser when it exists already), create the superuser role, log in with it, and disable the
// default role, then wait (bounded by `agreement_timeout`) until every peer the node knows has
// its schema version, and return those versions. Idempotent. Errors as in client.h and
// schema.h.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cql/client.h"
#include "cql/schema.h"

namespace cql {

absl::StatusOr<SchemaVersions> SetupSuperuser(const std::string& host, int port,
                                              const std::string& user, const std::string& password,
                                              absl::Duration agreement_timeout = absl::Seconds(60),
                                              const TlsOptions& tls = {});

// Quotes a CQL string literal ('' doubling).
std::string QuoteLiteral(const std::string& s);

}  // namespace cql
