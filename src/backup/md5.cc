#include "backup/md5.h"

#include <openssl/evp.h>

#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace backup {

Md5::Md5() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_md5(), nullptr);
}

Md5::~Md5() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Md5::Update(absl::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}

std::string Md5::Raw() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string Md5::Hex() { return absl::BytesToHexString(Raw()); }

std::string Md5Hex(absl::string_view data) {
  Md5 md5;
  md5.Update(data);
  return md5.Hex();
}

absl::StatusOr<std::pair<std::string, int64_t>> Md5OfFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  Md5 md5;
  std::string buffer(1 << 20, '\0');
  int64_t size = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    md5.Update(absl::string_view(buffer.data(), static_cast<size_t>(in.gcount())));
    size += in.gcount();
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("read ", path));
  return std::make_pair(md5.Hex(), size);
}

}  // namespace backup
