#include "api/v1alpha1/cluster.h"

#include <cctype>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/v1alpha1/fields.h"
#include "api/v1alpha1/naming.h"

namespace ringkeeper {
namespace {

using kube::FieldAt;
using kube::Json;
using kube::StringField;

// The data volume's claim template: the first of the rack's storage.volumeClaimTemplates, or a
// 10Gi claim of the default class when the rack names none.
Json DataVolumeClaim(const Json& storage) {
  const Json& templates = FieldAt(storage, {"volumeClaimTemplates"});
  if (templates.is_array() && !templates.empty() && templates[0].is_object()) {
    const Json& t = templates[0];
    Json claim = {{"metadata", {{"name", kDataVolumeDefault}}}, {"spec", FieldAt(t, {"spec"})}};
    const std::string name = StringField(FieldAt(t, {"metadata"}), "name");
    if (!name.empty()) claim["metadata"]["name"] = name;
    // The seed's example writes storageClassName beside metadata (Rook's StorageSpec): honour it
    // when the claim's spec has none.
    const std::string cls = StringField(t, "storageClassName");
    if (!cls.empty() && !claim["spec"].contains("storageClassName")) {
      claim["spec"]["storageClassName"] = cls;
    }
    if (!claim["spec"].contains("accessModes")) claim["spec"]["accessModes"] = {"ReadWriteOnce"};
    return claim;
  }
  return {
      {"metadata", {{"name", kDataVolumeDefault}}},
      {"spec",
       {{"accessModes", {"ReadWriteOnce"}}, {"resources", {{"requests", {{"storage", "10Gi"}}}}}}}};
}

absl::StatusOr<DataCenterSpec> ParseDc(const Json& dc) {
  DataCenterSpec out;
  out.name = StringField(dc, "name");
  if (out.name.empty()) return absl::InvalidArgumentError("a data center has no name");
  const Json& racks = FieldAt(dc, {"racks"});
  if (!racks.is_array() || racks.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("data center ", out.name, " has no racks"));
  }
  for (const Json& r : racks) {
    RackSpec rack;
    rack.name = StringField(r, "name");
    rack.members = static_cast<int>(kube::IntField(r, "members"));
    rack.config_map_name = StringField(r, "configMapName");
    rack.volume_claim_template = DataVolumeClaim(FieldAt(r, {"storage"}));
    rack.placement = FieldAt(r, {"placement"});
    rack.resources = FieldAt(r, {"resources"});
    if (rack.name.empty() || rack.members < 0) {
      return absl::InvalidArgumentError(absl::StrCat("data center ", out.name, ": bad rack"));
    }
    out.racks.push_back(std::move(rack));
  }
  out.rebuild_from = StringField(dc, "rebuildFrom");
  out.replicate_user_keyspaces = static_cast<int>(kube::IntField(dc, "replicateUserKeyspaces"));
  return out;
}

absl::Status ParseMode(const Json& spec, ClusterSpec& c) {
  if (const std::string mode = StringField(spec, "mode"); !mode.empty()) c.mode = mode;
  // The CRD refuses it now, but a Cluster stored before that must not silently run Cassandra.
  if (c.mode == "scylla") {
    return absl::InvalidArgumentError(
        "spec.mode scylla: the Scylla backend is not available yet; use mode cassandra");
  }
  if (c.mode != "cassandra") {
    return absl::InvalidArgumentError(absl::StrCat("spec.mode ", c.mode, " is not a known mode"));
  }
  return absl::OkStatus();
}

// spec.version with spec.repository (or the default), and the sidecar's repository:tag.
absl::Status ParseImages(const Json& spec, const Defaults& defaults, ClusterSpec& c) {
  c.version = StringField(spec, "version");
  if (c.version.empty()) return absl::InvalidArgumentError("spec.version is empty");
  std::string repository = StringField(spec, "repository");
  if (repository.empty()) repository = defaults.repository;
  c.repository = repository;
  c.image = absl::StrCat(repository, ":", c.version);
  const Json& sidecar = FieldAt(spec, {"sidecarImage"});
  const std::string sidecar_repo = StringField(sidecar, "repository");
  const std::string tag = StringField(sidecar, "tag");
  c.agent_image = sidecar_repo.empty()
                      ? defaults.agent_image
                      : absl::StrCat(sidecar_repo, ":", tag.empty() ? std::string("latest") : tag);
  return absl::OkStatus();
}

absl::Status ParseDataCenters(const Json& spec, ClusterSpec& c) {
  std::vector<const Json*> dcs;
  // `datacenter` is Rook v1.5's spelling of `dataCenter`; the CRD admits exactly one of the three.
  for (const char* key : {"dataCenter", "datacenter"}) {
    if (const Json& dc = FieldAt(spec, {key}); dc.is_object()) dcs.push_back(&dc);
  }
  if (const Json& list = FieldAt(spec, {"dataCenters"}); list.is_array()) {
    for (const Json& dc : list) dcs.push_back(&dc);
  }
  for (const Json* dc : dcs) {
    auto parsed = ParseDc(*dc);
    if (!parsed.ok()) return parsed.status();
    c.dcs.push_back(*std::move(parsed));
  }
  if (c.dcs.empty()) return absl::InvalidArgumentError("spec has no data center");
  for (const DataCenterSpec& dc : c.dcs) {
    if (!dc.rebuild_from.empty() && (dc.rebuild_from == dc.name || !c.FindDc(dc.rebuild_from))) {
      return absl::InvalidArgumentError(absl::StrCat("data center ", dc.name, ": rebuildFrom \"",
                                                     dc.rebuild_from,
                                                     "\" names no other data center"));
    }
  }
  return absl::OkStatus();
}

void ParseJvm(const Json& jvm, ClusterSpec& c) {
  if (const Json& heap = FieldAt(jvm, {"heapSize"}); heap.is_string()) {
    c.heap_size = heap.get<std::string>();
  } else if (heap.is_number_integer()) {
    c.heap_size = std::to_string(heap.get<int64_t>());
  }
  c.jvm_extra_options = fields::Strings(jvm, "extraOptions");
}

// spec.auth, pvcDeletionPolicy, paused, nodeLoss, annotations (and the restart annotation).
absl::Status ParsePolicies(const kube::Object& cluster, const Json& spec, ClusterSpec& c) {
  c.superuser_secret = StringField(FieldAt(spec, {"auth"}), "superuserSecretName");
  c.generate_superuser = c.superuser_secret.empty();
  if (c.generate_superuser) c.superuser_secret = c.name + "-superuser";
  c.delete_pvcs = StringField(spec, "pvcDeletionPolicy") == "Delete";
  c.paused = fields::Bool(spec, "paused");
  const Json& node_loss = FieldAt(spec, {"nodeLoss"});
  c.replace_on_node_loss = StringField(node_loss, "policy") != "Never";
  if (const std::string timeout = StringField(node_loss, "notReadyTimeout"); !timeout.empty()) {
    if (!absl::ParseDuration(timeout, &c.node_not_ready_timeout)) {
      return absl::InvalidArgumentError("spec.nodeLoss.notReadyTimeout: not a duration: " +
                                        timeout);
    }
  }
  c.restarted_at = cluster.annotation(kAnnotationRestartedAt).value_or("");
  if (const Json& annotations = FieldAt(spec, {"annotations"}); annotations.is_object()) {
    for (const auto& [key, value] : annotations.items()) {
      if (value.is_string()) c.pod_annotations[key] = value.get<std::string>();
    }
  }
  return absl::OkStatus();
}

// spec.autoscaling (defaults as in the CRD).
absl::Status ParseAutoscaling(const Json& spec, ClusterSpec& c) {
  const Json& autoscaling = FieldAt(spec, {"autoscaling"});
  if (!autoscaling.is_object()) return absl::OkStatus();
  c.autoscaling.enabled = true;
  c.autoscaling.max_members = static_cast<int>(kube::IntField(autoscaling, "maxMembers"));
  if (c.autoscaling.max_members < 1) {
    return absl::InvalidArgumentError("spec.autoscaling.maxMembers must be at least 1");
  }
  if (autoscaling.contains("storageUsedPercent")) {
    c.autoscaling.storage_used_percent =
        static_cast<int>(kube::IntField(autoscaling, "storageUsedPercent"));
  }
  if (c.autoscaling.storage_used_percent < 1 || c.autoscaling.storage_used_percent > 99) {
    return absl::InvalidArgumentError("spec.autoscaling.storageUsedPercent must be 1 to 99");
  }
  if (autoscaling.contains("cpuUsedPercent")) {
    c.autoscaling.cpu_used_percent =
        static_cast<int>(kube::IntField(autoscaling, "cpuUsedPercent"));
    if (c.autoscaling.cpu_used_percent < 1 || c.autoscaling.cpu_used_percent > 1000) {
      return absl::InvalidArgumentError("spec.autoscaling.cpuUsedPercent must be 1 to 1000");
    }
  }
  if (const std::string period = StringField(autoscaling, "period"); !period.empty()) {
    if (!absl::ParseDuration(period, &c.autoscaling.period) ||
        c.autoscaling.period < absl::Seconds(30)) {
      return absl::InvalidArgumentError(
          absl::StrCat("spec.autoscaling.period: not a duration of 30s or more: ", period));
    }
  }
  return absl::OkStatus();
}

// spec.tls (defaults as in the CRD).
absl::Status ParseTls(const Json& spec, ClusterSpec& c) {
  const Json& tls = FieldAt(spec, {"tls"});
  if (!tls.is_object()) return absl::OkStatus();
  c.tls.enabled = true;
  c.tls.client = tls.value("client", true);
  c.tls.internode = tls.value("internode", true);
  c.tls.ca_secret = StringField(tls, "caSecretName");
  for (const auto& [key, field] : {std::pair{"certificateValidity", &c.tls.validity},
                                   std::pair{"renewBefore", &c.tls.renew_before}}) {
    const std::string text = StringField(tls, key);
    if (!text.empty() && !absl::ParseDuration(text, field)) {
      return absl::InvalidArgumentError(absl::StrCat("spec.tls.", key, ": not a duration: ", text));
    }
  }
  if (c.tls.renew_before * 2 > c.tls.validity) {
    return absl::InvalidArgumentError(
        "spec.tls.renewBefore must be at most half of spec.tls.certificateValidity");
  }
  return absl::OkStatus();
}

// spec.storageLocations (defaults as in the CRD, for objects stored before it had them).
absl::Status ParseStorageLocations(const Json& spec, ClusterSpec& c) {
  const Json& locations = FieldAt(spec, {"storageLocations"});
  if (!locations.is_array()) return absl::OkStatus();
  for (const Json& l : locations) {
    StorageLocationSpec out;
    out.name = StringField(l, "name");
    const Json& s3 = FieldAt(l, {"s3"});
    const Json& filesystem = FieldAt(l, {"filesystem"});
    if (out.name.empty() || s3.is_object() == filesystem.is_object()) {
      return absl::InvalidArgumentError(
          "spec.storageLocations: every location needs a name and either an s3 or a filesystem "
          "section");
    }
    if (filesystem.is_object()) {
      out.filesystem.claim_name = StringField(filesystem, "claimName");
      out.filesystem.prefix = StringField(filesystem, "prefix");
      if (out.filesystem.claim_name.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("spec.storageLocations[", out.name,
                                                       "]: filesystem.claimName is required"));
      }
      c.storage_locations.push_back(std::move(out));
      continue;
    }
    out.s3.endpoint = StringField(s3, "endpoint");
    out.s3.bucket = StringField(s3, "bucket");
    out.s3.prefix = StringField(s3, "prefix");
    if (std::string region = StringField(s3, "region"); !region.empty()) out.s3.region = region;
    if (FieldAt(s3, {"pathStyle"}).is_boolean()) out.s3.path_style = s3["pathStyle"].get<bool>();
    const Json& secret = FieldAt(s3, {"credentialsSecret"});
    out.s3.credentials_secret = StringField(secret, "name");
    if (std::string k = StringField(secret, "accessKeyIdKey"); !k.empty()) {
      out.s3.access_key_id_key = k;
    }
    if (std::string k = StringField(secret, "secretAccessKeyKey"); !k.empty()) {
      out.s3.secret_access_key_key = k;
    }
    if (out.s3.bucket.empty() || out.s3.credentials_secret.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("spec.storageLocations[", out.name,
                                                     "]: s3.bucket and s3.credentialsSecret "
                                                     "are required"));
    }
    c.storage_locations.push_back(std::move(out));
  }
  return absl::OkStatus();
}

