#include "agent/config/class_file.h"

#include <cstddef>

#include "absl/strings/str_cat.h"

namespace agent::config {
namespace {

constexpr uint32_t kMagic = 0xCAFEBABE;
constexpr int kMaxAnnotationDepth = 16;

// Constant-pool tags (JVMS 4.4).
enum Tag : uint8_t {
  kUtf8 = 1,
  kInteger = 3,
  kFloat = 4,
  kLong = 5,
  kDouble = 6,
  kClass = 7,
  kString = 8,
  kFieldref = 9,
  kMethodref = 10,
  kInterfaceMethodref = 11,
  kNameAndType = 12,
  kMethodHandle = 15,
  kMethodType = 16,
  kDynamic = 17,
  kInvokeDynamic = 18,
  kModule = 19,
  kPackage = 20,
};

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed class file: ", what));
}

// A cursor over the class bytes; a read past the end sets `failed` and yields zeros, so callers
// check once after a group of reads.
class Reader {
 public:
  explicit Reader(absl::string_view b) : b_(b) {}
  bool failed() const { return failed_; }
  size_t remaining() const { return b_.size() - at_; }
  uint8_t U8() {
    if (!Need(1)) return 0;
    return static_cast<uint8_t>(b_[at_++]);
  }
  uint16_t U16() { return static_cast<uint16_t>((U8() << 8) | U8()); }
  uint32_t U32() { return (static_cast<uint32_t>(U16()) << 16) | U16(); }
  absl::string_view Bytes(size_t n) {
    if (!Need(n)) return {};
    absl::string_view s = b_.substr(at_, n);
    at_ += n;
    return s;
  }
  void Skip(size_t n) { Bytes(n); }

 private:
  bool Need(size_t n) {
    if (failed_ || n > b_.size() - at_) {
      failed_ = true;
      return false;
    }
    return true;
  }
  absl::string_view b_;
  size_t at_ = 0;
  bool failed_ = false;
};

struct PoolEntry {
  uint8_t tag = 0;
  absl::string_view utf8;  // kUtf8
  uint16_t ref = 0;        // kClass, kString: the index of a Utf8 entry
};

class Parser {
 public:
  explicit Parser(absl::string_view bytes) : r_(bytes) {}

  absl::StatusOr<JavaClass> Parse() {
    if (r_.U32() != kMagic || r_.failed()) return Malformed("bad magic");
    r_.Skip(4);  // minor, major version
    if (auto s = ReadPool(); !s.ok()) return s;
    JavaClass c;
    r_.Skip(2);  // access flags
    const uint16_t this_class = r_.U16();
    const uint16_t super_class = r_.U16();
    const uint16_t interface_count = r_.U16();
    if (r_.failed()) return Malformed("truncated class header");
    auto name = ClassName(this_class);
    if (!name.ok()) return name.status();
    c.name = *std::move(name);
    if (super_class != 0) {
      auto super = ClassName(super_class);
      if (!super.ok()) return super.status();
      c.super_class = *std::move(super);
    }
    for (uint16_t i = 0; i < interface_count; ++i) {
      auto iface = ClassName(r_.U16());
      if (!iface.ok()) return iface.status();
      c.interfaces.push_back(*std::move(iface));
    }
    const uint16_t field_count = r_.U16();
    if (r_.failed()) return Malformed("truncated interfaces");
    for (uint16_t i = 0; i < field_count; ++i) {
      auto field = ReadField();
      if (!field.ok()) return field.status();
      c.fields.push_back(*std::move(field));
    }
    return c;
  }

