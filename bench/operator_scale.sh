#!/usr/bin/env bash
# The operator at scale: N Clusters of 3 nodes created at once in one namespace of the
# integration environment (etcd, kube-apiserver, kube-controller-manager; no kubelet, so pods
# stay Pending and no agent is ever reached), the operator out of cluster. For each N it prints:
#   - seconds until every Cluster has its StatefulSet;
#   - once settled (every object made, the work queue empty, no write for a whole resync
#     period): the operator's RSS and CPU seconds, from /proc;
#   - after a restart: seconds until every Cluster was reconciled once (the queue drained) and
#     the writes the new process made by then (it should make none), RSS and CPU again.
# Then the reference: Ringkeeper before this work and cass-operator, measured the same way (issue
# 14's table). Running a second operator binary here side by side is not built yet.
#
#   bench/operator_scale.sh <build dir holding src/operator/ringkeeper-operator> [N ...]
# N defaults to $BENCH_SCALE_CLUSTERS or "100 300 1000". The environment is brought up fresh for
# each N (and down at the end), so one size's deletions never load the next.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || read -r -a sizes <<<"${BENCH_SCALE_CLUSTERS:-100 300 1000}"
operator=$build/src/operator/ringkeeper-operator
env_script=$root/test/env/kube-env.sh
export RINGKEEPER_ENV_DIR=${BENCH_SCALE_ENV_DIR:-/tmp/ringkeeper-scale-env}
# Ports of its own, so a running integration environment is left alone.
export RINGKEEPER_ETCD_PORT=23890 RINGKEEPER_ETCD_PEER_PORT=23900
export RINGKEEPER_APISERVER_PORT=26543 RINGKEEPER_KCM_PORT=26544
resync=15
timeout=${BENCH_SCALE_TIMEOUT:-900}  # bound of every wait, in seconds
ns=scale
work=$(mktemp -d)
op_pid=

