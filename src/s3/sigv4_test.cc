#include "s3/sigv4.h"

#include <fstream>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace s3 {
namespace {

using Json = nlohmann::json;

Params PairsOf(const Json& list) {
  Params out;
  for (const Json& kv : list) out.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
  return out;
}

// Every request botocore signed (testdata/sigv4_vectors.json, hack/s3/sigv4_vectors.py): the
// same canonical request, string to sign and Authorization, byte for byte.
TEST(SigV4Test, AgreesWithBotocore) {
  std::ifstream in(RK_S3_VECTORS);
  ASSERT_TRUE(in) << RK_S3_VECTORS;
  const Json doc = Json::parse(in);
  absl::Time now;
  std::string error;
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, doc["time"].get<std::string>(), &now, &error))
      << error;
  ASSERT_GE(doc["cases"].size(), 10u);
  for (const Json& c : doc["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    Request r{c["method"], c["path"], PairsOf(c["query"]), PairsOf(c["headers"]),
              c["payload_sha256"]};
    const Credentials credentials{doc["access_key_id"], doc["secret_access_key"],
                                  c["session_token"]};
    const Signature s = Sign(r, credentials, c["region"].get<std::string>(), now);
    EXPECT_EQ(s.canonical_request, c["canonical_request"].get<std::string>());
    EXPECT_EQ(s.string_to_sign, c["string_to_sign"].get<std::string>());
    EXPECT_EQ(s.authorization, c["authorization"].get<std::string>());
    EXPECT_EQ(s.amz_date, "20261204T123456Z");
  }
}

// The GET Object example of the S3 API reference ("Examples: Signature Calculations"):
// an independent second reference.
TEST(SigV4Test, AwsDocumentationGetObjectExample) {
  Request r{"GET",
            "/test.txt",
            {},
            {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"}},
            Sha256Hex("")};
  const Signature s =
      Sign(r, {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""}, "us-east-1",
           absl::FromUnixSeconds(1369353600));  // 2013-05-24T00:00:00Z
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
            "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, AddedHeadersAreSignedAndReturned) {
  Request r{"GET", "/b/k", {}, {{"host", "h"}}, kUnsignedPayload};
  Signature s = Sign(r, {"id", "secret", "token"}, "r", absl::UnixEpoch());
  EXPECT_EQ(s.added_headers, (Params{{"x-amz-date", "19700101T000000Z"},
                                     {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"},
                                     {"x-amz-security-token", "token"}}));
  EXPECT_NE(s.authorization.find(
                "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"),
            std::string::npos)
      << s.authorization;
  // Any change to what is signed changes the signature.
  Request other = r;
  other.path = "/b/k2";
  EXPECT_NE(Sign(other, {"id", "secret", "token"}, "r", absl::UnixEpoch()).authorization,
            s.authorization);
}

TEST(SigV4Test, UriEncoding) {
  EXPECT_EQ(UriEncode("AZaz09-_.~", false), "AZaz09-_.~");
  EXPECT_EQ(UriEncode("a b/c+d=e", false), "a%20b%2Fc%2Bd%3De");
  EXPECT_EQ(UriEncode("a b/c", true), "a%20b/c");
  EXPECT_EQ(UriEncode("\xC3\xA9\x00\xFF", false), "%C3%A9");  // stops at the NUL of the literal
  EXPECT_EQ(UriEncode(std::string("\xC3\xA9\0\xFF", 4), false), "%C3%A9%00%FF");
  EXPECT_EQ(EncodePath(""), "/");
  EXPECT_EQ(EncodePath("/b/a b"), "/b/a%20b");
}

TEST(SigV4Test, QueryIsSortedByKeyThenValueAfterEncoding) {
  EXPECT_EQ(EncodeQuery({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(EncodeQuery({{"b", "2"}, {"a", "z"}, {"a", "y"}, {"A", "x"}}), "A=x&a=y&a=z&b=2");
  EXPECT_EQ(EncodeQuery({{"prefix", "a/b c"}}), "prefix=a%2Fb%20c");
  EXPECT_EQ(EncodeQuery({}), "");
}

TEST(SigV4Test, Sha256) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace s3
