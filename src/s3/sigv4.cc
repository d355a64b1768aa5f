#include "s3/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace s3 {
namespace {

constexpr char kAlgorithm[] = "AWS4-HMAC-SHA256";

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length);
  return std::string(reinterpret_cast<const char*>(out), length);
}

// A header value as SigV4 canonicalizes it: trimmed, inner runs of spaces one space.
std::string CanonicalValue(absl::string_view value) {
  std::string out;
  bool space = false;
  for (char c : absl::StripAsciiWhitespace(value)) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string UriEncode(absl::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string EncodePath(absl::string_view path) {
  return path.empty() ? "/" : UriEncode(path, /*keep_slash=*/true);
}

std::string EncodeQuery(const Params& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [k, v] : query) encoded.emplace_back(UriEncode(k, false), UriEncode(v, false));
  std::sort(encoded.begin(), encoded.end());
  return absl::StrJoin(encoded, "&", [](std::string* out, const auto& kv) {
    absl::StrAppend(out, kv.first, "=", kv.second);
  });
}

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

Signature Sign(const Request& request, const Credentials& credentials, absl::string_view region,
               absl::Time now, absl::string_view service) {
  Signature sig;
  sig.amz_date = absl::FormatTime("%Y%m%dT%H%M%SZ", now, absl::UTCTimeZone());
  const std::string date = sig.amz_date.substr(0, 8);
  sig.added_headers = {{"x-amz-date", sig.amz_date},
                       {"x-amz-content-sha256", request.payload_sha256}};
  if (!credentials.session_token.empty()) {
    sig.added_headers.emplace_back("x-amz-security-token", credentials.session_token);
  }
  // Names lowercased and sorted; a header given twice is one line, values joined by ','.
  std::map<std::string, std::string> headers;
  const Params* lists[] = {&request.headers, &sig.added_headers};
  for (const Params* list : lists) {
    for (const auto& [name, value] : *list) {
      std::string& line = headers[absl::AsciiStrToLower(name)];
      absl::StrAppend(&line, line.empty() ? "" : ",", CanonicalValue(value));
    }
  }
  std::string canonical_headers, signed_headers;
  for (const auto& [name, value] : headers) {
    absl::StrAppend(&canonical_headers, name, ":", value, "\n");
    absl::StrAppend(&signed_headers, signed_headers.empty() ? "" : ";", name);
  }
  sig.canonical_request =
      absl::StrCat(request.method, "\n", EncodePath(request.path), "\n", EncodeQuery(request.query),
                   "\n", canonical_headers, "\n", signed_headers, "\n", request.payload_sha256);
  const std::string scope = absl::StrCat(date, "/", region, "/", service, "/aws4_request");
  sig.string_to_sign = absl::StrCat(kAlgorithm, "\n", sig.amz_date, "\n", scope, "\n",
                                    Sha256Hex(sig.canonical_request));
  std::string key = HmacSha256(absl::StrCat("AWS4", credentials.secret_access_key), date);
  key = HmacSha256(key, region);
  key = HmacSha256(key, service);
  key = HmacSha256(key, "aws4_request");
  const std::string signature = absl::BytesToHexString(HmacSha256(key, sig.string_to_sign));
  sig.authorization =
      absl::StrCat(kAlgorithm, " Credential=", credentials.access_key_id, "/", scope,
                   ", SignedHeaders=", signed_headers, ", Signature=", signature);
  return sig;
}

}  // namespace s3
