#!/usr/bin/env bash
# Proves `local-cluster.sh down` leaves nothing behind: brings the cluster up (if it is not), runs a
# pod with a PVC behind a Service (so there are container processes, mounts, a network namespace,
# kube-proxy rules and pod cgroups), checks each of those exists, then `down`, and checks each is
# gone (`local-cluster.sh check-clean`: processes, mounts, network namespaces, interfaces, veths,
# iptables rules, cgroups, state). Then `up` again from nothing (the warm up) and `up` once more
# (the idempotent up), printing their times. Leaves the cluster up.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cluster="$root/test/cluster/local-cluster.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
eval "$(bash "$cluster" up)"
K="$(bash "$root/hack/tools.sh")/kubectl"
"$K" delete namespace updown --ignore-not-found --wait=true >/dev/null
"$K" create namespace updown >/dev/null
"$K" -n updown apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: sleeper, labels: {app: sleeper}}
spec:
  terminationGracePeriodSeconds: 60
  containers:
  - name: c
    image: localhost/debian:bookworm-slim
    imagePullPolicy: Never
    command: [sh, -c, 'trap "" TERM; echo x > /data/x; sleep 3600']
    volumeMounts: [{name: d, mountPath: /data}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]
---
apiVersion: v1
kind: Service
metadata: {name: sleeper}
spec: {selector: {app: sleeper}, ports: [{port: 80}]}
YAML
"$K" -n updown wait --for=condition=Ready pod/sleeper --timeout=120s >/dev/null
state=$RINGKEEPER_CLUSTER_DIR
grep -q " $state/" /proc/self/mountinfo || fail "no mounts under $state while a pod runs"
# grep reads the whole output (no -q): under pipefail an early exit SIGPIPEs the writer (exit 141)
# once the rules outgrow one pipe buffer, as they do while another cluster (the demo) runs.
iptables-save -t nat | grep 'KUBE-SVC' >/dev/null || fail "no kube-proxy rules while a Service exists"
ls -d /sys/fs/cgroup/memory/ringkeeper/kubepods >/dev/null || fail "no pod cgroups"
find /run/ringkeeper-containerd -path '*netns*' | grep . >/dev/null || fail "no pod network namespace"
echo "updown: a pod with a PVC and a Service runs (mounts, netns, iptables rules, cgroups exist)"
t=$SECONDS
bash "$cluster" down || fail "down left something behind"
echo "updown: down in $((SECONDS - t))s, nothing left (check-clean)"
bash "$cluster" check-clean || fail "check-clean after down"
t=$SECONDS
bash "$cluster" up >/dev/null
echo "updown: warm up (from nothing, binaries and images cached) in $((SECONDS - t))s"
t=$SECONDS
bash "$cluster" up >/dev/null
echo "updown: second up (already up) in $((SECONDS - t))s"
echo PASS
