// Fuzzes the watch stream decoder with arbitrary bytes in arbitrary chunkings (the first
// byte picks the chunk size), with a small frame limit so the limit path is exercised too.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kube/watch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0] % 64;
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  kube::WatchDecoder decoder(/*max_frame_bytes=*/4096);
  for (size_t i = 0; i < stream.size(); i += chunk) {
    auto part = stream.substr(i, chunk);
    absl::Status s =
        decoder.Feed(absl::string_view(part.data(), part.size()), [](kube::WatchEvent e) {
          (void)e.object.resource_version();
          return absl::OkStatus();
        });
    if (!s.ok()) return 0;
  }
  (void)decoder.Finish();
  return 0;
}