// A duration as the CRD writes them ("30d", "12h", "90m", "0s", combinations); days are 24 h.
absl::Status ParseDays(const std::string& field, const std::string& text, absl::Duration* out) {
  std::string rest = text;
  absl::Duration days = absl::ZeroDuration();
  if (size_t d = rest.find('d'); d != std::string::npos) {
    int n = 0;
    if (!absl::SimpleAtoi(rest.substr(0, d), &n)) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": not a duration: ", text));
    }
    days = absl::Hours(24) * n;
    rest = rest.substr(d + 1);
  }
  absl::Duration more = absl::ZeroDuration();
  if (!rest.empty() && !absl::ParseDuration(rest, &more)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not a duration: ", text));
  }
  *out = days + more;
  return absl::OkStatus();
}

// spec.restoreFrom.
absl::Status ParseRestoreFrom(const Json& spec, ClusterSpec& c) {
  const Json& r = FieldAt(spec, {"restoreFrom"});
  if (!r.is_object()) return absl::OkStatus();
  c.restore_from.storage_location = StringField(r, "storageLocation");
  c.restore_from.cluster = StringField(r, "cluster");
  c.restore_from.backup = StringField(r, "backup");
  c.restore_from.keyspaces = fields::Strings(r, "keyspaces");
  if (!c.restore_from.set() || c.restore_from.cluster.empty() ||
      !c.FindStorageLocation(c.restore_from.storage_location)) {
    return absl::InvalidArgumentError(
        "spec.restoreFrom: backup, cluster and a storageLocation of spec.storageLocations are "
        "required");
  }
  if (c.FindStorageLocation(c.restore_from.storage_location)->IsFilesystem()) {
    return absl::InvalidArgumentError("spec.restoreFrom needs an s3 storage location");
  }
  return absl::OkStatus();
}

