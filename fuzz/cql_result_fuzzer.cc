// Fuzzes the CQL response decoders with arbitrary bytes: the first byte picks the header flags
// (tracing, custom payload, warnings) whose extras are stripped first, and whether the body is
// read as a RESULT or an ERROR. Decoding must return a status, never crash or run away.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cql/client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  const std::string frame(reinterpret_cast<const char*>(data + 1), size - 1);
  auto body = cql::StripFrameExtras(control & 0x0E, frame);
  if (!body.ok()) return 0;
  if (control & 0x01) {
    (void)cql::DecodeError(*body);
  } else {
    auto rs = cql::DecodeResult(*body);
    if (rs.ok()) {
      for (const auto& row : rs->rows) (void)row.columns.size();
    }
  }
  return 0;
}
