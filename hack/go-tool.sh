#!/usr/bin/env bash
# Builds a Go command from the Go module proxy at a pinned version into
# ~/.cache/ringkeeper/<name>/<version>/bin and prints the binary's path; a second run with the
# binary present does nothing. The tools the tests run that Debian does not package as needed
# (versitygw, Prometheus with Kubernetes discovery) come this way.
# Usage: go-tool.sh NAME VERSION PACKAGE [go install flags...]   (NAME: the binary's name)
set -euo pipefail
name=$1 version=$2 package=$3
shift 3
bin="${RINGKEEPER_CACHE:-$HOME/.cache/ringkeeper}/$name/$version/bin"
if [ ! -x "$bin/$name" ]; then
  mkdir -p "$bin"
  echo "$name: building $version from the Go module proxy (a few minutes)" >&2
  GOBIN="$bin" GOFLAGS=-trimpath go install -ldflags="-s -w" "$@" "$package@$version" >&2
fi
echo "$bin/$name"
