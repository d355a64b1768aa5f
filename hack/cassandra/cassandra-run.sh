#!/usr/bin/env bash
# Runs one Cassandra 5.0 node in the foreground (exec), the way bin/cassandra would, from:
#   CASSANDRA_LIB   folder of jars (cassandra-all + dependencies; hack/cassandra/fetch.sh)
#   CASSANDRA_CONF  folder with cassandra.yaml, logback.xml, cassandra-rackdc.properties and
#                   jvm-server.options, jvm17-server.options, optional jvm-ringkeeper.options
#                   (written by `ringkeeper-agent init`: heap, Jolokia agent)
#   CASSANDRA_LOG_DIR (default /var/log/cassandra), CASSANDRA_STORAGE_DIR (optional)
# Extra arguments are passed to the JVM before the main class (e.g. -Dcassandra.ring_delay_ms=…).
# Usable in the container image as the entrypoint and by the tests on loopback addresses.
set -euo pipefail
: "${CASSANDRA_LIB:?}" "${CASSANDRA_CONF:?}"
log_dir="${CASSANDRA_LOG_DIR:-/var/log/cassandra}"
mkdir -p "$log_dir"

opts=()
for f in jvm-server.options jvm17-server.options jvm-ringkeeper.options; do
  [ -f "$CASSANDRA_CONF/$f" ] || continue
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line%%#*}"
    line="$(echo "$line" | xargs)"
    [ -n "$line" ] && opts+=("$line")
  done <"$CASSANDRA_CONF/$f"
done

jamm="$(ls "$CASSANDRA_LIB"/jamm-*.jar | head -1)"
storage=()
[ -n "${CASSANDRA_STORAGE_DIR:-}" ] && storage=("-Dcassandra.storagedir=$CASSANDRA_STORAGE_DIR")

exec java "${opts[@]}" \
  "-javaagent:$jamm" \
  "-Xlog:gc=info,safepoint=info:file=$log_dir/gc.log:time,uptime,level,tags:filecount=5,filesize=10m" \
  "-Dcassandra.config=file://$CASSANDRA_CONF/cassandra.yaml" \
  "-Dcassandra-rackdc.properties=file://$CASSANDRA_CONF/cassandra-rackdc.properties" \
  "-Dlogback.configurationFile=$CASSANDRA_CONF/logback.xml" \
  "-Dcassandra.logdir=$log_dir" \
  "${storage[@]}" \
  -Dcassandra-foreground=yes \
  "$@" \
  -cp "$CASSANDRA_CONF:$CASSANDRA_LIB/*" \
  org.apache.cassandra.service.CassandraDaemon
