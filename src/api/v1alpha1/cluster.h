// The typed view of a Cluster (cassandra.rook.io/v1alpha1) that the reconciler works from: its
// spec's fields, defaults filled (names and labels derived from it are in naming.h). The API server
// has already validated the shape (OpenAPI
// + CEL in charts/ringkeeper/files/crds); ParseCluster only fills defaults and flattens
// dataCenter/datacenter/ dataCenters. It still refuses (InvalidArgument) what the operator cannot
// run, for objects stored before the CRD refused them.
//
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kube/object.h"
#include "kube/resource.h"

namespace ringkeeper {

inline const kube::Resource kClusters{"cassandra.rook.io", "v1alpha1", "clusters", "Cluster", true};
inline constexpr char kApiVersion[] = "cassandra.rook.io/v1alpha1";

struct RackSpec {
  std::string name;
  int members = 0;
  std::string config_map_name;       // the user's cassandra.yaml overrides for this rack, optional
  kube::Json volume_claim_template;  // {metadata: {name}, spec: {...}} of the data volume
  kube::Json placement;              // {nodeAffinity, podAffinity, podAntiAffinity, tolerations}
  kube::Json resources;              // the cassandra container's resources
};

struct DataCenterSpec {
  std::string name;
  std::vector<RackSpec> racks;
  // For a data center added to a running cluster (its members start at once without streaming,
  // then rebuild from another data center): `rebuildFrom`, the data center they stream from
  // ("" = the first other one), and `replicateUserKeyspaces`, the factor every user keyspace is
  // given here before they rebuild (at most this data center's size; 0 = the user alters them).
  std::string rebuild_from;
  int replicate_user_keyspaces = 0;
  int members() const;
};

// spec.storageLocations[]: where backups go. An S3-compatible bucket; credentials from a Secret
// in the Cluster's namespace (two keys), copied by the operator into the Secret every agent
// mounts (naming.h: StorageCredentialsSecretName) when a backup starts.
struct S3LocationSpec {
  std::string endpoint;  // "http://host:port"; "" = AWS's regional endpoint
  std::string bucket;
  std::string prefix;  // "" or "a/b"
  std::string region = "us-east-1";
  bool path_style = true;
  std::string credentials_secret;
  std::string access_key_id_key = "accessKeyId";
  std::string secret_access_key_key = "secretAccessKey";
  // The endpoint to use: `endpoint`, or https://s3.<region>.amazonaws.com when empty.
  std::string EffectiveEndpoint() const;
};

// A directory on a PVC every Cassandra pod mounts (naming.h: LocationMountPath); the operator
// reaches it through the agents.
struct FilesystemLocationSpec {
  std::string claim_name;
  std::string prefix;  // "" or "a/b"
};

struct StorageLocationSpec {
  std::string name;
  S3LocationSpec s3;                  // when !IsFilesystem()
  FilesystemLocationSpec filesystem;  // when IsFilesystem()
  bool IsFilesystem() const { return !filesystem.claim_name.empty(); }
  const std::string& Prefix() const { return IsFilesystem() ? filesystem.prefix : s3.prefix; }
};

// spec.backups[]: a schedule that creates Backup objects as a CronJob creates Jobs, and the
// retention that purges them (stored backup first, its object last).
struct BackupScheduleSpec {
  std::string name;
  std::string schedule;           // cron (base/cron.h), checked by the scheduler
  std::string time_zone = "UTC";  // an IANA name
  std::string storage_location;
  std::vector<std::string> keyspaces;
  int keep = 7;                                   // retention.count: complete backups kept
  absl::Duration max_age = absl::ZeroDuration();  // retention.maxAge; zero: no bound
  // retention.orphanFileGracePeriod: a stored file no kept backup references is deleted once
  // older than this.
  absl::Duration orphan_grace = absl::Hours(1);
  int failed_history = 1;  // failedBackupsHistoryLimit
  // startingDeadlineSeconds: a run missed by more than this (the operator was down) is skipped.
  absl::Duration starting_deadline = absl::Minutes(5);
  bool suspend = false;
};

// spec.repairs[]: a schedule that creates Repair objects as a CronJob creates Jobs (a run is
// skipped while the schedule's previous Repair still runs), keeping the newest finished ones.
struct RepairScheduleSpec {
  std::string name;
  std::string schedule;           // cron (base/cron.h), checked by the scheduler
  std::string time_zone = "UTC";  // an IANA name
  // The created Repair's spec besides `cluster` (keyspaces, tables, type, parallelism,
  // datacenters, intensity, segmentsPerNode, segmentTimeoutSeconds), as the Cluster holds it;
  // the Repair kind's schema checks it again when it is created.
  kube::Json repair = kube::Json::object();
  int successful_history = 3;  // successfulRepairsHistoryLimit
  int failed_history = 1;      // failedRepairsHistoryLimit
  absl::Duration starting_deadline = absl::Minutes(5);
  bool suspend = false;
};

// spec.autoRepair: the default schedule (on unless disabled) that repairs every replicated table
// again each gcGraceFraction x its gc_grace_seconds, spread over the period (repair/coverage.h).
struct AutoRepairSpec {
  bool enabled = true;
  double gc_grace_fraction = 0.5;
  double intensity = 0.5;
  int segments_per_node = 16;  // of the created Repairs
  int successful_history = 3;
  int failed_history = 3;
};

// spec.restoreFrom: the backup a new Cluster is created from (set at creation only).
struct RestoreFromSpec {
  std::string storage_location;  // one of storage_locations
  std::string cluster;           // the cluster that took the backup
  std::string backup;            // "" = not created from a backup
  std::vector<std::string> keyspaces;
  bool set() const { return !backup.empty(); }
};

// spec.tls: client-to-node (CQL) and internode encryption, every node's certificate from a CA
// (the operator's own, made at the first pass, or the user's Secret), renewed by a roll.
struct TlsSpec {
  bool enabled = false;  // spec.tls is set
  bool client = true;
  bool internode = true;
  std::string ca_secret;  // the user's CA Secret; "" = the operator's (naming.h CaSecretName)
  absl::Duration validity = absl::Hours(24 * 365);
  absl::Duration renew_before = absl::Hours(24 * 30);
};

// spec.autoscaling: a data center grows by one member when its data load (Cassandra's live
// SSTables, as `nodetool status` shows) over the storage its members' data volumes request stays
// at or above `storage_used_percent` for `period`, up to `max_members`; it never shrinks on its
// own (autoscaling.h).
struct AutoscalingSpec {
  bool enabled = false;  // spec.autoscaling is set
  int max_members = 0;   // per data center
  int storage_used_percent = 75;
  // Cassandra's CPU use over the CPU its members request, in percent (over 100 when their
  // limit allows more); 0: CPU is not judged.
  int cpu_used_percent = 0;
  absl::Duration period = absl::Minutes(30);
};

struct ClusterSpec {
  std::string name;
  std::string ns;
  std::string uid;
  int64_t generation = 0;
  std::string mode = "cassandra";
  std::string version;
  std::string repository;   // spec.repository, else the default
  std::string image;        // repository:version
  std::string agent_image;  // sidecarImage repository:tag
  std::vector<DataCenterSpec> dcs;
  kube::Json config = kube::Json::object();  // cassandra.yaml overrides
  std::string heap_size;                     // "" = half the memory limit (agent init)
  std::vector<std::string> jvm_extra_options;
  std::string superuser_secret;  // the Secret's name (generated one unless spec.auth names one)
  bool generate_superuser = true;
  bool delete_pvcs = false;  // pvcDeletionPolicy Delete
  bool paused = false;
  // spec.nodeLoss: replace a member whose local volume went with a lost node (else Never: only
  // report it); a node NotReady this long counts as lost.
  bool replace_on_node_loss = true;
  absl::Duration node_not_ready_timeout = absl::Minutes(10);
  std::string restarted_at;  // the Cluster's kAnnotationRestartedAt, "" when absent
  // spec.annotations (Rook v1.5's field): added to every pod template.
  std::map<std::string, std::string> pod_annotations;
  std::vector<StorageLocationSpec> storage_locations;
  std::vector<BackupScheduleSpec> backup_schedules;
  std::vector<RepairScheduleSpec> repair_schedules;
  AutoRepairSpec auto_repair;
  RestoreFromSpec restore_from;
  // spec.commitLogArchive.storageLocation: where every node ships its commit log segments (a
  // restore to a point in time replays them); "" = not archived.
  std::string commit_log_archive;
  TlsSpec tls;
  AutoscalingSpec autoscaling;

  const StorageLocationSpec* FindStorageLocation(const std::string& name) const;
  const DataCenterSpec* FindDc(const std::string& dc) const;
  const RackSpec* FindRack(const std::string& dc, const std::string& rack) const;
};

struct Defaults {
  std::string repository = "cassandra";
  std::string agent_image = "ringkeeper/ringkeeper-agent:dev";
};

absl::StatusOr<ClusterSpec> ParseCluster(const kube::Object& cluster, const Defaults& defaults);

// Where a rack's `members` is in a Cluster's JSON (whichever of dataCenter, datacenter and
// dataCenters holds its data center), e.g. "/spec/dataCenters/1/racks/0/members"; NotFound when
// the spec has no such rack.
absl::StatusOr<kube::Json::json_pointer> RackMembersPointer(const kube::Json& cluster,
                                                            const std::string& dc,
                                                            const std::string& rack);

}  // namespace ringkeeper
