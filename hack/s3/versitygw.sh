#!/usr/bin/env bash
# Builds versitygw (the S3 server of the backup tests and the demo; Apache-2.0) from the Go module
# proxy at the version pinned in versions.env, into ~/.cache/ringkeeper/versitygw/<version>/bin.
# Prints the binary's path; a second run with the binary present does nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/versions.env"
bin="${RINGKEEPER_CACHE:-$HOME/.cache/ringkeeper}/versitygw/$VERSITYGW_VERSION/bin"
if [ ! -x "$bin/versitygw" ]; then
  mkdir -p "$bin"
  echo "versitygw: building $VERSITYGW_VERSION from the Go module proxy (a few minutes)" >&2
  GOBIN="$bin" GOFLAGS=-trimpath go install -ldflags="-s -w" \
    "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" >&2
fi
echo "$bin/versitygw"
