#!/usr/bin/env bash
# Runs the client-runtime benchmark and the same three measurements with kubectl on the same
# API server, and prints them side by side. Starts the integration environment when it is not
# running (and stops it again afterwards).
#   bench/run.sh <build dir holding bench/kube_bench>
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
env_script="$root/test/env/kube-env.sh"
ns=bench-kube
configmaps=${BENCH_CONFIGMAPS:-10000}
pods=${BENCH_PODS:-2000}

bash "$root/hack/kubebin/build.sh" >/dev/null
started=0
if ! bash "$env_script" status >/dev/null 2>&1; then
  bash "$env_script" up >/dev/null
  started=1
fi
cleanup() { [ "$started" = 1 ] && bash "$env_script" down >/dev/null 2>&1 || true; }
trap cleanup EXIT
set -a
source "${RINGKEEPER_ENV_DIR:-/tmp/ringkeeper-env}/env"
set +a
kubectl="$(bash "$root/hack/tools.sh")/kubectl"

ours=$("$build/bench/kube_bench" --namespace "$ns" --configmaps "$configmaps" --pods "$pods")
echo "$ours"
figure() { echo "$ours" | awk -v n="$1" '$1 == "figure" && $2 == n { print $3 }'; }

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
now_ms() { date +%s%3N; }

# kubectl: list (it pages by 500 as well) and decode to JSON output.
list_ms=$(for _ in 1 2 3; do
  t0=$(now_ms); "$kubectl" get configmaps -n "$ns" -o json >/dev/null; echo $(($(now_ms) - t0))
done | median)

# kubectl: the same watch-from-0 stream, read raw (kubectl has no caching watch of its own).
path="/api/v1/namespaces/$ns/configmaps?watch=1&resourceVersion=0&labelSelector=bench%3Dkube"
watch_rate=$(for _ in 1 2 3; do
  # The stream stays open after the replay; stop the clock at the last replayed event, then
  # stop kubectl.
  t0=$(now_ms)
  exec {stream}< <(exec "$kubectl" get --raw "$path" 2>/dev/null)
  kubectl_pid=$!
  head -n "$configmaps" <&"$stream" >/dev/null
  t1=$(now_ms)
  exec {stream}<&-
  kill "$kubectl_pid" 2>/dev/null || true
  echo "$configmaps $((t1 - t0))" | awk '{ printf "%.0f\n", $1 / ($2 / 1000) }'
done | median)

# kubectl: peak memory holding the pods decoded, minus its peak for an empty list.
rss_full=$(/usr/bin/time -f %M "$kubectl" get pods -n "$ns" -l bench=kube -o json 2>&1 >/dev/null | tail -n 1)
rss_empty=$(/usr/bin/time -f %M "$kubectl" get pods -n "$ns" -l bench=none -o json 2>&1 >/dev/null | tail -n 1)
per_pod=$(( (rss_full - rss_empty) * 1024 / pods ))

printf '\n%-40s %16s %16s\n' "measurement" "ringkeeper" "kubectl"
printf '%-40s %16s %16s\n' "list $configmaps ConfigMaps (ms, median of 3)" "$(figure list_configmaps_ms)" "$list_ms"
printf '%-40s %16s %16s\n' "watch events/s (decode into cache)" "$(figure watch_events_per_second)" "$watch_rate (raw)"
printf '%-40s %16s %16s\n' "memory per cached Pod (bytes)" "$(figure memory_per_cached_pod_bytes)" "$per_pod (peak RSS)"
printf '%-40s %16s\n' "Pod JSON size (bytes)" "$(figure json_per_pod_bytes)"
