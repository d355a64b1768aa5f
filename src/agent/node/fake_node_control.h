// A NodeControl for the agent server's unit tests: one node, 127.0.0.1, host id h1, UN and
// serving CQL unless told otherwise. Honest: decommission blocks until Release(), so a second
// request overlaps the first, and a repair can be made to run until StopRepairs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "agent/node/node_control.h"

namespace agent::node {

class FakeNodeControl : public NodeControl {
 public:
  absl::StatusOr<api::NodeInfo> GetNodeInfo() override {
    if (!reachable) return absl::UnavailableError("jolokia at 127.0.0.1:8778 unreachable");
    api::NodeInfo info;
    info.host_id = "h1";
    info.address = "127.0.0.1";
    info.self_state = "UN";
    info.native_transport_running = cql_serving;
    return info;
  }
  absl::StatusOr<api::Ring> GetRing() override {
    if (!reachable) return absl::UnavailableError("jolokia unreachable");
    api::Ring ring;
    ring.endpoints.push_back({"127.0.0.1", "dc1", "r1", "U", "N", "h1", 1, 1.0, 16});
    for (const auto& e : extra_endpoints) ring.endpoints.push_back(e);
    return ring;
  }
  // One node owning the whole ring.
  absl::StatusOr<api::RangeMap> GetRangeMap(const std::string& keyspace) override {
    if (!reachable) return absl::UnavailableError("jolokia unreachable");
    if (keyspace != "ks") return absl::NotFoundError("no keyspace " + keyspace);
    return api::RangeMap{keyspace, {{"42", "42", {"127.0.0.1"}}}};
  }
  absl::Status Drain() override { return absl::OkStatus(); }
  absl::Status Decommission(bool force) override {
    decommissions++;
    forced_decommissions += force;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return released; });
    return absl::OkStatus();
  }
  absl::Status Cleanup(const std::string&) override { return absl::OkStatus(); }
  absl::Status UpgradeSSTables(const std::string& keyspace) override {
    std::lock_guard<std::mutex> lock(mu);
    sstables_upgraded.push_back(keyspace);
    return absl::OkStatus();
  }
  std::vector<std::string> SSTablesUpgraded() {
    std::lock_guard<std::mutex> lock(mu);
    return sstables_upgraded;
  }
  absl::Status Rebuild(const std::string& source_dc) override {
    std::lock_guard<std::mutex> lock(mu);
    rebuilt_from = source_dc;
    return absl::OkStatus();
  }
  std::string RebuiltFrom() {
    std::lock_guard<std::mutex> lock(mu);
    return rebuilt_from;
  }
  std::string rebuilt_from;  // guarded by mu (the operation's thread writes it)
  absl::Status Flush(const std::string&, const std::vector<std::string>&) override {
    return absl::OkStatus();
  }
  absl::Status TakeSnapshot(const std::string&, const std::vector<std::string>&) override {
    return absl::OkStatus();
  }
  absl::Status ClearSnapshot(const std::string&) override { return absl::OkStatus(); }
  absl::StatusOr<api::SnapshotList> ListSnapshots() override { return api::SnapshotList{}; }
  absl::Status ImportSSTables(const std::string& keyspace, const std::string& table,
                              const std::string& directory, bool) override {
    std::lock_guard<std::mutex> lock(mu);
    if (!import_result.ok()) return import_result;
    imports.push_back(keyspace + "." + table + " " + directory);
    return absl::OkStatus();
  }
  std::vector<std::string> imports;  // "ks.table dir" of each import
  absl::Status import_result;        // not OK: every import fails so
  absl::Status BulkLoad(const std::string& directory) override {
    std::lock_guard<std::mutex> lock(mu);
    loads.push_back(directory);
    return absl::OkStatus();
  }
  std::vector<std::string> loads;  // each bulk-loaded directory
  absl::StatusOr<int> StartRepair(const RepairOptions& options) override {
    std::lock_guard<std::mutex> lock(mu);
    repairs.push_back(options);
    return 7;
  }
  std::vector<RepairOptions> repairs;  // each repair started
  std::string repair_result = "done";  // what a finished repair's status says
  // With repair_runs, a repair runs until StopRepairs, then fails as Cassandra's does.
  absl::StatusOr<RepairStatus> GetRepairStatus(int) override {
    if (!repair_runs) return RepairStatus{api::kStateSucceeded, repair_result};
    if (repairs_terminated) {
      return RepairStatus{api::kStateFailed, "Terminate session is called"};
    }
    return RepairStatus{api::kStateRunning, ""};
  }
  absl::Status StopRepairs() override {
    repairs_terminated = true;
    return absl::OkStatus();
  }
  // Answers `seeds_now` (what the test says Cassandra read) and counts the reloads.
  absl::StatusOr<std::vector<std::string>> ReloadSeeds() override {
    if (!reachable) return absl::UnavailableError("jolokia unreachable");
    std::lock_guard<std::mutex> lock(mu);
    ++seed_reloads;
    return seeds_now;
  }
  std::vector<std::string> seeds_now;
  int seed_reloads = 0;
  absl::StatusOr<std::string> Metrics(const metrics::Labels& labels) override {
    metrics::Exposition out;
    out.Declare("x", metrics::Type::kGauge);
    out.Add("x", labels, 1);
    return out.Text();
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu);
    released = true;
    cv.notify_all();
  }

  std::atomic<bool> reachable{true};
  std::atomic<bool> cql_serving{true};
  std::atomic<bool> repair_runs{false};
  std::atomic<bool> repairs_terminated{false};
  std::vector<api::RingEndpoint> extra_endpoints;  // set before requests, never during
  std::atomic<int> decommissions{0};
  std::atomic<int> forced_decommissions{0};
  std::vector<std::string> sstables_upgraded;  // keyspaces asked, under mu
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
};

}  // namespace agent::node
