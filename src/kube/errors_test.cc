#include "kube/errors.h"

#include "base/status_macros.h"
#include "gtest/gtest.h"

namespace kube {
namespace {

TEST(ErrorsTest, MapsKubernetesStatusObjects) {
  auto conflict = StatusFromResponse(409, R"({"kind":"Status","reason":"Conflict",
    "message":"the object has been modified","code":409})");
  EXPECT_TRUE(IsConflict(conflict));
  EXPECT_FALSE(absl::IsAlreadyExists(conflict));
  EXPECT_EQ(Reason(conflict), "Conflict");

  auto exists = StatusFromResponse(409, R"({"kind":"Status","reason":"AlreadyExists",
    "message":"configmaps \"a\" already exists","code":409})");
  EXPECT_TRUE(absl::IsAlreadyExists(exists));
  EXPECT_FALSE(IsConflict(exists));

  EXPECT_TRUE(absl::IsNotFound(StatusFromResponse(404, "{}")));
  EXPECT_TRUE(IsGone(StatusFromResponse(410, R"({"kind":"Status","reason":"Expired"})")));
  EXPECT_EQ(StatusFromResponse(503, "").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromResponse(500, "").code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(IsForbidden(StatusFromResponse(403, "")));
  EXPECT_TRUE(IsUnauthorized(StatusFromResponse(401, "")));
}

TEST(ErrorsTest, KeepsCausesOfInvalid) {
  auto invalid = StatusFromResponse(422, R"({"kind":"Status","reason":"Invalid",
    "message":"ConfigMap \"Bad\" is invalid","code":422,"details":{"causes":[
    {"reason":"FieldValueInvalid","message":"a lowercase RFC 1123 subdomain","field":"metadata.name"}]}})");
  EXPECT_TRUE(IsInvalid(invalid));
  EXPECT_EQ(invalid.code(), absl::StatusCode::kInvalidArgument);
  auto causes = Causes(invalid);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].field, "metadata.name");
  EXPECT_EQ(causes[0].reason, "FieldValueInvalid");
}

TEST(ErrorsTest, RetryAfterAndAnnotationKeepPayload) {
  auto busy = StatusFromResponse(429, "", absl::Seconds(3));
  EXPECT_TRUE(IsTooManyRequests(busy));
  auto annotated = base::Annotate(busy, "apply StatefulSet x");
  EXPECT_TRUE(IsTooManyRequests(annotated));
  EXPECT_EQ(RetryAfter(annotated).value_or(absl::ZeroDuration()), absl::Seconds(3));
  EXPECT_NE(annotated.message().find("apply StatefulSet x: HTTP 429"), absl::string_view::npos);
}

TEST(ErrorsTest, HostileBodiesGiveBoundedMessages) {
  const std::string html(10000, '<');
  auto s = StatusFromResponse(502, html);
  EXPECT_LT(s.message().size(), 300u);
  EXPECT_EQ(HttpCode(s), 502);
  EXPECT_EQ(StatusFromResponse(400, "{\"kind\":\"Status\",\"details\":{\"causes\":7}}").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusFromStatusObject("not json").code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(IsGone(StatusFromStatusObject(
      R"({"kind":"Status","code":410,"reason":"Expired","message":"too old resource version"})")));
}

TEST(ErrorsTest, StatusesWithoutPayloadHaveNoHttpCode) {
  EXPECT_EQ(HttpCode(absl::UnavailableError("refused")), 0);
  EXPECT_FALSE(IsConflict(absl::AbortedError("x")));
}

}  // namespace
}  // namespace kube
