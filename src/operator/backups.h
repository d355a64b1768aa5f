// The Backup reconciler: one Backup (api/v1alpha1/backup.h) taken from every member of its
// Cluster by their agents, recorded in the Backup's status before each step so a restarted
// operator carries on where this one stopped.
//
//   Pending  checks: the Cluster exists and is Ready, it has the storage location, the
//            location's credentials Secret has its keys. A failed check fails the Backup with
//            the reason (nothing was taken). Passed: the nodes are recorded, phase Running.
//   Running  the credentials copied into the Secret every agent mounts; each node's agent asked
//            for the backup (asking again is harmless: an agent answers with the operation it
//            runs), its progress copied into status; an agent that restarted and lost its
//            operation is asked again (the files it stored are not sent twice). A node that
//            fails fails the Backup. Every node done: the index is written to the location,
//            last, and the Backup is Complete.
//
// Threading: as the Cluster reconciler (the controller's workers, never twice at once for one
// Backup).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/v1alpha1/backup.h"
#include "api/v1alpha1/cluster.h"
#include "kube/controller.h"
#include "kube/store.h"
#include "operator/own_writes.h"
#include "operator/seams.h"
#include "operator/storage_access.h"

namespace ringkeeper {

struct BackupCaches {
  const kube::Store* backups = nullptr;
  const kube::Store* clusters = nullptr;
  const kube::Store* pods = nullptr;
};

struct BackupReconcilerOptions {
  absl::Duration poll = absl::Seconds(2);  // while a backup runs
  // How long the agents may fail to read the copied credentials (kubelet refreshes a mounted
  // Secret on its sync period, a minute by default, plus its cache's TTL).
  absl::Duration credentials_mount_timeout = absl::Minutes(4);
};

class BackupReconciler : public kube::Reconciler {
 public:
  BackupReconciler(Seams seams, BackupStorage* storage, BackupCaches caches,
                   BackupReconcilerOptions options = {});
  absl::StatusOr<kube::Result> Reconcile(const kube::ObjectKey& key) override;

 private:
  struct Pass;
  // Each returns the status to write; a failure of the Backup is a status, not an error.
  absl::Status Start(Pass& p);
  absl::Status Continue(Pass& p);
  absl::Status FollowNode(Pass& p, BackupNodeStatus& node);
  // Every node's manifest read and its files checked against a listing of the node's data.
  absl::StatusOr<BackupVerification> VerifyStored(Pass& p, LocationStore& store);
  absl::StatusOr<std::unique_ptr<LocationStore>> OpenLocation(Pass& p);
  // The Backup's Cluster and storage location, into `p`; when one is missing, the reason
  // (kClusterNotFound, kStorageLocationNotFound) and `why`, else null. An unreadable Cluster
  // spec is an error.
  absl::StatusOr<const char*> FindLocation(Pass& p, std::string* why);
  // A Complete Backup whose kAnnotationVerify has a value not yet answered: verified again.
  absl::Status Reverify(Pass& p, const std::string& request);
  absl::Status Finish(Pass& p);
  void Fail(Pass& p, const char* reason, const std::string& message);
  absl::Status WriteStatus(Pass& p);

  Seams seams_;
  BackupStorage* storage_;
  BackupCaches caches_;
  BackupReconcilerOptions options_;
  StorageAccess access_;
  OwnWrites written_;  // our last status write, by key
};

}  // namespace ringkeeper
