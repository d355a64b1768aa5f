// The Restore reconciler: a backup brought back into a running Cluster by its agents, each step
// recorded in the Restore's status before it is taken, so a restarted operator carries on.
//
//   Pending  checks: the Cluster exists and is Ready; the source (a Complete Backup, or a
//            location + cluster + backup name) resolves to a storage location of the Cluster;
//            the backup's index is stored; it has every keyspace asked for; it has as many nodes
//            as the Cluster. A failed check fails the Restore with the reason; nothing changed.
//            Passed: the source and the nodes (each pod with the backup's node it takes) are
//            recorded, phase Running.
//   Running  schema: one agent creates what the schema lacks and, in place, truncates the
//            restored tables; recorded done before any data moves (so a retry never truncates
//            restored data). Then data: every node's agent fetches its source node's files and
//            imports them; an agent that restarted and lost its operation is asked again.
//            Every node done: Complete.
//
// Threading: as the Backup reconciler.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/v1alpha1/cluster.h"
#include "api/v1alpha1/restore.h"
#include "kube/controller.h"
#include "kube/store.h"
#include "operator/own_writes.h"
#include "operator/seams.h"
#include "operator/storage_access.h"

namespace ringkeeper {

struct RestoreCaches {
  const kube::Store* restores = nullptr;
  const kube::Store* backups = nullptr;
  const kube::Store* clusters = nullptr;
  const kube::Store* pods = nullptr;
};

struct RestoreReconcilerOptions {
  absl::Duration poll = absl::Seconds(2);
};

class RestoreReconciler : public kube::Reconciler {
 public:
  RestoreReconciler(Seams seams, BackupStorage* storage, RestoreCaches caches,
                    RestoreReconcilerOptions options = {});
  absl::StatusOr<kube::Result> Reconcile(const kube::ObjectKey& key) override;

 private:
  struct Pass;
  absl::Status Start(Pass& p);
  absl::Status Continue(Pass& p);
  // A restore to a point in time, once every member imported its files: one member at a time
  // restarts with the replay in its settings; true once every member replayed.
  bool Replay(Pass& p);
  // The agent of `pod` and its operation `id` ("" = ask with `request`); the operation's state
  // once known, "" while it cannot be reached or has not started.
  absl::StatusOr<agent::api::Operation> Follow(Pass& p, const std::string& pod, std::string& id,
                                               const agent::api::OperationRequest& request);
  agent::api::OperationRequest Request(const Pass& p, const char* kind) const;
  void Fail(Pass& p, const char* reason, const std::string& message);
  absl::Status WriteStatus(Pass& p);

  Seams seams_;
  BackupStorage* storage_;
  RestoreCaches caches_;
  RestoreReconcilerOptions options_;
  StorageAccess access_;
  OwnWrites written_;  // our last status write, by key
};

}  // namespace ringkeeper
