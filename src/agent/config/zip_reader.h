// Reads one entry of a zip (jar) archive held in memory: finds it by name in the central
// directory and returns its bytes, stored or deflated (zlib raw inflate), CRC-checked. Enough to
// take one class file out of Cassandra's jar; no zip64, no encryption, no multi-disk archives.
//
// Bounded on hostile input: every offset and size is checked against the buffer before use, an
// entry's declared size is capped by `max_size`, and inflate never writes past that size.
// Pure functions over the caller's buffer; thread-safe.
//
// Errors: NotFound when the archive has no entry of that name; InvalidArgument for a malformed
// archive or entry (bad signature, sizes out of range, CRC mismatch, inflate error);
// Unimplemented for zip64, encrypted entries or compression methods other than stored/deflate;
// ResourceExhausted when the entry is larger than `max_size`.
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace agent::config {

inline constexpr size_t kMaxZipEntrySize = size_t{64} << 20;

// True when the central directory lists an entry named `name` (no data is read).
absl::StatusOr<bool> ZipHasEntry(absl::string_view zip, absl::string_view name);

absl::StatusOr<std::string> ReadZipEntry(absl::string_view zip, absl::string_view name,
                                         size_t max_size = kMaxZipEntrySize);

}  // namespace agent::config
