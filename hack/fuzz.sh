#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time from the checked-in seed corpus plus what earlier
# runs on this machine found (~/.cache/ringkeeper/fuzz-corpus, or $RINGKEEPER_FUZZ_CORPUS: each run
# goes on from the coverage the last one reached instead of starting over from the seeds). A
# crash fails the run and leaves its input in the build dir.
#   hack/fuzz.sh <fuzz build dir> <seconds per target>
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/fuzz}
seconds=${2:-20}
corpora=${RINGKEEPER_FUZZ_CORPUS:-$HOME/.cache/ringkeeper/fuzz-corpus}
for target in object_json watch_frame cql_result config_jar; do
  corpus="$corpora/$target"
  mkdir -p "$corpus"
  cp -n fuzz/corpus/$target/* "$corpus/"
  echo "fuzzing $target for ${seconds}s"
  "$build/fuzz/${target}_fuzzer" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
    -artifact_prefix="$build/" -print_final_stats=0 "$corpus" 2>&1 | grep -E '^Done|==[0-9]+==|SUMMARY' || true
  # libFuzzer exits non-zero on a crash; rerunning the corpus gives that verdict.
  "$build/fuzz/${target}_fuzzer" -runs=0 "$corpus" >/dev/null 2>&1
  if ls "$build"/crash-* "$build"/leak-* "$build"/timeout-* >/dev/null 2>&1; then
    echo "fuzz: $target found a failing input: $(ls "$build"/crash-* "$build"/leak-* "$build"/timeout-* 2>/dev/null)" >&2
    exit 1
  fi
done
