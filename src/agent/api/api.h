// The agent's HTTP API: ports, routes and JSON messages, defined once and used by both the
// agent's server (src/agent/server) and the operator's client. Change a route here and both
// sides change together.
//
// Every route except kHealthz and kMetrics requires `Authorization: Bearer <token>` (the token
// from the mounted Secret, compared in constant time); anything else gets 401. Errors are JSON
// `Error` bodies with a status code that says what happened:
//   400 malformed request (the message names the problem), 401 not authenticated,
//   404 unknown route or id, 409 a conflicting operation is running,
//   503 Cassandra (Jolokia) unreachable or not ready, 500 anything else.
// Long operations (drain, decommission, cleanup, flush, snapshot, repair) are asynchronous:
// POST kOperations returns 202 with an `Operation` whose id is polled at kOperations + "/" + id.
//
// Thread-safety: plain value types.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace agent::api {

// The sidecar's port (HTTP API and /metrics); Jolokia's port inside the pod (127.0.0.1 only).
inline constexpr int kAgentPort = 8090;
// With mutual TLS on kAgentPort: the plain port of the kubelet's probes and of Prometheus, which
// present no client certificate (kHealthz, kReadyz and kMetrics only).
inline constexpr int kHealthPort = 8091;
// The names in a Cluster's agent certificates (its CA issues them; the operator makes all three).
// The agents' shared server certificate carries kAgentTlsName as its DNS name: the operator and
// the peers dial addresses no certificate can know in advance, and verify this name instead. With
// a client CA, only a client certificate whose subject is kOperatorTlsName may use the API; any
// other the CA issued (a peer's: the agents' certificate is also a client one) reads kRing only.
inline constexpr char kAgentTlsName[] = "ringkeeper-agent";
inline constexpr char kOperatorTlsName[] = "ringkeeper-operator";
inline constexpr int kJolokiaPort = 8778;

inline constexpr char kHealthz[] = "/healthz";
inline constexpr char kReadyz[] = "/readyz";
inline constexpr char kMetrics[] = "/metrics";
inline constexpr char kNodeInfo[] = "/v1/node";
inline constexpr char kRing[] = "/v1/ring";
inline constexpr char kSnapshots[] = "/v1/snapshots";
inline constexpr char kOperations[] = "/v1/operations";
inline constexpr char kSchema[] = "/v1/schema";
inline constexpr char kConfigKeys[] = "/v1/config/keys";
inline constexpr char kSeeds[] = "/v1/seeds";
// GET ?keyspace=<name>: `RangeMap`, what a repair is planned from.
inline constexpr char kRanges[] = "/v1/ranges";
// POST: one object request (`StorageRequest`) on a filesystem storage location this agent
// mounts, for the operator, which mounts none (the index it writes, the manifests it reads, a
// purge's listing and deletes). S3 locations are refused: the operator reaches them itself.
inline constexpr char kStorage[] = "/v1/storage";

// Where the agent's container mounts the filesystem storage locations: <dir>/<location name>.
inline constexpr char kLocationsDir[] = "/var/lib/ringkeeper/locations";

// Operation kinds accepted by POST kOperations.
inline constexpr char kOpDrain[] = "drain";
inline constexpr char kOpDecommission[] = "decommission";
inline constexpr char kOpCleanup[] = "cleanup";
inline constexpr char kOpFlush[] = "flush";
inline constexpr char kOpSnapshot[] = "snapshot";
inline constexpr char kOpClearSnapshot[] = "clear_snapshot";
inline constexpr char kOpRepair[] = "repair";
inline constexpr char kOpStopRepairs[] = "stop_repairs";
inline constexpr char kOpBackup[] = "backup";
// Restore, in two steps: once per cluster, the schema the backup saved (keyspaces missing
// created, each table's CREATE statement with its original id, the restored tables truncated
// when asked), then on each node its files fetched and imported into the live tables.
inline constexpr char kOpRestoreSchema[] = "restore_schema";
inline constexpr char kOpRestore[] = "restore";
// A node of a data center that joined without streaming (auto_bootstrap false) fetches the
// ranges it now replicates from `source_dc` (StorageService.rebuild).
inline constexpr char kOpRebuild[] = "rebuild";
// After an upgrade to a new major version: every sstable of `keyspace` (empty: every keyspace,
// Cassandra's own included, as nodetool upgradesstables) not in the running version's format
// rewritten into it (StorageService.upgradeSSTables).
inline constexpr char kOpUpgradeSSTables[] = "upgrade_sstables";

// Operation states.
inline constexpr char kStateRunning[] = "running";
inline constexpr char kStateSucceeded[] = "succeeded";
inline constexpr char kStateFailed[] = "failed";
inline constexpr char kStateStopped[] = "stopped";

struct Error {
  std::string message;
};

