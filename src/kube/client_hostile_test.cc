// kube::Client against a real HTTP server on loopback that misbehaves on purpose: truncated
// and oversized bodies, wrong content types, streams cut mid-event, throttling. Each must give
// a clear, typed error and never crash or hang.
#include <atomic>
#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "kube/client.h"
#include "kube/errors.h"

namespace kube {
namespace {

constexpr char kEvent[] =
    R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1"}}})"
    "\n";

// Runs `server` (already bound) on `thread` and waits, 5 s at most, until it accepts.
::testing::AssertionResult Serve(httplib::Server& server, std::thread& thread) {
  thread = std::thread([&server] { server.listen_after_bind(); });
  for (int i = 0; i < 500 && !server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (server.is_running()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "the test server did not start in 5 s";
}

class HostileServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/api/v1/namespaces/ns/pods/truncated", [](const auto&, auto& res) {
      res.set_content(R"({"kind":"Pod","metadata":{"na)", "application/json");
    });
    server_.Get("/api/v1/namespaces/ns/pods/huge", [](const auto&, auto& res) {
      res.set_content("{\"x\":\"" + std::string(4 << 20, 'a') + "\"}", "application/json");
    });
    server_.Get("/api/v1/namespaces/ns/pods/html", [](const auto&, auto& res) {
      res.set_content("<html>proxy error</html>", "text/html");
    });
    server_.Get("/api/v1/namespaces/ns/pods/busy", [this](const auto&, auto& res) {
      if (busy_calls_++ == 0) {
        res.status = 429;
        res.set_header("Retry-After", "1");
        res.set_content(R"({"kind":"Status","reason":"TooManyRequests","code":429})",
                        "application/json");
        return;
      }
      res.set_content(R"({"kind":"Pod","metadata":{"name":"busy"}})", "application/json");
    });
    server_.Get("/api/v1/namespaces/ns/pods/down", [this](const auto&, auto& res) {
      ++down_calls_;
      res.status = 503;
      res.set_header("Retry-After", "0");
      res.set_content("unavailable", "text/plain");
    });
    // Watches, keyed by namespace.
    server_.Get("/api/v1/namespaces/cut/pods", [](const auto&, auto& res) {
      res.set_chunked_content_provider("application/json", [](size_t, httplib::DataSink& sink) {
        std::string data = std::string(kEvent) + R"({"type":"MODIFIED","object":{"meta)";
        sink.write(data.data(), data.size());
        sink.done();
        return true;
      });
    });
    server_.Get("/api/v1/namespaces/garbage/pods", [](const auto&, auto& res) {
      res.set_content(std::string(kEvent) + "this is not json\n", "application/json");
    });
    server_.Get("/api/v1/namespaces/gone/pods", [](const auto&, auto& res) {
      res.set_content(R"({"type":"ERROR","object":{"kind":"Status","code":410,)"
                      R"json("reason":"Expired","message":"too old resource version: 1 (5)"}})json"
                      "\n",
                      "application/json");
    });
    server_.Get("/api/v1/namespaces/reset/pods", [](const auto&, auto& res) {
      // Promises more bytes than it sends, then drops the connection.
      res.set_content_provider(100000, "application/json",
                               [](size_t offset, size_t, httplib::DataSink& sink) {
                                 if (offset > 0) return false;
                                 sink.write(kEvent, sizeof(kEvent) - 1);
                                 return true;
                               });
    });
    server_.Get("/api/v1/namespaces/endless/pods", [this](const auto&, auto& res) {
      res.set_chunked_content_provider("application/json", [this](size_t, httplib::DataSink& sink) {
        const std::string bookmark =
            R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"5"}}})"
            "\n";
        while (!stopping_ && sink.is_writable()) {
          if (!sink.write(bookmark.data(), bookmark.size())) return false;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a slow, live stream
        }
        return false;
      });
    });
    // A watch with nothing to say: headers, then silence (for 10 s at most, so a client that
    // cannot cancel it fails the test rather than hanging it).
    server_.Get("/api/v1/namespaces/quiet/pods", [this](const auto&, auto& res) {
      quiet_watches_++;
      res.set_chunked_content_provider("application/json", [this](size_t, httplib::DataSink& sink) {
        for (int i = 0; i < 1000 && !stopping_ && sink.is_writable(); ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        sink.done();
        return true;
      });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    ASSERT_TRUE(Serve(server_, thread_));
  }

  void TearDown() override {
    stopping_ = true;
    server_.stop();
    thread_.join();
  }

  Client MakeClient(size_t max_bytes = size_t{1} << 20, int max_retries = 5) {
    RestConfig config;
    config.server = absl::StrCat("http://127.0.0.1:", port_);
    config.max_response_bytes = max_bytes;
    config.max_retries = max_retries;
    config.timeout = absl::Seconds(10);
    return Client(config);
  }

  absl::Status WatchNs(Client& client, const std::string& ns, int* events,
                       const std::atomic<bool>* cancel = nullptr) {
    return client.Watch(
        resources::kPods, ns, {},
        [&](const WatchEvent&) {
          ++*events;
          return true;
        },
        cancel);
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> busy_calls_{0};
  std::atomic<int> down_calls_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<int> quiet_watches_{0};
};

TEST_F(HostileServerTest, TruncatedJsonIsDataLoss) {
  auto client = MakeClient();
  auto got = client.Get(resources::kPods, "ns", "truncated");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << got.status();
}

TEST_F(HostileServerTest, HugeBodyIsRefusedAtTheLimit) {
  auto client = MakeClient(size_t{1} << 20);
  auto got = client.Get(resources::kPods, "ns", "huge");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kResourceExhausted) << got.status();
  EXPECT_NE(got.status().message().find("exceeds the limit"), absl::string_view::npos);
}

TEST_F(HostileServerTest, WrongContentTypeIsNamed) {
  auto client = MakeClient();
  auto got = client.Get(resources::kPods, "ns", "html");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(got.status().message().find("text/html"), absl::string_view::npos) << got.status();
}

TEST_F(HostileServerTest, TooManyRequestsHonoursRetryAfter) {
  auto client = MakeClient();
  const absl::Time start = absl::Now();
  auto got = client.Get(resources::kPods, "ns", "busy");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->name(), "busy");
  EXPECT_EQ(busy_calls_.load(), 2);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(900)) << "did not wait for Retry-After: 1";
}

