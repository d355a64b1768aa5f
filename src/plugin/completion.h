// `kubectl ringkeeper completion bash|zsh`: the shell completion script. Completes the commands
// and their flags, and Cluster and pod names from the cluster (through kubectl, with the
// namespace the command line names).
#pragma once

#include <string>

namespace ringkeeper::plugin {

// "bash" or "zsh" (zsh through bashcompinit); "" for another shell.
std::string CompletionScript(const std::string& shell);

}  // namespace ringkeeper::plugin