// One endpoint of the ring as this node sees it. status: "U"/"D"; state: "N" (normal),
// "J" (joining), "L" (leaving), "M" (moving).
struct RingEndpoint {
  std::string address;
  std::string dc;
  std::string rack;
  std::string status;
  std::string state;
  std::string host_id;
  int64_t load_bytes = 0;
  // Fraction 0..1, as `nodetool status` without a keyspace prints it: effective ownership when
  // every non-system keyspace has the same replication, else the tokens' share.
  double ownership = 0;
  int tokens = 0;
};

struct Ring {
  std::vector<RingEndpoint> endpoints;
};

struct NodeInfo {
  std::string host_id;
  std::string address;                    // broadcast address
  std::string self_state;                 // "UN"... as the node itself reports
  std::string peers_state;                // "UN"... as its peers see it (majority of live peers)
  std::string operation_mode;             // NORMAL, JOINING, LEAVING, DECOMMISSIONED, DRAINED, ...
  bool native_transport_running = false;  // CQL port open (a node is UN a moment before it is)
  std::vector<std::string> tokens;
  int64_t load_bytes = 0;
  std::string schema_version;
  std::string release_version;
  int64_t data_volume_used_bytes = 0;
  int64_t data_volume_total_bytes = 0;
  // Point-in-time restores whose commit log replay this node has done (their runs: a Restore's
  // uid), as markers on its data volume say (agent/server/commitlog.h).
  std::vector<std::string> replayed;
  // Those prepared by `agent init` and not finished yet (Cassandra replays at its start; the
  // agent finishes once it is up).
  std::vector<std::string> replaying;
  // Compactions waiting to run (the Compaction PendingTasks metric): a repair segment waits while
  // a replica is behind.
  int64_t pending_compactions = 0;
  // The Cassandra process's CPU time since it started (the JVM's ProcessCpuTime), in
  // nanoseconds; 0 when unknown. Two readings make its CPU use (operator/autoscaling.h CpuRates).
  int64_t process_cpu_nanos = 0;
};

// GET kSchema: the schema versions this node sees (its system.local and system.peers, over CQL)
// and whether every live peer (status U in its ring) has the node's own version. 503 when CQL
// cannot be reached or the agent's CQL credentials are refused.
struct SchemaAgreement {
  bool agreed = false;
  std::string local_version;
  std::map<std::string, std::string> peer_versions;  // every peer in system.peers
  std::vector<std::string> disagreeing;              // live peers with another version
};

// GET kConfigKeys: the cassandra.yaml keys this node's Cassandra version knows, as `agent init`
// derived them (the operator refuses a spec.config key outside them before any pod rolls).
// 404 when init wrote none.
struct ConfigKeys {
  std::vector<std::string> keys;  // sorted
};

// PUT kSeeds: the seeds this node gossips to, replaced in its cassandra.yaml (read again by
// Cassandra's seed provider) and reloaded (Gossiper.reloadSeeds); the answer carries the list
// Cassandra uses now, its own address left out. Why the operator changes a running node's seeds:
// its peers never gossip to a same-address replacement (it announces a dead state, hibernate)
// unless they list it as a seed, and without their gossip it never learns the ring
// (CASSANDRA-19580). 400 for an empty list or an entry that is no address or host name;
// 409 when the agent was started without Cassandra's conf folder; 503 when Cassandra is not up
// (the file is changed all the same: it is what the node starts with after a crash).
struct SeedList {
  std::vector<std::string> seeds;
};

// POST kOperations body. Fields used depend on kind:
//   cleanup/flush: keyspace (empty = all non-system), tables; snapshot: tag, keyspaces;
//   clear_snapshot: tag (empty = all); repair: keyspace, tables, ranges ("start:end"),
//   parallelism ("sequential" | "parallel" | "dc_parallel"), repair_type, datacenters, run;
//   decommission: force; drain, stop_repairs: -; rebuild: source_dc; upgrade_sstables: keyspace;
//   backup: backup, location, keyspaces, upload_parallelism, bandwidth_bytes_per_second.
// Where a backup goes: an S3-compatible bucket. The credentials file (a mounted Secret) holds
// the access key id and the secret access key, one a line; it is read when the backup starts and
// never logged.
// Where backups go: an S3 bucket (endpoint, bucket, credentials) or, when `path` is set, a
// directory on a volume mounted in the agent's container (the other fields unused).
struct StorageLocation {
  std::string endpoint;  // "http://host:port", "https://s3.eu-west-3.amazonaws.com"
  std::string bucket;
  std::string prefix;  // "" or "a/b"
  std::string region = "us-east-1";
  bool path_style = true;
  std::string credentials_file;
  std::string ca_file;  // PEM to trust for https ("" = the system's)
  std::string path;     // a filesystem location's directory
  bool Configured() const { return !endpoint.empty() || !path.empty(); }
};

