#include "agent/node/jolokia_node_control.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"

namespace agent::node {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr char kStorageService[] = "org.apache.cassandra.db:type=StorageService";
constexpr char kSnitch[] = "org.apache.cassandra.db:type=EndpointSnitchInfo";
constexpr char kGossiper[] = "org.apache.cassandra.net:type=Gossiper";

std::set<std::string> EndpointSet(const json& list) {
  std::set<std::string> out;
  if (list.is_array()) {
    for (const auto& e : list) out.insert(NormalizeEndpoint(e.get<std::string>()));
  }
  return out;
}

const json& Attribute(const json& ss, const char* name) {
  static const json kNone;
  auto it = ss.is_object() ? ss.find(name) : ss.end();
  return ss.is_object() && it != ss.end() ? *it : kNone;
}

}  // namespace

std::map<std::string, std::string> EndpointStates(const json& ss) {
  std::map<std::string, std::string> states;
  const json& ids = Attribute(ss, "EndpointToHostId");
  if (ids.is_object()) {
    for (const auto& [ep, id] : ids.items()) states[NormalizeEndpoint(ep)];
  }
  const auto joining = EndpointSet(Attribute(ss, "JoiningNodes"));
  const auto leaving = EndpointSet(Attribute(ss, "LeavingNodes"));
  const auto moving = EndpointSet(Attribute(ss, "MovingNodes"));
  const auto live = EndpointSet(Attribute(ss, "LiveNodes"));
  const auto unreachable = EndpointSet(Attribute(ss, "UnreachableNodes"));
  for (const auto* set : {&joining, &leaving, &moving, &live, &unreachable}) {
    for (const auto& ep : *set) states[ep];
  }
  for (auto& [ep, state] : states) {
    state = live.contains(ep) ? "U" : "D";
    state += joining.contains(ep)   ? "J"
             : leaving.contains(ep) ? "L"
             : moving.contains(ep)  ? "M"
                                    : "N";
  }
  return states;
}

std::string NormalizeEndpoint(const std::string& endpoint) {
  absl::string_view e = endpoint;
  // InetAddress.toString() gives "hostname/1.2.3.4" or "/1.2.3.4".
  if (auto slash = e.find('/'); slash != absl::string_view::npos) e = e.substr(slash + 1);
  if (absl::StartsWith(e, "[")) {  // [ipv6]:port
    auto close = e.find(']');
    return std::string(e.substr(1, close - 1));
  }
  if (std::count(e.begin(), e.end(), ':') == 1) e = e.substr(0, e.find(':'));
  return std::string(e);
}

int64_t ParseSize(const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, ' ', absl::SkipEmpty());
  if (parts.empty()) return 0;
  double value = 0;
  if (!absl::SimpleAtod(parts[0], &value)) return 0;
  const std::string unit = parts.size() > 1 ? absl::AsciiStrToLower(parts[1]) : "bytes";
  static const std::map<std::string, double> kUnits = {{"bytes", 1},
                                                       {"b", 1},
                                                       {"kib", 1024.0},
                                                       {"kb", 1024.0},
                                                       {"mib", 1048576.0},
                                                       {"mb", 1048576.0},
                                                       {"gib", 1073741824.0},
                                                       {"gb", 1073741824.0},
                                                       {"tib", 1099511627776.0},
                                                       {"tb", 1099511627776.0}};
  auto it = kUnits.find(unit);
  return static_cast<int64_t>(value * (it == kUnits.end() ? 1 : it->second));
}

JolokiaNodeControl::JolokiaNodeControl(JolokiaOptions options)
    : options_(std::move(options)), client_(options_.host, options_.port) {}

