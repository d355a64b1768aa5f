#!/usr/bin/env bash
# Creates (once) a Python venv with the real cassandra-driver, PyYAML and botocore, for tests that
# read and write data as a user would, read the project's manifests and check what backups
# stored. Prints the venv's path.
set -euo pipefail
venv="${RINGKEEPER_CACHE:-$HOME/.cache/ringkeeper}/venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
source "$(dirname "$0")/../../versions.env"
if ! "$venv/bin/python" -c "import cassandra, yaml, botocore" 2>/dev/null; then
  # The pure-Python driver is enough for tests and installs in seconds (no Cython build);
  # botocore reads what the agent's backups stored, as an independent S3 client.
  CASS_DRIVER_NO_CYTHON=1 CASS_DRIVER_NO_EXTENSIONS=1 "$venv/bin/pip" install -q cassandra-driver \
    'PyYAML>=6,<7' "botocore==$BOTOCORE_VERSION" >&2
fi
echo "$venv"
