// The world the Backup and Restore reconcilers act on, in memory: a Cluster whose status reports
// three members, their pods and agents (operations that run for a few polls), Secrets, a storage
// location's objects, events and a clock. For backups_test.cc and restores_test.cc.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "backup/layout.h"
#include "gtest/gtest.h"
#include "kube/store.h"
#include "operator/seams.h"
#include "operator/storage_access.h"

namespace ringkeeper::testing {

using kube::Json;

inline constexpr char kNs[] = "ns";
inline const std::vector<std::string> kPods = {"c1-dc1-r1-0", "c1-dc1-r1-1", "c1-dc1-r1-2"};

// One pod's agent: backups run for `ticks` polls, then succeed (or fail with `fail`).
struct FakeAgentState {
  std::map<std::string, agent::api::Operation> ops;
  std::vector<agent::api::OperationRequest> started;
  int ticks = 1;
  std::string fail;  // the message a backup fails with
  bool credentials_unreadable = false;
  int storage_calls = 0;      // Storage requests (a filesystem location's objects)
  agent::api::NodeInfo info;  // what NodeInfo answers (a restore to a point in time reads it)
  // Where a backup's manifest and file go when it succeeds (set by FakeWorld::For).
  std::string pod;
  std::map<std::string, std::string>* stored = nullptr;  // bucket/key -> body
};

class FakeAgent : public NodeAgent {
 public:
  explicit FakeAgent(FakeAgentState* s) : s_(s) {}
  absl::StatusOr<agent::api::NodeInfo> NodeInfo() override { return s_->info; }
  absl::StatusOr<agent::api::Ring> Ring() override { return agent::api::Ring{}; }
  absl::StatusOr<agent::api::ConfigKeys> ConfigKeys() override {
    return absl::NotFoundError("none");
  }
  absl::StatusOr<agent::api::RangeMap> Ranges(const std::string&) override {
    return absl::UnimplementedError("the storage world plans no repair");
  }
  absl::StatusOr<agent::api::SeedList> SetSeeds(const std::vector<std::string>&) override {
    return absl::UnimplementedError("the storage world replaces no member");
  }
  // A filesystem location, as the agent serves it: the objects under "<path>/<key>" in the
  // world's map (S3 locations are under "<bucket>/<key>").
  absl::StatusOr<agent::api::StorageReply> Storage(const agent::api::StorageRequest& r) override {
    ++s_->storage_calls;
    if (!s_->stored || r.location.path.empty()) return absl::InvalidArgumentError("not served");
    const std::string root = r.location.path + "/";
    agent::api::StorageReply reply;
    if (r.op == "put") {
      std::string body;
      absl::Base64Unescape(r.body_base64, &body);
      (*s_->stored)[root + r.key] = body;
    } else if (r.op == "get") {
      auto it = s_->stored->find(root + r.key);
      if (it == s_->stored->end()) return absl::NotFoundError("no such key " + r.key);
      reply.body_base64 = absl::Base64Escape(it->second);
    } else if (r.op == "list") {
      for (auto it = s_->stored->lower_bound(root + r.prefix);
           it != s_->stored->end() && it->first.rfind(root + r.prefix, 0) == 0; ++it) {
        reply.objects.push_back(
            {it->first.substr(root.size()), static_cast<int64_t>(it->second.size()), "", 0});
      }
    } else if (r.op == "delete") {
      for (const std::string& k : r.keys) s_->stored->erase(root + k);
    }
    return reply;
  }
  absl::StatusOr<agent::api::Operation> Start(const agent::api::OperationRequest& r) override {
    if (s_->credentials_unreadable) {
      return absl::UnavailableError(
          "the storage location's credentials are not readable yet: no such file");
    }
    for (const auto& [id, op] : s_->ops) {
      // As the agent's Operations: the same run of the same backup and source node.
      if (op.kind == r.kind && op.backup == r.backup && op.source_node == r.source_node &&
          op.run == r.run && op.state != agent::api::kStateFailed) {
        return op;
      }
    }
    s_->started.push_back(r);
    agent::api::Operation op;
    op.id = absl::StrCat(r.kind, "-", s_->started.size());
    op.kind = r.kind;
    op.backup = r.backup;
    op.source_node = r.source_node;
    op.run = r.run;
    op.state = agent::api::kStateRunning;
    s_->ops[op.id] = op;
    return op;
  }
  absl::StatusOr<agent::api::Operation> Operation(const std::string& id) override {
    auto it = s_->ops.find(id);
    if (it == s_->ops.end()) return absl::NotFoundError("no operation " + id);
    agent::api::Operation& op = it->second;
    if (op.state == agent::api::kStateRunning) {
      op.files_done += 5;
      op.files_skipped += 2;
      op.bytes_total += 1000;
      op.bytes_sent += 400;
      if (--s_->ticks <= 0) {
        op.state = s_->fail.empty() ? agent::api::kStateSucceeded : agent::api::kStateFailed;
        op.message = s_->fail;
        op.files_total = op.files_done;
        if (op.kind == agent::api::kOpBackup && s_->stored) StoreManifest(op);
      }
    }
    return op;
  }