absl::StatusOr<api::NodeInfo> JolokiaNodeControl::GetNodeInfo() {
  json requests = json::array({
      JolokiaClient::Read(kStorageService,
                          {"LocalHostId", "OperationMode", "Tokens", "SchemaVersion",
                           "ReleaseVersion", "EndpointToHostId", "JoiningNodes", "LeavingNodes",
                           "MovingNodes", "NativeTransportRunning"}),
      JolokiaClient::Read("org.apache.cassandra.metrics:type=Storage,name=Load", "Count"),
      JolokiaClient::Read("org.apache.cassandra.metrics:type=Compaction,name=PendingTasks",
                          "Value"),
      JolokiaClient::Read("java.lang:type=OperatingSystem", "ProcessCpuTime"),
  });
  ASSIGN_OR_RETURN(json responses, client_.Bulk(requests));
  ASSIGN_OR_RETURN(json ss, JolokiaClient::Value(responses[0]));
  api::NodeInfo info;
  info.host_id = ss.value("LocalHostId", "");
  info.operation_mode = ss.value("OperationMode", "");
  info.native_transport_running = ss.value("NativeTransportRunning", false);
  if (ss["Tokens"].is_array()) info.tokens = ss["Tokens"].get<std::vector<std::string>>();
  info.schema_version = ss.value("SchemaVersion", "");
  info.release_version = ss.value("ReleaseVersion", "");
  if (ss["EndpointToHostId"].is_object()) {
    for (const auto& [endpoint, id] : ss["EndpointToHostId"].items()) {
      if (id == info.host_id) info.address = NormalizeEndpoint(endpoint);
    }
  }
  if (auto load = JolokiaClient::Value(responses[1]); load.ok() && load->is_number()) {
    info.load_bytes = load->get<int64_t>();
  }
  if (auto pending = JolokiaClient::Value(responses[2]); pending.ok() && pending->is_number()) {
    info.pending_compactions = pending->get<int64_t>();
  }
  if (auto cpu = JolokiaClient::Value(responses[3]); cpu.ok() && cpu->is_number()) {
    info.process_cpu_nanos = std::max<int64_t>(0, cpu->get<int64_t>());  // -1: not supported
  }
  static const std::map<std::string, std::string> kModes = {{"NORMAL", "UN"},
                                                            {"JOINING", "UJ"},
                                                            {"LEAVING", "UL"},
                                                            {"DECOMMISSIONING", "UL"},
                                                            {"MOVING", "UM"}};
  auto mode = kModes.find(info.operation_mode);
  info.self_state = mode == kModes.end() ? "DN" : mode->second;
  struct statvfs vfs;
  if (statvfs(options_.data_dir.c_str(), &vfs) == 0) {
    info.data_volume_total_bytes =
        static_cast<int64_t>(vfs.f_blocks) * static_cast<int64_t>(vfs.f_frsize);
    info.data_volume_used_bytes =
        static_cast<int64_t>(vfs.f_blocks - vfs.f_bfree) * static_cast<int64_t>(vfs.f_frsize);
  }
  return info;
}

// Jolokia writes the map's keys, Java Lists of two tokens, with their toString(): "[-92, 17]".
absl::StatusOr<api::RangeMap> JolokiaNodeControl::GetRangeMap(const std::string& keyspace) {
  // The keyspace is looked up first: Cassandra answers an unknown one with a NullPointerException.
  ASSIGN_OR_RETURN(
      json responses,
      client_.Bulk(json::array(
          {JolokiaClient::Read(kStorageService, "Keyspaces"),
           JolokiaClient::Exec(kStorageService, "getRangeToEndpointWithPortMap(java.lang.String)",
                               {keyspace})})));
  ASSIGN_OR_RETURN(const json names, JolokiaClient::Value(responses[0]));
  if (!names.is_array() || std::find(names.begin(), names.end(), keyspace) == names.end()) {
    return absl::NotFoundError(absl::StrCat("no keyspace ", keyspace));
  }
  auto value = JolokiaClient::Value(responses[1]);
  if (!value.ok()) return value.status();
  if (!value->is_object()) return absl::InternalError("range map: not a JSON object");
  api::RangeMap map;
  map.keyspace = keyspace;
  for (const auto& [key, endpoints] : value->items()) {
    std::vector<std::string> tokens =
        absl::StrSplit(absl::StripSuffix(absl::StripPrefix(key, "["), "]"), ", ");
    int64_t a, b;
    if (tokens.size() != 2 || !absl::SimpleAtoi(tokens[0], &a) ||
        !absl::SimpleAtoi(tokens[1], &b)) {
      return absl::InternalError(
          absl::StrCat("range map: a key \"", key, "\" is not [start, end]"));
    }
    api::TokenRange r{tokens[0], tokens[1], {}};
    if (endpoints.is_array()) {
      for (const json& e : endpoints) {
        if (e.is_string()) r.endpoints.push_back(NormalizeEndpoint(e.get<std::string>()));
      }
    }
    map.ranges.push_back(std::move(r));
  }
  std::sort(map.ranges.begin(), map.ranges.end(),
            [](const api::TokenRange& x, const api::TokenRange& y) {
              int64_t a = 0, b = 0;
              (void)absl::SimpleAtoi(x.start, &a);
              (void)absl::SimpleAtoi(y.start, &b);
              return a < b;
            });
  return map;
}

