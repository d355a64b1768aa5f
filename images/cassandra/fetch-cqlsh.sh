#!/usr/bin/env bash
# Fetches the wheels of cqlsh-requirements.txt for the image's Python (Debian 12's CPython 3.11,
# x86-64) into WHEEL_DIR:
#   fetch-cqlsh.sh WHEEL_DIR
# hack/images.sh runs it on the host and mounts WHEEL_DIR into the build, whose venv then installs
# offline (PIP_FLAGS="--no-index --find-links /wheels"): a build container does not trust the
# certificate authority the host reaches PyPI through (TESTBED.md). Elsewhere (`docker build`
# with PyPI reachable) the Dockerfile downloads them itself.
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
python3 -m pip download -q --disable-pip-version-check --dest "$out" --only-binary=:all: \
  --platform manylinux2014_x86_64 --python-version 3.11 --implementation cp --no-deps \
  -r "$here/cqlsh-requirements.txt"
