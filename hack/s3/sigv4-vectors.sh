#!/usr/bin/env bash
# Regenerates src/s3/testdata/sigv4_vectors.json with botocore (pinned in versions.env) in its own
# venv under ~/.cache/ringkeeper. The unit test reads the committed file; run this to add cases.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/versions.env"
venv="${RINGKEEPER_CACHE:-$HOME/.cache/ringkeeper}/venv-botocore-$BOTOCORE_VERSION"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
"$venv/bin/python" -c "import botocore" 2>/dev/null ||
  "$venv/bin/pip" install -q "botocore==$BOTOCORE_VERSION" >&2
"$venv/bin/python" "$root/hack/s3/sigv4_vectors.py" "$root/src/s3/testdata/sigv4_vectors.json"
