// The narrow interfaces the Cluster reconciler acts through, one per side effect: reads of
// objects the informers do not cache, writes of owned objects, the Cluster's status, events,
// the agents in the pods, CQL sessions, and the clock. main.cc wires the real ones (seams_real.h);
// the scenario tests wire an in-memory cluster (testing/fake_cluster.h) that implements them all.
//
// Errors are those of the real thing (kube/errors.h for the API, agent_client.h for agents,
// cql/client.h for CQL), so the reconciler handles one set of codes whoever is behind the seam.
// Implementations are thread-safe unless they say otherwise.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/api/api.h"
#include "cql/client.h"
#include "kube/object.h"
#include "kube/resource.h"

namespace ringkeeper {

// Objects read straight from the API server (no informer: Secrets, the user's ConfigMaps).
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  virtual absl::StatusOr<kube::Object> Get(const kube::Resource& r, const std::string& ns,
                                           const std::string& name) = 0;
};

// How a Delete goes.
enum class Deletion {
  kGraceful,         // the default: the object's grace period; dependents deleted in background
  kWithoutGrace,     // gracePeriodSeconds 0: a pod whose node is lost (no kubelet will confirm)
  kOrphanDependents  // propagationPolicy Orphan: a StatefulSet's pods and claims stay for its
                     // successor to adopt
};

// Writes of the objects a Cluster owns.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  // Server-side apply under the operator's field manager, taking conflicting fields.
  virtual absl::StatusOr<kube::Object> Apply(const kube::Resource& r, const kube::Json& object) = 0;
  // AlreadyExists when the name is taken.
  virtual absl::StatusOr<kube::Object> Create(const kube::Resource& r,
                                              const kube::Json& object) = 0;
  // PUT of `object` (a Cluster whose spec the operator changes: spec.autoscaling), conditional
  // on its metadata.resourceVersion: Conflict when the object changed since it was read.
  virtual absl::StatusOr<kube::Object> Update(const kube::Resource& r,
                                              const kube::Json& object) = 0;
  // Deletes `name` only while it is the object with `uid`: NotFound when gone, Conflict when the
  // name now belongs to another object.
  virtual absl::Status Delete(const kube::Resource& r, const std::string& ns,
                              const std::string& name, const std::string& uid, Deletion how) = 0;
};

// The status subresource of a Cluster or a Backup: `object` carries the status to write and
// the resourceVersion it was computed from (Conflict when stale). Returns the written object.
class StatusWriter {
 public:
  virtual ~StatusWriter() = default;
  virtual absl::StatusOr<kube::Object> UpdateStatus(const kube::Resource& r,
                                                    const kube::Object& object) = 0;
};

// Events about a Cluster or a Backup (core/v1 Events in the real thing).
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Event(const kube::Object& regarding, bool warning, const std::string& reason,
                     const std::string& message) = 0;
};

// One pod's agent (src/agent/api/api.h). Errors: Unavailable (unreachable, or Cassandra behind
// it down), AlreadyExists (a conflicting operation runs), NotFound (unknown operation id).
class NodeAgent {
 public:
  virtual ~NodeAgent() = default;
  virtual absl::StatusOr<agent::api::NodeInfo> NodeInfo() = 0;
  virtual absl::StatusOr<agent::api::Ring> Ring() = 0;
  virtual absl::StatusOr<agent::api::Operation> Start(
      const agent::api::OperationRequest& request) = 0;
  virtual absl::StatusOr<agent::api::Operation> Operation(const std::string& id) = 0;
  // The cassandra.yaml keys its Cassandra version knows; NotFound when its init wrote none.
  virtual absl::StatusOr<agent::api::ConfigKeys> ConfigKeys() = 0;
  // A keyspace's token ranges and their replicas as this node sees them (NotFound: no such
  // keyspace): what a repair is planned from.
  virtual absl::StatusOr<agent::api::RangeMap> Ranges(const std::string& keyspace) = 0;
  // An object request on a filesystem storage location its pod mounts (agent::api::kStorage).
  virtual absl::StatusOr<agent::api::StorageReply> Storage(
      const agent::api::StorageRequest& request) = 0;
  // The seeds its Cassandra gossips to, changed while running (agent::api::kSeeds); returns
  // the ones it uses now.
  virtual absl::StatusOr<agent::api::SeedList> SetSeeds(const std::vector<std::string>& seeds) = 0;
};

// How the operator proves itself to a Cluster's agents, and knows them: the bearer token, and
// with TLS the CA the agents' certificate chains to, the name that certificate carries (the
// operator dials pod IPs, which no certificate can know in advance), and the operator's client
// certificate, which the agents require (agent_credentials.h).
struct AgentCredentials {
  std::string token;
  std::string ca_pem;  // empty: plain HTTP
  std::string server_name;
  std::string client_cert_pem, client_key_pem;
};

class NodeAgents {
 public:
  virtual ~NodeAgents() = default;
  // The agent of the pod at `address`, reached with `credentials`.
  virtual std::shared_ptr<NodeAgent> For(const std::string& address,
                                         const AgentCredentials& credentials) = 0;
};

struct CqlCredentials {
  std::string user;
  std::string password;
  cql::TlsOptions tls;  // a cluster with client encryption (spec.tls): its CA and the nodes' name
};

// One CQL connection. Not thread-safe.
class CqlSession {
 public:
  virtual ~CqlSession() = default;
  virtual absl::StatusOr<cql::ResultSet> Query(const std::string& statement,
                                               cql::Consistency consistency) = 0;
  // Waits (bounded) until every peer this node knows has its schema version.
  virtual absl::Status WaitForSchemaAgreement(absl::Duration timeout) = 0;
};

class CqlSessions {
 public:
  virtual ~CqlSessions() = default;
  // Unauthenticated for refused credentials, Unavailable when the node cannot be reached.
  virtual absl::StatusOr<std::unique_ptr<CqlSession>> Connect(const std::string& host,
                                                              const CqlCredentials& login) = 0;
  // The generated-superuser flow on `host` (cql/auth_setup.h): create the role, log in with it,
  // disable cassandra/cassandra, wait for schema agreement. Idempotent.
  virtual absl::Status SetupSuperuser(const std::string& host, const CqlCredentials& superuser) = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// Everything the reconciler acts through; not owned.
struct Seams {
  ObjectReader* reader = nullptr;
  ObjectWriter* writer = nullptr;
  StatusWriter* status = nullptr;
  EventSink* events = nullptr;
  NodeAgents* agents = nullptr;
  CqlSessions* cql = nullptr;
  const Clock* clock = nullptr;
};

}  // namespace ringkeeper
