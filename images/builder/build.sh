#!/usr/bin/env bash
# Runs inside the images' builder stage (images/agent and images/operator share it, so podman and
# docker build it once): configures the project with CMake (Release), builds the Ringkeeper
# binaries that exist, installs them to /out/bin, and lists the Debian packages their shared
# libraries come from in /out/runtime-packages.txt for the runtime stage to install.
# A binary whose target does not exist yet gets a placeholder that says so and exits 1.
set -euo pipefail
src=${1:-/src}
cmake -S "$src" -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
mkdir -p /out/bin
targets=()
for t in ringkeeper-operator ringkeeper-agent kubectl-ringkeeper; do
  # grep without -q reads all of ninja's output: -q would exit at the first match and
  # SIGPIPE ninja, which pipefail turns into "no such target".
  if ninja -C /build -t targets all | grep "^$t:" >/dev/null; then targets+=("$t"); fi
done
[ ${#targets[@]} -eq 0 ] || cmake --build /build --target "${targets[@]}"
for t in ringkeeper-operator ringkeeper-agent kubectl-ringkeeper; do
  bin=$(find /build -type f -name "$t" -perm -u+x -print -quit)
  if [ -n "$bin" ]; then
    install -m 0755 -s "$bin" "/out/bin/$t"
  else
    printf '#!/bin/sh\necho "%s: not yet (this image was built before the binary existed)" >&2\nexit 1\n' \
      "$t" >"/out/bin/$t"
    chmod 0755 "/out/bin/$t"
  fi
done
# The packages of every shared library the binaries load (their runtime dependencies).
for f in /out/bin/*; do
  file -b "$f" | grep -q ELF || continue
  ldd "$f" | awk '/=> \// { print $3 }'
done | sort -u | while read -r lib; do
  dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || true
done | cut -d: -f1 | sort -u >/out/runtime-packages.txt
echo "built: ${targets[*]:-none}; runtime packages: $(tr '\n' ' ' </out/runtime-packages.txt)"
