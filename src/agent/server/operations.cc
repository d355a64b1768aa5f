#include "agent/server/operations.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "agent/node/repair_preview.h"
#include "base/log.h"

namespace agent::server {
namespace {

bool IsKnownKind(const std::string& kind) {
  for (const char* k :
       {api::kOpDrain, api::kOpDecommission, api::kOpCleanup, api::kOpFlush, api::kOpSnapshot,
        api::kOpClearSnapshot, api::kOpRepair, api::kOpStopRepairs, api::kOpBackup,
        api::kOpRestoreSchema, api::kOpRestore, api::kOpRebuild, api::kOpUpgradeSSTables}) {
    if (kind == k) return true;
  }
  return false;
}

// Operations a caller may ask for twice (it did not record the first answer): asked again for
// the same backup, source node and run while one runs or has succeeded, the agent answers with
// that one (a later Restore of the same backup is another run: it runs again).
bool Repeatable(const api::OperationRequest& r) {
  return r.kind == api::kOpBackup || r.kind == api::kOpRestoreSchema || r.kind == api::kOpRestore ||
         (r.kind == api::kOpRepair && !r.run.empty());
}

bool Disruptive(const std::string& kind) {
  return kind == api::kOpDrain || kind == api::kOpDecommission;
}

}  // namespace

Operations::Operations(node::NodeControl* node, BackupIdentity self, absl::Duration repair_poll)
    : node_(node), self_(std::move(self)), repair_poll_(repair_poll) {}

Operations::~Operations() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
  }
  for (auto& [id, t] : threads_) t.join();
}

absl::StatusOr<api::Operation> Operations::Start(const api::OperationRequest& request) {
  if (!IsKnownKind(request.kind)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown operation kind \"", request.kind, "\""));
  }
  if (request.kind == api::kOpSnapshot && request.tag.empty()) {
    return absl::InvalidArgumentError("snapshot: \"tag\" is required");
  }
  if (request.kind == api::kOpRepair) {
    if (request.keyspace.empty()) {
      return absl::InvalidArgumentError("repair: \"keyspace\" is required");
    }
    const std::string& type = request.repair_type;
    if (!type.empty() && type != api::kRepairFull && type != api::kRepairIncremental &&
        type != api::kRepairPreview) {
      return absl::InvalidArgumentError(
          absl::StrCat("repair: repair_type \"", type, "\" is not full, incremental or preview"));
    }
  }
  if (request.force && request.kind != api::kOpDecommission) {
    return absl::InvalidArgumentError(
        absl::StrCat(request.kind, ": \"force\" applies to decommission only"));
  }
  if (request.kind == api::kOpRebuild && request.source_dc.empty()) {
    return absl::InvalidArgumentError("rebuild: \"source_dc\" is required");
  }
  if (request.kind == api::kOpBackup) {
    if (absl::Status s = CheckBackupRequest(request); !s.ok()) return s;
  }
  if (request.kind == api::kOpRestore || request.kind == api::kOpRestoreSchema) {
    if (absl::Status s = CheckRestoreRequest(request); !s.ok()) return s;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return absl::UnavailableError("agent is shutting down");
  // Asked again for a backup or restore it runs or has done (the operator did not record the
  // first answer): the same operation, not a second upload.
  if (Repeatable(request)) {
    for (const auto& [id, op] : ops_) {
      if (op.kind == request.kind && op.backup == request.backup &&
          op.source_node == request.source_node && op.run == request.run &&
          (op.state == api::kStateRunning || op.state == api::kStateSucceeded)) {
        return op;
      }
    }
    if (request.kind != api::kOpRepair) {
      if (absl::Status s = CheckBackupCredentials(request); !s.ok()) return s;
    }
  }
  for (const std::string& id : ended_) {
    threads_[id].join();  // its Run has nothing left but to return
    threads_.erase(id);
  }
  ended_.clear();
  for (const auto& [id, op] : ops_) {
    if (op.state != api::kStateRunning) continue;
    if (op.kind == request.kind || (Disruptive(op.kind) && Disruptive(request.kind))) {
      return absl::AlreadyExistsError(
          absl::StrCat("operation ", op.id, " (", op.kind, ") is running"));
    }
  }
  api::Operation op;
  op.id = absl::StrCat(request.kind, "-", next_id_++);
  op.kind = request.kind;
  op.backup = request.backup;
  op.source_node = request.source_node;
  op.run = request.run;
  op.state = api::kStateRunning;
  op.started_unix = absl::ToUnixSeconds(absl::Now());
  ops_[op.id] = op;
  // Keep the history bounded: drop the oldest finished operations.
  while (ops_.size() > 100) {
    auto oldest = std::min_element(ops_.begin(), ops_.end(), [](const auto& a, const auto& b) {
      if ((a.second.state == api::kStateRunning) != (b.second.state == api::kStateRunning)) {
        return b.second.state == api::kStateRunning;
      }
      return a.second.started_unix < b.second.started_unix;
    });
    if (oldest->second.state == api::kStateRunning) break;
    ops_.erase(oldest);
  }
  threads_.emplace(op.id, std::thread(&Operations::Run, this, op.id, request));
  return op;
}