absl::StatusOr<api::Ring> JolokiaNodeControl::GetRing() {
  json requests = json::array({
      JolokiaClient::Read(kStorageService, {"LiveNodes", "UnreachableNodes", "JoiningNodes",
                                            "LeavingNodes", "MovingNodes", "EndpointToHostId",
                                            "LoadMap", "Ownership", "TokenToEndpointMap"}),
  });
  ASSIGN_OR_RETURN(json responses, client_.Bulk(requests));
  ASSIGN_OR_RETURN(json ss, JolokiaClient::Value(responses[0]));

  std::map<std::string, api::RingEndpoint> endpoints;
  auto add = [&](const std::string& raw) -> api::RingEndpoint& {
    std::string address = NormalizeEndpoint(raw);
    auto& e = endpoints[address];
    e.address = address;
    return e;
  };
  if (ss["EndpointToHostId"].is_object()) {
    for (const auto& [ep, id] : ss["EndpointToHostId"].items()) add(ep).host_id = id;
  }
  for (const char* list : {"JoiningNodes", "LeavingNodes", "MovingNodes"}) {
    for (const auto& ep : EndpointSet(ss[list])) add(ep);
  }
  if (ss["TokenToEndpointMap"].is_object()) {
    for (const auto& [token, ep] : ss["TokenToEndpointMap"].items()) add(ep).tokens++;
  }
  if (ss["LoadMap"].is_object()) {
    for (const auto& [ep, load] : ss["LoadMap"].items()) {
      auto it = endpoints.find(NormalizeEndpoint(ep));
      if (it != endpoints.end()) it->second.load_bytes = ParseSize(load.get<std::string>());
    }
  }
  if (ss["Ownership"].is_object()) {
    for (const auto& [ep, own] : ss["Ownership"].items()) {
      auto it = endpoints.find(NormalizeEndpoint(ep));
      if (it != endpoints.end() && own.is_number()) it->second.ownership = own.get<double>();
    }
  }
  // Ownership as `nodetool status` prints it: effective (the replicas' share of the data) when
  // every non-system keyspace has the same replication, which Cassandra refuses otherwise;
  // then the tokens' share read above.
  json topology = json::array({JolokiaClient::Exec(
      kStorageService, "effectiveOwnershipWithPort(java.lang.String)", json::array({nullptr}))});
  const auto states = EndpointStates(ss);
  for (auto& [address, e] : endpoints) {
    auto known = states.find(address);
    const std::string state = known != states.end() ? known->second : "DN";
    e.status = state.substr(0, 1);
    e.state = state.substr(1);
    topology.push_back(JolokiaClient::Exec(kSnitch, "getDatacenter(java.lang.String)", {address}));
    topology.push_back(JolokiaClient::Exec(kSnitch, "getRack(java.lang.String)", {address}));
  }
  ASSIGN_OR_RETURN(json topo, client_.Bulk(topology));
  if (auto effective = JolokiaClient::Value(topo[0]); effective.ok() && effective->is_object()) {
    for (const auto& [ep, own] : effective->items()) {
      auto it = endpoints.find(NormalizeEndpoint(ep));
      if (it != endpoints.end() && own.is_number()) it->second.ownership = own.get<double>();
    }
  }
  api::Ring ring;
  size_t i = 1;
  for (auto& [address, e] : endpoints) {
    if (auto dc = JolokiaClient::Value(topo[i]); dc.ok() && dc->is_string()) e.dc = *dc;
    if (auto rack = JolokiaClient::Value(topo[i + 1]); rack.ok() && rack->is_string())
      e.rack = *rack;
    i += 2;
    ring.endpoints.push_back(e);
  }
  return ring;
}

absl::Status JolokiaNodeControl::Drain() {
  return client_.One(JolokiaClient::Exec(kStorageService, "drain()"), absl::Hours(2)).status();
}

absl::Status JolokiaNodeControl::Decommission(bool force) {
  // Without force Cassandra itself refuses when it would leave fewer nodes than the RF.
  return client_
      .One(JolokiaClient::Exec(kStorageService, "decommission(boolean)", {force}), absl::Hours(24))
      .status();
}

absl::Status JolokiaNodeControl::Rebuild(const std::string& source_dc) {
  // rebuild(String) is in every version from 3.11 to 5.0 (the longer overloads changed); it
  // streams every keyspace with replicas in this node's data center, ranges this node already
  // received skipped (system.available_ranges), so a failed rebuild can simply run again.
  return client_
      .One(JolokiaClient::Exec(kStorageService, "rebuild(java.lang.String)", {source_dc}),
           absl::Hours(24))
      .status();
}

