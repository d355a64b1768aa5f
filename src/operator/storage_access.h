// What the Backup, Restore and Repair reconcilers share (the superuser too): a storage location's
// credentials read from the user's Secret and copied into the Secret every agent mounts, the
// location as an agent request names it, the agents' token, and the objects the operator itself
// reads and writes there (a backup's index).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/api/api.h"
#include "api/v1alpha1/cluster.h"
#include "kube/store.h"
#include "operator/agent_credentials.h"
#include "operator/seams.h"

namespace ringkeeper {

// The S3 access of a storage location, read from its credentials Secret.
struct StorageCredentials {
  std::string access_key_id;
  std::string secret_access_key;
};

struct StoredObject {
  std::string key;
  int64_t size = 0;
  absl::Time last_modified = absl::InfiniteFuture();  // unknown: never old
  std::string etag;                                   // without quotes
};

// Objects of a storage location. Errors: the S3 client's (NotFound: no such bucket or key;
// PermissionDenied: refused credentials; Unavailable).
class BackupStorage {
 public:
  virtual ~BackupStorage() = default;
  virtual absl::Status Put(const S3LocationSpec& location, const StorageCredentials& credentials,
                           const std::string& key, const std::string& body) = 0;
  virtual absl::StatusOr<std::string> Get(const S3LocationSpec& location,
                                          const StorageCredentials& credentials,
                                          const std::string& key) = 0;
  // Every object under `prefix` (all pages).
  virtual absl::StatusOr<std::vector<StoredObject>> List(const S3LocationSpec& location,
                                                         const StorageCredentials& credentials,
                                                         const std::string& prefix) = 0;
  // Keys already gone count as deleted.
  virtual absl::Status Delete(const S3LocationSpec& location, const StorageCredentials& credentials,
                              const std::vector<std::string>& keys) = 0;
};

// The objects of one storage location as the operator reads and writes them (a backup's index,
// the manifests a restore reads, a purge's listing and deletes): an S3 location directly
// (BackupStorage), a filesystem location through the agent of a member that mounts it (the
// operator mounts none; each call goes to the first member whose agent answers). Errors as
// BackupStorage's; Unavailable when no member's agent can be reached.
class LocationStore {
 public:
  virtual ~LocationStore() = default;
  virtual absl::Status Put(const std::string& key, const std::string& body) = 0;
  virtual absl::StatusOr<std::string> Get(const std::string& key) = 0;
  // Every object under `prefix` (all pages).
  virtual absl::StatusOr<std::vector<StoredObject>> List(const std::string& prefix) = 0;
  // Keys already gone count as deleted; any number of keys.
  virtual absl::Status Delete(const std::vector<std::string>& keys) = 0;
  // Where `key` is, for status and messages: "s3://bucket/key", "filesystem://location/key".
  virtual std::string Where(const std::string& key) const = 0;
};

// A Cluster's members as its status reports them (status.dataCenters[].members).
struct ReportedMember {
  std::string pod, dc, rack;
};
std::vector<ReportedMember> ReportedMembers(const kube::Object& cluster);
// Whether the Cluster's Ready condition is True; else `why` says why not.
bool ReportedReady(const kube::Object& cluster, std::string* why);
// The reported members' addresses (pod -> its member Service's cluster IP; members whose
// Service is not in `services` yet left out).
std::map<std::string, std::string> MemberAddresses(const kube::Object& cluster,
                                                   const kube::Store& services);

// The Backups, Restores or Repairs in `store` that name Cluster `c` (spec.cluster, in its
// namespace): what a scheduler keyed by the Cluster looks at.
std::vector<kube::ObjectPtr> ObjectsOfCluster(const kube::Store& store, const ClusterSpec& c);

// Warnings about a Cluster given once per key (a Warning event and a log line), for what a
// pass meets again and again until a user fixes it (an unreadable schedule). Thread-safe.
class OnceWarnings {
 public:
  void Warn(EventSink& events, const kube::Object& cluster, const std::string& key,
            const char* reason, const std::string& message);

 private:
  std::mutex mu_;
  std::set<std::string> given_;  // "<cluster uid>/<key>"
};

// The names of the Cluster's storage locations ("a, b"; "none"), for messages.
std::string LocationNames(const ClusterSpec& cluster);

// The Cluster's superuser, from its Secret (keys username and password): FailedPrecondition
// when a key is empty, the reader's error when the Secret cannot be read.
// With `cluster_object` whose status.tls says client encryption, over TLS (the CA from the node
// Secret, node_tls.h).
absl::StatusOr<CqlCredentials> ReadSuperuser(ObjectReader& reader, const ClusterSpec& cluster,
                                             const kube::Object* cluster_object = nullptr);

// Thread-safe.
class StorageAccess {
 public:
  explicit StorageAccess(Seams seams) : seams_(seams), agent_credentials_(seams.reader) {}

  // NotFound when the Secret is missing, InvalidArgument when a key is missing or empty.
  absl::StatusOr<StorageCredentials> ReadCredentials(const ClusterSpec& cluster,
                                                     const S3LocationSpec& location);
  // Every location whose credentials can be read, into the Secret the agents mount (applied
  // only when it differs).
  absl::Status CopyCredentials(const ClusterSpec& cluster);
  // The agent of member `pod` (found in `pods`, the pod cache), in the way its pod serves (plain
  // HTTP or mutual TLS; agent_credentials.h): Unavailable while the pod has no address yet.
  absl::StatusOr<std::shared_ptr<NodeAgent>> AgentOf(const ClusterSpec& cluster,
                                                     const kube::Store& pods,
                                                     const std::string& pod);
  // The location as the agents read it (credentials from the mounted Secret; a filesystem
  // location's directory where the pods mount it).
  static agent::api::StorageLocation AgentLocation(const StorageLocationSpec& location);
  // The location's objects: for S3 through `s3` with its credentials (NotFound when the Secret
  // is missing, InvalidArgument when a key is), for a filesystem location through the agents of
  // the Cluster's reported members (`cluster`, their pods in `pods`; Unavailable when none has
  // an address yet).
  absl::StatusOr<std::unique_ptr<LocationStore>> Open(const ClusterSpec& spec,
                                                      const kube::Object& cluster,
                                                      const StorageLocationSpec& location,
                                                      BackupStorage* s3, const kube::Store* pods);

 private:
  Seams seams_;
  AgentCredentialsCache agent_credentials_;
};

}  // namespace ringkeeper