log() { printf 'scale: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
cleanup() {
  [ -n "$op_pid" ] && kill "$op_pid" 2>/dev/null && wait "$op_pid" 2>/dev/null
  bash "$env_script" down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

[ -x "$operator" ] || die "no operator binary at $operator (cmake --build --preset release --target ringkeeper-operator)"
bash "$root/hack/kubebin/build.sh" >/dev/null
kubectl="$(bash "$root/hack/tools.sh")/kubectl"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# RSS in MiB and CPU seconds (user + system) of a live process.
rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.1f", ($12 + $13) / hz }' "/proc/$1/stat"
}

metrics() { curl -sf "http://127.0.0.1:$metrics_port/metrics"; }
# The value of one sample (name and labels as written), 0 when absent.
# (Counters may come as "1e+05": awk reads them as numbers.)
sample() { awk -v s="$1" '$1 == s { v = $2 } END { printf "%.0f\n", v }'; }
writes() {
  awk '/^ringkeeper_kube_requests_total\{/ && !/verb="(GET|WATCH)"/ { n += $2 } END { printf "%.0f\n", n }'
}
cluster_queue_idle() {
  local m
  m=$(metrics) || return 1
  [ "$(echo "$m" | sample 'ringkeeper_workqueue_depth{controller="cluster"}')" = 0 ] &&
    [ "$(echo "$m" | sample 'ringkeeper_workqueue_processing{controller="cluster"}')" = 0 ]
}

start_operator() {
  metrics_port=$(free_port)
  local health_port
  health_port=$(free_port)
  "$operator" --kubeconfig "$RINGKEEPER_ENV_DIR/kubeconfig" --namespace "$ns" \
    --leader-elect=false --metrics-port "$metrics_port" --health-port "$health_port" \
    --resync "$resync" --log-level warn >>"$work/operator.log" 2>&1 &
  op_pid=$!
  local deadline=$((SECONDS + 60))
  until curl -sf "http://127.0.0.1:$health_port/readyz" >/dev/null; do
    kill -0 "$op_pid" 2>/dev/null || die "the operator exited: $(tail -n 5 "$work/operator.log")"
    [ $SECONDS -lt $deadline ] || die "the operator was not ready in 60 s"
    sleep 0.2
  done
}
stop_operator() {
  kill -TERM "$op_pid"
  wait "$op_pid" 2>/dev/null || true
  op_pid=
}

# Waits until `$@` succeeds, polling every 0.5 s, bounded by $timeout.
wait_for() {
  local what=$1 deadline=$((SECONDS + timeout))
  shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || die "timed out after ${timeout}s waiting for $what"
    kill -0 "$op_pid" 2>/dev/null || die "the operator exited: $(tail -n 5 "$work/operator.log")"
    sleep 0.5
  done
}
count() { "$kubectl" get "$1" -n "$ns" --no-headers 2>/dev/null | wc -l; }
have() { [ "$(count "$1")" -ge "$2" ]; }

# The Clusters: the seed's shape (one DC, one rack of 3, a user ConfigMap named), sized small.
manifest() {
  local n=$1 i
  for ((i = 0; i < n; i++)); do
    cat <<YAML
---
apiVersion: cassandra.rook.io/v1alpha1
kind: Cluster
metadata: {name: c$i, namespace: $ns}
spec:
  version: "5.0.9"
  dataCenter:
    name: dc1
    racks:
    - name: r1
      members: 3
      configMapName: cassandra-config
      storage:
        volumeClaimTemplates:
        - metadata: {name: cassandra-data}
          spec:
            accessModes: [ReadWriteOnce]
            storageClassName: default
            resources: {requests: {storage: 1Gi}}
      resources:
        requests: {cpu: 500m, memory: 2Gi}
        limits: {cpu: 500m, memory: 2Gi}
YAML
  done
}

# Settled: the queue idle and no write during a whole resync period (every quiet Cluster had a
# pass in it). Prints the writes made so far.
settle() {
  local before after
  while :; do
    wait_for "the operator's queue to drain" cluster_queue_idle
    before=$(metrics | writes)
    local deadline=$((SECONDS + resync + 2))
    while [ $SECONDS -lt $deadline ]; do sleep 1; done  # a window of quiet, not a guess at a condition
    after=$(metrics | writes)
    [ "$before" = "$after" ] && cluster_queue_idle && break
  done
  echo "$after"
}

declare -A result
for n in "${sizes[@]}"; do
  log "N=$n: a fresh environment"
  bash "$env_script" down >/dev/null 2>&1 || true
  bash "$env_script" up >/dev/null
  "$kubectl" --kubeconfig "$RINGKEEPER_ENV_DIR/kubeconfig" apply --server-side -f "$root/charts/ringkeeper/files/crds" >/dev/null
  export KUBECONFIG=$RINGKEEPER_ENV_DIR/kubeconfig
  "$kubectl" create namespace "$ns" >/dev/null
  : >"$work/operator.log"
  start_operator
  manifest "$n" >"$work/clusters.yaml"

  t0=$(now)
  "$kubectl" create -f "$work/clusters.yaml" >/dev/null
  log "N=$n: created in $(since "$t0") s"
  wait_for "$n StatefulSets" have statefulsets "$n"
  result[$n,sts]=$(since "$t0")
  log "N=$n: every Cluster has its StatefulSet after ${result[$n,sts]} s"
  wait_for "$((3 * n)) pods" have pods $((3 * n))
  result[$n,writes]=$(settle)
  result[$n,rss]=$(rss_mib "$op_pid")
  result[$n,cpu]=$(cpu_seconds "$op_pid")
  result[$n,objects]=$("$kubectl" get statefulsets,services,configmaps,poddisruptionbudgets,secrets,serviceaccounts -n "$ns" --no-headers | wc -l)
  log "N=$n: settled; RSS ${result[$n,rss]} MiB, CPU ${result[$n,cpu]} s, ${result[$n,writes]} writes"

  stop_operator
  t0=$(now)
  start_operator
  wait_for "every Cluster reconciled after the restart" eval \
    '[ "$(metrics | sample "ringkeeper_workqueue_adds_total{controller=\"cluster\"}")" -ge "$n" ] && cluster_queue_idle'
  result[$n,restart]=$(since "$t0")
  result[$n,restart_writes]=$(metrics | writes)
  result[$n,restart_rss]=$(rss_mib "$op_pid")
  result[$n,restart_cpu]=$(cpu_seconds "$op_pid")
  log "N=$n: converged after restart in ${result[$n,restart]} s with ${result[$n,restart_writes]} writes"
  stop_operator
done

printf '\n%-8s %10s %10s %10s %12s %12s %14s %12s %12s\n' N "RSS MiB" "CPU s" "STS s" \
  "objects" "writes" "restart s" "restart wr." "restart RSS"
for n in "${sizes[@]}"; do
  printf '%-8s %10s %10s %10s %12s %12s %14s %12s %12s\n' "$n" "${result[$n,rss]}" \
    "${result[$n,cpu]}" "${result[$n,sts]}" "${result[$n,objects]}" "${result[$n,writes]}" \
    "${result[$n,restart]}" "${result[$n,restart_writes]}" "${result[$n,restart_rss]}"
done
prev=
for n in "${sizes[@]}"; do
  if [ -n "$prev" ]; then
    awk -v a="$prev" -v b="$n" -v ra="${result[$prev,rss]}" -v rb="${result[$n,rss]}" \
      -v ca="${result[$prev,cpu]}" -v cb="${result[$n,cpu]}" 'BEGIN {
        printf "growth %s -> %s: %.3f MiB RSS and %.1f ms CPU per added cluster\n", a, b,
          (rb - ra) / (b - a), 1000 * (cb - ca) / (b - a) }'
  fi
  prev=$n
done
for n in "${sizes[@]}"; do
  awk -v n="$n" -v c="${result[$n,cpu]}" 'BEGIN { printf "CPU per cluster at N=%s: %.1f ms\n", n, 1000 * c / n }'
done

cat <<'REF'

reference (issue 14), measured the same way before this bench existed: both operators out of
cluster on the integration environment, N clusters of 3 nodes in one namespace; cass-operator is
current main built from source, debug logging off.
N      Ringkeeper RSS MiB   cass-operator RSS MiB   Ringkeeper CPU s   cass-operator CPU s
100                    79                      95                6.8                     -
300             198 / 197               164 / 168        20.6 / 19.8           30.7 / 32.8
REF
