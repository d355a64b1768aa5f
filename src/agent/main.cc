// ringkeeper-agent: `init` (init container) renders the node's conf; `serve` (sidecar) is the
// operator's HTTP API to the node. Wiring only; the logic lives in config/, node/, server/.
#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "agent/config/init.h"
#include "base/log.h"

int main(int argc, char** argv) {
  CLI::App app{"ringkeeper-agent: configures and manages one Cassandra node"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");

  agent::config::InitOptions init;
  auto* init_cmd = app.add_subcommand("init", "render the node's configuration (init container)");
  init_cmd->add_option("--base-conf", init.base_conf_dir, "the image's conf folder")->required();
  init_cmd->add_option("--out-conf", init.out_conf_dir, "conf folder Cassandra reads")->required();
  init_cmd->add_option("--settings", init.settings_file, "operator settings (JSON)")->required();
  init_cmd->add_option("--overrides", init.overrides_file, "cassandra.yaml overrides (YAML)");
  init_cmd->add_option("--config-keys", init.known_keys_file,
                       "cassandra.yaml keys this Cassandra version knows")
      ->required();
  init_cmd->add_option("--memory-limit", init.memory_limit_bytes,
                       "bytes (default: the container's limit)");

  CLI11_PARSE(app, argc, argv);
  base::InitLogging(log_level);

  if (*init_cmd) {
    auto result = agent::config::RunInit(init);
    if (!result.ok()) {
      spdlog::error("init: {}", result.status().message());
      return 1;
    }
    std::printf("start mode: %s\nconf: %s\n",
                std::string(agent::config::StartModeName(result->mode)).c_str(),
                result->conf_dir.c_str());
    return 0;
  }
  return 0;
}
