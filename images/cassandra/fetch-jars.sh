#!/usr/bin/env bash
# Copies cassandra-all and its runtime dependencies from Maven into OUT_DIR:
#   fetch-jars.sh OUT_DIR CASSANDRA_VERSION [mvn flags...]
# One command in two places: hack/images.sh runs it on the host first (filling ~/.m2 with the
# jars and the Maven plugins), then the Dockerfile's fetch stage runs it again with -o (offline)
# over that repository, mounted. A build container does not trust the certificate authority the
# host reaches the registries through, so it must not download (TESTBED.md). Elsewhere
# (`docker build` with a reachable Maven Central) the stage simply downloads.
set -euo pipefail
out=$1 version=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
mvn -q -B "$@" -f "$here/pom.xml" -Dcassandra.version="$version" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$out"
test -f "$out/cassandra-all-$version.jar"
