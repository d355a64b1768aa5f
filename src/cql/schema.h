// Schema agreement as one node sees it: its own schema_version (system.local) and each peer's
// (system.peers), read over a CQL connection to that node. Agreement means every live peer has
// the node's version; liveness is the caller's knowledge (gossip via JMX, or "all peers").
//
// Errors: as client.h (Unavailable when the node cannot be reached); WaitForSchemaAgreement
// returns DeadlineExceeded naming the disagreeing peers when the bound passes.
// Not thread-safe: uses the caller's Client.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cql/client.h"

namespace cql {

struct SchemaVersions {
  std::string local;                         // this node's schema_version
  std::map<std::string, std::string> peers;  // peer address -> its schema_version ("" unknown)
};

absl::StatusOr<SchemaVersions> ReadSchemaVersions(Client& client);

// The peers whose version differs from the local one, among `live` (all peers when null).
// A live node missing from system.peers is not judged (it is not in this node's ring yet).
std::vector<std::string> DisagreeingPeers(const SchemaVersions& versions,
                                          const std::set<std::string>* live);

// A keyspace as system_schema.keyspaces holds it.
struct KeyspaceDefinition {
  std::map<std::string, std::string> replication;  // "class" and its options
  bool durable_writes = true;
};

// Every keyspace this node knows (the system ones included), by name.
absl::StatusOr<std::map<std::string, KeyspaceDefinition>> ReadKeyspaces(Client& client);

// A map<text, text> value as Client renders it ({"k":"v",...}, '"' and '\\' escaped).
// InvalidArgument when `rendered` is not one.
absl::StatusOr<std::map<std::string, std::string>> ParseTextMap(const std::string& rendered);

// Polls ReadSchemaVersions until every peer agrees (all peers count: after our own schema or
// role change, a peer that cannot be judged is not agreement), or `timeout` passes.
absl::StatusOr<SchemaVersions> WaitForSchemaAgreement(
    Client& client, absl::Duration timeout, absl::Duration poll = absl::Milliseconds(200));

}  // namespace cql