TEST_F(HostileServerTest, RetriesAreBounded) {
  auto client = MakeClient(size_t{1} << 20, /*max_retries=*/2);
  auto got = client.Get(resources::kPods, "ns", "down");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(down_calls_.load(), 3);
}

TEST_F(HostileServerTest, WatchCutMidEventIsDataLossAfterTheWholeEvents) {
  auto client = MakeClient();
  int events = 0;
  auto s = WatchNs(client, "cut", &events);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_EQ(events, 1);
}

TEST_F(HostileServerTest, WatchGarbageLineIsDataLoss) {
  auto client = MakeClient();
  int events = 0;
  auto s = WatchNs(client, "garbage", &events);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_EQ(events, 1);
}

TEST_F(HostileServerTest, WatchErrorEventBecomesTypedGone) {
  auto client = MakeClient();
  int events = 0;
  auto s = WatchNs(client, "gone", &events);
  EXPECT_TRUE(IsGone(s)) << s;
  EXPECT_EQ(events, 0);
}

TEST_F(HostileServerTest, WatchConnectionDroppedIsUnavailable) {
  auto client = MakeClient();
  int events = 0;
  auto s = WatchNs(client, "reset", &events);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_EQ(events, 1);
}

TEST_F(HostileServerTest, WatchIsCancellable) {
  auto client = MakeClient();
  std::atomic<bool> cancel{false};
  std::atomic<int> events{0};
  std::thread canceller([&] {
    while (events.load() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    cancel = true;
  });
  auto s = client.Watch(
      resources::kPods, "endless", {},
      [&](const WatchEvent&) {
        ++events;
        return true;
      },
      &cancel);
  canceller.join();
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled) << s;
}

// The transport blocks in a read while a watch is quiet: cancelling must still end it.
TEST_F(HostileServerTest, QuietWatchIsCancellable) {
  auto client = MakeClient();
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    while (quiet_watches_.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    cancel = true;
  });
  int events = 0;
  const absl::Time start = absl::Now();
  auto s = WatchNs(client, "quiet", &events, &cancel);
  canceller.join();
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled) << s;
  EXPECT_EQ(events, 0);
  std::printf("quiet watch cancelled in %s\n", absl::FormatDuration(absl::Now() - start).c_str());
}

TEST_F(HostileServerTest, HandlerCanStopAWatch) {
  auto client = MakeClient();
  int events = 0;
  auto s = client.Watch(
      resources::kPods, "endless", {}, [&](const WatchEvent&) { return ++events < 2; }, nullptr);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(events, 2);
}

// A kept-alive connection whose server went away (a restart on the same port) is not reused.
// (Over plain HTTP httplib sees the closed socket itself; over TLS the server's close_notify makes
// it look alive and the request fails before any response: the transport then sends it once more
// on a new connection, which InformerIntegrationTest.RelistsAfterGone... shows against a
// restarted kube-apiserver.)
TEST(ClientTransportTest, ConnectionClosedByARestartedServerIsReplaced) {
  std::atomic<int> served{0};
  auto serve = [&](httplib::Server& server) {
    server.Get("/version", [&](const auto&, auto& res) {
      ++served;
      res.set_content(R"({"gitVersion":"v1.34.4"})", "application/json");
    });
  };
  httplib::Server first;
  first.set_keep_alive_timeout(1);  // stop() waits for a kept-alive connection's timeout
  serve(first);
  const int port = first.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread first_thread;
  ASSERT_TRUE(Serve(first, first_thread));
  RestConfig config;
  config.server = absl::StrCat("http://127.0.0.1:", port);
  Client client(config);
  ASSERT_TRUE(client.ServerVersion().ok());
  first.stop();  // closes the kept-alive connection
  first_thread.join();

  httplib::Server second;
  second.set_keep_alive_timeout(1);
  serve(second);
  ASSERT_TRUE(second.bind_to_port("127.0.0.1", port));
  std::thread second_thread;
  ASSERT_TRUE(Serve(second, second_thread));
  auto version = client.ServerVersion();
  second.stop();
  second_thread.join();
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, "v1.34.4");
  EXPECT_EQ(served.load(), 2);
}

TEST(ClientTransportTest, RefusedConnectionIsUnavailable) {
  RestConfig config;
  config.server = "http://127.0.0.1:1";  // nothing listens on port 1
  Client client(config);
  EXPECT_EQ(client.Get(resources::kPods, "ns", "x").status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace kube
