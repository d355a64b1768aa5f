#!/usr/bin/env bash
# Proves the base conf in images/cassandra/conf starts a single Cassandra 5.0 node on
# 127.0.0.1 and that it answers CQL (Python cassandra-driver, cassandra/cassandra login).
# The node is killed on exit, whatever the result. Usage: hack/cassandra/smoke.sh [address]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
addr="${1:-127.0.0.1}"
eval "$("$root/hack/cassandra/fetch.sh")"
venv="$("$root/hack/cassandra/venv.sh")"

node="$(mktemp -d /tmp/rk-smoke.XXXXXX)"
mkdir -p "$node/conf"
cp "$root"/images/cassandra/conf/* "$node/conf/"
# Node-specific settings (what `ringkeeper-agent init` does properly): directories and addresses.
sed -i -e "s#/var/lib/cassandra#$node/data#g" -e "s#127\.0\.0\.1#$addr#g" "$node/conf/cassandra.yaml"
printf -- '-Xms512m\n-Xmx512m\n' >"$node/conf/jvm-ringkeeper.options"

pid=""
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  rm -rf "$node"
}
trap cleanup EXIT

start=$(date +%s)
CASSANDRA_LIB="$CASSANDRA_LIB" CASSANDRA_CONF="$node/conf" CASSANDRA_LOG_DIR="$node/logs" \
  "$root/hack/cassandra/cassandra-run.sh" -Dcassandra.skip_wait_for_gossip_to_settle=0 \
  -Dcassandra.ring_delay_ms=1000 -Dcassandra.jmx.local.port=7199 >"$node/stdout.log" 2>&1 &
pid=$!

# Bounded wait: CQL answers or the process died or 180 s passed.
deadline=$((start + 180))
until "$venv/bin/python" - "$addr" <<'PY' >/dev/null 2>&1
import sys
from cassandra.cluster import Cluster
from cassandra.auth import PlainTextAuthProvider
c = Cluster([sys.argv[1]], auth_provider=PlainTextAuthProvider("cassandra", "cassandra"),
            connect_timeout=2, control_connection_timeout=2)
s = c.connect()
s.execute("SELECT release_version FROM system.local")
PY
do
  if ! kill -0 "$pid" 2>/dev/null; then tail -40 "$node/stdout.log"; echo "smoke: cassandra exited" >&2; exit 1; fi
  if [ "$(date +%s)" -ge "$deadline" ]; then tail -40 "$node/stdout.log"; echo "smoke: no CQL within 180s" >&2; exit 1; fi
  sleep 1
done
echo "smoke: CQL up after $(( $(date +%s) - start ))s"
"$venv/bin/python" - "$addr" <<'PY'
import sys
from cassandra.cluster import Cluster
from cassandra.auth import PlainTextAuthProvider
c = Cluster([sys.argv[1]], auth_provider=PlainTextAuthProvider("cassandra", "cassandra"))
s = c.connect()
print("release_version:", s.execute("SELECT release_version FROM system.local").one()[0])
s.execute("CREATE KEYSPACE IF NOT EXISTS smoke WITH replication = {'class':'SimpleStrategy','replication_factor':1}")
s.execute("CREATE TABLE IF NOT EXISTS smoke.t (k int PRIMARY KEY, v text)")
s.execute("INSERT INTO smoke.t (k, v) VALUES (1, 'hello')")
print("row:", s.execute("SELECT v FROM smoke.t WHERE k = 1").one()[0])
PY
grep -E "WARN|ERROR" "$node/logs/system.log" | grep -v "rlimit\|memlock\|swap" | head -10 || true