// GET kRanges: the ring's token ranges of a keyspace with their replicas as this node sees them
// (StorageService.getRangeToEndpointWithPortMap): each (start, end] with its endpoints' addresses.
// Tokens as decimal strings (64-bit).
struct TokenRange {
  std::string start, end;
  std::vector<std::string> endpoints;
};
struct RangeMap {
  std::string keyspace;
  std::vector<TokenRange> ranges;  // sorted by start token
};

// POST kStorage. `op`: "get" (key), "put" (key, body), "list" (prefix, token: one page) or
// "delete" (keys). Bodies travel base64-encoded (JSON strings are UTF-8 only).
struct StorageRequest {
  std::string op;
  StorageLocation location;
  std::string key, prefix, token, body_base64;
  std::vector<std::string> keys;
};
struct StoredObjectInfo {
  std::string key;
  int64_t size = 0;
  std::string etag;
  int64_t last_modified_unix = 0;
};
struct StorageReply {
  std::vector<StoredObjectInfo> objects;  // list
  std::string next_token;                 // list: "" on the last page
  std::string body_base64;                // get
};

struct OperationRequest {
  std::string kind;
  std::string keyspace;
  std::vector<std::string> tables;
  std::vector<std::string> keyspaces;
  std::string tag;
  std::vector<std::string> ranges;
  std::string parallelism;
  // repair: kRepairFull (every replica's data), kRepairIncremental (what no incremental repair
  // marked repaired yet) or kRepairPreview (compares, streams nothing: the operation's
  // `preview` says what is out of sync); only replicas in `datacenters` when any.
  std::string repair_type;
  std::vector<std::string> datacenters;
  std::string source_dc;  // rebuild: the data center the node streams from
  // decommission: past Cassandra's own refusal to leave a data center with fewer nodes than a
  // keyspace's factor there. Only for a whole data center leaving, once no user keyspace
  // replicates to it (the system keyspaces' copies there are not needed: every other data
  // center holds its own). 400 with any other kind.
  bool force = false;
  // backup: its name, where it goes, files sent at once, an optional byte rate (0: none);
  // keyspaces as for snapshot (empty: all, the system keyspaces with the schema included).
  std::string backup;
  StorageLocation location;
  int upload_parallelism = 4;
  int64_t bandwidth_bytes_per_second = 0;
  // restore_schema, restore: whose manifest to read (the backup's cluster and one of its nodes:
  // for restore, the node whose data this node takes); keyspaces as above (empty: every
  // non-system keyspace the backup has). restore_schema truncates the restored tables first when
  // `truncate` (in place: the tables return to the backup's state); restore checks that the
  // SSTables' tokens are this node's when `verify_tokens`.
  std::string source_cluster;
  std::string source_node;
  bool truncate = false;
  bool verify_tokens = true;
  // restore: stream the source node's files to the replicas the ring gives their rows now
  // (StorageService.bulkLoad, Cassandra's bulk loader in the node) instead of importing them
  // into this node: for a cluster of another size or on other tokens than the backup's.
  bool load = false;
  // backup, restore_schema, restore, repair: the operator's run this request belongs to (a
  // Restore's uid; a Repair's segment and attempt; "" for a backup, whose name is unique):
  // asked again for the same run, backup and source node, the agent answers with the operation
  // it runs or has done (a repair only when `run` is set).
  std::string run;
};

inline constexpr char kRepairFull[] = "full";
inline constexpr char kRepairIncremental[] = "incremental";
inline constexpr char kRepairPreview[] = "preview";

struct RepairPreview {
  bool done = false;  // a preview repair that succeeded
  int64_t ranges = 0, sstables = 0, bytes = 0;
  std::vector<std::string> tables;  // "keyspace.table" out of sync
};

struct Operation {
  std::string id;
  std::string kind;
  std::string state;    // kState*
  std::string message;  // error, or the last progress message (repair)
  int64_t started_unix = 0;
  int64_t finished_unix = 0;
  int repair_command = 0;  // Cassandra's repair command number, for repairs
  // backup: its name; progress while it runs, totals once done; the manifest's key once written.
  std::string backup;
  int64_t files_total = 0, files_done = 0, files_skipped = 0;
  int64_t bytes_total = 0, bytes_sent = 0;
  std::string manifest;
  std::string source_node, run;  // restore: the request's
  // A preview repair once done: what it found out of sync (Cassandra's estimate of what a repair
  // would stream). Zero ranges: in sync.
  RepairPreview preview;
};

struct Snapshot {
  std::string tag;
  std::string keyspace;
  std::string table;
  int64_t size_bytes = 0;
  int64_t true_size_bytes = 0;
};

