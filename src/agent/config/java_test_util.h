// Test-only builders of small class files and zip archives, so the parsers' tests (and the
// fuzzer's seeds) need no committed binaries. Header-only; not thread-safe per instance.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace agent::config::testing {

inline void PutU8(std::string& b, uint8_t v) { b.push_back(static_cast<char>(v)); }
inline void PutU16(std::string& b, uint16_t v) {
  PutU8(b, v >> 8);
  PutU8(b, v & 0xff);
}
inline void PutU32(std::string& b, uint32_t v) {
  PutU16(b, v >> 16);
  PutU16(b, v & 0xffff);
}

// A class file with a constant pool, fields and field annotations (big-endian, JVMS 4).
class ClassBuilder {
 public:
  uint16_t Utf8(const std::string& s) {
    auto [it, added] = utf8_.emplace(s, 0);
    if (!added) return it->second;
    PutU8(pool_, 1);
    PutU16(pool_, static_cast<uint16_t>(s.size()));
    pool_ += s;
    return it->second = next_++;
  }
  uint16_t Class(const std::string& name) {
    const uint16_t n = Utf8(name);
    PutU8(pool_, 7);
    PutU16(pool_, n);
    return next_++;
  }
  // A long constant: takes two pool slots.
  void Long() {
    PutU8(pool_, 5);
    PutU32(pool_, 0);
    PutU32(pool_, 1);
    next_ += 2;
  }

  // element_value 's' (a string).
  std::string StringElement(const std::string& name, const std::string& value) {
    std::string b;
    PutU16(b, Utf8(name));
    PutU8(b, 's');
    PutU16(b, Utf8(value));
    return b;
  }
  // An annotation with the given encoded element-value pairs.
  std::string Annotation(const std::string& type, const std::vector<std::string>& pairs) {
    std::string b;
    PutU16(b, Utf8(type));
    PutU16(b, static_cast<uint16_t>(pairs.size()));
    for (const auto& p : pairs) b += p;
    return b;
  }
  std::string Replaces(const std::string& old_name,
                       const std::string& type = "Lorg/apache/cassandra/config/Replaces;") {
    // An enum element beside oldName, as Cassandra's converter = ... is.
    std::string converter;
    PutU16(converter, Utf8("converter"));
    PutU8(converter, 'e');
    PutU16(converter, Utf8("Lorg/apache/cassandra/config/Converters;"));
    PutU16(converter, Utf8("MILLIS_DURATION_LONG"));
    return Annotation(type, {StringElement("oldName", old_name), converter});
  }
  // @ReplacesList({@Replaces(...), ...}): an array of nested annotations.
  std::string ReplacesList(const std::vector<std::string>& old_names) {
    std::string array;
    PutU16(array, Utf8("value"));
    PutU8(array, '[');
    PutU16(array, static_cast<uint16_t>(old_names.size()));
    for (const auto& n : old_names) {
      PutU8(array, '@');
      array += Replaces(n);
    }
    return Annotation("Lorg/apache/cassandra/config/ReplacesList;", {array});
  }

  // A field; `visible` become RuntimeVisibleAnnotations, `invisible` RuntimeInvisibleAnnotations.
  void Field(uint16_t access, const std::string& name, const std::vector<std::string>& visible = {},
             const std::vector<std::string>& invisible = {}) {
    PutU16(fields_, access);
    PutU16(fields_, Utf8(name));
    PutU16(fields_, Utf8("Ljava/lang/String;"));
    uint16_t attributes = 0;
    std::string attrs;
    for (const auto& [attr, list] : {std::pair{"RuntimeVisibleAnnotations", &visible},
                                     std::pair{"RuntimeInvisibleAnnotations", &invisible}}) {
      if (list->empty()) continue;
      std::string body;
      PutU16(body, static_cast<uint16_t>(list->size()));
      for (const auto& a : *list) body += a;
      PutU16(attrs, Utf8(attr));
      PutU32(attrs, static_cast<uint32_t>(body.size()));
      attrs += body;
      ++attributes;
    }
    // An attribute the parser skips.
    PutU16(attrs, Utf8("Signature"));
    PutU32(attrs, 2);
    PutU16(attrs, Utf8("TT;"));
    ++attributes;
    PutU16(fields_, attributes);
    fields_ += attrs;
    ++field_count_;
  }

