#include "base/log.h"

#include <string>

#include "spdlog/sinks/stdout_color_sinks.h"

namespace base {

void InitLogging(absl::string_view level) {
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %n %v");
}

void AddLogSink(std::shared_ptr<spdlog::sinks::sink> sink) {
  spdlog::default_logger()->sinks().push_back(std::move(sink));
}

}  // namespace base
