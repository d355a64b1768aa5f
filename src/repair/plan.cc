#include "repair/plan.h"

#include <bitset>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace repair {

std::string EncodePlan(const std::vector<Segment>& segments) {
  std::string out;
  for (const Segment& s : segments) {
    absl::StrAppend(&out, absl::StrJoin(s.replicas, ","), " ", RangesOption(s), "\n");
  }
  return out;
}

absl::StatusOr<std::vector<Segment>> DecodePlan(const std::string& text) {
  std::vector<Segment> out;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    ++line_number;
    auto bad = [&] {
      return absl::InvalidArgumentError(
          absl::StrCat("plan line ", line_number, " (\"", line, "\") is not \"replicas ranges\""));
    };
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    if (fields.size() != 2) return bad();
    Segment s;
    for (absl::string_view r : absl::StrSplit(fields[0], ',')) {
      if (r.empty()) return bad();
      s.replicas.emplace_back(r);
    }
    for (absl::string_view r : absl::StrSplit(fields[1], ',')) {
      std::pair<absl::string_view, absl::string_view> ends = absl::StrSplit(r, ':');
      Range range;
      if (!absl::SimpleAtoi(ends.first, &range.start) ||
          !absl::SimpleAtoi(ends.second, &range.end)) {
        return bad();
      }
      s.ranges.push_back(range);
    }
    out.push_back(std::move(s));
  }
  return out;
}

Progress::Progress(int segments) : size_(segments), bits_((segments + 7) / 8, 0) {}

absl::StatusOr<Progress> Progress::Decode(const std::string& bits, int segments) {
  Progress p(segments);
  std::string raw;
  if (!absl::Base64Unescape(bits, &raw)) {
    return absl::InvalidArgumentError("done bits are not base64");
  }
  if (raw.size() > p.bits_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("done bits hold ", raw.size() * 8, " segments; the plan has ", segments));
  }
  for (size_t i = 0; i < raw.size(); ++i) p.bits_[i] = static_cast<uint8_t>(raw[i]);
  return p;
}

std::string Progress::Encode() const {
  return absl::Base64Escape(std::string(bits_.begin(), bits_.end()));
}

bool Progress::done(int segment) const {
  if (segment < 0 || segment >= size_) return false;
  return (bits_[segment / 8] >> (segment % 8)) & 1;
}

void Progress::MarkDone(int segment) {
  if (segment < 0 || segment >= size_) return;
  bits_[segment / 8] |= static_cast<uint8_t>(1u << (segment % 8));
}

int Progress::Count() const {
  int n = 0;
  for (int i = 0; i < size_; ++i) n += done(i) ? 1 : 0;
  return n;
}

}  // namespace repair
