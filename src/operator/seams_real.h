// The real side of every seam in seams.h: the API server through kube::Client, events through
// kube::EventRecorder, agents over HTTP (AgentClient), CQL through cql::Client, the system clock.
// Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kube/client.h"
#include "kube/event_recorder.h"
#include "operator/seams.h"
#include "operator/storage_access.h"

namespace ringkeeper {

// Reads, writes and status of objects through the API server, under one field manager.
class KubeObjects : public ObjectReader, public ObjectWriter, public StatusWriter {
 public:
  KubeObjects(kube::Client& client, std::string field_manager)
      : client_(client), field_manager_(std::move(field_manager)) {}

  absl::StatusOr<kube::Object> Get(const kube::Resource& r, const std::string& ns,
                                   const std::string& name) override;
  absl::StatusOr<kube::Object> Apply(const kube::Resource& r, const kube::Json& object) override;
  absl::StatusOr<kube::Object> Create(const kube::Resource& r, const kube::Json& object) override;
  absl::StatusOr<kube::Object> Update(const kube::Resource& r, const kube::Json& object) override;
  absl::Status Delete(const kube::Resource& r, const std::string& ns, const std::string& name,
                      const std::string& uid, Deletion how) override;
  absl::StatusOr<kube::Object> UpdateStatus(const kube::Resource& r,
                                            const kube::Object& object) override;

 private:
  kube::Client& client_;
  const std::string field_manager_;
};

class RecorderEvents : public EventSink {
 public:
  explicit RecorderEvents(kube::EventRecorder& recorder) : recorder_(recorder) {}
  void Event(const kube::Object& regarding, bool warning, const std::string& reason,
             const std::string& message) override;

 private:
  kube::EventRecorder& recorder_;
};

// AgentClients, kept while in use: a client unused for `idle` (its pod is gone, its cluster
// deleted) is dropped, so the map follows the pods instead of growing with every pod IP seen.
class HttpNodeAgents : public NodeAgents {
 public:
  explicit HttpNodeAgents(absl::Duration idle = absl::Minutes(5)) : idle_(idle) {}
  std::shared_ptr<NodeAgent> For(const std::string& address,
                                 const AgentCredentials& credentials) override;
  size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<NodeAgent> agent;
    absl::Time last_used;
  };
  const absl::Duration idle_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> agents_;  // by credentials + address
};

class CqlClientSessions : public CqlSessions {
 public:
  explicit CqlClientSessions(int port = 9042) : port_(port) {}
  absl::StatusOr<std::unique_ptr<CqlSession>> Connect(const std::string& host,
                                                      const CqlCredentials& login) override;
  absl::Status SetupSuperuser(const std::string& host, const CqlCredentials& superuser) override;

 private:
  const int port_;
};

// A storage location through s3::Client (a connection per call: the operator writes one index
// per backup and reads a few objects per restore).
class S3BackupStorage : public BackupStorage {
 public:
  absl::Status Put(const S3LocationSpec& location, const StorageCredentials& credentials,
                   const std::string& key, const std::string& body) override;
  absl::StatusOr<std::string> Get(const S3LocationSpec& location,
                                  const StorageCredentials& credentials,
                                  const std::string& key) override;
  absl::StatusOr<std::vector<StoredObject>> List(const S3LocationSpec& location,
                                                 const StorageCredentials& credentials,
                                                 const std::string& prefix) override;
  absl::Status Delete(const S3LocationSpec& location, const StorageCredentials& credentials,
                      const std::vector<std::string>& keys) override;
};

class SystemClock : public Clock {
 public:
  absl::Time Now() const override;
};

}  // namespace ringkeeper
