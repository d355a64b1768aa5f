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
# 14's table), unless a second operator binary is given: then that one is measured too, in the
# same run, and the two are printed side by side instead.
#
#   bench/operator_scale.sh <build dir holding src/operator/ringkeeper-operator> [N ...]
# N defaults to $BENCH_SCALE_CLUSTERS or "100 300 1000". The environment is brought up fresh for
# each N (and down at the end), so one size's deletions never load the next.
#
# The second operator: cass-operator (k8ssandra/cass-operator), its manager binary built from its
# source outside this repository (neither is ever committed here):
#   BENCH_SCALE_OTHER=/path/to/manager         its binary
#   BENCH_SCALE_OTHER_CRDS=/path/to/crd/bases  a directory of its CRD manifests (its
#                                              config/crd/bases: CassandraDatacenter and the rest)
#   e.g. BENCH_SCALE_OTHER=... BENCH_SCALE_OTHER_CRDS=... make bench-scale SIZES="100 300"
# For each N, after Ringkeeper, the environment is brought up fresh again with its CRDs and an
# image ConfigMap, it runs out of cluster on the same kubeconfig (WATCH_NAMESPACE=scale, leader
# election off, webhooks off, metrics over plain HTTP on loopback, info logging: no debug; in a
# mount namespace of its own, so as root: see start_operator), and N CassandraDatacenters of the
# same shape are created at once (one rack of 3, 1Gi of storage class "default", 500m/2Gi). It is
# measured the same way, from /proc and from its own metrics (client-go's request counter for its
# writes), except: settled is no write by it for a window as long as Ringkeeper's, its queue not
# waited on (see settle); after the restart, converged is every datacenter reconciled once, read
# from its log (see reconciled_all). The two are then printed side by side, with the CPU each
# spends per second once settled.
#
# Other settings: BENCH_SCALE_ENV_DIR (state dir, /tmp/ringkeeper-scale-env), BENCH_SCALE_TIMEOUT
# (bound of every wait, 900 s), and the environment's ports BENCH_SCALE_ETCD_PORT (23890),
# BENCH_SCALE_ETCD_PEER_PORT (23900), BENCH_SCALE_APISERVER_PORT (26543), BENCH_SCALE_KCM_PORT
# (26544), to run two copies at once.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || read -r -a sizes <<<"${BENCH_SCALE_CLUSTERS:-100 300 1000}"
operator=$build/src/operator/ringkeeper-operator
other=${BENCH_SCALE_OTHER:-}
other_crds=${BENCH_SCALE_OTHER_CRDS:-}
other_name=cass-operator
env_script=$root/test/env/kube-env.sh
export RINGKEEPER_ENV_DIR=${BENCH_SCALE_ENV_DIR:-/tmp/ringkeeper-scale-env}
# Ports of its own, so a running integration environment is left alone.
export RINGKEEPER_ETCD_PORT=${BENCH_SCALE_ETCD_PORT:-23890}
export RINGKEEPER_ETCD_PEER_PORT=${BENCH_SCALE_ETCD_PEER_PORT:-23900}
export RINGKEEPER_APISERVER_PORT=${BENCH_SCALE_APISERVER_PORT:-26543}
export RINGKEEPER_KCM_PORT=${BENCH_SCALE_KCM_PORT:-26544}
resync=15
timeout=${BENCH_SCALE_TIMEOUT:-900}  # bound of every wait, in seconds
ns=scale
work=$(mktemp -d)
op_pid=
kind=ringkeeper  # the operator being measured: ringkeeper or other
oplog=$work/operator.log

