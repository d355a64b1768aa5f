// A repair's record, as the operator stores it: the segments of a keyspace in text (a ConfigMap
// holds them: a plan outgrows an object's status), and which are done, as a bitset small enough
// for the status (64 segments per node x 100 nodes: 800 bytes). Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "repair/segments.h"

namespace repair {

// One line per segment, in order: "replica,replica start:end,start:end".
std::string EncodePlan(const std::vector<Segment>& segments);
// InvalidArgument naming the line that does not parse.
absl::StatusOr<std::vector<Segment>> DecodePlan(const std::string& text);

// Which of a plan's segments are done.
class Progress {
 public:
  explicit Progress(int segments);
  // `bits` as Encode wrote it ("" = none done); InvalidArgument when it is not base64 or holds
  // more segments than `segments`.
  static absl::StatusOr<Progress> Decode(const std::string& bits, int segments);
  std::string Encode() const;  // base64

  int size() const { return size_; }
  bool done(int segment) const;
  void MarkDone(int segment);  // out of range: ignored
  int Count() const;

 private:
  int size_;
  std::vector<uint8_t> bits_;
};

}  // namespace repair
