// The words the operator writes into the API, in one place: condition types, their reasons,
// event reasons, and the kinds and phases of status.operation. Code, the README and the tests
// use these names; a line of meaning each (the README's tables are built from them).
#pragma once

#include <optional>
#include <string_view>

namespace ringkeeper {

// ---- condition types (status.conditions[].type) -----------------------------------------
namespace condition {
// Every desired member is UN as every node sees it, at the current template revision, the
// superuser exists, and no disruptive operation runs.
inline constexpr char kReady[] = "Ready";
// An operation (create, scale, replace, restart, system keyspace replication) is under way.
inline constexpr char kProgressing[] = "Progressing";
// Something needs attention outside an operation: a member not UN, a pod that cannot start.
inline constexpr char kDegraded[] = "Degraded";
// The last requested scale-down is refused; nothing was touched.
inline constexpr char kScaleDownRefused[] = "ScaleDownRefused";
// A data center added to the running cluster cannot join yet, or one taken out of the spec
// cannot leave yet (the message says why); nothing was touched.
inline constexpr char kDataCenterChangeRefused[] = "DataCenterChangeRefused";
// A spec.config (or the rack's ConfigMap) key unknown to the running Cassandra version: the
// config is held as it was (no pod rolls) until the key is fixed.
inline constexpr char kConfigRefused[] = "ConfigRefused";
// The last spec.version is refused (an unsupported upgrade path: version_path.h); the cluster
// stays on the version it was accepted at (status.version), nothing rolls.
inline constexpr char kVersionChangeRefused[] = "VersionChangeRefused";
// spec.tls cannot be put in force as asked (a CA Secret missing, not matching its key, expired or
// not a CA; internode encryption switched on a running cluster): the nodes keep what they run.
inline constexpr char kTlsRefused[] = "TLSRefused";
// spec.autoscaling cannot be followed (its maxMembers is below a data center's size): nothing
// grows until it is raised; the members stay as they are.
inline constexpr char kAutoscalingRefused[] = "AutoscalingRefused";
// spec.paused: the operator observes and reports only.
inline constexpr char kPaused[] = "Paused";
// Every data volume (each claim and each StatefulSet's claim template) has the spec's size.
// False while volumes grow (the message counts them) or when a StorageClass cannot expand.
inline constexpr char kVolumesResized[] = "VolumesResized";
// spec.restoreFrom only: the backup is back (True), or why not yet (False: waiting for the
// backup to be readable, restoring, or the Restore failed).
inline constexpr char kRestored[] = "Restored";
}  // namespace condition

// ---- reasons of conditions and events ----------------------------------------------------
namespace reason {
// Conditions.
inline constexpr char kAllMembersUp[] = "AllMembersUp";      // Ready/Degraded: all UN
inline constexpr char kMembersNotUp[] = "MembersNotUp";      // Ready False, nothing running
inline constexpr char kMembersDown[] = "MembersDown";        // Degraded: joined members down
inline constexpr char kPodNotStarting[] = "PodNotStarting";  // Degraded: crash loop, image...
// Degraded, and a Warning event when the operator acts: a member's Kubernetes node is gone or
// NotReady past spec.nodeLoss.notReadyTimeout (node_loss.h).
inline constexpr char kNodeLost[] = "NodeLost";
inline constexpr char kPodsNotUpdated[] = "PodsNotUpdated";  // Ready False: a roll is owed
inline constexpr char kReconcileError[] = "ReconcileError";  // Ready False: a step failed
inline constexpr char kIdle[] = "Idle";                      // Progressing False
inline constexpr char kNotRefused[] = "NotRefused";          // ScaleDownRefused False
// ConfigRefused True (and Ready False): the keys are named in the message; also an event.
inline constexpr char kUnknownConfigKeys[] = "UnknownConfigKeys";
inline constexpr char kConfigAccepted[] = "ConfigAccepted";    // ConfigRefused False
inline constexpr char kNotPaused[] = "NotPaused";              // Paused False
inline constexpr char kScaling[] = "Scaling";                  // racks being resized
inline constexpr char kRollingRestart[] = "RollingRestart";    // pods rolling to a new template
inline constexpr char kVolumesAtSize[] = "VolumesAtSize";      // VolumesResized True
inline constexpr char kResizingVolumes[] = "ResizingVolumes";  // claims raised, not all resized
// VolumesResized False: a claim's StorageClass does not allow expansion (named in the message).
inline constexpr char kStorageClassNotExpandable[] = "StorageClassNotExpandable";
// Scale-down refusals (condition ScaleDownRefused and a Warning event of that reason).
inline constexpr char kReplicationFactor[] = "ReplicationFactor";  // below a keyspace's RF
inline constexpr char kNodesNotUp[] = "NodesNotUp";                // a node is not UN
inline constexpr char kDiskSpace[] = "DiskSpace";      // the remaining nodes lack the disk
inline constexpr char kDiskUnknown[] = "DiskUnknown";  // a node's disk figures are unknown
// DataCenterChangeRefused (True, and a Warning event): a user keyspace on SimpleStrategy would
// put replicas on the new data center's members without their data (data_center_join.h).
inline constexpr char kSimpleStrategyKeyspace[] = "SimpleStrategyKeyspace";
// DataCenterChangeRefused: a data center taken out of the spec still has user keyspaces
// replicating to it (named); its members keep running until they are altered away.
inline constexpr char kKeyspacesInDataCenter[] = "KeyspacesInDataCenter";
// VersionChangeRefused (True, Ready False, a Warning event): spec.version would skip a major
// version, go below one, go to an older minor, or is no version (version_path.h).
inline constexpr char kMajorVersionSkipped[] = "MajorVersionSkipped";
inline constexpr char kMajorVersionDowngrade[] = "MajorVersionDowngrade";
inline constexpr char kMinorVersionDowngrade[] = "MinorVersionDowngrade";
inline constexpr char kUnparsableVersion[] = "UnparsableVersion";
// VersionChangeRefused while an upgrade runs (status.upgrade): a third version asked for, or
// going back once nodes run the new major.
inline constexpr char kUpgradeInProgress[] = "UpgradeInProgress";
// Event: a new spec.version accepted (status.version), the roll to it begins.
inline constexpr char kVersionAccepted[] = "VersionAccepted";
// An upgrade (status.upgrade): Progressing reason while it runs and its events — every node's
// snapshot, each rack rolled, upgradesstables node by node — then Upgraded; UpgradeAbandoned
// when spec.version went back to the version it started from.
inline constexpr char kUpgrading[] = "Upgrading";
inline constexpr char kUpgradeSnapshot[] = "UpgradeSnapshot";
inline constexpr char kUpgradingSSTables[] = "UpgradingSSTables";
inline constexpr char kUpgraded[] = "Upgraded";
inline constexpr char kUpgradeAbandoned[] = "UpgradeAbandoned";
// Events (and Progressing reasons while the operation runs).
inline constexpr char kCreating[] = "Creating";                  // racks created at once
inline constexpr char kSuperuserCreated[] = "SuperuserCreated";  // generated superuser ready
// An older Cluster's agents' Secret given a CA and certificates: its pods move to mutual TLS
// as the template change rolls them.
inline constexpr char kAgentTlsAdded[] = "AgentTlsAdded";
// spec.tls: the nodes' certificate issued (or renewed: its end near, its validity changed); the
// pods roll to take it.
inline constexpr char kCertificatesIssued[] = "CertificatesIssued";
inline constexpr char kCertificatesRenewed[] = "CertificatesRenewed";
inline constexpr char kCaRefused[] = "CARefused";
inline constexpr char kTlsChangeRefused[] = "TLSChangeRefused";
// spec.autoscaling: a data center's members raised by one (the figures in the message), or its
// usage stays over the threshold at maxMembers (Warning, once until the usage drops or the
// maximum is raised); AutoscalingRefused's reason: maxMembers below a data center's size.
inline constexpr char kAutoscaledUp[] = "AutoscaledUp";
inline constexpr char kAutoscalingAtMaximum[] = "AutoscalingAtMaximum";
inline constexpr char kMaximumBelowSize[] = "MaximumBelowSize";
inline constexpr char kScalingUp[] = "ScalingUp";                    // a member is being added
inline constexpr char kCleanup[] = "Cleanup";                        // cleanup after a scale-up
inline constexpr char kStaleVolumeDeleted[] = "StaleVolumeDeleted";  // PVC of a member that left
inline constexpr char kScaleDownRefused[] = "ScaleDownRefused";      // see the refusal reasons
inline constexpr char kScaleDownCancelled[] = "ScaleDownCancelled";  // members raised mid-way
inline constexpr char kDecommissioning[] = "Decommissioning";  // a member streams its data away
inline constexpr char kDecommissioned[] = "Decommissioned";    // it left; its StatefulSet shrank
inline constexpr char kReplacing[] = "Replacing";              // a member is being replaced
inline constexpr char kReplaced[] = "Replaced";                // UN again with a new volume
inline constexpr char kRestartingPod[] = "RestartingPod";      // drain, delete, recreate
inline constexpr char kReplicateSystemKeyspaces[] = "ReplicateSystemKeyspaces";  // and repairs
inline constexpr char kPaused[] = "Paused";                                      // spec.paused
inline constexpr char kGrowingVolumes[] = "GrowingVolumes";  // claims' requests raised
// A rack's StatefulSet deleted with its pods orphaned, to come back with a bigger claim template.
inline constexpr char kRecreatingStatefulSet[] = "RecreatingStatefulSet";
inline constexpr char kStatefulSetRecreated[] = "StatefulSetRecreated";
// A data center added to the running cluster (status.dataCenterJoin): its members start at once
// without streaming; keyspaces altered to replicate to it (spec replicateUserKeyspaces); a
// member rebuilt from the source data center (or a rebuild failed, retried: Warning); all done.
inline constexpr char kDataCenterJoining[] = "DataCenterJoining";
inline constexpr char kReplicateUserKeyspaces[] = "ReplicateUserKeyspaces";
inline constexpr char kRebuilding[] = "Rebuilding";
inline constexpr char kDataCenterJoined[] = "DataCenterJoined";
// A data center taken out of the spec: its members decommissioned one at a time (Decommissioning
// events), then its StatefulSets, Services, ConfigMaps and PDB deleted.
inline constexpr char kDataCenterRemoved[] = "DataCenterRemoved";

// Backups: why one failed (its Failed condition, status.reason, and a Warning event), and the
// events of one that runs.
inline constexpr char kClusterNotFound[] = "ClusterNotFound";  // spec.cluster names none
inline constexpr char kStorageLocationNotFound[] = "StorageLocationNotFound";  // not in it
inline constexpr char kClusterNotReady[] = "ClusterNotReady";  // a member not UN at the start
// The location's credentials Secret or one of its keys is missing.
inline constexpr char kCredentialsNotFound[] = "CredentialsNotFound";
// The agents could not read the copied credentials within the bound (kubelet did not refresh
// the mounted Secret).
inline constexpr char kCredentialsNotMounted[] = "CredentialsNotMounted";
inline constexpr char kNodeBackupFailed[] = "NodeBackupFailed";  // a node's upload failed
inline constexpr char kIndexNotWritten[] = "IndexNotWritten";    // the last write failed
inline constexpr char kBackupStarted[] = "BackupStarted";        // event: nodes asked
inline constexpr char kBackupComplete[] = "BackupComplete";      // event: the index written
inline constexpr char kBackupFailed[] = "BackupFailed";          // event, with the reason
// A verification asked for (the Backup's cassandra.rook.io/verify annotation): every file
// stored whole, or (Warning) what is missing or changed.
inline constexpr char kBackupVerified[] = "BackupVerified";
inline constexpr char kBackupVerifyFailed[] = "BackupVerifyFailed";

// Restores: why one failed (Failed condition, status.reason, a Warning event), and its events.
// Also kClusterNotFound, kClusterNotReady, kStorageLocationNotFound, kCredentialsNotFound.
inline constexpr char kBackupNotFound[] = "BackupNotFound";        // no Backup, or no index stored
inline constexpr char kBackupNotComplete[] = "BackupNotComplete";  // the Backup is not Complete
inline constexpr char kKeyspaceNotInBackup[] = "KeyspaceNotInBackup";
// The backup's node count differs from the Cluster's (a different size is not restored by
// node files: it needs the bulk loader).
inline constexpr char kSizeMismatch[] = "SizeMismatch";
inline constexpr char kRestoreSchemaFailed[] = "RestoreSchemaFailed";
inline constexpr char kNodeRestoreFailed[] = "NodeRestoreFailed";
// A restore to a point in time (spec.pointInTime) refused: the Cluster does not archive its
// commit log (spec.commitLogArchive), the backup is another cluster's or of another size (the
// segments replay only on the nodes that wrote them), or the backup finished after the point.
inline constexpr char kCommitLogNotArchived[] = "CommitLogNotArchived";
inline constexpr char kPointInTimeNotInPlace[] = "PointInTimeNotInPlace";
inline constexpr char kPointInTimeBeforeBackup[] = "PointInTimeBeforeBackup";
inline constexpr char kPointInTimeInFuture[] = "PointInTimeInFuture";
// Events: a member restarts to replay its commit log up to the point in time; it did.
inline constexpr char kReplayingCommitLog[] = "ReplayingCommitLog";
inline constexpr char kCommitLogReplayed[] = "CommitLogReplayed";
inline constexpr char kRestoreStarted[] = "RestoreStarted";    // event
inline constexpr char kRestoreComplete[] = "RestoreComplete";  // event
inline constexpr char kRestoreFailed[] = "RestoreFailed";      // event, with the reason
// A Cluster created from a backup (spec.restoreFrom; the Restored condition, events). Before
// any member is created: also kBackupNotFound, kSizeMismatch, kCredentialsNotFound.
// The backup's data centers are not the Cluster's (its keyspaces would have no replicas).
inline constexpr char kDataCenterMismatch[] = "DataCenterMismatch";
inline constexpr char kRestorePlanned[] = "RestorePlanned";  // members mapped to source nodes
inline constexpr char kRestoring[] = "Restoring";            // the Restore runs

// Backup schedules (events on the Cluster).
inline constexpr char kInvalidSchedule[] = "InvalidSchedule";  // cron or time zone unreadable
inline constexpr char kBackupScheduled[] = "BackupScheduled";  // a Backup created for a run
inline constexpr char kBackupSkipped[] = "BackupSkipped";      // the previous one still runs
inline constexpr char kBackupPurged[] = "BackupPurged";        // past its retention
inline constexpr char kPurgeHeld[] = "PurgeHeld";  // a Restore reads it, or its location is gone
inline constexpr char kOrphanFilesPurged[] = "OrphanFilesPurged";  // no kept backup lists them
// Archived commit log segments older than the oldest kept backup of their node.
inline constexpr char kCommitLogPurged[] = "CommitLogPurged";

// Repairs: why one failed (Failed condition, status.reason, a Warning event), its events, and
// why segments wait (status.waiting; status.postponed counts passes that held the next segment
// back, by reason). Also kClusterNotFound, kClusterNotReady (it waits), kPaused (spec.paused).
inline constexpr char kKeyspaceNotFound[] = "KeyspaceNotFound";      // spec.keyspaces names it
inline constexpr char kTableNotFound[] = "TableNotFound";            // spec.tables names it
inline constexpr char kDataCenterNotFound[] = "DataCenterNotFound";  // not the Cluster's
inline constexpr char kPlanTooLarge[] = "PlanTooLarge";      // more segments than a ConfigMap holds
inline constexpr char kPlanNotFound[] = "PlanNotFound";      // its ConfigMap deleted or changed
inline constexpr char kSegmentFailed[] = "SegmentFailed";    // kMaxSegmentAttempts failures
inline constexpr char kRepairStarted[] = "RepairStarted";    // event: planned
inline constexpr char kRepairComplete[] = "RepairComplete";  // event: every segment done
inline constexpr char kRepairFailed[] = "RepairFailed";      // event, with the reason
// Waiting: the Cluster records a disruptive operation (its running segments were stopped).
inline constexpr char kClusterOperation[] = "ClusterOperation";
// An older unfinished Repair of the same Cluster runs first.
inline constexpr char kRepairAhead[] = "RepairAhead";
inline constexpr char kReplicaBusy[] = "ReplicaBusy";        // in another segment (not counted)
inline constexpr char kReplicaResting[] = "ReplicaResting";  // the intensity's pause
inline constexpr char kReplicaNotUp[] = "ReplicaNotUp";      // not UN, or its agent silent
inline constexpr char kPendingCompactions[] = "PendingCompactions";  // behind on compactions
// Repair schedules and coverage (events on the Cluster; also kInvalidSchedule).
inline constexpr char kRepairScheduled[] = "RepairScheduled";  // a Repair created for a run
inline constexpr char kRepairSkipped[] = "RepairSkipped";      // the previous one still runs
// The automatic schedule created a Repair: which table fell due and why.
inline constexpr char kAutoRepairScheduled[] = "AutoRepairScheduled";
inline constexpr char kCoverageUnknown[] = "CoverageUnknown";  // the schema could not be read
}  // namespace reason

// ---- status.restoreFrom.phase: a Cluster created from a backup ----------------------------
namespace restore_from_phase {
inline constexpr char kPending[] = "Pending";      // planned, or waiting for the backup to fit
inline constexpr char kRestoring[] = "Restoring";  // its Restore runs
inline constexpr char kComplete[] = "Complete";
inline constexpr char kFailed[] = "Failed";  // its Restore failed; deleting it starts another
}  // namespace restore_from_phase

// ---- status.upgrade.phase: a version change under way (upgrade.cc) ------------------------
namespace upgrade_phase {
inline constexpr char kSnapshotting[] = "Snapshotting";            // every node snapshots first
inline constexpr char kRolling[] = "Rolling";                      // one rack at a time
inline constexpr char kUpgradingSSTables[] = "UpgradingSSTables";  // after a major, node by node
}  // namespace upgrade_phase

// ---- status.operation: the crash-safe record of the one disruptive operation -------------
// Values run 0..last with no gaps (catalogue.cc parses by iterating them): add new ones last.
enum class OperationKind {
  kDecommission,
  kReplace,
  kRestart,
  kReplicateSystemKeyspaces,
  kRecreateStatefulSet
};

// Phases, in the order each kind goes through them.
//   Decommission: Decommissioning -> Removing
//   Replace:      DeletingVolume -> Replacing
//   Restart:      Draining -> Restarting
//   ReplicateSystemKeyspaces: Altering -> Repairing
//   RecreateStatefulSet: OrphaningPods (then created again by the statefulsets step)
// Values run 0..last with no gaps: add new ones last.
enum class Phase {
  kDecommissioning,
  kRemoving,
  kDeletingVolume,
  kReplacing,
  kDraining,
  kRestarting,
  kAltering,
  kRepairing,
  kOrphaningPods
};

constexpr std::string_view ToString(OperationKind kind) {
  switch (kind) {
    case OperationKind::kDecommission:
      return "Decommission";
    case OperationKind::kReplace:
      return "Replace";
    case OperationKind::kRestart:
      return "Restart";
    case OperationKind::kReplicateSystemKeyspaces:
      return "ReplicateSystemKeyspaces";
    case OperationKind::kRecreateStatefulSet:
      return "RecreateStatefulSet";
  }
  return "";
}

constexpr std::string_view ToString(Phase phase) {
  switch (phase) {
    case Phase::kDecommissioning:
      return "Decommissioning";
    case Phase::kRemoving:
      return "Removing";
    case Phase::kDeletingVolume:
      return "DeletingVolume";
    case Phase::kReplacing:
      return "Replacing";
    case Phase::kDraining:
      return "Draining";
    case Phase::kRestarting:
      return "Restarting";
    case Phase::kAltering:
      return "Altering";
    case Phase::kRepairing:
      return "Repairing";
    case Phase::kOrphaningPods:
      return "OrphaningPods";
  }
  return "";
}

// The kind or phase a status string names; nullopt for anything else (an unknown record is
// dropped with a warning, never guessed at).
std::optional<OperationKind> ParseOperationKind(std::string_view s);
std::optional<Phase> ParsePhase(std::string_view s);

}  // namespace ringkeeper
