// Watch events and the decoder of a watch stream's frames.
//
// The API server sends a watch as a stream of JSON objects, one per line:
//   {"type":"ADDED","object":{...}}\n
// WatchDecoder turns bytes (in any chunking) into events, refuses malformed or oversized
// frames with a clear error, and reports a stream cut mid-frame at Finish().
//
// Not thread-safe; one decoder per stream.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "kube/object.h"

namespace kube {

struct WatchEvent {
  enum class Type { kAdded, kModified, kDeleted, kBookmark, kError };
  Type type = Type::kAdded;
  Object object;  // for kError: the server's Status object
};

absl::string_view WatchEventTypeName(WatchEvent::Type type);

class WatchDecoder {
 public:
  // Return a non-OK status to stop decoding; Feed returns it unchanged.
  using Handler = std::function<absl::Status(WatchEvent event)>;

  explicit WatchDecoder(size_t max_frame_bytes = size_t{64} << 20)
      : max_frame_bytes_(max_frame_bytes) {}

  // Decodes every complete frame in `chunk` (plus what earlier chunks left) and calls
  // `handler` for each. Errors: DataLoss for a malformed frame, ResourceExhausted for a frame
  // over the limit; the decoder must not be fed again after an error.
  absl::Status Feed(absl::string_view chunk, const Handler& handler);

  // Call at the end of the stream: DataLoss if it ended inside a frame.
  absl::Status Finish() const;

 private:
  absl::Status DecodeFrame(absl::string_view frame, const Handler& handler);

  const size_t max_frame_bytes_;
  std::string pending_;
};

}  // namespace kube
