#!/usr/bin/env bash
# Creates (once) a Python venv with the real cassandra-driver and PyYAML, for tests that read and
# write data as a user would and read the project's manifests. Prints the venv's path.
set -euo pipefail
venv="${RINGKEEPER_CACHE:-$HOME/.cache/ringkeeper}/venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c "import cassandra, yaml" 2>/dev/null; then
  # The pure-Python driver is enough for tests and installs in seconds (no Cython build).
  CASS_DRIVER_NO_CYTHON=1 CASS_DRIVER_NO_EXTENSIONS=1 "$venv/bin/pip" install -q cassandra-driver \
    'PyYAML>=6,<7' >&2
fi
echo "$venv"
