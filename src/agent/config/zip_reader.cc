#include "agent/config/zip_reader.h"

#include <zlib.h>

#include <cstdint>
#include <optional>

#include "absl/strings/str_cat.h"

namespace agent::config {
namespace {

constexpr uint32_t kEndOfCentralDirSig = 0x06054b50;
constexpr uint32_t kCentralDirSig = 0x02014b50;
constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr size_t kEndOfCentralDirSize = 22;
constexpr size_t kCentralDirHeaderSize = 46;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kMaxCommentSize = 0xffff;

// Little-endian reads at an offset the caller has bounds-checked.
uint16_t U16(absl::string_view b, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[at]) |
                               (static_cast<uint8_t>(b[at + 1]) << 8));
}
uint32_t U32(absl::string_view b, size_t at) {
  return static_cast<uint32_t>(U16(b, at)) | (static_cast<uint32_t>(U16(b, at + 2)) << 16);
}

// [at, at + n) lies inside a buffer of `size` bytes, without overflow.
bool Fits(size_t size, size_t at, size_t n) { return at <= size && n <= size - at; }

struct Entry {
  uint16_t flags;
  uint16_t method;
  uint32_t crc;
  uint32_t compressed_size;
  uint32_t size;
  uint32_t local_header_offset;
};

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed zip: ", what));
}

// The end-of-central-directory record is the last thing in the file, followed only by a comment
// of up to 64 KiB: scan backwards for its signature within that window.
absl::StatusOr<size_t> FindEndOfCentralDir(absl::string_view zip) {
  if (zip.size() < kEndOfCentralDirSize) return Malformed("shorter than its end record");
  const size_t last = zip.size() - kEndOfCentralDirSize;
  const size_t first = last > kMaxCommentSize ? last - kMaxCommentSize : 0;
  for (size_t at = last + 1; at-- > first;) {
    if (U32(zip, at) != kEndOfCentralDirSig) continue;
    // The comment length must reach exactly to the end of the file.
    if (at + kEndOfCentralDirSize + U16(zip, at + 20) == zip.size()) return at;
  }
  return Malformed("no end of central directory record");
}

// Looks `name` up in the central directory; nullopt when absent.
absl::StatusOr<std::optional<Entry>> FindEntry(absl::string_view zip, absl::string_view name) {
  auto eocd_or = FindEndOfCentralDir(zip);
  if (!eocd_or.ok()) return eocd_or.status();
  const size_t eocd = *eocd_or;
  if (U16(zip, eocd + 4) != 0 || U16(zip, eocd + 6) != 0) {
    return absl::UnimplementedError("multi-disk zip archives are not supported");
  }
  const uint16_t count = U16(zip, eocd + 10);
  const uint32_t dir_size = U32(zip, eocd + 12);
  const uint32_t dir_offset = U32(zip, eocd + 16);
  if (count == 0xffff || dir_size == 0xffffffff || dir_offset == 0xffffffff) {
    return absl::UnimplementedError("zip64 archives are not supported");
  }
  if (!Fits(eocd, dir_offset, dir_size)) return Malformed("central directory out of range");
  const absl::string_view dir = zip.substr(dir_offset, dir_size);
  size_t at = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (!Fits(dir.size(), at, kCentralDirHeaderSize) || U32(dir, at) != kCentralDirSig) {
      return Malformed(absl::StrCat("central directory entry ", i));
    }
    const size_t name_len = U16(dir, at + 28);
    const size_t extra_len = U16(dir, at + 30);
    const size_t comment_len = U16(dir, at + 32);
    const size_t record = kCentralDirHeaderSize + name_len + extra_len + comment_len;
    if (!Fits(dir.size(), at, record)) {
      return Malformed(absl::StrCat("central directory entry ", i, " out of range"));
    }
    if (dir.substr(at + kCentralDirHeaderSize, name_len) == name) {
      return Entry{.flags = U16(dir, at + 8),
                   .method = U16(dir, at + 10),
                   .crc = U32(dir, at + 16),
                   .compressed_size = U32(dir, at + 20),
                   .size = U32(dir, at + 24),
                   .local_header_offset = U32(dir, at + 42)};
    }
    at += record;
  }
  return std::optional<Entry>();
}

absl::StatusOr<std::string> Inflate(absl::string_view in, size_t size) {
  std::string out(size, '\0');
  z_stream z{};
  // Negative window bits: a raw deflate stream, as zip stores it (no zlib header).
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return absl::InternalError("inflateInit2 failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  const uLong produced = z.total_out;
  inflateEnd(&z);
  // Z_BUF_ERROR: the output was full (the entry is longer than declared) or the input ran out.
  if (rc != Z_STREAM_END) return Malformed(absl::StrCat("inflate: zlib code ", rc));
  if (produced != size) return Malformed("inflated size differs from the declared size");
  return out;
}

}  // namespace

absl::StatusOr<bool> ZipHasEntry(absl::string_view zip, absl::string_view name) {
  auto entry = FindEntry(zip, name);
  if (!entry.ok()) return entry.status();
  return entry->has_value();
}

absl::StatusOr<std::string> ReadZipEntry(absl::string_view zip, absl::string_view name,
                                         size_t max_size) {
  auto found = FindEntry(zip, name);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return absl::NotFoundError(absl::StrCat("no zip entry ", name));
  const Entry& e = **found;
  if (e.flags & 0x1) return absl::UnimplementedError(absl::StrCat(name, ": encrypted"));
  if (e.size > max_size) {
    return absl::ResourceExhaustedError(
        absl::StrCat(name, ": ", e.size, " bytes, more than the limit of ", max_size));
  }
  // The local header repeats the name and may carry a different extra field; the data follows
  // it. Sizes come from the central directory (the local copy is zero with a data descriptor).
  const size_t local = e.local_header_offset;
  if (!Fits(zip.size(), local, kLocalHeaderSize) || U32(zip, local) != kLocalHeaderSig) {
    return Malformed(absl::StrCat(name, ": bad local header"));
  }
  const size_t data_at = local + kLocalHeaderSize + U16(zip, local + 26) + U16(zip, local + 28);
  if (!Fits(zip.size(), data_at, e.compressed_size)) {
    return Malformed(absl::StrCat(name, ": data out of range"));
  }
  const absl::string_view data = zip.substr(data_at, e.compressed_size);
  std::string out;
  switch (e.method) {
    case 0:
      if (e.compressed_size != e.size) return Malformed(absl::StrCat(name, ": stored size"));
      out = std::string(data);
      break;
    case 8: {
      // Deflate expands at most about 1032:1: a larger declared size is a lie, and would only
      // make us allocate for it.
      if (e.size / 1032 > e.compressed_size + 64) {
        return Malformed(absl::StrCat(name, ": declared size exceeds what deflate can expand to"));
      }
      auto inflated = Inflate(data, e.size);
      if (!inflated.ok()) return inflated.status();
      out = std::move(*inflated);
      break;
    }
    default:
      return absl::UnimplementedError(
          absl::StrCat(name, ": compression method ", e.method, " is not supported"));
  }
  const uLong crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(out.data()),
                          static_cast<uInt>(out.size()));
  if (crc != e.crc) return Malformed(absl::StrCat(name, ": CRC mismatch"));
  return out;
}

}  // namespace agent::config
