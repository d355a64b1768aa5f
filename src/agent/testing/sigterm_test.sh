#!/usr/bin/env bash
# `ringkeeper-agent serve` stops cleanly on SIGTERM (exit 0, within seconds), as the kubelet
# stops a pod's sidecar: the stop runs on the signal thread (base::StopSignals), not in a
# handler. Usage: sigterm_test.sh <ringkeeper-agent>
set -euo pipefail
source "$(dirname "$0")/../../../test/lib/sigterm.sh"
binary=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo token >"$dir/token"
# Port 0: the OS picks a free port, so parallel runs do not collide.
"$binary" serve --listen 127.0.0.1 --port 0 --token-file "$dir/token" >"$dir/log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  grep -qF "agent serving on" "$dir/log" && break
  sleep 0.1
done
grep -qF "agent serving on" "$dir/log" || { echo "FAIL: not serving after 10 s"; cat "$dir/log"; kill -KILL "$pid"; exit 1; }
expect_clean_stop "$pid" "$dir/log"
