// The registry of long-running node operations (drain, decommission, cleanup, flush, snapshot,
// repair, ...). Start() validates, refuses conflicts, and runs the operation on its own thread;
// Get()/List() report its state. The last 100 finished operations are kept.
//
// Asked twice for the same run (a backup, restore or repair the caller did not record it had
// asked for), it answers with the operation it runs or has done instead of a second one.
//
// Conflicts (AlreadyExists -> HTTP 409): an operation of the same kind is running, or a drain or
// decommission runs while another of those is asked for. Bad requests are InvalidArgument.
// Thread-safe. The destructor waits for running operations' threads (their node calls are
// bounded by the client's timeouts).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/api/api.h"
#include "agent/node/node_control.h"
#include "agent/server/node_backup.h"
#include "agent/server/node_restore.h"

namespace agent::server {

class Operations {
 public:
  // `self` names this node in backups (cluster, dc, rack, pod) and says where its data lives.
  explicit Operations(node::NodeControl* node, BackupIdentity self = {},
                      absl::Duration repair_poll = absl::Seconds(1));
  ~Operations();

  absl::StatusOr<api::Operation> Start(const api::OperationRequest& request);
  absl::StatusOr<api::Operation> Get(const std::string& id) const;
  std::vector<api::Operation> List() const;

 private:
  void Run(std::string id, const api::OperationRequest& request);
  absl::Status RunRepair(const std::string& id, const api::OperationRequest& request);
  // Runs `work` on its own thread; until it returns, `progress` copies its figures into
  // operation `id` twice a second, and a stop of the agent cancels it. On success files_total
  // is the files done.
  absl::Status Track(const std::string& id,
                     const std::function<absl::Status(const std::atomic<bool>*)>& work,
                     const std::function<void(api::Operation&)>& progress);
  absl::Status RunBackup(const std::string& id, const api::OperationRequest& request);
  absl::Status RunRestore(const std::string& id, const api::OperationRequest& request);
  void Finish(const std::string& id, const absl::Status& status);
  bool IsStopping(const std::string& id) const;

  node::NodeControl* node_;
  const BackupIdentity self_;
  absl::Duration repair_poll_;
  mutable std::mutex mu_;
  std::map<std::string, api::Operation> ops_;
  std::map<std::string, bool> stop_requested_;
  // Each operation's thread, by id; a finished one is joined by the next Start (a node repaired
  // segment by segment runs thousands of operations: none may leave its thread behind).
  std::map<std::string, std::thread> threads_;
  std::vector<std::string> ended_;  // ids whose Run has returned or is returning
  bool shutting_down_ = false;
  int64_t next_id_ = 1;
};

}  // namespace agent::server
