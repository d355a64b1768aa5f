// What Cassandra names its own keyspaces: `system` and `system_*` (schema, auth, distributed,
// traces, views, virtual_schema, ...). Everything else is the user's. Pure; thread-safe.
#pragma once

#include <string_view>

namespace cql {

inline bool IsSystemKeyspace(std::string_view keyspace) {
  return keyspace == "system" || keyspace.substr(0, 7) == "system_";
}

}  // namespace cql