absl::StatusOr<std::vector<std::string>> JolokiaNodeControl::Keyspaces(
    const std::string& keyspace) {
  if (!keyspace.empty()) return std::vector<std::string>{keyspace};
  ASSIGN_OR_RETURN(json ks,
                   client_.One(JolokiaClient::Read(kStorageService, "NonSystemKeyspaces")));
  return ks.get<std::vector<std::string>>();
}

absl::Status JolokiaNodeControl::Cleanup(const std::string& keyspace) {
  ASSIGN_OR_RETURN(auto keyspaces, Keyspaces(keyspace));
  for (const auto& ks : keyspaces) {
    ASSIGN_OR_RETURN(
        json rc, client_.One(JolokiaClient::Exec(
                                 kStorageService,
                                 "forceKeyspaceCleanup(int,java.lang.String,[Ljava.lang.String;)",
                                 {0, ks, json::array()}),
                             absl::Hours(24)));
    if (rc.is_number() && rc.get<int>() != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cleanup of ", ks, " ended with status ", rc.get<int>()));
    }
  }
  return absl::OkStatus();
}

absl::Status JolokiaNodeControl::UpgradeSSTables(const std::string& keyspace) {
  std::vector<std::string> keyspaces{keyspace};
  if (keyspace.empty()) {  // every keyspace, Cassandra's own included (as nodetool)
    ASSIGN_OR_RETURN(json all, client_.One(JolokiaClient::Read(kStorageService, "Keyspaces")));
    keyspaces = all.get<std::vector<std::string>>();
  }
  for (const auto& ks : keyspaces) {
    // (keyspace, excludeCurrentVersion: sstables already in the running format are left alone,
    // maxSSTableTimestamp: none skipped, jobs: 0 = every compactor, tables: every one) — what
    // NodeProbe.upgradeSSTables calls, in 4.1 and 5.0 alike.
    ASSIGN_OR_RETURN(
        json rc,
        client_.One(JolokiaClient::Exec(
                        kStorageService,
                        "upgradeSSTables(java.lang.String,boolean,long,int,[Ljava.lang.String;)",
                        {ks, true, std::numeric_limits<int64_t>::max(), 0, json::array()}),
                    absl::Hours(24)));
    if (rc.is_number() && rc.get<int>() != 0) {
      return absl::FailedPreconditionError(absl::StrCat("upgradesstables of ", ks,
                                                        " ended with status ", rc.get<int>(),
                                                        rc.get<int>() == 1 ? " (aborted)" : ""));
    }
  }
  return absl::OkStatus();
}

absl::Status JolokiaNodeControl::Flush(const std::string& keyspace,
                                       const std::vector<std::string>& tables) {
  ASSIGN_OR_RETURN(auto keyspaces, Keyspaces(keyspace));
  json requests = json::array();
  for (const auto& ks : keyspaces) {
    requests.push_back(JolokiaClient::Exec(
        kStorageService, "forceKeyspaceFlush(java.lang.String,[Ljava.lang.String;)", {ks, tables}));
  }
  ASSIGN_OR_RETURN(json responses, client_.Bulk(requests, absl::Hours(1)));
  for (const auto& r : responses) RETURN_IF_ERROR(JolokiaClient::Value(r).status());
  return absl::OkStatus();
}

absl::Status JolokiaNodeControl::TakeSnapshot(const std::string& tag,
                                              const std::vector<std::string>& keyspaces) {
  if (tag.empty()) return absl::InvalidArgumentError("snapshot: tag is empty");
  return client_
      .One(JolokiaClient::Exec(kStorageService,
                               "takeSnapshot(java.lang.String,java.util.Map,[Ljava.lang.String;)",
                               {tag, json::object(), keyspaces}),
           absl::Hours(1))
      .status();
}

absl::Status JolokiaNodeControl::ClearSnapshot(const std::string& tag) {
  return client_
      .One(JolokiaClient::Exec(kStorageService,
                               "clearSnapshot(java.lang.String,[Ljava.lang.String;)",
                               {tag, json::array()}),
           absl::Minutes(10))
      .status();
}

