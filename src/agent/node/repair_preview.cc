#include "agent/node/repair_preview.h"

#include <cmath>
#include <regex>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_replace.h"

namespace agent::node {
namespace {

// FBUtilities.prettyPrintMemory: "1.234KiB", "12.000 MiB", "512B", "17bytes" (older releases);
// a decimal comma in some locales.
int64_t ParseMemory(const std::string& number, const std::string& unit) {
  double value = 0;
  if (!absl::SimpleAtod(absl::StrReplaceAll(number, {{",", "."}}), &value)) return 0;
  double scale = 1;
  if (unit == "KiB") scale = 1024.0;
  if (unit == "MiB") scale = 1024.0 * 1024;
  if (unit == "GiB") scale = 1024.0 * 1024 * 1024;
  if (unit == "TiB") scale = 1024.0 * 1024 * 1024 * 1024;
  return static_cast<int64_t>(std::llround(value * scale));
}

const char kCounts[] =
    R"((\d+) ranges, (\d+) sstables, ([\d.,]+) ?(B|bytes|KiB|MiB|GiB|TiB)? bytes)";

}  // namespace

api::RepairPreview ParsePreviewSummary(const std::string& text) {
  api::RepairPreview out;
  if (absl::StrContains(text, "Previewed data was in sync")) {
    out.done = true;
    return out;
  }
  static const std::regex total(std::string(R"(Total (?:estimated )?streaming: )") + kCounts);
  static const std::regex table(std::string(R"((?:^|\n)([A-Za-z0-9_]+\.[A-Za-z0-9_]+) - )") +
                                kCounts);
  std::smatch m;
  if (!std::regex_search(text, m, total)) return out;
  out.done = true;
  absl::SimpleAtoi(m[1].str(), &out.ranges);
  absl::SimpleAtoi(m[2].str(), &out.sstables);
  out.bytes = ParseMemory(m[3].str(), m[4].str());
  for (auto it = std::sregex_iterator(text.begin(), text.end(), table);
       it != std::sregex_iterator(); ++it) {
    int64_t ranges = 0;
    if (absl::SimpleAtoi((*it)[2].str(), &ranges) && ranges > 0) out.tables.push_back((*it)[1]);
  }
  return out;
}

}  // namespace agent::node