 private:
  absl::Status ReadPool() {
    const uint16_t count = r_.U16();
    if (r_.failed() || count == 0) return Malformed("no constant pool");
    pool_.assign(count, PoolEntry{});
    for (uint16_t i = 1; i < count; ++i) {
      PoolEntry& e = pool_[i];
      e.tag = r_.U8();
      switch (e.tag) {
        case kUtf8:
          e.utf8 = r_.Bytes(r_.U16());
          break;
        case kClass:
        case kString:
          e.ref = r_.U16();
          break;
        case kMethodType:
        case kModule:
        case kPackage:
          r_.Skip(2);
          break;
        case kMethodHandle:
          r_.Skip(3);
          break;
        case kInteger:
        case kFloat:
        case kFieldref:
        case kMethodref:
        case kInterfaceMethodref:
        case kNameAndType:
        case kDynamic:
        case kInvokeDynamic:
          r_.Skip(4);
          break;
        case kLong:
        case kDouble:
          r_.Skip(8);
          ++i;  // an 8-byte constant takes two pool slots
          break;
        default:
          return Malformed(
              absl::StrCat("constant pool entry ", i, " has tag ", static_cast<int>(e.tag)));
      }
      if (r_.failed()) return Malformed("truncated constant pool");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<absl::string_view> Utf8(uint16_t index) {
    if (index == 0 || index >= pool_.size() || pool_[index].tag != kUtf8) {
      return Malformed(absl::StrCat("constant pool index ", index, " is not a Utf8 entry"));
    }
    return pool_[index].utf8;
  }

  absl::StatusOr<std::string> ClassName(uint16_t index) {
    if (index == 0 || index >= pool_.size() || pool_[index].tag != kClass) {
      return Malformed(absl::StrCat("constant pool index ", index, " is not a Class entry"));
    }
    auto name = Utf8(pool_[index].ref);
    if (!name.ok()) return name.status();
    return std::string(*name);
  }

  absl::StatusOr<JavaField> ReadField() {
    JavaField f;
    f.access_flags = r_.U16();
    const uint16_t name_index = r_.U16();
    const uint16_t descriptor_index = r_.U16();
    const uint16_t attribute_count = r_.U16();
    if (r_.failed()) return Malformed("truncated field");
    auto name = Utf8(name_index);
    if (!name.ok()) return name.status();
    f.name = std::string(*name);
    auto descriptor = Utf8(descriptor_index);
    if (!descriptor.ok()) return descriptor.status();
    f.descriptor = std::string(*descriptor);
    for (uint16_t i = 0; i < attribute_count; ++i) {
      const uint16_t attribute_name = r_.U16();
      const uint32_t length = r_.U32();
      const absl::string_view body = r_.Bytes(length);
      if (r_.failed()) return Malformed(absl::StrCat("truncated attribute of field ", f.name));
      auto attribute = Utf8(attribute_name);
      if (!attribute.ok()) return attribute.status();
      if (*attribute != "RuntimeVisibleAnnotations") continue;
      if (auto s = ReadAnnotations(body, f.annotations); !s.ok()) {
        return Malformed(absl::StrCat("annotations of field ", f.name, ": ", s.message()));
      }
    }
    return f;
  }

  absl::Status ReadAnnotations(absl::string_view body, std::vector<JavaAnnotation>& out) {
    Reader r(body);
    const uint16_t count = r.U16();
    for (uint16_t i = 0; i < count && !r.failed(); ++i) {
      JavaAnnotation a;
      if (auto s = ReadAnnotation(r, 0, a); !s.ok()) return s;
      out.push_back(std::move(a));
    }
    if (r.failed()) return absl::InvalidArgumentError("truncated");
    return absl::OkStatus();
  }

  // annotation { u2 type_index; u2 num_element_value_pairs; {u2 name; element_value}[] }.
  // Nested annotations keep the outer annotation's type; their strings join its list.
  absl::Status ReadAnnotation(Reader& r, int depth, JavaAnnotation& a) {
    if (depth > kMaxAnnotationDepth) return absl::InvalidArgumentError("nested too deep");
    const uint16_t type_index = r.U16();
    const uint16_t pairs = r.U16();
    if (r.failed()) return absl::InvalidArgumentError("truncated");
    auto type = Utf8(type_index);
    if (!type.ok()) return type.status();
    if (depth == 0) a.type = std::string(*type);
    for (uint16_t i = 0; i < pairs; ++i) {
      auto name = Utf8(r.U16());
      if (r.failed()) return absl::InvalidArgumentError("truncated");
      if (!name.ok()) return name.status();
      if (auto s = ReadElementValue(r, depth, *name, a); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status ReadElementValue(Reader& r, int depth, absl::string_view name, JavaAnnotation& a) {
    if (depth > kMaxAnnotationDepth) return absl::InvalidArgumentError("nested too deep");
    const uint8_t tag = r.U8();
    switch (tag) {
      case 's': {
        auto value = Utf8(r.U16());
        if (r.failed()) break;
        if (!value.ok()) return value.status();
        a.strings.emplace_back(std::string(name), std::string(*value));
        break;
      }
      case 'B':
      case 'C':
      case 'D':
      case 'F':
      case 'I':
      case 'J':
      case 'S':
      case 'Z':
      case 'c':
        r.Skip(2);
        break;
      case 'e':
        r.Skip(4);
        break;
      case '@':
        return ReadAnnotation(r, depth + 1, a);
      case '[': {
        const uint16_t n = r.U16();
        for (uint16_t i = 0; i < n && !r.failed(); ++i) {
          if (auto s = ReadElementValue(r, depth + 1, name, a); !s.ok()) return s;
        }
        break;
      }
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("element value tag ", static_cast<int>(tag)));
    }
    if (r.failed()) return absl::InvalidArgumentError("truncated");
    return absl::OkStatus();
  }

  Reader r_;
  std::vector<PoolEntry> pool_;
};

}  // namespace

absl::StatusOr<JavaClass> ParseClassFile(absl::string_view bytes) { return Parser(bytes).Parse(); }

std::string SimpleTypeName(absl::string_view descriptor) {
  if (descriptor.size() >= 2 && descriptor.front() == 'L' && descriptor.back() == ';') {
    descriptor = descriptor.substr(1, descriptor.size() - 2);
  }
  const size_t cut = descriptor.find_last_of("/$");
  return std::string(cut == absl::string_view::npos ? descriptor : descriptor.substr(cut + 1));
}

}  // namespace agent::config
