#!/usr/bin/env bash
# Builds Ringkeeper's container images with podman from the Dockerfiles under images/, and imports
# them into the local cluster's containerd (namespace k8s.io) when it runs.
#
#   hack/images.sh [base|pause|cassandra[:VERSION]|agent|operator ...]     default: all
#
# `cassandra` is $CASSANDRA_VERSION (versions.env); `cassandra:4.1.10` another version of the
# same image (its own tag), e.g. $CASSANDRA_UPGRADE_FROM_VERSION, the one e2e 17 upgrades from.
#
# No registry here: the base image `debian:bookworm-slim` is made locally (images/base/make-base.sh)
# and the pause image is built from source. The same Dockerfiles build with `docker build` where a
# registry is reachable (see images/README.md). An image is rebuilt only when its inputs changed:
# the hash of its build context, Dockerfile and build arguments is stored as the image label
# ringkeeper.inputs, in podman's storage and in containerd's.
#
# Prints one line per image: name, whether built/imported, and seconds taken.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/versions.env"
cache=${RINGKEEPER_CACHE:-$HOME/.cache/ringkeeper}
sock=${RINGKEEPER_CONTAINERD_SOCK:-/run/ringkeeper-containerd/containerd.sock}
ctr_bin="$cache/cluster/bin/ctr"
log() { echo "images: $*" >&2; }

# podman cannot raise hard rlimits here (TESTBED.md): containers get these.
conf=/etc/containers/containers.conf.d/ringkeeper.conf
if [ ! -f "$conf" ]; then
  mkdir -p "$(dirname "$conf")"
  printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]\n' >"$conf"
fi

version_of() { # cassandra[:VERSION] -> VERSION
  case $1 in
    cassandra:*) echo "${1#cassandra:}" ;;
    *) echo "$CASSANDRA_VERSION" ;;
  esac
}
dir_of() { echo "${1%%:*}"; } # images/<dir>/Dockerfile

image_ref() {
  case $1 in
    base) echo localhost/debian:bookworm-slim ;;
    pause) echo registry.k8s.io/pause:3.10 ;;
    cassandra | cassandra:*) echo "localhost/ringkeeper/cassandra:$(version_of "$1")" ;;
    agent) echo localhost/ringkeeper/ringkeeper-agent:dev ;;
    operator) echo localhost/ringkeeper/ringkeeper-operator:dev ;;
    *) log "unknown image $1"; exit 2 ;;
  esac
}
# The build context of each image and the paths in it that are inputs (repo-relative).
context_of() {
  case $1 in
    pause | cassandra | cassandra:*) echo "images/$(dir_of "$1")" ;;
    agent | operator) echo . ;;
  esac
}
inputs_of() {
  case $1 in
    pause | cassandra | cassandra:*) echo "images/$(dir_of "$1")" ;;
    agent | operator) echo "images/$1 CMakeLists.txt CMakePresets.json cmake src .dockerignore" ;;
  esac
}
build_args_of() {
  case $1 in
    cassandra | cassandra:*) echo "--build-arg=CASSANDRA_VERSION=$(version_of "$1") --build-arg=MAVEN_FLAGS=-o --build-arg=WHEELS=/wheels" ;;
    agent) echo "--build-arg=JOLOKIA_VERSION=$JOLOKIA_VERSION --build-arg=JOLOKIA_JAVA11_VERSION=$JOLOKIA_JAVA11_VERSION --build-arg=MAVEN_FLAGS=-o" ;;
  esac
}

# The downloads of an image (Maven jars into ~/.m2, cqlsh wheels into $cache/wheels), made on the
# host; the build mounts both and installs offline, because a build container does not trust the
# certificate authority the registries are reached through here (TESTBED.md).
prefetch() { # name
  local tmp
  tmp=$(mktemp -d)
  case $1 in
    cassandra | cassandra:*)
      bash "$root/images/cassandra/fetch-jars.sh" "$tmp" "$(version_of "$1")"
      bash "$root/images/cassandra/fetch-cqlsh.sh" "$cache/wheels"
      ;;
    agent)
      bash "$root/images/agent/fetch-jolokia.sh" "$tmp/j.jar" "$JOLOKIA_VERSION"
      bash "$root/images/agent/fetch-jolokia.sh" "$tmp/j11.jar" "$JOLOKIA_JAVA11_VERSION"
      ;;
  esac
  rm -rf "$tmp"
}

