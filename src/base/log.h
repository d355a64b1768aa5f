// Logging for all Ringkeeper binaries: spdlog with one process-wide logger.
//
// Rule: never log a Secret's data, a bearer token or a private key. Objects are logged through
// kube::RedactedForLog; HTTP requests are logged by method, path and status only.
#pragma once

#include <memory>

#include "absl/strings/string_view.h"
#include "spdlog/spdlog.h"

// Debian's abseil has its own string_view (not std::string_view); teach fmt to print it so
// status messages can be logged directly.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(absl::string_view s, FormatContext& ctx) const {
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(s.data(), s.size()), ctx);
  }
};

namespace base {

// Sets the default logger's level ("trace", "debug", "info", "warn", "error") and a
// structured-ish pattern: time, level, logger, message. Thread-safe after the first call.
void InitLogging(absl::string_view level);

// Adds a sink to the default logger (tests capture logs with spdlog's ostream sink).
void AddLogSink(std::shared_ptr<spdlog::sinks::sink> sink);

}  // namespace base