// spec.backups (defaults as in the CRD).
absl::Status ParseBackupSchedules(const Json& spec, ClusterSpec& c) {
  const Json& schedules = FieldAt(spec, {"backups"});
  if (!schedules.is_array()) return absl::OkStatus();
  for (const Json& b : schedules) {
    BackupScheduleSpec out;
    out.name = StringField(b, "name");
    out.schedule = StringField(b, "schedule");
    out.storage_location = StringField(b, "storageLocation");
    if (std::string tz = StringField(b, "timeZone"); !tz.empty()) out.time_zone = tz;
    out.keyspaces = fields::Strings(b, "keyspaces");
    const Json& retention = FieldAt(b, {"retention"});
    fields::Number(retention, "count", &out.keep);
    const std::string field = absl::StrCat("spec.backups[", out.name, "].retention");
    if (std::string age = StringField(retention, "maxAge"); !age.empty()) {
      if (absl::Status s = ParseDays(field + ".maxAge", age, &out.max_age); !s.ok()) return s;
    }
    if (std::string grace = StringField(retention, "orphanFileGracePeriod"); !grace.empty()) {
      if (absl::Status s = ParseDays(field + ".orphanFileGracePeriod", grace, &out.orphan_grace);
          !s.ok()) {
        return s;
      }
    }
    fields::Number(b, "failedBackupsHistoryLimit", &out.failed_history);
    fields::Seconds(b, "startingDeadlineSeconds", &out.starting_deadline);
    out.suspend = fields::Bool(b, "suspend");
    if (out.name.empty() || out.schedule.empty() || out.storage_location.empty()) {
      return absl::InvalidArgumentError(
          "spec.backups: every schedule needs a name, a schedule and a storageLocation");
    }
    c.backup_schedules.push_back(std::move(out));
  }
  return absl::OkStatus();
}

