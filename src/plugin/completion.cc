#include "plugin/completion.h"

namespace ringkeeper::plugin {
namespace {

// Completes `kubectl-ringkeeper ...`. (`kubectl ringkeeper ...` completes through kubectl's own
// protocol, an executable kubectl_complete-ringkeeper, which this plugin does not ship yet.)
constexpr char kBash[] =
    R"SH(# kubectl-ringkeeper completion (bash): source <(kubectl-ringkeeper completion bash)
_kubectl_ringkeeper_names() {
  local ns=() i
  for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
    case ${COMP_WORDS[i]} in
      -n | --namespace) ns=(--namespace "${COMP_WORDS[i + 1]}") ;;
      --namespace=*) ns=("${COMP_WORDS[i]}") ;;
    esac
  done
  kubectl get "$1" "${ns[@]}" ${2:+-l "$2"} -o 'jsonpath={.items[*].metadata.name}' 2>/dev/null
}
_kubectl_ringkeeper() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} cmd= i
  local commands="status restart replace cqlsh repair backup restore completion"
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      status | restart | replace | cqlsh | repair | backup | restore | completion)
        cmd=${COMP_WORDS[i]}; break ;;
    esac
  done
  case $prev in
    -n | --namespace) COMPREPLY=($(compgen -W "$(kubectl get namespaces -o 'jsonpath={.items[*].metadata.name}' 2>/dev/null)" -- "$cur")); return ;;
    --context) COMPREPLY=($(compgen -W "$(kubectl config get-contexts -o name 2>/dev/null)" -- "$cur")); return ;;
    --kubeconfig) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --type) COMPREPLY=($(compgen -W "full incremental preview" -- "$cur")); return ;;
    --parallelism) COMPREPLY=($(compgen -W "sequential parallel dc-parallel" -- "$cur")); return ;;
    -b | --backup) COMPREPLY=($(compgen -W "$(_kubectl_ringkeeper_names backups.cassandra.rook.io)" -- "$cur")); return ;;
  esac
  local flags="--kubeconfig --context -n --namespace -h --help"
  case $cmd in
    "") COMPREPLY=($(compgen -W "$commands $flags" -- "$cur")) ;;
    replace) COMPREPLY=($(compgen -W "$(_kubectl_ringkeeper_names pods cassandra.rook.io/cluster)" -- "$cur")) ;;
    cqlsh) COMPREPLY=($(compgen -W "$(_kubectl_ringkeeper_names clusters.cassandra.rook.io) $(_kubectl_ringkeeper_names pods cassandra.rook.io/cluster)" -- "$cur")) ;;
    completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")) ;;
    *)
      local more=
      case $cmd in
        repair) more="--keyspace --table --type --parallelism --intensity --segments-per-node --name --wait" ;;
        backup) more="--location --keyspace --name --wait" ;;
        restore) more="--backup --keyspace --point-in-time --name --wait" ;;
      esac
      COMPREPLY=($(compgen -W "$(_kubectl_ringkeeper_names clusters.cassandra.rook.io) $more" -- "$cur")) ;;
  esac
}
complete -F _kubectl_ringkeeper kubectl-ringkeeper
)SH";

constexpr char kZshPrelude[] =
    "# kubectl-ringkeeper completion (zsh): source <(kubectl-ringkeeper completion zsh)\n"
    "autoload -U +X bashcompinit && bashcompinit\n";

}  // namespace

std::string CompletionScript(const std::string& shell) {
  if (shell == "bash") return kBash;
  if (shell == "zsh") return std::string(kZshPrelude) + kBash;
  return "";
}

}  // namespace ringkeeper::plugin
