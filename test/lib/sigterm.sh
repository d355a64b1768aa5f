# Sourced by the SIGTERM tests (src/operator/testing, src/agent/testing).
# expect_clean_stop pid log: sends SIGTERM to `pid` (a child of this shell) and requires it to
# exit 0 within 10 s having logged "signal 15: stopping"; prints PASS, or FAIL with the log and
# exits 1.
expect_clean_stop() {
  local pid=$1 log=$2 rc=0
  kill -TERM "$pid"
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
    echo "FAIL: still running 10 s after SIGTERM"; cat "$log"; exit 1
  fi
  wait "$pid" || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "FAIL: exit status $rc after SIGTERM"; cat "$log"; exit 1
  fi
  grep -F "signal 15: stopping" "$log" >/dev/null || { echo "FAIL: no stop logged"; cat "$log"; exit 1; }
  echo "PASS"
}