absl::StatusOr<api::Operation> Operations::Get(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = ops_.find(id);
  if (it == ops_.end()) return absl::NotFoundError(absl::StrCat("no operation ", id));
  return it->second;
}

std::vector<api::Operation> Operations::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<api::Operation> out;
  for (const auto& [id, op] : ops_) out.push_back(op);
  return out;
}

bool Operations::IsStopping(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = stop_requested_.find(id);
  return shutting_down_ || (it != stop_requested_.end() && it->second);
}

void Operations::Finish(const std::string& id, const absl::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& op = ops_[id];
  op.finished_unix = absl::ToUnixSeconds(absl::Now());
  if (op.state == api::kStateStopped) {
    spdlog::info("operation {} stopped: {}", id, op.message);
    return;
  }
  if (status.ok()) {
    op.state = api::kStateSucceeded;
  } else {
    op.state = api::kStateFailed;
    op.message = std::string(status.message());
  }
  spdlog::info("operation {} {}{}", id, op.state, status.ok() ? "" : ": " + op.message);
}

void Operations::Run(std::string id, const api::OperationRequest& r) {
  spdlog::info("operation {} started", id);
  absl::Status status;
  if (r.kind == api::kOpDrain) {
    status = node_->Drain();
  } else if (r.kind == api::kOpDecommission) {
    status = node_->Decommission(r.force);
  } else if (r.kind == api::kOpCleanup) {
    status = node_->Cleanup(r.keyspace);
  } else if (r.kind == api::kOpUpgradeSSTables) {
    status = node_->UpgradeSSTables(r.keyspace);
  } else if (r.kind == api::kOpRebuild) {
    status = node_->Rebuild(r.source_dc);
  } else if (r.kind == api::kOpFlush) {
    status = node_->Flush(r.keyspace, r.tables);
  } else if (r.kind == api::kOpSnapshot) {
    status = node_->TakeSnapshot(r.tag, r.keyspaces);
  } else if (r.kind == api::kOpClearSnapshot) {
    status = node_->ClearSnapshot(r.tag);
  } else if (r.kind == api::kOpRepair) {
    status = RunRepair(id, r);
  } else if (r.kind == api::kOpBackup) {
    status = RunBackup(id, r);
  } else if (r.kind == api::kOpRestoreSchema) {
    status = RestoreSchema(self_, r);
  } else if (r.kind == api::kOpRestore) {
    status = RunRestore(id, r);
  } else if (r.kind == api::kOpStopRepairs) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [other, op] : ops_) {
        if (op.kind == api::kOpRepair && op.state == api::kStateRunning) {
          stop_requested_[other] = true;
        }
      }
    }
    status = node_->StopRepairs();
  }
  Finish(id, status);
  std::lock_guard<std::mutex> lock(mu_);
  ended_.push_back(id);  // the last thing Run does
}