log() { printf 'scale: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
cleanup() {
  [ -n "$op_pid" ] && kill "$op_pid" 2>/dev/null && wait "$op_pid" 2>/dev/null
  bash "$env_script" down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

[ -x "$operator" ] || die "no operator binary at $operator (cmake --build --preset release --target ringkeeper-operator)"
if [ -n "$other" ]; then
  [ -x "$other" ] || die "BENCH_SCALE_OTHER: no executable at $other"
  [ -d "$other_crds" ] || die "BENCH_SCALE_OTHER_CRDS: no directory of CRDs at '$other_crds'"
  command -v unshare >/dev/null || die "running $other_name out of cluster needs unshare (util-linux)"
fi
bash "$root/hack/kubebin/build.sh" >/dev/null
kubectl="$(bash "$root/hack/tools.sh")/kubectl"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# RSS in MiB and CPU seconds (user + system) of a live process.
rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
cpu_seconds() { awk -v t="$(cpu_ticks "$1")" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz }'; }

metrics() { curl -sf "http://127.0.0.1:$metrics_port/metrics"; }
# The value of one sample (name and labels as written), 0 when absent.
# (Counters may come as "1e+05": awk reads them as numbers.)
sample() { awk -v s="$1" '$1 == s { v = $2 } END { printf "%.0f\n", v }'; }
# The operator's writes so far: every request to the API server but reads (lists, watches).
writes() {
  if [ "$kind" = other ]; then
    # client-go's counter, by HTTP method (lists and watches are GETs).
    awk '/^rest_client_requests_total\{/ && !/method="GET"/ { n += $NF } END { printf "%.0f\n", n }'
  else
    awk '/^ringkeeper_kube_requests_total\{/ && !/verb="(GET|WATCH)"/ { n += $2 } END { printf "%.0f\n", n }'
  fi
}
cluster_queue_idle() {
  local m
  m=$(metrics) || return 1
  [ "$(echo "$m" | sample 'ringkeeper_workqueue_depth{controller="cluster"}')" = 0 ] &&
    [ "$(echo "$m" | sample 'ringkeeper_workqueue_processing{controller="cluster"}')" = 0 ]
}
# After a restart: every Cluster was reconciled once (taken from the queue, and the queue drained).
# For cass-operator, every datacenter was reconciled once: see reconciled_count. Its queue
# is not waited on (see settle), nor is its reconcile count: that counts its retries too, so N
# reconciles need not be N datacenters.
reconciled_all() {
  if [ "$kind" = other ]; then
    [ "$(reconciled_count "$2")" -ge "$1" ]
  else
    [ "$(metrics | sample 'ringkeeper_workqueue_adds_total{controller="cluster"}')" -ge "$1" ] &&
      cluster_queue_idle
  fi
}

ready() { curl -sf "http://127.0.0.1:$1/readyz" >/dev/null; }
start_operator() {
  metrics_port=$(free_port)
  local health_port
  health_port=$(free_port)
  if [ "$kind" = other ]; then
    # cass-operator reads its own namespace (where its image ConfigMap is) from the file every pod
    # has, /var/run/secrets/kubernetes.io/serviceaccount/namespace, and exits without it: out of
    # cluster it sees one in a mount namespace of its own, $work/run over /run, so nothing on the
    # machine changes. unshare and sh exec, so $! is the operator's own pid.
    # shellcheck disable=SC2016 # expanded by that sh
    KUBECONFIG=$RINGKEEPER_ENV_DIR/kubeconfig WATCH_NAMESPACE=$ns \
      unshare --mount --propagation private sh -c 'mount --bind "$0" /run && exec "$@"' "$work/run" \
      "$other" --leader-elect=false --metrics-bind-address "127.0.0.1:$metrics_port" \
      --metrics-secure=false --health-probe-bind-address "127.0.0.1:$health_port" \
      --zap-devel=false --zap-log-level=info >>"$oplog" 2>&1 &
  else
    "$operator" --kubeconfig "$RINGKEEPER_ENV_DIR/kubeconfig" --namespace "$ns" \
      --leader-elect=false --metrics-port "$metrics_port" --health-port "$health_port" \
      --resync "$resync" --log-level warn >>"$oplog" 2>&1 &
  fi
  op_pid=$!
  poll 60 0.2 ready "$health_port" || die "the operator was not ready in 60 s"
}
stop_operator() {
  kill -TERM "$op_pid"
  wait "$op_pid" 2>/dev/null || true
  op_pid=
}

# Polls `$3...` every $2 seconds until it succeeds (status 0) or $1 seconds have passed
# (status 1). The operator exiting meanwhile, if one runs, ends the run.
poll() {
  local deadline=$((SECONDS + $1)) every=$2
  shift 2
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    [ -z "$op_pid" ] || kill -0 "$op_pid" 2>/dev/null || die "the operator exited: $(tail -n 5 "$oplog")"
    sleep "$every"
  done
}
# Waits until `$2...` succeeds, bounded by $timeout; a timeout ends the run ($1 says what for).
wait_for() {
  local what=$1
  shift
  poll "$timeout" 0.5 "$@" || die "timed out after ${timeout}s waiting for $what"
}
# Datacenters the other operator reconciled since log line $1: those named in the context
# controller-runtime gives every log line of a reconcile ("CassandraDatacenter":{"name":...}).
# Not its "Reconcile loop completed" line: a reconcile that ends by requeueing (pods not ready)
# need not log it. One worker: a reconcile begins once the one before it ended, so the last one
# counted is the only one that may still be running.
reconciled_count() {
  tail -n +"$1" "$oplog" | grep -o '"CassandraDatacenter":{"name":"[^"]*"' | sort -u | wc -l
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

# The same shape for cass-operator: a CassandraDatacenter is one DC of one cluster. Each is named
# c$i (cluster c$i): cass-operator refuses two datacenters of one namespace with the same name,
# so they cannot all be "dc1". It has no user ConfigMap (its config is inline in the spec).
other_manifest() {
  local n=$1 i
  for ((i = 0; i < n; i++)); do
    cat <<YAML
---
apiVersion: cassandra.datastax.com/v1beta1
kind: CassandraDatacenter
metadata: {name: c$i, namespace: $ns}
spec:
  clusterName: c$i
  serverType: cassandra
  serverVersion: "5.0.9"
  size: 3
  racks:
  - name: r1
  storageConfig:
    cassandraDataVolumeClaimSpec:
      accessModes: [ReadWriteOnce]
      storageClassName: default
      resources: {requests: {storage: 1Gi}}
  resources:
    requests: {cpu: 500m, memory: 2Gi}
    limits: {cpu: 500m, memory: 2Gi}
YAML
  done
}

# What cass-operator needs besides its CRDs: the image ConfigMap it looks up in its own namespace
# at start (images are never pulled here: no kubelet).
other_ns=cass-operator-system
other_setup() {
  "$kubectl" apply --server-side -f "$other_crds" >/dev/null
  # kubectl wait fails at once, rather than waiting, while a new CRD has no conditions yet.
  poll 60 0.5 "$kubectl" wait --for=condition=Established --timeout=5s \
    crd/cassandradatacenters.cassandra.datastax.com >/dev/null 2>&1 ||
    die "$other_name's CRDs not established in 60 s"
  "$kubectl" create namespace "$other_ns" >/dev/null
  "$kubectl" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: image-config
  namespace: $other_ns
  labels: {k8ssandra.io/config: image}
data:
  image_config.yaml: |
    apiVersion: config.k8ssandra.io/v1beta2
    kind: ImageConfig
    metadata: {name: image-config}
    images:
      system-logger: {repository: k8ssandra, name: system-logger, tag: latest, registry: ghcr.io}
      config-builder: {repository: datastax, name: cass-config-builder, tag: 1.0-ubi}
      k8ssandra-client: {repository: k8ssandra, name: k8ssandra-client, tag: v0.8.12}
    defaults: {registry: docker.io, pullPolicy: IfNotPresent}
    types:
      cassandra: {repository: k8ssandra, name: cass-management-api, suffix: -ubi, registry: ghcr.io}
YAML
  mkdir -p "$work/run/secrets/kubernetes.io/serviceaccount"
  echo "$other_ns" >"$work/run/secrets/kubernetes.io/serviceaccount/namespace"
}

# Settled: the queue idle and no write during a whole resync period (every quiet Cluster had a
# pass in it). Sets settled_writes and quiet_cpu (the operator's CPU over that window, ms per s).
# For cass-operator, settled is no write by it for the same window, its queue not looked at: it
# fails the reconcile of every datacenter whose pods are not running ("no pods were ready to be
# started in any rack") and controller-runtime retries each with a growing backoff, so its queue
# is busy on and off for many minutes while it has nothing to write.
# Bounded by $timeout: returns 1 if no window was quiet by then.
settle() {
  local before after t1 c1 end deadline=$((SECONDS + timeout))
  while [ $SECONDS -lt $deadline ]; do
    [ "$kind" = other ] || wait_for "the operator's queue to drain" cluster_queue_idle
    before=$(metrics | writes)
    t1=$(now)
    c1=$(cpu_ticks "$op_pid")
    end=$((SECONDS + resync + 2))
    while [ $SECONDS -lt $end ]; do sleep 1; done  # a window of quiet, not a guess at a condition
    after=$(metrics | writes)
    if [ "$before" = "$after" ] && { [ "$kind" = other ] || cluster_queue_idle; }; then
      settled_writes=$after
      quiet_cpu=$(awk -v a="$c1" -v b="$(cpu_ticks "$op_pid")" -v hz="$(getconf CLK_TCK)" \
        -v t="$t1" -v u="$(now)" 'BEGIN { printf "%.0f", 1000 * (b - a) / hz / (u - t) }')
      return 0
    fi
    kill -0 "$op_pid" 2>/dev/null || die "the operator exited: $(tail -n 5 "$oplog")"
  done
  settled_writes=$after
  quiet_cpu=-
  return 1
}

# A fresh environment, its namespace, the operator started.
fresh_env() {
  bash "$env_script" down >/dev/null 2>&1 || true
  bash "$env_script" up >/dev/null
  export KUBECONFIG=$RINGKEEPER_ENV_DIR/kubeconfig
  if [ "$kind" = other ]; then
    other_setup
  else
    "$kubectl" --kubeconfig "$RINGKEEPER_ENV_DIR/kubeconfig" apply --server-side -f "$root/charts/ringkeeper/files/crds" >/dev/null
  fi
  "$kubectl" create namespace "$ns" >/dev/null
  : >"$oplog"
  start_operator
}

declare -A result
# Measures the operator of $kind at N=$2 into result[$2,$1...] ($1: "" for Ringkeeper, "o_" for
# the other) and logs as it goes, prefixed with $3.
measure() {
  local p=$1 n=$2 who=$3 t0
  if [ "$kind" = other ]; then other_manifest "$n"; else manifest "$n"; fi >"$work/clusters.yaml"

  t0=$(now)
  "$kubectl" create -f "$work/clusters.yaml" >/dev/null
  log "${who}N=$n: created in $(since "$t0") s"
  wait_for "$n StatefulSets" have statefulsets "$n"
  result[$n,${p}sts]=$(since "$t0")
  log "${who}N=$n: every Cluster has its StatefulSet after ${result[$n,${p}sts]} s"
  wait_for "$((3 * n)) pods" have pods $((3 * n))
  if settle; then
    result[$n,${p}settled]=$(since "$t0")
  else
    [ "$kind" = other ] || die "timed out after ${timeout}s waiting for a resync period without a write"
    result[$n,${p}settled]="-"  # never quiet: the figures below are at the end of the bound
    log "${who}N=$n: no quiet window of $((resync + 2)) s within ${timeout}s; figures taken then"
  fi
  result[$n,${p}writes]=$settled_writes
  result[$n,${p}quiet_cpu]=$quiet_cpu
  result[$n,${p}rss]=$(rss_mib "$op_pid")
  result[$n,${p}cpu]=$(cpu_seconds "$op_pid")
  result[$n,${p}objects]=$("$kubectl" get statefulsets,services,configmaps,poddisruptionbudgets,secrets,serviceaccounts -n "$ns" --no-headers | wc -l)
  log "${who}N=$n: settled; RSS ${result[$n,${p}rss]} MiB, CPU ${result[$n,${p}cpu]} s, ${result[$n,${p}writes]} writes"

  stop_operator
  local from=$(($(wc -l <"$oplog") + 1))
  t0=$(now)
  start_operator
  if [ "$kind" = other ]; then
    # cass-operator may never get to some datacenters (failing ones retried ahead of them): that
    # is its figure, "-" with how many it reached, not the end of the run.
    if poll "$timeout" 0.5 reconciled_all "$n" "$from"; then
      result[$n,${p}restart]=$(since "$t0")
    else
      result[$n,${p}restart]="-($(reconciled_count "$from")/$n)"
      log "${who}N=$n: after ${timeout}s, $(reconciled_count "$from") of $n reconciled since the restart"
    fi
  else
    wait_for "every Cluster reconciled after the restart" reconciled_all "$n" "$from"
    result[$n,${p}restart]=$(since "$t0")
  fi
  result[$n,${p}restart_writes]=$(metrics | writes)
  result[$n,${p}restart_rss]=$(rss_mib "$op_pid")
  result[$n,${p}restart_cpu]=$(cpu_seconds "$op_pid")
  log "${who}N=$n: converged after restart in ${result[$n,${p}restart]} s with ${result[$n,${p}restart_writes]} writes"
  stop_operator
}

for n in "${sizes[@]}"; do
  kind=ringkeeper
  log "N=$n: a fresh environment"
  fresh_env
  measure "" "$n" ""
  if [ -n "$other" ]; then
    kind=other
    log "$other_name N=$n: a fresh environment"
    fresh_env
    measure o_ "$n" "$other_name "
    kind=ringkeeper
  fi
done

printf '\n%-8s %10s %10s %10s %12s %12s %14s %12s %12s\n' N "RSS MiB" "CPU s" "STS s" \
  "objects" "writes" "restart s" "restart wr." "restart RSS"
for n in "${sizes[@]}"; do
  printf '%-8s %10s %10s %10s %12s %12s %14s %12s %12s\n' "$n" "${result[$n,rss]}" \
    "${result[$n,cpu]}" "${result[$n,sts]}" "${result[$n,objects]}" "${result[$n,writes]}" \
    "${result[$n,restart]}" "${result[$n,restart_writes]}" "${result[$n,restart_rss]}"
done
# Growth and CPU per cluster, of Ringkeeper ($1 "") or of the other ($1 "o_", lines prefixed $2).
per_cluster() {
  local p=$1 who=$2 prev='' n
  for n in "${sizes[@]}"; do
    if [ -n "$prev" ]; then
      awk -v who="$who" -v a="$prev" -v b="$n" -v ra="${result[$prev,${p}rss]}" -v rb="${result[$n,${p}rss]}" \
        -v ca="${result[$prev,${p}cpu]}" -v cb="${result[$n,${p}cpu]}" 'BEGIN {
          printf "%sgrowth %s -> %s: %.3f MiB RSS and %.1f ms CPU per added cluster\n", who, a, b,
            (rb - ra) / (b - a), 1000 * (cb - ca) / (b - a) }'
    fi
    prev=$n
  done
  for n in "${sizes[@]}"; do
    awk -v who="$who" -v n="$n" -v c="${result[$n,${p}cpu]}" 'BEGIN { printf "%sCPU per cluster at N=%s: %.1f ms\n", who, n, 1000 * c / n }'
  done
}
per_cluster "" ""

if [ -z "$other" ]; then
  cat <<'REF'

reference (issue 14), measured the same way before this bench existed: both operators out of
cluster on the integration environment, N clusters of 3 nodes in one namespace; cass-operator is
current main built from source, debug logging off.
N      Ringkeeper RSS MiB   cass-operator RSS MiB   Ringkeeper CPU s   cass-operator CPU s
100                    79                      95                6.8                     -
300             198 / 197               164 / 168        20.6 / 19.8           30.7 / 32.8
REF
  exit 0
fi

# Side by side. Columns: RSS and CPU once settled, seconds until every StatefulSet; then seconds
# from creation until settled (the end of the first quiet window; "-": none within the bound),
# the CPU over that quiet window (ms per s: what it spends when there is nothing to do), the
# writes by then, and after a restart the seconds until every Cluster/datacenter was reconciled
# once (for Ringkeeper: with the queue drained), the writes and RSS by then. That restart figure
# is not a time until cass-operator's CPU is idle: it keeps retrying, with a growing backoff,
# every datacenter whose pods do not start, which leaves no clear point from which it is idle.
per_cluster o_ "$other_name: "
printf '\n%-6s %11s %11s %10s %10s %10s %10s %8s %8s   (RK: Ringkeeper, CO: %s)\n' N "RK RSS MiB" \
  "CO RSS MiB" "RK CPU s" "CO CPU s" "RK STS s" "CO STS s" "RK objs" "CO objs" "$other_name"
for n in "${sizes[@]}"; do
  printf '%-6s %11s %11s %10s %10s %10s %10s %8s %8s\n' "$n" "${result[$n,rss]}" "${result[$n,o_rss]}" \
    "${result[$n,cpu]}" "${result[$n,o_cpu]}" "${result[$n,sts]}" "${result[$n,o_sts]}" \
    "${result[$n,objects]}" "${result[$n,o_objects]}"
done
printf '\n%-6s %10s %10s %10s %10s %9s %9s %10s %10s %8s %8s %8s %8s\n' N "RK settled" "CO settled" \
  "RK idle" "CO idle" "RK wr." "CO wr." "RK rst s" "CO rst s" "RK r.wr" "CO r.wr" "RK r.RSS" "CO r.RSS"
for n in "${sizes[@]}"; do
  printf '%-6s %10s %10s %10s %10s %9s %9s %10s %10s %8s %8s %8s %8s\n' "$n" \
    "${result[$n,settled]}" "${result[$n,o_settled]}" "${result[$n,quiet_cpu]}" "${result[$n,o_quiet_cpu]}" \
    "${result[$n,writes]}" "${result[$n,o_writes]}" "${result[$n,restart]}" "${result[$n,o_restart]}" \
    "${result[$n,restart_writes]}" "${result[$n,o_restart_writes]}" "${result[$n,restart_rss]}" \
    "${result[$n,o_restart_rss]}"
done
echo "(settled: s from creation; idle: CPU ms per s over the quiet window; wr.: writes; rst: restart)"
