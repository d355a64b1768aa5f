#include "operator/volumes.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/v1alpha1/catalogue.h"
#include "operator/desired.h"

namespace ringkeeper {
namespace {

using kube::Json;

// a < b as byte quantities; an unparsable side never compares below (nothing is grown on a
// value we cannot read).
bool Below(const std::string& a, const std::string& b) {
  const int64_t x = ParseByteQuantity(a), y = ParseByteQuantity(b);
  return x >= 0 && y >= 0 && x < y;
}

// The claim's ordinal when `name` is "<volume>-<statefulset>-<ordinal>", else -1.
int ClaimOrdinal(const std::string& name, const std::string& prefix) {
  if (!absl::StartsWith(name, prefix)) return -1;
  int ordinal = -1;
  return absl::SimpleAtoi(name.substr(prefix.size()), &ordinal) && ordinal >= 0 ? ordinal : -1;
}

}  // namespace

std::string StorageRequest(const Json& claim_spec) {
  return kube::StringField(kube::FieldAt(claim_spec, {"resources", "requests"}), "storage");
}

// A claim still Pending has a status without capacity.
std::string StorageCapacity(const Json& claim) {
  return kube::StringField(kube::FieldAt(claim, {"status", "capacity"}), "storage");
}

bool RackVolumes::TemplateBelow() const {
  return statefulset_exists && Below(template_request, wanted);
}

bool RackVolumes::Done() const {
  return !TemplateBelow() && below_request.empty() && at_size == bound;
}

VolumesVerdict JudgeVolumes(const std::vector<RackVolumes>& racks,
                            const std::vector<std::string>& blocked) {
  std::vector<std::string> growing;
  for (const RackVolumes& v : racks) {
    if (v.Done()) continue;
    std::string line =
        absl::StrCat(v.dc, "/", v.rack, ": ", v.at_size, " of ", v.bound, " volumes at ", v.wanted);
    if (!v.below_request.empty()) {
      absl::StrAppend(&line, ", ", v.below_request.size(), " claims to raise");
    }
    if (v.TemplateBelow()) {
      absl::StrAppend(&line, ", StatefulSet template at ", v.template_request);
    }
    growing.push_back(std::move(line));
  }
  if (!blocked.empty()) {
    return {false, reason::kStorageClassNotExpandable, absl::StrJoin(blocked, "; ")};
  }
  if (!growing.empty()) return {false, reason::kResizingVolumes, absl::StrJoin(growing, "; ")};
  return {true, reason::kVolumesAtSize, "every data volume has its requested size"};
}

std::vector<RackVolumes> ObserveVolumes(const ClusterSpec& c,
                                        const std::map<std::string, kube::ObjectPtr>& statefulsets,
                                        const std::map<std::string, kube::ObjectPtr>& claims) {
  std::vector<RackVolumes> out;
  for (const auto& dc : c.dcs) {
    for (const auto& rack : dc.racks) {
      RackVolumes v;
      v.dc = dc.name;
      v.rack = rack.name;
      v.statefulset = StatefulSetName(c, dc.name, rack.name);
      v.wanted = StorageRequest(rack.volume_claim_template["spec"]);
      if (auto it = statefulsets.find(v.statefulset); it != statefulsets.end()) {
        v.statefulset_exists = true;
        const Json& templates = it->second->json()["spec"]["volumeClaimTemplates"];
        if (templates.is_array() && !templates.empty()) {
          v.template_request = StorageRequest(templates[0]["spec"]);
        }
      }
      const std::string prefix = PvcName(rack, v.statefulset + "-");  // "<volume>-<statefulset>-"
      for (const auto& [name, claim] : claims) {
        if (claim->being_deleted() || ClaimOrdinal(name, prefix) < 0) continue;
        v.claims.push_back(claim);
        const Json& j = claim->json();
        if (Below(StorageRequest(j["spec"]), v.wanted)) v.below_request.push_back(claim);
        const std::string capacity = StorageCapacity(j);
        if (capacity.empty()) continue;  // pending: not bound to a volume yet
        ++v.bound;
        if (!Below(capacity, v.wanted)) ++v.at_size;
      }
      out.push_back(std::move(v));
    }
  }
  return out;
}

Json ClaimTemplateToApply(const RackSpec& rack, const kube::ObjectPtr& statefulset) {
  Json claim = rack.volume_claim_template;
  if (!statefulset) return claim;
  const Json& templates = statefulset->json()["spec"]["volumeClaimTemplates"];
  if (!templates.is_array() || templates.empty()) return claim;
  const std::string current = StorageRequest(templates[0]["spec"]);
  if (!current.empty() && current != StorageRequest(claim["spec"])) {
    claim["spec"]["resources"]["requests"]["storage"] = current;
  }
  return claim;
}

Json ClaimGrowth(const kube::Object& claim, const std::string& request) {
  return {{"apiVersion", "v1"},
          {"kind", "PersistentVolumeClaim"},
          {"metadata", {{"name", claim.name()}, {"namespace", claim.ns()}}},
          {"spec", {{"resources", {{"requests", {{"storage", request}}}}}}}};
}

}  // namespace ringkeeper
