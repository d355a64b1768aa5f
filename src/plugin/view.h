// What `kubectl ringkeeper status` prints: a Cluster's ring as `nodetool status` shows it (state,
// address, load, tokens, ownership, host id, rack), one section per data center, with each
// member's pod and Kubernetes node beside it, and the Cluster's last repair and last backup.
//
// Pure: everything comes from the API objects the command read (the Cluster's status, which the
// operator fills from every node's agent, and the Cluster's Repairs and Backups).
#pragma once

#include <string>
#include <vector>

#include "kube/object.h"

namespace ringkeeper::plugin {

// The newest Complete Repair or Backup of the cluster `cluster` among `objects`, by
// status.completionTime (a preview Repair repairs nothing: never counted); null when none.
const kube::Json* LastComplete(const std::vector<kube::Json>& objects, const std::string& cluster);

// The whole view of one Cluster. `repairs` and `backups`: the namespace's objects of those kinds
// (those of other Clusters are ignored).
std::string RingView(const kube::Json& cluster, const std::vector<kube::Json>& repairs,
                     const std::vector<kube::Json>& backups);

}  // namespace ringkeeper::plugin
