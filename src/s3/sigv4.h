// AWS Signature Version 4 for S3 requests (header-based: the Authorization header), on OpenSSL.
// Ours because Debian's libcurl 7.88 signs with SigV4 but not S3's multipart and paginated list
// requests; checked against botocore's signer (testdata/, hack/s3/sigv4_vectors.py) and, end to
// end, against a real S3 server that verifies every signature.
//
// The request is given unencoded (path "/bucket/my key", query {"prefix", "a b"}); EncodePath and
// EncodeQuery give the bytes to put on the wire, the same ones the signature covers — a client
// builds its URL with them, never with its own encoding.
//
// Pure; thread-safe.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace s3 {

// What x-amz-content-sha256 says when the body is not hashed (the TLS layer protects it).
inline constexpr char kUnsignedPayload[] = "UNSIGNED-PAYLOAD";

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // "" unless temporary credentials
};

using Params = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;          // "GET", "PUT", ...
  std::string path;            // unencoded, from "/": "/bucket/key" (path-style) or "/key"
  Params query;                // unencoded; a key without value has ""
  Params headers;              // every header to sign, `host` included; names in any case
  std::string payload_sha256;  // lowercase hex of the body's SHA-256, or kUnsignedPayload
};

struct Signature {
  std::string amz_date;  // x-amz-date: 20130524T000000Z
  std::string canonical_request;
  std::string string_to_sign;
  std::string authorization;  // the Authorization header's value
  // The headers to send besides the request's own: x-amz-date, x-amz-content-sha256 and, with
  // temporary credentials, x-amz-security-token (all of them signed).
  Params added_headers;
};

// Signs `request` for `region` and `service` at `now`.
Signature Sign(const Request& request, const Credentials& credentials, absl::string_view region,
               absl::Time now, absl::string_view service = "s3");

// RFC 3986 percent-encoding as SigV4 wants it: A-Z a-z 0-9 - _ . ~ kept, every other byte %XX
// (uppercase hex); '/' kept too when `keep_slash` (paths), encoded otherwise (query parts).
std::string UriEncode(absl::string_view s, bool keep_slash);
// The path as sent and signed ("/" when empty).
std::string EncodePath(absl::string_view path);
// The query as sent and signed: pairs encoded, sorted by key then value, "k=v" joined by '&'.
std::string EncodeQuery(const Params& query);

// Lowercase hex of SHA-256(data).
std::string Sha256Hex(absl::string_view data);

}  // namespace s3
