#include "operator/own_writes.h"

#include <memory>

#include "gtest/gtest.h"

namespace ringkeeper {
namespace {

kube::ObjectPtr Version(const char* uid, const char* resource_version) {
  return std::make_shared<const kube::Object>(
      kube::Json{{"metadata", {{"uid", uid}, {"resourceVersion", resource_version}}}});
}

TEST(OwnWritesTest, OurNewerWriteWinsOverAnOlderCacheNeverOverANewerOrAnotherObject) {
  OwnWrites own;
  const auto cached = Version("u1", "10");
  EXPECT_EQ(own.Newest("ns/a", cached), cached);  // nothing written
  own.Remember("ns/a", Version("u1", "12"));
  EXPECT_EQ(own.Newest("ns/a", cached)->resource_version(), "12");  // the cache lags
  EXPECT_EQ(own.size(), 1u);
  const auto newer = Version("u1", "13");
  EXPECT_EQ(own.Newest("ns/a", newer), newer);  // the cache caught up and passed
  EXPECT_EQ(own.size(), 0u);                    // so the write is not held any more
  EXPECT_EQ(own.Newest("ns/a", cached), cached);

  own.Remember("ns/a", Version("u1", "12"));
  const auto recreated = Version("u2", "5");  // deleted and created again
  EXPECT_EQ(own.Newest("ns/a", recreated), recreated);
  EXPECT_EQ(own.size(), 0u);

  own.Remember("ns/a", Version("u1", "12"));
  EXPECT_EQ(own.Newest("ns/a", nullptr), nullptr);  // gone from the cache: Forget drops it
  EXPECT_EQ(own.size(), 1u);
  own.Forget("ns/a");
  EXPECT_EQ(own.size(), 0u);
}

}  // namespace
}  // namespace ringkeeper