  std::string Build(const std::string& name, const std::string& super = "java/lang/Object",
                    const std::vector<std::string>& interfaces = {}) {
    const uint16_t this_class = Class(name);
    const uint16_t super_class = super.empty() ? 0 : Class(super);
    std::vector<uint16_t> ifaces;
    for (const auto& i : interfaces) ifaces.push_back(Class(i));
    std::string b;
    PutU32(b, 0xCAFEBABE);
    PutU16(b, 0);
    PutU16(b, 61);
    PutU16(b, next_);
    b += pool_;
    PutU16(b, 0x0021);  // public super
    PutU16(b, this_class);
    PutU16(b, super_class);
    PutU16(b, static_cast<uint16_t>(ifaces.size()));
    for (uint16_t i : ifaces) PutU16(b, i);
    PutU16(b, field_count_);
    b += fields_;
    PutU16(b, 0);  // methods
    PutU16(b, 0);  // attributes
    return b;
  }

 private:
  std::string pool_;
  uint16_t next_ = 1;
  std::map<std::string, uint16_t> utf8_;
  std::string fields_;
  uint16_t field_count_ = 0;
};

inline void PutLe16(std::string& b, uint16_t v) {
  PutU8(b, v & 0xff);
  PutU8(b, v >> 8);
}
inline void PutLe32(std::string& b, uint32_t v) {
  PutLe16(b, v & 0xffff);
  PutLe16(b, v >> 16);
}

struct ZipFile {
  std::string name;
  std::string data;
  bool deflate = true;
};

inline std::string RawDeflate(const std::string& in) {
  z_stream z{};
  deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// A zip archive (no data descriptors, no zip64) with an archive comment.
inline std::string MakeZip(const std::vector<ZipFile>& files, const std::string& comment = "") {
  std::string zip, dir;
  for (const auto& f : files) {
    const std::string data = f.deflate ? RawDeflate(f.data) : f.data;
    const uint32_t crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(f.data.data()),
                               static_cast<uInt>(f.data.size()));
    const uint32_t offset = static_cast<uint32_t>(zip.size());
    PutLe32(zip, 0x04034b50);
    PutLe16(zip, 20);
    PutLe16(zip, 0);
    PutLe16(zip, f.deflate ? 8 : 0);
    PutLe32(zip, 0);  // time, date
    PutLe32(zip, crc);
    PutLe32(zip, static_cast<uint32_t>(data.size()));
    PutLe32(zip, static_cast<uint32_t>(f.data.size()));
    PutLe16(zip, static_cast<uint16_t>(f.name.size()));
    PutLe16(zip, 0);
    zip += f.name + data;

    PutLe32(dir, 0x02014b50);
    PutLe16(dir, 20);
    PutLe16(dir, 20);
    PutLe16(dir, 0);
    PutLe16(dir, f.deflate ? 8 : 0);
    PutLe32(dir, 0);
    PutLe32(dir, crc);
    PutLe32(dir, static_cast<uint32_t>(data.size()));
    PutLe32(dir, static_cast<uint32_t>(f.data.size()));
    PutLe16(dir, static_cast<uint16_t>(f.name.size()));
    PutLe16(dir, 0);  // extra
    PutLe16(dir, 0);  // comment
    PutLe16(dir, 0);  // disk
    PutLe16(dir, 0);  // internal attributes
    PutLe32(dir, 0);  // external attributes
    PutLe32(dir, offset);
    dir += f.name;
  }
  const uint32_t dir_offset = static_cast<uint32_t>(zip.size());
  zip += dir;
  PutLe32(zip, 0x06054b50);
  PutLe16(zip, 0);
  PutLe16(zip, 0);
  PutLe16(zip, static_cast<uint16_t>(files.size()));
  PutLe16(zip, static_cast<uint16_t>(files.size()));
  PutLe32(zip, static_cast<uint32_t>(dir.size()));
  PutLe32(zip, dir_offset);
  PutLe16(zip, static_cast<uint16_t>(comment.size()));
  zip += comment;
  return zip;
}

}  // namespace agent::config::testing
