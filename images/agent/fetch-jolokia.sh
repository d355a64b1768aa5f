#!/usr/bin/env bash
# Copies the Jolokia JVM agent (classifier javaagent) from Maven to OUT_DIR/jolokia-agent.jar:
#   fetch-jolokia.sh OUT_DIR JOLOKIA_VERSION [mvn flags...]
# Run on the host first by hack/images.sh, then offline (-o) in the Dockerfile's jolokia stage
# over the host's Maven repository: see images/cassandra/fetch-jars.sh for why.
set -euo pipefail
out=$1 version=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mvn -q -B "$@" dependency:copy \
  -Dartifact="org.jolokia:jolokia-agent-jvm:$version:jar:javaagent" -DoutputDirectory="$tmp"
mkdir -p "$out"
mv "$tmp/jolokia-agent-jvm-$version-javaagent.jar" "$out/jolokia-agent.jar"
