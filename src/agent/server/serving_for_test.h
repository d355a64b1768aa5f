// A Server run on a thread of its own, for tests: bound when the constructor returns (it waits up
// to 5 s for the server to listen; a Run that fails is a test failure), stopped and joined when
// destroyed.
#pragma once

#include <thread>
#include <utility>

#include "absl/time/clock.h"
#include "agent/server/server.h"
#include "gtest/gtest.h"

namespace agent::server {

class ServingForTest {
 public:
  template <typename... ServerArgs>
  explicit ServingForTest(ServerArgs&&... args) : server_(std::forward<ServerArgs>(args)...) {
    thread_ = std::thread([this] {
      const absl::Status ran = server_.Run();
      EXPECT_TRUE(ran.ok()) << ran;
    });
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (!server_.Listening() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  }
  ~ServingForTest() {
    server_.Stop();
    thread_.join();
  }
  ServingForTest(const ServingForTest&) = delete;
  ServingForTest& operator=(const ServingForTest&) = delete;

 private:
  Server server_;
  std::thread thread_;
};

}  // namespace agent::server
