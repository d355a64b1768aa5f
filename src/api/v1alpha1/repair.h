// The typed view of a Repair (cassandra.rook.io/v1alpha1): one repair of a Cluster's keyspaces,
// run once, segment by segment (src/repair), and the status the operator records while it runs
// — the record that lets a restarted operator carry on without repairing a finished segment
// twice: which segments are done (a bitset per keyspace), which run where under which agent
// operation, which nodes rest after their last segment.
//
// The API server has validated the shape
// (charts/ringkeeper/files/crds/cassandra.rook.io_repairs.yaml: only intensity and paused change
// after creation); ParseRepair fills defaults. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/v1alpha1/backup.h"
#include "kube/object.h"
#include "kube/resource.h"
#include "repair/coverage.h"

namespace ringkeeper {

inline const kube::Resource kRepairs{"cassandra.rook.io", "v1alpha1", "repairs", "Repair", true};

namespace repair_type {
inline constexpr char kFull[] = "full";
inline constexpr char kIncremental[] = "incremental";
inline constexpr char kPreview[] = "preview";
}  // namespace repair_type

struct RepairSpec {
  std::string name, ns, uid;
  std::string cluster;  // a Cluster in the Repair's namespace
  // Empty: every keyspace replicated to more than one node, the local system ones excepted.
  std::vector<std::string> keyspaces;
  std::vector<std::string> tables;  // "keyspace.table": only these in their keyspaces
  std::string type = repair_type::kFull;
  std::string parallelism = "parallel";  // sequential | parallel | dc-parallel
  std::vector<std::string> datacenters;  // empty: all
  double intensity = 0.9;                // (0, 1]: a segment of d rests its nodes d(1-i)/i
  int segments_per_node = 16;
  int64_t segment_timeout_seconds = 1800;
  bool paused = false;

  // The tables of `keyspace` to repair: empty for all of them.
  std::vector<std::string> TablesOf(const std::string& keyspace) const;
  // The agent's parallelism word ("dc_parallel" for "dc-parallel").
  std::string AgentParallelism() const;
};

absl::StatusOr<RepairSpec> ParseRepair(const kube::Object& repair);

// A segment being repaired: recorded before its coordinator's agent is asked, so a successor
// asks the same agent for the same run and gets the same operation.
struct RunningSegment {
  std::string keyspace;
  int segment = 0;                    // its index in the keyspace's plan
  int attempt = 1;                    // 1, 2, 3 (kMaxAttempts)
  std::string coordinator;            // the pod whose agent runs it
  std::vector<std::string> replicas;  // pods taking part
  std::string operation;              // the agent's operation id; "" until it answered
  std::string started;                // RFC 3339
  // The agent's run key: the Repair's uid, keyspace, segment and attempt.
  std::string Run(const std::string& repair_uid) const;
};

struct RepairKeyspaceStatus {
  std::string name;
  int total = 0;  // segments in its plan
  int done = 0;
  std::string done_bits;  // base64 of the done bitset (bit i: segment i), as repair::Progress
  // A preview: what its finished segments found out of sync.
  int64_t mismatching_ranges = 0, mismatching_bytes = 0;
  std::vector<std::string> mismatching_tables;
};

// A segment that failed and waits for its next attempt (attempts so far, the last reason).
struct FailedSegment {
  std::string keyspace;
  int segment = 0;
  int attempts = 0;
  std::string message;
};

struct RepairStatus : RunStatus {
  std::string plan;  // the ConfigMap holding the segments, once planned
  std::vector<RepairKeyspaceStatus> keyspaces;
  std::vector<RunningSegment> running;
  std::vector<FailedSegment> retrying;
  std::map<std::string, std::string> resting;  // pod -> RFC 3339 until when it rests
  std::map<std::string, int64_t> postponed;    // reason -> segment starts postponed
  int64_t segment_seconds = 0;                 // total time of finished segments
  int64_t failed_attempts = 0;  // segment attempts that failed or timed out, over the run
  // While paused or yielding: why no segment starts (the Progressing condition's reason).
  std::string waiting;
  std::string waiting_since;  // RFC 3339: when `waiting` last changed

  int Total() const;
  int Done() const;
};

inline constexpr int kMaxSegmentAttempts = 3;

RepairStatus ParseRepairStatus(const kube::Json& status);
kube::Json ToJson(const RepairStatus& s, const RepairSpec& spec);

// A Cluster's status.repairCoverage (the repair scheduler keeps it): per replicated table its
// gc_grace_seconds, when the operator first saw it and, once repaired, when (lastRepaired), by
// which Repair, and the time by which it must be repaired again (repairBy: lastRepaired +
// gc_grace_seconds).
std::vector<repair::TableCoverage> ParseRepairCoverage(const kube::Json& cluster_status);
kube::Json RepairCoverageJson(const std::vector<repair::TableCoverage>& tables);

}  // namespace ringkeeper
