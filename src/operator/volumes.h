// Growing a rack's data volumes. The CRD lets a rack's storage request grow (never shrink); a
// StatefulSet's volumeClaimTemplates are immutable, so growth goes in three moves:
//   1. each existing claim's request is raised, where its StorageClass allows expansion (the
//      storage provider then resizes the volume, online); a class that does not is named in the
//      VolumesResized condition and nothing of that rack is touched;
//   2. the StatefulSet is deleted with its pods orphaned (they keep running) and created again
//      with the new claim template, recorded first as status.operation RecreateStatefulSet with
//      its replica count, so a crash between the two re-creates it at that size;
//   3. VolumesResized stays False with the progress until every claim's capacity is the request.
// This file is the pure part (what is observed, what is owed); the steps are in volumes.cc.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "api/v1alpha1/naming.h"
#include "kube/object.h"
#include "kube/store.h"

namespace ringkeeper {

// One rack's data volumes against the spec's request.
struct RackVolumes {
  std::string dc, rack, statefulset;
  std::string wanted;            // the spec's request ("2Gi"); "" when the spec names none
  std::string template_request;  // the StatefulSet's claim template; "" when it has none
  bool statefulset_exists = false;
  std::vector<kube::ObjectPtr> claims;         // the rack's data claims (not being deleted)
  std::vector<kube::ObjectPtr> below_request;  // of those, requesting less than `wanted`
  int bound = 0;    // of those, bound to a volume (a pending claim has no capacity yet)
  int at_size = 0;  // of those, whose capacity reached `wanted`

  // The StatefulSet's claim template asks for less than the spec: it must be re-created.
  bool TemplateBelow() const;
  // Nothing owed: every claim and the template at the spec's size, every volume resized.
  bool Done() const;
};

// The VolumesResized condition: True when every rack is Done; False naming the classes that
// cannot expand, or counting the volumes still growing.
struct VolumesVerdict {
  bool resized = true;
  std::string reason, message;
};
VolumesVerdict JudgeVolumes(const std::vector<RackVolumes>& racks,
                            const std::vector<std::string>& blocked);

// The storage request in a claim's (or claim template's) spec; "" when none.
std::string StorageRequest(const kube::Json& claim_spec);
// The capacity a claim's status reports; "" before it is bound.
std::string StorageCapacity(const kube::Json& claim);

// What each rack of the spec owes: `statefulsets` and `claims` are the cluster's, by name.
std::vector<RackVolumes> ObserveVolumes(const ClusterSpec& c,
                                        const std::map<std::string, kube::ObjectPtr>& statefulsets,
                                        const std::map<std::string, kube::ObjectPtr>& claims);

// The claim template the rack's StatefulSet must be applied with: the spec's, at the size the
// existing StatefulSet has until it is re-created (the template is immutable: applying a new
// size would be refused, and with it every later change to the StatefulSet).
kube::Json ClaimTemplateToApply(const RackSpec& rack, const kube::ObjectPtr& statefulset);

// The object a server-side apply raises one claim's request with (only that field).
kube::Json ClaimGrowth(const kube::Object& claim, const std::string& request);

}  // namespace ringkeeper
