#!/usr/bin/env bash
# The operator stops cleanly on SIGTERM (exit 0, within seconds) even while its caches cannot
# sync: the stop runs on the signal thread, not in a handler. No API server is needed: the
# kubeconfig points at a closed port. Usage: sigterm_test.sh <ringkeeper-operator>
set -euo pipefail
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
kill -TERM "$pid"
rc=0
for _ in $(seq 100); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
  kill -KILL "$pid"
  echo "FAIL: still running 10 s after SIGTERM"; cat "$dir/log"; exit 1
fi
wait "$pid" || rc=$?
if [[ $rc -ne 0 ]]; then
  echo "FAIL: exit status $rc after SIGTERM"; cat "$dir/log"; exit 1
fi
grep -F "signal 15: stopping" "$dir/log" >/dev/null
echo "PASS"
