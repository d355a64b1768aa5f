#include "kube/watch.h"

#include <vector>

#include "gtest/gtest.h"

namespace kube {
namespace {

std::vector<WatchEvent> FeedAll(WatchDecoder& d, const std::vector<std::string>& chunks,
                                absl::Status* status) {
  std::vector<WatchEvent> events;
  for (const auto& c : chunks) {
    *status = d.Feed(c, [&](WatchEvent e) {
      events.push_back(std::move(e));
      return absl::OkStatus();
    });
    if (!status->ok()) break;
  }
  return events;
}

TEST(WatchDecoderTest, DecodesFramesAcrossAnyChunking) {
  const std::string stream =
      R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1"}}})"
      "\n"
      R"({"type":"MODIFIED","object":{"metadata":{"name":"a","resourceVersion":"2"}}})"
      "\n"
      R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}})"
      "\n";
  for (size_t step = 1; step <= stream.size(); ++step) {
    WatchDecoder d;
    std::vector<std::string> chunks;
    for (size_t i = 0; i < stream.size(); i += step) chunks.push_back(stream.substr(i, step));
    absl::Status s;
    auto events = FeedAll(d, chunks, &s);
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_EQ(events.size(), 3u) << "step " << step;
    EXPECT_EQ(events[0].type, WatchEvent::Type::kAdded);
    EXPECT_EQ(events[1].object.resource_version(), "2");
    EXPECT_EQ(events[2].type, WatchEvent::Type::kBookmark);
    EXPECT_TRUE(d.Finish().ok());
  }
}

TEST(WatchDecoderTest, StreamCutMidEventIsDataLoss) {
  WatchDecoder d;
  absl::Status s;
  auto events = FeedAll(d,
                        {R"({"type":"ADDED","object":{}})"
                         "\n",
                         R"({"type":"MODIFIED","obj)"},
                        &s);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(events.size(), 1u);
  EXPECT_EQ(d.Finish().code(), absl::StatusCode::kDataLoss);
}

TEST(WatchDecoderTest, MalformedFramesAreRefused) {
  for (const char* bad : {"garbage\n", "[1]\n",
                          R"({"type":"ADDED"})"
                          "\n",
                          R"({"type":7,"object":{}})"
                          "\n",
                          R"({"type":"NOPE","object":{}})"
                          "\n",
                          R"({"type":"ADDED","object":[]})"
                          "\n"}) {
    WatchDecoder d;
    absl::Status s;
    FeedAll(d, {bad}, &s);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << bad;
  }
}

TEST(WatchDecoderTest, OversizedFrameIsRefused) {
  WatchDecoder d(/*max_frame_bytes=*/1024);
  absl::Status s;
  FeedAll(d, {std::string(600, ' '), std::string(600, ' ')}, &s);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
}

TEST(WatchDecoderTest, HandlerErrorStopsDecoding) {
  WatchDecoder d;
  int calls = 0;
  auto s = d.Feed(R"({"type":"ADDED","object":{}})"
                  "\n"
                  R"({"type":"ADDED","object":{}})"
                  "\n",
                  [&](const WatchEvent&) {
                    ++calls;
                    return absl::CancelledError("stop");
                  });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace kube