absl::Status JolokiaNodeControl::ImportSSTables(const std::string& keyspace,
                                                const std::string& table,
                                                const std::string& directory, bool verify_tokens) {
  const std::string mbean =
      absl::StrCat("org.apache.cassandra.db:type=Tables,keyspace=", keyspace, ",table=", table);
  // srcPaths, resetLevel, clearRepaired, verifySSTables, verifyTokens, invalidateCaches,
  // extendedVerify, copyData (false: moved, the staging copy is not kept twice on disk).
  absl::StatusOr<json> failed = client_.One(
      JolokiaClient::Exec(
          mbean,
          "importNewSSTables(java.util.Set,boolean,boolean,boolean,boolean,boolean,"
          "boolean,boolean)",
          {json::array({directory}), true, true, true, verify_tokens, true, false, false}),
      absl::Hours(2));
  if (!failed.ok() && absl::StrContains(failed.status().message(), "to type java.util.Set")) {
    // Jolokia converts a JSON array to a Set from 2.5 on, which needs Java 17; a node on Java 11
    // (Cassandra 4.x) runs 2.3.0, which cannot call this method at all.
    return absl::UnimplementedError(
        absl::StrCat("this node's Jolokia cannot pass the Set importNewSSTables takes: ",
                     failed.status().message()));
  }
  if (!failed.ok()) return failed.status();
  if (failed->is_array() && !failed->empty()) {
    return absl::FailedPreconditionError(absl::StrCat("import into ", keyspace, ".", table,
                                                      " refused the SSTables of ", failed->dump()));
  }
  return absl::OkStatus();
}

absl::Status JolokiaNodeControl::BulkLoad(const std::string& directory) {
  // Blocks until the streams end (a failed one is an exception, which Jolokia reports).
  return client_
      .One(JolokiaClient::Exec(kStorageService, "bulkLoad(java.lang.String)", {directory}),
           absl::Hours(2))
      .status();
}

absl::StatusOr<api::SnapshotList> JolokiaNodeControl::ListSnapshots() {
  // <data>/data/<keyspace>/<table>-<id>/snapshots/<tag>/
  api::SnapshotList list;
  std::error_code ec;
  const fs::path data = fs::path(options_.data_dir) / "data";
  for (const auto& ks : fs::directory_iterator(data, ec)) {
    if (!ks.is_directory()) continue;
    for (const auto& table : fs::directory_iterator(ks.path(), ec)) {
      const fs::path snaps = table.path() / "snapshots";
      if (!fs::is_directory(snaps, ec)) continue;
      for (const auto& snap : fs::directory_iterator(snaps, ec)) {
        if (!snap.is_directory()) continue;
        api::Snapshot s;
        s.tag = snap.path().filename().string();
        s.keyspace = ks.path().filename().string();
        const std::string dir = table.path().filename().string();
        s.table = dir.substr(0, dir.rfind('-'));
        for (const auto& f : fs::recursive_directory_iterator(snap.path(), ec)) {
          if (f.is_regular_file()) s.size_bytes += static_cast<int64_t>(f.file_size());
        }
        list.snapshots.push_back(std::move(s));
      }
    }
  }
  std::sort(list.snapshots.begin(), list.snapshots.end(), [](const auto& a, const auto& b) {
    return std::tie(a.tag, a.keyspace, a.table) < std::tie(b.tag, b.keyspace, b.table);
  });
  return list;
}

absl::StatusOr<int> JolokiaNodeControl::StartRepair(const RepairOptions& o) {
  if (o.keyspace.empty()) return absl::InvalidArgumentError("repair: keyspace is empty");
  json options = {{"incremental", "false"}, {"primaryRange", "false"}, {"trace", "false"}};
  if (o.type == api::kRepairIncremental) {
    options["incremental"] = "true";
  } else if (o.type == api::kRepairPreview) {
    // Every replica's data compared (as `nodetool repair --preview --full`), nothing streamed.
    options["previewKind"] = "ALL";
  } else if (o.type != api::kRepairFull) {
    return absl::InvalidArgumentError(
        absl::StrCat("repair: type \"", o.type, "\" is not full, incremental or preview"));
  }
  if (!o.datacenters.empty()) options["dataCenters"] = absl::StrJoin(o.datacenters, ",");
  if (!o.parallelism.empty()) {
    if (o.parallelism != "sequential" && o.parallelism != "parallel" &&
        o.parallelism != "dc_parallel") {
      return absl::InvalidArgumentError(
          absl::StrCat("repair: parallelism \"", o.parallelism,
                       "\" is not sequential, parallel or dc_parallel"));
    }
    options["parallelism"] = o.parallelism;
  }
  if (!o.tables.empty()) options["columnFamilies"] = absl::StrJoin(o.tables, ",");
  if (!o.ranges.empty()) {
    for (const auto& r : o.ranges) {
      std::vector<std::string> parts = absl::StrSplit(r, ':');
      int64_t a, b;
      if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &a) || !absl::SimpleAtoi(parts[1], &b)) {
        return absl::InvalidArgumentError(
            absl::StrCat("repair: range \"", r, "\" is not \"start:end\" tokens"));
      }
    }
    options["ranges"] = absl::StrJoin(o.ranges, ",");
  }
  ASSIGN_OR_RETURN(json cmd, client_.One(JolokiaClient::Exec(
                                 kStorageService, "repairAsync(java.lang.String,java.util.Map)",
                                 {o.keyspace, options})));
  if (!cmd.is_number()) return absl::InternalError("repairAsync: no command number");
  const int command = cmd.get<int>();
  if (command <= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("repair of ", o.keyspace, ": nothing to repair (command ", command, ")"));
  }
  return command;
}

