#!/usr/bin/env bash
# The node-metrics bench of `make bench` (src/agent/testing/metrics_bench.py): one real
# Cassandra node with 100 user tables and its agent on loopback; /metrics p50/p99 and Cassandra
# CPU per scrape beside `nodetool tablestats`, same node, same run.
#   bench/metrics.sh <build dir holding src/agent/ringkeeper-agent>
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
venv=$(bash "$root/hack/cassandra/venv.sh")
exec "$venv/bin/python" "$root/src/agent/testing/metrics_bench.py" \
  "$build/src/agent/ringkeeper-agent" "${BENCH_SCRAPES:-200}"
