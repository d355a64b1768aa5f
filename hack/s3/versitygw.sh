#!/usr/bin/env bash
# Builds versitygw (the S3 server of the backup tests and the demo; Apache-2.0) at the version
# pinned in versions.env (hack/go-tool.sh). Prints the binary's path.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/versions.env"
exec bash "$root/hack/go-tool.sh" versitygw "$VERSITYGW_VERSION" \
  github.com/versity/versitygw/cmd/versitygw
