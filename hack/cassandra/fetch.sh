#!/usr/bin/env bash
# Fetches Cassandra (cassandra-all and its runtime dependencies) and the Jolokia JVM agent from
# Maven Central with mvn, at the versions pinned in versions.env, into the cache:
#
#   ~/.cache/ringkeeper/cassandra/<version>/lib/*.jar
#   ~/.cache/ringkeeper/cassandra/<version>/config-keys.txt   (cassandra.yaml keys this version knows)
#   ~/.cache/ringkeeper/jolokia/jolokia-agent-jvm-<version>-javaagent.jar
#
# Idempotent: a complete cache is reused (a marker file is written last). Prints
#   CASSANDRA_HOME=... CASSANDRA_LIB=... CASSANDRA_CONFIG_KEYS=... JOLOKIA_JAR=...
# as shell assignments, so callers can `eval "$(hack/cassandra/fetch.sh)"`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=/dev/null
source "$root/versions.env"
cache="${RINGKEEPER_CACHE:-$HOME/.cache/ringkeeper}"
cass_home="$cache/cassandra/$CASSANDRA_VERSION"
jolokia_dir="$cache/jolokia"
jolokia_jar="$jolokia_dir/jolokia-agent-jvm-$JOLOKIA_VERSION-javaagent.jar"

log() { echo "fetch: $*" >&2; }

if [ ! -f "$cass_home/.complete" ]; then
  log "cassandra-all $CASSANDRA_VERSION and dependencies -> $cass_home/lib"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  cat >"$tmp/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.ringkeeper</groupId><artifactId>cassandra-fetch</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId><artifactId>cassandra-all</artifactId>
      <version>$CASSANDRA_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
  rm -rf "$cass_home.partial"
  mkdir -p "$cass_home.partial/lib"
  mvn -q -B -f "$tmp/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$cass_home.partial/lib" >&2
  touch "$cass_home.partial/.complete"
  rm -rf "$cass_home"
  mv "$cass_home.partial" "$cass_home"
fi

# The cassandra.yaml keys this version knows, listed from its jars, never by hand; the image runs
# the same probe (images/cassandra/Dockerfile). Listed again when the probe changes.
keys="$cass_home/config-keys.txt"
probe="$root/images/cassandra/ListConfigKeys.java"
if [ ! -s "$keys" ] || [ "$probe" -nt "$keys" ]; then
  log "cassandra.yaml keys -> $keys"
  java -cp "$cass_home/lib/*" "$probe" >"$keys.partial"
  [ -s "$keys.partial" ] || { log "no config keys listed"; exit 1; }
  mv "$keys.partial" "$keys"
fi

if [ ! -s "$jolokia_jar" ]; then
  log "jolokia-agent-jvm $JOLOKIA_VERSION -> $jolokia_dir"
  mkdir -p "$jolokia_dir"
  mvn -q -B dependency:copy \
    -Dartifact="org.jolokia:jolokia-agent-jvm:$JOLOKIA_VERSION:jar:javaagent" \
    -DoutputDirectory="$jolokia_dir.partial" >&2
  mv "$jolokia_dir.partial/jolokia-agent-jvm-$JOLOKIA_VERSION-javaagent.jar" "$jolokia_jar"
  rm -rf "$jolokia_dir.partial"
fi

echo "CASSANDRA_VERSION=$CASSANDRA_VERSION"
echo "CASSANDRA_HOME=$cass_home"
echo "CASSANDRA_LIB=$cass_home/lib"
echo "CASSANDRA_CONFIG_KEYS=$cass_home/config-keys.txt"
echo "JOLOKIA_JAR=$jolokia_jar"