 private:
  // One data file and the node's manifest listing it, as a real agent leaves them.
  void StoreManifest(agent::api::Operation& op) {
    const agent::api::OperationRequest& r = s_->started.back();
    const backup::NodePath node{r.location.prefix, "c1", s_->pod};
    const std::string body(100, 'x');
    backup::Manifest m;
    m.backup = op.backup;
    m.cluster = "c1";
    m.node = s_->pod;
    m.finished = "t";
    m.files = {{"bk1", "t-1", "nb-1-big-Data.db", 100, "md5", ""}};
    m.files[0].key = backup::DataKey(node, "bk1", "t-1", "md5", 100, "nb-1-big-Data.db");
    // As Storage(): a filesystem location's objects under its path, an S3 one's its bucket.
    const std::string root = r.location.path.empty() ? r.location.bucket : r.location.path;
    (*s_->stored)[root + "/" + m.files[0].key] = body;
    op.manifest = backup::ManifestKey(node, op.backup);
    (*s_->stored)[root + "/" + op.manifest] = backup::ToJson(m);
  }
  FakeAgentState* s_;
};

class FakeWorld : public ObjectReader,
                  public ObjectWriter,
                  public StatusWriter,
                  public EventSink,
                  public NodeAgents,
                  public Clock,
                  public BackupStorage {
 public:
  // ObjectReader: Secrets.
  absl::StatusOr<kube::Object> Get(const kube::Resource& r, const std::string& ns,
                                   const std::string& name) override {
    auto it = secrets.find(name);
    if (r.kind != "Secret" || ns != kNs || it == secrets.end()) {
      return absl::NotFoundError(name + " not found");
    }
    return kube::Object(it->second);
  }
  absl::StatusOr<kube::Object> Apply(const kube::Resource& r, const Json& object) override {
    applied.push_back(r.kind + "/" + object["metadata"]["name"].get<std::string>());
    secrets[object["metadata"]["name"].get<std::string>()] = object;
    return kube::Object(object);
  }
  // The backup and restore reconcilers change no spec.
  absl::StatusOr<kube::Object> Update(const kube::Resource& r, const Json&) override {
    return absl::UnimplementedError("this fake changes no " + r.kind + "'s spec");
  }
  absl::StatusOr<kube::Object> Create(const kube::Resource& r, const Json& object) override {
    if (r.kind != "Backup") return Apply(r, object);
    const std::string name = object["metadata"]["name"].get<std::string>();
    if (backups.Get(absl::StrCat(kNs, "/", name))) {
      return absl::AlreadyExistsError(name + " already exists");
    }
    Json j = object;
    j["metadata"]["uid"] = "uid-" + name;
    j["metadata"]["resourceVersion"] = std::to_string(++resource_version);
    j["metadata"]["creationTimestamp"] =
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", now, absl::UTCTimeZone());
    created.push_back(name);
    backups.Upsert(std::make_shared<const kube::Object>(j));
    return kube::Object(j);
  }
  absl::Status Delete(const kube::Resource& r, const std::string& ns, const std::string& name,
                      const std::string& uid, Deletion) override {
    if (r.kind != "Backup") return absl::UnimplementedError("not used");
    kube::ObjectPtr o = backups.Get(absl::StrCat(ns, "/", name));
    if (!o) return absl::NotFoundError(name);
    if (o->uid() != uid) return absl::FailedPreconditionError("uid differs");
    backups.Remove(absl::StrCat(ns, "/", name));
    removed.push_back(name);
    return absl::OkStatus();
  }
  absl::StatusOr<kube::Object> UpdateStatus(const kube::Resource& r,
                                            const kube::Object& object) override {
    kube::Store* store = r.kind == "Backup" ? &backups : r.kind == "Restore" ? &restores : nullptr;
    if (!store) return absl::InvalidArgumentError("neither a Backup nor a Restore");
    ++status_writes;
    Json j = object.json();
    j["metadata"]["resourceVersion"] = std::to_string(++resource_version);
    store->Upsert(std::make_shared<const kube::Object>(j));
    return kube::Object(j);
  }
  void Event(const kube::Object&, bool warning, const std::string& reason,
             const std::string& message) override {
    events.push_back(absl::StrCat(warning ? "Warning " : "Normal ", reason, ": ", message));
  }
  // The pods here carry no TLS annotation: plain HTTP with the token.
  std::shared_ptr<NodeAgent> For(const std::string& address,
                                 const AgentCredentials& credentials) override {
    EXPECT_EQ(credentials.token, "agent-token");
    EXPECT_EQ(credentials.ca_pem, "");
    FakeAgentState& state = agents[address];
    state.stored = &stored;
    int last = 0;  // 10.244.0.1X is kPods[X]
    if (address.size() >= 2 && absl::SimpleAtoi(address.substr(address.size() - 1), &last) &&
        last < static_cast<int>(kPods.size())) {
      state.pod = kPods[last];
    }
    return std::make_shared<FakeAgent>(&state);
  }
  absl::Time Now() const override { return now; }
  absl::Status Put(const S3LocationSpec& location, const StorageCredentials& credentials,
                   const std::string& key, const std::string& body) override {
    EXPECT_EQ(credentials.access_key_id, "AKID");
    if (!put_error.ok()) return put_error;
    stored[location.bucket + "/" + key] = body;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<StoredObject>> List(const S3LocationSpec& location,
                                                 const StorageCredentials&,
                                                 const std::string& prefix) override {
    std::vector<StoredObject> out;
    const std::string from = location.bucket + "/" + prefix;
    for (const auto& [key, body] : stored) {
      if (key.rfind(from, 0) != 0) continue;
      auto age = stored_at.find(key);
      auto etag = etags.find(key);
      out.push_back({key.substr(location.bucket.size() + 1), static_cast<int64_t>(body.size()),
                     age == stored_at.end() ? absl::InfinitePast() : age->second,
                     etag == etags.end() ? "" : etag->second});
    }
    return out;
  }
  absl::Status Delete(const S3LocationSpec& location, const StorageCredentials&,
                      const std::vector<std::string>& keys) override {
    for (const auto& k : keys) {
      if (stored.erase(location.bucket + "/" + k) > 0) deleted.push_back(k);
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> Get(const S3LocationSpec& location, const StorageCredentials&,
                                  const std::string& key) override {
    auto it = stored.find(location.bucket + "/" + key);
    if (it == stored.end()) return absl::NotFoundError("no such key " + key);
    return it->second;
  }

  static Json SecretOf(const std::string& name, const std::map<std::string, std::string>& data) {
    Json d = Json::object();
    for (const auto& [k, v] : data) d[k] = absl::Base64Escape(v);
    return {{"apiVersion", "v1"},
            {"kind", "Secret"},
            {"metadata", {{"name", name}, {"namespace", kNs}}},
            {"data", d}};
  }

  void AddCluster(bool ready) {
    Json members = Json::array();
    for (const auto& pod : kPods)
      members.push_back({{"pod", pod}, {"rack", "r1"}, {"state", "UN"}});
    Json cluster = {
        {"apiVersion", "cassandra.rook.io/v1alpha1"},
        {"kind", "Cluster"},
        {"metadata",
         {{"name", "c1"}, {"namespace", kNs}, {"uid", "cu1"}, {"resourceVersion", "1"}}},
        {"spec",
         {{"version", "5.0.9"},
          {"dataCenter", {{"name", "dc1"}, {"racks", {{{"name", "r1"}, {"members", 3}}}}}},
          {"storageLocations",
           {{{"name", "versity"},
             {"s3",
              {{"endpoint", "http://10.244.0.1:7070"},
               {"bucket", "backups"},
               {"prefix", "team"},
               {"credentialsSecret", {{"name", "s3-creds"}}}}}}}}}},
        {"status",
         {{"dataCenters", {{{"name", "dc1"}, {"members", members}}}},
          {"conditions",
           {{{"type", "Ready"},
             {"status", ready ? "True" : "False"},
             {"reason", ready ? "AllMembersUp" : "MembersNotUp"},
             {"message", ready ? "" : "1 of 3 members down"}}}}}}};
    clusters.Upsert(std::make_shared<const kube::Object>(cluster));
    for (size_t i = 0; i < kPods.size(); ++i) {
      pods.Upsert(std::make_shared<const kube::Object>(
          Json{{"apiVersion", "v1"},
               {"kind", "Pod"},
               {"metadata", {{"name", kPods[i]}, {"namespace", kNs}}},
               {"status", {{"podIP", absl::StrCat("10.244.0.", 10 + i)}}}}));
    }
  }

  // A second location, "nfs": a filesystem one (its objects under its mount path in `stored`).
  void AddFilesystemLocation() {
    Json cluster = clusters.Get(kube::ObjectKey{kNs, "c1"}.ToString())->json();
    cluster["spec"]["storageLocations"].push_back(
        {{"name", "nfs"}, {"filesystem", {{"claimName", "backups"}, {"prefix", "team"}}}});
    clusters.Upsert(std::make_shared<const kube::Object>(cluster));
  }

  void AddBackup(const std::string& location = "versity") {
    backups.Upsert(std::make_shared<const kube::Object>(
        Json{{"apiVersion", "cassandra.rook.io/v1alpha1"},
             {"kind", "Backup"},
             {"metadata",
              {{"name", "b1"}, {"namespace", kNs}, {"uid", "bu1"}, {"resourceVersion", "1"}}},
             {"spec", {{"cluster", "c1"}, {"storageLocation", location}}}}));
  }

  Json Status() const { return backups.Get("ns/b1")->json().value("status", Json::object()); }
  size_t Asked() const {
    size_t n = 0;
    for (const auto& [ip, a] : agents) n += a.started.size();
    return n;
  }

  kube::Store backups, restores, clusters, pods;
  std::map<std::string, Json> secrets = {
      {"s3-creds", SecretOf("s3-creds", {{"accessKeyId", "AKID"}, {"secretAccessKey", "SK"}})},
      {"c1-agent-token", SecretOf("c1-agent-token", {{"token", "agent-token"}})}};
  std::map<std::string, FakeAgentState> agents;  // by pod IP
  std::map<std::string, std::string> stored;     // bucket/key -> body
  std::map<std::string, absl::Time> stored_at;   // bucket/key -> when (absent: long ago)
  std::map<std::string, std::string> etags;      // bucket/key -> ETag listed (absent: none)
  std::vector<std::string> deleted;              // keys deleted, in order
  absl::Status put_error;
  std::vector<std::string> applied, events;
  std::vector<std::string> created, removed;  // Backup objects
  int status_writes = 0;
  int64_t resource_version = 10;
  absl::Time now = absl::FromUnixSeconds(1796400000);
};

}  // namespace ringkeeper::testing
