// What a preview repair found, read from the text Cassandra records as the repair's result
// (StorageService.getParentRepairStatus: "Repair preview completed successfully; Preview
// complete\nTotal estimated streaming: 3 ranges, 6 sstables, 1.234KiB bytes\nks.t - 3 ranges,
// ..." or "...; Previewed data was in sync"). Cassandra offers no structured form of it over
// JMX. Pure.
#pragma once

#include <string>

#include "agent/api/api.h"

namespace agent::node {

// `done` is set when the text is a preview's result; ranges, sstables and bytes are the totals
// (bytes as Cassandra rounds them for printing), tables those with a mismatching range.
api::RepairPreview ParsePreviewSummary(const std::string& text);

}  // namespace agent::node
