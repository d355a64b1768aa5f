#include "cql/client.h"

#include "cql/auth_setup.h"
#include "cql/schema.h"
#include "gtest/gtest.h"

namespace cql {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

TEST(Encode, FrameHeader) {
  std::string f = EncodeFrame(0x07, 3, "ab");
  EXPECT_EQ(f, Bytes({4, 0, 0, 3, 7, 0, 0, 0, 2}) + "ab");
}

TEST(Encode, StartupAndPlainAuth) {
  EXPECT_EQ(EncodeStartup(), Bytes({0, 1, 0, 11}) + "CQL_VERSION" + Bytes({0, 5}) + "3.0.0");
  EXPECT_EQ(EncodePlainAuth("u", "pw"), Bytes({0, 0, 0, 5, 0}) + "u" + Bytes({0}) + "pw");
}

TEST(Encode, Query) {
  EXPECT_EQ(EncodeQuery("SELECT 1", Consistency::kQuorum),
            Bytes({0, 0, 0, 8}) + "SELECT 1" + Bytes({0, 4, 0}));
}

TEST(Decode, RowsWithTextUuidIntMapAndNull) {
  // kind=Rows, flags=global spec, 4 columns: name varchar, id uuid, n int, r map<text,text>.
  std::string b = Bytes({0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4}) + Bytes({0, 2}) + "ks" +
                  Bytes({0, 1}) + "t" + Bytes({0, 4}) + "name" + Bytes({0, 0x0D}) + Bytes({0, 2}) +
                  "id" + Bytes({0, 0x0C}) + Bytes({0, 1}) + "n" + Bytes({0, 9}) + Bytes({0, 1}) +
                  "r" + Bytes({0, 0x21, 0, 0x0D, 0, 0x0D});
  b += Bytes({0, 0, 0, 1});                                        // 1 row
  b += Bytes({0, 0, 0, 3}) + "abc";                                // name
  b += Bytes({0, 0, 0, 16}) + std::string(15, '\0') + Bytes({1});  // id
  b += Bytes({0xff, 0xff, 0xff, 0xff});                            // n = null
  b += Bytes({0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 1}) + "k" + Bytes({0, 0, 0, 3}) + "v\"1";
  auto rs = DecodeResult(b);
  ASSERT_TRUE(rs.ok()) << rs.status();
  ASSERT_EQ(rs->rows.size(), 1u);
  EXPECT_EQ(rs->column_names, (std::vector<std::string>{"name", "id", "n", "r"}));
  const auto& row = rs->rows[0].columns;
  EXPECT_EQ(row.at("name"), "abc");
  EXPECT_EQ(row.at("id"), "00000000-0000-0000-0000-000000000001");
  EXPECT_EQ(row.at("n"), "");
  EXPECT_EQ(row.at("r"), "{\"k\":\"v\\\"1\"}");
}

TEST(Decode, TruncatedInputIsAnErrorNeverACrash) {
  std::string b = Bytes({0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1}) + Bytes({0, 2}) + "ks" +
                  Bytes({0, 1}) + "t" + Bytes({0, 1}) + "a" + Bytes({0, 0x0D}) +
                  Bytes({0, 0, 0, 1, 0, 0, 0, 9}) + "ab";
  for (size_t n = 0; n <= b.size(); ++n) {
    auto rs = DecodeResult(b.substr(0, n));
    if (n >= 4) {
      EXPECT_FALSE(rs.ok()) << n;
    }
  }
}

TEST(Decode, FuzzFindingsAreErrorsOrEmptyValues) {
  // 2^31 - 1 rows of zero columns in a 16-byte body: rejected, not allocated.
  EXPECT_FALSE(
      DecodeResult(Bytes({0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff})).ok());
  // An inet of 2 bytes: rendered empty (inet_ntop would have read 16).
  std::string b = Bytes({0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1}) + Bytes({0, 1}) + "k" +
                  Bytes({0, 1}) + "t" + Bytes({0, 1}) + "a" + Bytes({0, 0x10}) +
                  Bytes({0, 0, 0, 1, 0, 0, 0, 2, 10, 0});
  auto rs = DecodeResult(b);
  ASSERT_TRUE(rs.ok()) << rs.status();
  EXPECT_EQ(rs->rows.at(0).columns.at("a"), "");
}

TEST(Decode, StripFrameExtras) {
  // warnings ["w"], then the body; truncated warnings are an error.
  EXPECT_EQ(*StripFrameExtras(0x08, Bytes({0, 1, 0, 1}) + "w" + "BODY"), "BODY");
  EXPECT_FALSE(StripFrameExtras(0x08, Bytes({0, 2, 0, 1}) + "w").ok());
  EXPECT_EQ(*StripFrameExtras(0x00, "BODY"), "BODY");
}

TEST(Decode, ErrorCodes) {
  std::string bad_credentials = Bytes({0, 0, 1, 0, 0, 3}) + "bad";
  EXPECT_EQ(DecodeError(bad_credentials).code(), absl::StatusCode::kUnauthenticated);
  std::string syntax = Bytes({0, 0, 0x20, 0, 0, 1}) + "x";
  EXPECT_EQ(DecodeError(syntax).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Schema, DisagreeingPeersAmongLiveOnes) {
  SchemaVersions v{"a", {{"10.0.0.2", "a"}, {"10.0.0.3", "b"}, {"10.0.0.4", ""}}};
  EXPECT_EQ(DisagreeingPeers(v, nullptr), (std::vector<std::string>{"10.0.0.3", "10.0.0.4"}));
  const std::set<std::string> live = {"10.0.0.2", "10.0.0.4", "10.0.0.9"};
  EXPECT_EQ(DisagreeingPeers(v, &live), (std::vector<std::string>{"10.0.0.4"}));
  const std::set<std::string> agreeing = {"10.0.0.2"};
  EXPECT_TRUE(DisagreeingPeers(v, &agreeing).empty());
}

TEST(QuoteLiteral, DoublesQuotes) { EXPECT_EQ(QuoteLiteral("a'b"), "'a''b'"); }

}  // namespace
}  // namespace cql