// spec.repairs and spec.autoRepair (defaults as in the CRD).
absl::Status ParseRepairSchedules(const Json& spec, ClusterSpec& c) {
  const Json& schedules = FieldAt(spec, {"repairs"});
  if (schedules.is_array()) {
    for (const Json& r : schedules) {
      RepairScheduleSpec out;
      out.name = StringField(r, "name");
      out.schedule = StringField(r, "schedule");
      if (std::string tz = StringField(r, "timeZone"); !tz.empty()) out.time_zone = tz;
      for (const char* key : {"keyspaces", "tables", "type", "parallelism", "datacenters",
                              "intensity", "segmentsPerNode", "segmentTimeoutSeconds"}) {
        if (r.contains(key)) out.repair[key] = r[key];
      }
      fields::Number(r, "successfulRepairsHistoryLimit", &out.successful_history);
      fields::Number(r, "failedRepairsHistoryLimit", &out.failed_history);
      fields::Seconds(r, "startingDeadlineSeconds", &out.starting_deadline);
      out.suspend = fields::Bool(r, "suspend");
      if (out.name.empty() || out.schedule.empty()) {
        return absl::InvalidArgumentError(
            "spec.repairs: every schedule needs a name and a schedule");
      }
      c.repair_schedules.push_back(std::move(out));
    }
  }
  const Json& autorepair = FieldAt(spec, {"autoRepair"});
  if (autorepair.is_object()) {
    if (autorepair.contains("enabled")) c.auto_repair.enabled = fields::Bool(autorepair, "enabled");
    fields::Number(autorepair, "gcGraceFraction", &c.auto_repair.gc_grace_fraction);
    fields::Number(autorepair, "intensity", &c.auto_repair.intensity);
    fields::Number(autorepair, "segmentsPerNode", &c.auto_repair.segments_per_node);
    fields::Number(autorepair, "successfulRepairsHistoryLimit", &c.auto_repair.successful_history);
    fields::Number(autorepair, "failedRepairsHistoryLimit", &c.auto_repair.failed_history);
  }
  const double f = c.auto_repair.gc_grace_fraction, i = c.auto_repair.intensity;
  if (!(f > 0 && f < 1) || !(i > 0 && i <= 1)) {
    return absl::InvalidArgumentError(
        "spec.autoRepair: gcGraceFraction must be in (0, 1) and intensity in (0, 1]");
  }
  return absl::OkStatus();
}

}  // namespace

