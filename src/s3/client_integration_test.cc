// s3::Client against a real S3 server that verifies every signature (versitygw on loopback,
// started by hack/s3/with-versitygw.sh, which sets S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY).
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "s3/client.h"

namespace s3 {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

class S3Test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Env("S3_ENDPOINT").empty()) << "run through hack/s3/with-versitygw.sh";
    ASSERT_TRUE(client_.CreateBucket(bucket_).ok());
  }
  Endpoint endpoint_{Env("S3_ENDPOINT")};
  Credentials credentials_{Env("S3_ACCESS_KEY"), Env("S3_SECRET_KEY"), ""};
  Client client_{endpoint_, credentials_};
  // One bucket per test: no test sees another's objects.
  std::string bucket_ = absl::StrCat(
      "rk-",
      absl::AsciiStrToLower(::testing::UnitTest::GetInstance()->current_test_info()->name()));
};

TEST_F(S3Test, BucketsExistOnce) {
  EXPECT_TRUE(absl::IsAlreadyExists(client_.CreateBucket(bucket_)));
  EXPECT_TRUE(client_.HeadBucket(bucket_).ok());
  EXPECT_TRUE(absl::IsNotFound(client_.HeadBucket("rk-never-made")));
}

TEST_F(S3Test, ObjectRoundTripWithAnAwkwardKey) {
  const std::string key = "cluster a/dc1/r\xC3\xA9sum\xC3\xA9/k+e=y&x*(1)!'~@$,;:.db";
  std::string body;
  for (int i = 0; i < 100000; ++i) body += static_cast<char>(i * 7);
  ASSERT_TRUE(client_.PutObject(bucket_, key, body).ok());
  auto got = client_.GetObject(bucket_, key);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, body);
  auto info = client_.HeadObject(bucket_, key);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->size, 100000);
  EXPECT_EQ(info->etag.size(), 32u);  // the MD5 of a single-part object
  auto part = client_.GetObject(bucket_, key, std::make_pair(int64_t{10}, int64_t{5}));
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_EQ(*part, body.substr(10, 5));
}

TEST_F(S3Test, MissingThingsAreNotFound) {
  EXPECT_TRUE(absl::IsNotFound(client_.GetObject(bucket_, "nope").status()));
  EXPECT_TRUE(absl::IsNotFound(client_.HeadObject(bucket_, "nope").status()));
  EXPECT_TRUE(absl::IsNotFound(client_.PutObject("rk-no-bucket", "k", "v")));
}

TEST_F(S3Test, ListingPagesAndPrefixes) {
  for (int i = 0; i < 23; ++i) {
    ASSERT_TRUE(client_.PutObject(bucket_, absl::StrCat("node1/f", 100 + i), "x").ok());
  }
  ASSERT_TRUE(client_.PutObject(bucket_, "node2/a", "y").ok());
  ASSERT_TRUE(client_.PutObject(bucket_, "node3/b/c", "z").ok());
  std::vector<std::string> keys;
  std::string token;
  int pages = 0;
  do {
    auto page = client_.ListObjects(bucket_, "node1/", token, "", 10);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& o : page->objects) {
      keys.push_back(o.key);
      EXPECT_EQ(o.size, 1);
      // The listing's LastModified: written moments ago (a purge's grace is judged on it).
      EXPECT_LT(absl::AbsDuration(absl::Now() - o.last_modified), absl::Minutes(5)) << o.key;
    }
    token = page->next_token;
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(keys.size(), 23u);
  EXPECT_EQ(keys.front(), "node1/f100");
  EXPECT_EQ(keys.back(), "node1/f122");
  auto top = client_.ListObjects(bucket_, "", "", "/");
  ASSERT_TRUE(top.ok()) << top.status();
  EXPECT_EQ(top->common_prefixes, (std::vector<std::string>{"node1/", "node2/", "node3/"}));
  EXPECT_TRUE(top->objects.empty());
}

TEST_F(S3Test, DeleteInBatches) {
  std::vector<std::string> keys;
  for (int i = 0; i < 12; ++i) {
    keys.push_back(absl::StrCat("d/", i, " &<>\"'"));  // XML-special characters in keys
    ASSERT_TRUE(client_.PutObject(bucket_, keys.back(), "x").ok());
  }
  keys.push_back("d/never-stored");  // already gone counts as deleted
  ASSERT_TRUE(client_.DeleteObjects(bucket_, keys).ok());
  auto left = client_.ListObjects(bucket_, "d/");
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_TRUE(left->objects.empty());
  EXPECT_TRUE(
      absl::IsInvalidArgument(client_.DeleteObjects(bucket_, std::vector<std::string>(1001, "k"))));
}

TEST_F(S3Test, MultipartUpload) {
  const std::string key = "big/nb-1-big-Data.db";
  const std::string part1(5 << 20, 'a'), part2 = "tail of the file";
  auto id = client_.CreateMultipartUpload(bucket_, key);
  ASSERT_TRUE(id.ok()) << id.status();
  auto e1 = client_.UploadPart(bucket_, key, *id, 1, part1);
  ASSERT_TRUE(e1.ok()) << e1.status();
  auto e2 = client_.UploadPart(bucket_, key, *id, 2, part2);
  ASSERT_TRUE(e2.ok()) << e2.status();
  ASSERT_TRUE(client_.CompleteMultipartUpload(bucket_, key, *id, {{1, *e1}, {2, *e2}}).ok());
  auto info = client_.HeadObject(bucket_, key);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->size, static_cast<int64_t>(part1.size() + part2.size()));
  EXPECT_NE(info->etag.find("-2"), std::string::npos) << info->etag;  // a 2-part object
  auto tail = client_.GetObject(bucket_, key, std::make_pair(int64_t{5 << 20}, int64_t{16}));
  ASSERT_TRUE(tail.ok()) << tail.status();
  EXPECT_EQ(*tail, part2);
}

TEST_F(S3Test, AbortedUploadIsGone) {
  auto id = client_.CreateMultipartUpload(bucket_, "k");
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(client_.UploadPart(bucket_, "k", *id, 1, "x").ok());
  ASSERT_TRUE(client_.AbortMultipartUpload(bucket_, "k", *id).ok());
  EXPECT_TRUE(absl::IsNotFound(client_.UploadPart(bucket_, "k", *id, 2, "y").status()));
  EXPECT_TRUE(absl::IsNotFound(client_.HeadObject(bucket_, "k").status()));
}

TEST_F(S3Test, BadCredentialsAreRefusedAndChangeNothing) {
  Client wrong_secret(endpoint_, {credentials_.access_key_id, "not-the-secret", ""});
  absl::Status s = wrong_secret.PutObject(bucket_, "k", "v");
  EXPECT_TRUE(absl::IsPermissionDenied(s)) << s;
  EXPECT_NE(s.message().find("SignatureDoesNotMatch"), absl::string_view::npos) << s;
  EXPECT_EQ(s.message().find("not-the-secret"), absl::string_view::npos);  // never logged
  Client unknown_key(endpoint_, {"AKIDNOBODY", "secret", ""});
  absl::Status unknown = unknown_key.PutObject(bucket_, "k", "v");
  EXPECT_TRUE(absl::IsPermissionDenied(unknown)) << unknown;
  EXPECT_TRUE(absl::IsNotFound(client_.HeadObject(bucket_, "k").status()));
}

TEST(S3UnreachableTest, ClosedPortIsUnavailable) {
  Endpoint nowhere{"http://127.0.0.1:1"};
  Client client(nowhere, {"a", "b", ""});
  absl::Status s = client.HeadBucket("b");
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
}

}  // namespace
}  // namespace s3
