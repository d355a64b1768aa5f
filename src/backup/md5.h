// MD5, as S3 uses it: the content checksum of every stored file (in its key, its manifest entry
// and the ETag of a one-PUT object). Not for security.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace backup {

// An MD5 fed in pieces.
class Md5 {
 public:
  Md5();
  ~Md5();
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;
  void Update(absl::string_view data);
  std::string Raw();  // the 16 bytes; ends the digest
  std::string Hex();  // lowercase hex; ends the digest

 private:
  void* ctx_;  // EVP_MD_CTX*
};

std::string Md5Hex(absl::string_view data);

// Lowercase hex MD5 of a file's content, and its size.
absl::StatusOr<std::pair<std::string, int64_t>> Md5OfFile(const std::string& path);

}  // namespace backup