std::string S3LocationSpec::EffectiveEndpoint() const {
  return endpoint.empty() ? absl::StrCat("https://s3.", region, ".amazonaws.com") : endpoint;
}

const StorageLocationSpec* ClusterSpec::FindStorageLocation(const std::string& name) const {
  for (const auto& l : storage_locations) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

int DataCenterSpec::members() const {
  int n = 0;
  for (const auto& r : racks) n += r.members;
  return n;
}

const DataCenterSpec* ClusterSpec::FindDc(const std::string& dc) const {
  for (const auto& d : dcs) {
    if (d.name == dc) return &d;
  }
  return nullptr;
}

const RackSpec* ClusterSpec::FindRack(const std::string& dc, const std::string& rack) const {
  const DataCenterSpec* d = FindDc(dc);
  if (!d) return nullptr;
  for (const auto& r : d->racks) {
    if (r.name == rack) return &r;
  }
  return nullptr;
}

absl::StatusOr<ClusterSpec> ParseCluster(const kube::Object& cluster, const Defaults& defaults) {
  const Json& spec = FieldAt(cluster.json(), {"spec"});
  ClusterSpec c;
  c.name = cluster.name();
  c.ns = cluster.ns();
  c.uid = cluster.uid();
  c.generation = cluster.generation();
  if (absl::Status s = ParseMode(spec, c); !s.ok()) return s;
  if (absl::Status s = ParseImages(spec, defaults, c); !s.ok()) return s;
  if (absl::Status s = ParseDataCenters(spec, c); !s.ok()) return s;
  if (const Json& config = FieldAt(spec, {"config"}); config.is_object()) c.config = config;
  ParseJvm(FieldAt(spec, {"jvm"}), c);
  if (absl::Status s = ParsePolicies(cluster, spec, c); !s.ok()) return s;
  if (absl::Status s = ParseStorageLocations(spec, c); !s.ok()) return s;
  if (absl::Status s = ParseBackupSchedules(spec, c); !s.ok()) return s;
  if (absl::Status s = ParseRepairSchedules(spec, c); !s.ok()) return s;
  if (absl::Status s = ParseRestoreFrom(spec, c); !s.ok()) return s;
  if (absl::Status s = ParseTls(spec, c); !s.ok()) return s;
  if (absl::Status s = ParseAutoscaling(spec, c); !s.ok()) return s;
  c.commit_log_archive = StringField(FieldAt(spec, {"commitLogArchive"}), "storageLocation");
  if (!c.commit_log_archive.empty() && !c.FindStorageLocation(c.commit_log_archive)) {
    return absl::InvalidArgumentError(
        "spec.commitLogArchive.storageLocation must name one of spec.storageLocations");
  }
  return c;
}

absl::StatusOr<Json::json_pointer> RackMembersPointer(const Json& cluster, const std::string& dc,
                                                      const std::string& rack) {
  const Json& spec = FieldAt(cluster, {"spec"});
  auto in = [&](const Json& d, const std::string& at) -> std::optional<Json::json_pointer> {
    if (StringField(d, "name") != dc) return std::nullopt;
    const Json& racks = FieldAt(d, {"racks"});
    for (size_t i = 0; racks.is_array() && i < racks.size(); ++i) {
      if (StringField(racks[i], "name") == rack) {
        return Json::json_pointer(absl::StrCat(at, "/racks/", i, "/members"));
      }
    }
    return std::nullopt;
  };
  for (const char* key : {"dataCenter", "datacenter"}) {
    if (auto found = in(FieldAt(spec, {key}), absl::StrCat("/spec/", key))) return *found;
  }
  const Json& list = FieldAt(spec, {"dataCenters"});
  for (size_t i = 0; list.is_array() && i < list.size(); ++i) {
    if (auto found = in(list[i], absl::StrCat("/spec/dataCenters/", i))) return *found;
  }
  return absl::NotFoundError(absl::StrCat("the spec has no rack ", dc, "/", rack));
}

}  // namespace ringkeeper
