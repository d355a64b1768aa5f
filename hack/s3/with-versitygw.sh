#!/usr/bin/env bash
# Runs a command against a real S3 server: versitygw (hack/s3/versitygw.sh) on a free loopback
# port, serving a fresh posix directory, with generated root credentials (in its environment,
# never on a command line). The command sees S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY. The server
# and its directory are removed afterwards, whatever the command's result (its exit status).
#   hack/s3/with-versitygw.sh <command> [args...]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
gw=$(bash "$root/hack/s3/versitygw.sh")
dir=$(mktemp -d /tmp/rk-versitygw.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export S3_ENDPOINT="http://127.0.0.1:$port" S3_ACCESS_KEY="rk-test-$RANDOM"
S3_SECRET_KEY=$(openssl rand -hex 20)
export S3_SECRET_KEY
mkdir -p "$dir/data"
ROOT_ACCESS_KEY_ID=$S3_ACCESS_KEY ROOT_SECRET_ACCESS_KEY=$S3_SECRET_KEY \
  "$gw" --port "127.0.0.1:$port" --region us-east-1 --quiet posix "$dir/data" >"$dir/log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
# Up when it answers HTTP at all (an unsigned request is refused with 403).
for _ in $(seq 100); do
  kill -0 "$pid" 2>/dev/null || { echo "versitygw exited:"; cat "$dir/log"; exit 1; }
  code=$(curl -s -o /dev/null -w '%{http_code}' "$S3_ENDPOINT/" || true)
  [ "$code" != 000 ] && break
  sleep 0.1
done
[ "$code" != 000 ] || { echo "versitygw did not answer on $S3_ENDPOINT in 10 s"; cat "$dir/log"; exit 1; }
"$@"