absl::Status Operations::RunRepair(const std::string& id, const api::OperationRequest& r) {
  node::RepairOptions options;
  options.keyspace = r.keyspace;
  options.tables = r.tables;
  options.ranges = r.ranges;
  options.parallelism = r.parallelism;
  if (!r.repair_type.empty()) options.type = r.repair_type;
  options.datacenters = r.datacenters;
  auto command = node_->StartRepair(options);
  if (!command.ok()) return command.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    ops_[id].repair_command = *command;
  }
  // Bounded: a repair that runs longer than a day is reported failed here (it keeps running in
  // Cassandra until stopped).
  const absl::Time deadline = absl::Now() + absl::Hours(24);
  // repairAsync returns before the repair's thread records its status: until then the node does
  // not know the command. Found under load (a replaced node's first repair).
  const absl::Time registered_by = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    auto status = node_->GetRepairStatus(*command);
    const bool stopping = IsStopping(id);
    if (status.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      ops_[id].message = status->message;
      if (status->state != api::kStateRunning) {
        // forceTerminateAllRepairSessions fails the sessions: after our stop, failed = stopped.
        if (stopping && status->state == api::kStateFailed) {
          ops_[id].state = api::kStateStopped;
          return absl::OkStatus();
        }
        if (status->state != api::kStateSucceeded) {
          return absl::AbortedError(absl::StrCat("repair failed: ", status->message));
        }
        if (options.type == api::kRepairPreview) {
          ops_[id].preview = node::ParsePreviewSummary(status->message);
        }
        return absl::OkStatus();
      }
    } else if (stopping && absl::IsNotFound(status.status())) {
      std::lock_guard<std::mutex> lock(mu_);
      ops_[id].state = api::kStateStopped;
      ops_[id].message = std::string(status.status().message());
      return absl::OkStatus();
    } else if (absl::IsNotFound(status.status()) && absl::Now() < registered_by) {
      // not recorded yet: poll again
    } else if (!absl::IsUnavailable(status.status())) {
      return status.status();
    }
    if (stopping) {
      std::lock_guard<std::mutex> lock(mu_);
      if (shutting_down_) return absl::CancelledError("agent shutting down");
    }
    absl::SleepFor(repair_poll_);
  }
  return absl::DeadlineExceededError("repair still running after 24h");
}

absl::Status Operations::Track(const std::string& id,
                               const std::function<absl::Status(const std::atomic<bool>*)>& work,
                               const std::function<void(api::Operation&)>& progress) {
  std::atomic<bool> cancel{false};
  absl::Notification done;
  absl::Status status = absl::UnknownError("not run");
  std::thread worker([&] {
    status = work(&cancel);
    done.Notify();
  });
  auto publish = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    progress(ops_[id]);
  };
  do {
    publish();
    if (IsStopping(id)) cancel = true;  // the agent shuts down: nothing partial is kept
  } while (!done.WaitForNotificationWithTimeout(absl::Milliseconds(500)));
  worker.join();
  publish();
  if (status.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    ops_[id].files_total = ops_[id].files_done;
  }
  return status;
}

absl::Status Operations::RunBackup(const std::string& id, const api::OperationRequest& r) {
  backup::UploadStats stats;
  std::string manifest;
  absl::Status status = Track(
      id,
      [&](const std::atomic<bool>* cancel) {
        auto key = BackupNode(*node_, self_, r, stats, cancel);
        if (key.ok()) manifest = *key;
        return key.status();
      },
      [&](api::Operation& op) {
        op.files_done = stats.files_done;
        op.files_skipped = stats.files_skipped;
        op.bytes_sent = stats.bytes_sent;
        op.bytes_total = stats.bytes_done;
      });
  if (status.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    ops_[id].manifest = manifest;
  }
  return status;
}

absl::Status Operations::RunRestore(const std::string& id, const api::OperationRequest& r) {
  backup::DownloadStats stats;
  return Track(
      id,
      [&](const std::atomic<bool>* cancel) { return RestoreNode(*node_, self_, r, stats, cancel); },
      [&](api::Operation& op) {
        op.files_done = stats.files_done;
        op.files_skipped = stats.files_skipped;
        op.bytes_total = stats.bytes_done;
        op.bytes_sent = stats.bytes_received;  // for a restore: bytes received
      });
}

}  // namespace agent::server