inputs_hash() { # name: content hash of every input file (tracked or not, unless ignored)
  local name=$1 paths
  read -r -a paths <<<"$(inputs_of "$name")"
  (
    cd "$root"
    echo "$name $(build_args_of "$name")"
    git ls-files -co --exclude-standard -- "${paths[@]}" | LC_ALL=C sort | while read -r f; do
      [ -f "$f" ] && printf '%s %s %s\n' "$f" "$(stat -c %a "$f")" "$(sha256sum <"$f" | cut -c1-64)"
    done
  ) | sha256sum | cut -c1-16
}

podman_label() { podman image inspect --format '{{index .Labels "ringkeeper.inputs"}}' "$1" 2>/dev/null || true; }

build() { # name
  local name=$1 ref hash t0 args
  ref=$(image_ref "$name")
  t0=$SECONDS
  if [ "$name" = base ]; then
    bash "$root/images/base/make-base.sh" >/dev/null
    hash=$(podman image inspect --format '{{.Id}}' "$ref" | cut -c1-16)
    BUILT="base ready ($((SECONDS - t0))s)"
  else
    hash=$(inputs_hash "$name")
    if [ "$(podman_label "$ref")" = "$hash" ]; then
      BUILT="$name unchanged"
    else
      log "building $ref"
      prefetch "$name"
      read -r -a args <<<"$(build_args_of "$name")"
      # --network=host: RUN steps (apt-get, mvn) use the machine's network, not podman's.
      # The Maven repository is shared with the build so jars are not downloaded twice; the
      # builder stage compiles through ccache into $cache/ccache-images (its own: another
      # compiler than the host's), so a change to one source recompiles that source only.
      mkdir -p "$HOME/.m2/repository" "$cache/wheels" "$cache/ccache-images"
      (cd "$root" && podman build --network=host --pull=never --layers \
        --volume "$HOME/.m2/repository:/root/.m2/repository" --volume "$cache/wheels:/wheels:ro" \
        --volume "$cache/ccache-images:/ccache" \
        --label "ringkeeper.inputs=$hash" "${args[@]}" \
        -f "images/$(dir_of "$name")/Dockerfile" -t "$ref" "$(context_of "$name")") \
        >"$cache/images/build-${name//:/-}.log" 2>&1 ||
        { tail -n 40 "$cache/images/build-${name//:/-}.log" >&2; log "building $ref failed"; exit 1; }
      BUILT="$name built in $((SECONDS - t0))s"
    fi
  fi
  import "$name" "$ref" "$hash"
}

# Into containerd's k8s.io namespace, labelled with the input hash; skipped when already there.
import() { # name ref hash
  local name=$1 ref=$2 hash=$3 t0=$SECONDS tar
  if [ ! -S "$sock" ] || [ ! -x "$ctr_bin" ]; then
    echo "$BUILT; not imported (no local cluster containerd at $sock)"
    return 0
  fi
  local ctr=("$ctr_bin" --address "$sock" -n k8s.io)
  if "${ctr[@]}" images ls "name==$ref" 2>/dev/null | grep "ringkeeper.inputs=$hash" >/dev/null; then
    echo "$BUILT; already in containerd"
    return 0
  fi
  tar="$cache/images/${name//:/-}.tar"
  rm -f "$tar"
  podman save --quiet --format docker-archive -o "$tar" "$ref" >/dev/null
  "${ctr[@]}" images import "$tar" >/dev/null
  rm -f "$tar"
  "${ctr[@]}" images label "$ref" "ringkeeper.inputs=$hash" >/dev/null
  echo "$BUILT; imported into containerd in $((SECONDS - t0))s"
}

mkdir -p "$cache/images"
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(base pause cassandra agent operator)
for n in "${names[@]}"; do
  case $n in base) ;; *) bash "$root/images/base/make-base.sh" >/dev/null ;; esac
  build "$n"
done