struct SnapshotList {
  std::vector<Snapshot> snapshots;
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Error, message)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RingEndpoint, address, dc, rack, status, state,
                                                host_id, load_bytes, ownership, tokens)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Ring, endpoints)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(NodeInfo, host_id, address, self_state, peers_state,
                                                operation_mode, native_transport_running, tokens,
                                                load_bytes, schema_version, release_version,
                                                data_volume_used_bytes, data_volume_total_bytes,
                                                replayed, replaying, pending_compactions,
                                                process_cpu_nanos)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ConfigKeys, keys)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SeedList, seeds)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SchemaAgreement, agreed, local_version,
                                                peer_versions, disagreeing)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(StorageLocation, endpoint, bucket, prefix, region,
                                                path_style, credentials_file, ca_file, path)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TokenRange, start, end, endpoints)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RangeMap, keyspace, ranges)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(StorageRequest, op, location, key, prefix, token,
                                                body_base64, keys)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(StoredObjectInfo, key, size, etag,
                                                last_modified_unix)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(StorageReply, objects, next_token, body_base64)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(OperationRequest, kind, keyspace, tables, keyspaces,
                                                tag, ranges, parallelism, backup, location,
                                                upload_parallelism, bandwidth_bytes_per_second,
                                                source_cluster, source_node, truncate,
                                                verify_tokens, load, run, repair_type, datacenters,
                                                source_dc, force)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RepairPreview, done, ranges, sstables, bytes,
                                                tables)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Operation, id, kind, state, message, started_unix,
                                                finished_unix, repair_command, backup, files_total,
                                                files_done, files_skipped, bytes_total, bytes_sent,
                                                manifest, source_node, run, preview)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Snapshot, tag, keyspace, table, size_bytes,
                                                true_size_bytes)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SnapshotList, snapshots)

// A restore to a point in time, on one member: at its next start, Cassandra replays the commit
// log segments this node archived since the backup (those stored under `location`, and those
// archived here and not yet shipped) up to `point_in_time`, then the agent removes the replay
// settings (commitlog.h). `run` empty: none.
struct ReplayRequest {
  std::string run;                 // the Restore's uid
  StorageLocation location;        // where this node's segments are shipped
  std::string source_cluster;      // whose segments: this Cluster's name
  std::string source_node;         // this member
  int64_t since_unix = 0;          // segments stored from then on (the backup's start)
  int64_t point_in_time_unix = 0;  // whole seconds (Cassandra's restore_point_in_time)
  // The restored tables, "keyspace.table": the replay is limited to them (cassandra.replayList).
  std::vector<std::string> tables;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ReplayRequest, run, location, source_cluster,
                                                source_node, since_unix, point_in_time_unix, tables)

// What the operator tells `agent init` about this member (a JSON file mounted from a ConfigMap
// or written by the operator into the pod spec).
struct InitSettings {
  std::string cluster_name;
  std::string dc;
  std::string rack;
  std::vector<std::string> seeds;
  std::string listen_address;
  std::string broadcast_address;  // the member's sticky Service IP
  std::string rpc_address;
  std::string broadcast_rpc_address;
  int num_tokens = 16;
  std::vector<std::string> initial_tokens;  // precomputed for a brand-new cluster
  bool auto_bootstrap = true;
  std::string data_dir = "/var/lib/cassandra";
  std::string authenticator = "PasswordAuthenticator";
  std::string authorizer = "CassandraAuthorizer";
  bool member_joined_before = false;  // the operator saw this member UN once: empty data = loss
  // A Cluster created from a backup (spec.restoreFrom): on an empty volume, `agent init` fetches
  // this member's files of restore.backup (restore.source_node's) into the restore's staging
  // folder before Cassandra first starts, and initial_tokens are that node's. The operator's
  // Restore imports them once the cluster is up. restore.backup empty: none.
  OperationRequest restore;
  // Commit log archiving (spec.commitLogArchive): each full segment is hard-linked into
  // <data_dir>/commitlog_archive by Cassandra's archive_command and shipped there by the agent.
  // endpoint empty: off.
  StorageLocation commitlog_archive;
  ReplayRequest replay;             // a restore to a point in time (run empty: none)
  int64_t heap_bytes = 0;           // 0: derived from the memory limit
  std::string jolokia_jar;          // path of the Jolokia javaagent jar
  int jolokia_port = kJolokiaPort;  // on 127.0.0.1 (distinct per node when nodes share a host)
  std::vector<std::string> extra_jvm_options;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(InitSettings, cluster_name, dc, rack, seeds,
                                                listen_address, broadcast_address, rpc_address,
                                                broadcast_rpc_address, num_tokens, initial_tokens,
                                                auto_bootstrap, data_dir, authenticator, authorizer,
                                                member_joined_before, restore, commitlog_archive,
                                                replay, heap_bytes, jolokia_jar, jolokia_port,
                                                extra_jvm_options)

}  // namespace agent::api