absl::StatusOr<RepairStatus> JolokiaNodeControl::GetRepairStatus(int command) {
  ASSIGN_OR_RETURN(json st, client_.One(JolokiaClient::Exec(
                                kStorageService, "getParentRepairStatus(int)", {command})));
  RepairStatus out;
  if (!st.is_array() || st.empty()) {
    return absl::NotFoundError(absl::StrCat("repair command ", command, " unknown to the node"));
  }
  const std::string state = st[0].get<std::string>();
  if (state == "IN_PROGRESS") {
    out.state = api::kStateRunning;
  } else if (state == "COMPLETED") {
    out.state = api::kStateSucceeded;
  } else {
    out.state = api::kStateFailed;
  }
  std::vector<std::string> messages;
  for (size_t i = 1; i < st.size(); ++i) messages.push_back(st[i].get<std::string>());
  out.message = absl::StrJoin(messages, "; ");
  if (out.message.empty()) out.message = state;
  return out;
}

absl::Status JolokiaNodeControl::StopRepairs() {
  return client_.One(JolokiaClient::Exec(kStorageService, "forceTerminateAllRepairSessions()"))
      .status();
}

absl::StatusOr<std::vector<std::string>> JolokiaNodeControl::ReloadSeeds() {
  ASSIGN_OR_RETURN(json seeds, client_.One(JolokiaClient::Exec(kGossiper, "reloadSeeds()")));
  // null: the seed provider threw (Cassandra logged why).
  if (!seeds.is_array()) {
    return absl::InternalError("Cassandra could not read its seeds again (see its log)");
  }
  std::vector<std::string> out;
  for (const json& s : seeds) {
    if (s.is_string()) out.push_back(std::string(absl::StripPrefix(s.get<std::string>(), "/")));
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const MetricPlan>> JolokiaNodeControl::Plan(bool stale) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (plan_ && !stale && absl::Now() - plan_made_ < absl::Minutes(1)) return plan_;
  }
  ASSIGN_OR_RETURN(json found, client_.Bulk(CatalogRequests(), absl::Seconds(10)));
  const MetricCatalog catalog = ParseCatalog(found);
  auto plan = std::make_shared<const MetricPlan>(catalog);
  std::lock_guard<std::mutex> lock(mu_);
  plan_ = plan;
  plan_schema_ = catalog.schema_version;
  plan_made_ = absl::Now();
  return plan;
}

absl::StatusOr<std::string> JolokiaNodeControl::Metrics(const metrics::Labels& labels) {
  ASSIGN_OR_RETURN(std::shared_ptr<const MetricPlan> plan, Plan(false));
  ASSIGN_OR_RETURN(json responses, client_.Bulk(plan->requests(), absl::Seconds(10)));
  MetricPlan::Scrape scrape = plan->Render(responses, labels);
  // A table created or dropped since the plan was made: made again and read again at once, so
  // a new table is in the very next scrape (this costs a second round trip only then).
  bool changed = scrape.missing > 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    changed = changed || (!scrape.schema_version.empty() && scrape.schema_version != plan_schema_);
  }
  if (changed) {
    ASSIGN_OR_RETURN(plan, Plan(true));
    ASSIGN_OR_RETURN(responses, client_.Bulk(plan->requests(), absl::Seconds(10)));
    scrape = plan->Render(responses, labels);
  }
  metrics::Exposition volume;
  if (VolumeUsage usage; ReadVolumeUsage(options_.data_dir, usage)) {
    RenderVolumeUsage(usage, labels, volume);
  }
  return scrape.text + volume.Text();
}

}  // namespace agent::node
