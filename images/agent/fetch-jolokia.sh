#!/usr/bin/env bash
# Copies the Jolokia JVM agent (classifier javaagent) from Maven to OUT_JAR:
#   fetch-jolokia.sh OUT_JAR JOLOKIA_VERSION [mvn flags...]
# Run on the host first by hack/images.sh, then offline (-o) in the Dockerfile's jolokia stage
# over the host's Maven repository: see images/cassandra/fetch-jars.sh for why.
set -euo pipefail
out=$1 version=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mvn -q -B "$@" dependency:copy \
  -Dartifact="org.jolokia:jolokia-agent-jvm:$version:jar:javaagent" -DoutputDirectory="$tmp"
mkdir -p "$(dirname "$out")"
mv "$tmp/jolokia-agent-jvm-$version-javaagent.jar" "$out"
