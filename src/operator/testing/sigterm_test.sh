#!/usr/bin/env bash
# The operator stops cleanly on SIGTERM (exit 0, within seconds) even while its caches cannot
# sync: the stop runs on the signal thread, not in a handler. No API server is needed: the
# kubeconfig points at a closed port. Usage: sigterm_test.sh <ringkeeper-operator>
set -euo pipefail
source "$(dirname "$0")/../../../test/lib/sigterm.sh"
binary=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/kubeconfig" <<'YAML'
apiVersion: v1
kind: Config
clusters:
- name: none
  cluster: {server: "http://127.0.0.1:1"}
contexts:
- name: none
  context: {cluster: none, user: none, namespace: default}
current-context: none
users:
- name: none
  user: {token: none}
YAML
# Port 0: the OS picks free ports, so parallel runs do not collide.
"$binary" --kubeconfig "$dir/kubeconfig" --leader-elect=false --metrics-port 0 \
  --health-port 0 >"$dir/log" 2>&1 &
pid=$!
sleep 1
expect_clean_stop "$pid" "$dir/log"
