#!/usr/bin/env bash
# A real single-node Kubernetes on this machine, for the e2e tier and the demo: etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, kubelet on containerd + runc with a CNI
# bridge, kube-proxy in iptables mode, kube-network-policies (NetworkPolicies enforced: the bridge
# CNI enforces none), and rancher's local-path-provisioner behind a StorageClass named `default`
# (PVCs bind; deleting a PVC deletes its data). All run as plain processes.
#
#   test/cluster/local-cluster.sh up       start what is not running, wait until the node is Ready;
#                                          idempotent (a second `up` returns in seconds)
#   test/cluster/local-cluster.sh down     stop everything; leave no processes, mounts, network
#                                          namespaces, interfaces, iptables rules, cgroups or state
#   test/cluster/local-cluster.sh status   each component and the node; exit 1 unless healthy
#   test/cluster/local-cluster.sh env      `export KUBECONFIG=...` lines
#   test/cluster/local-cluster.sh check-clean  exit 1 (and say what) if anything of a cluster is left
#
# Binaries: hack/kubebin/build.sh (Kubernetes, etcd) and hack/cluster/build.sh (containerd, its runc
# shim, ctr, local-path-provisioner), versions in versions.env, cached in ~/.cache/ringkeeper.
# runc and the CNI plugins are Debian's. Images (the pause image, the base image the provisioner's
# helper pods run) come from hack/images.sh.
#
# Network: the node's address is the bridge's, 10.244.0.1 (pods 10.244.0.0/24); services are
# 10.96.0.0/16, routed to a port-less bridge (a dummy interface) so a service IP without a kube-proxy rule is dropped
# here. Pods get no default route, and a FORWARD guard drops anything from or to the pod range that
# would cross another interface. `up` checks that both ranges route only to local interfaces.
#
# State: ${RINGKEEPER_CLUSTER_DIR:-/var/lib/ringkeeper-cluster} (PKI, etcd, containerd, kubelet,
# volumes, logs/*.log). Ports (beside kube-env.sh's 23790/26443): etcd 13790/13800, apiserver
# 16443, controller-manager 16444, scheduler 16445, kubelet 10250 (node address) and 16448
# (healthz), kube-proxy 16449 (metrics) and 16456 (healthz), kube-network-policies 16457
# (metrics). All below the kernel's ephemeral range
# (32768-60999): a port in it can be held by any outgoing connection's local end at the moment a
# component binds (a CI run failed so: "bind 127.0.0.1:36444: address already in use").
set -euo pipefail

script="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
root=$(cd "$(dirname "$script")/../.." && pwd)
# shellcheck source=../../versions.env
source "$root/versions.env"

STATE=${RINGKEEPER_CLUSTER_DIR:-/var/lib/ringkeeper-cluster}
STATE=${STATE%/}
case $STATE in /?*) ;; *) echo "local-cluster: RINGKEEPER_CLUSTER_DIR must be an absolute path" >&2; exit 1 ;; esac
PKI="$STATE/pki"
LOGS="$STATE/logs"
RUN="$STATE/run"
MARKER="$STATE/.ringkeeper-local-cluster"
CACHE=${RINGKEEPER_CACHE:-$HOME/.cache/ringkeeper}
TIMEOUT=${RINGKEEPER_CLUSTER_TIMEOUT:-180}

NODE=ringkeeper-0
NODE_IP=10.244.0.1
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/16
APISERVER_SERVICE_IP=10.96.0.1
BRIDGE=rk-br0
SVC_DUMMY=rk-svc0
FW_CHAIN=RINGKEEPER-GUARD
ETCD_PORT=13790
ETCD_PEER_PORT=13800
APISERVER_PORT=16443
KCM_PORT=16444
SCHED_PORT=16445
KUBELET_HEALTHZ_PORT=16448
PROXY_METRICS_PORT=16449
PROXY_HEALTHZ_PORT=16456
NETPOL_METRICS_PORT=16457
ETCD_URL="http://127.0.0.1:$ETCD_PORT"
APISERVER_URL="https://$NODE_IP:$APISERVER_PORT"
# containerd's state (sockets, task bundles) and runc's root for our namespace. The runc shim keeps
# its state under /run/containerd/runc/<namespace> whatever containerd's state dir is.
CTRD_STATE=/run/ringkeeper-containerd
CTRD_SOCK="$CTRD_STATE/containerd.sock"
RUNC_ROOT=/run/containerd/runc/k8s.io
CGROUP_ROOT=ringkeeper
PAUSE_IMAGE=registry.k8s.io/pause:3.10
HELPER_IMAGE=localhost/debian:bookworm-slim
ZONE_LABELS="topology.kubernetes.io/region=us-east-1,topology.kubernetes.io/zone=us-east-1c"
ZONE_LABELS+=",failure-domain.beta.kubernetes.io/region=us-east-1"
ZONE_LABELS+=",failure-domain.beta.kubernetes.io/zone=us-east-1c"

# In start order; `down` stops them in reverse.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet
  kube-proxy network-policies local-path-provisioner volume-resizer)

log() { printf 'local-cluster: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
now_us() { local t=${EPOCHREALTIME//[.,]/}; echo "$((10#$t))"; }
since() { local d=$(($(now_us) - $1)); printf '%d.%ds' "$((d / 1000000))" "$((d / 100000 % 10))"; }

# --- processes (test/lib/processes.sh) -------------------------------------------------------

# shellcheck source=../lib/processes.sh
source "$root/test/lib/processes.sh"

# Processes of this cluster: our binaries whose command line names the state dir or containerd's
# state, and the runc shims and containers they started (found by their cgroup or shim address).
leftovers() {
  local p cmd pid
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = $$ ] && continue
    cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
    case $cmd in
      *"$STATE/"* | *"$CTRD_STATE"*) ;;
      *) grep -qs ":/$CGROUP_ROOT/" "$p/cgroup" || continue ;;
    esac
    case $cmd in *local-cluster.sh*) continue ;; esac
    alive "$pid" && echo "$pid"
  done
  return 0
}
lock() {
  exec 9>>"$STATE/.lock"
  flock -w "$TIMEOUT" 9 || die "another local-cluster.sh holds $STATE/.lock"
}

# --- PKI and kubeconfigs ----------------------------------------------------------------------

sign() { # name subject extensions-section
  openssl req -new -key "$1.key" -subj "$2" -config openssl.cnf -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
    -days 3650 -sha256 -extfile openssl.cnf -extensions "$3" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr"
}
ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

ensure_pki() {
  [ -f "$PKI/.complete" ] && return 0
  log "generating PKI in $PKI"
  local tmp="$PKI.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  (
    umask 077
    cd "$tmp"
    cat >openssl.cnf <<EOF
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
authorityKeyIdentifier = keyid
subjectAltName = IP:127.0.0.1,IP:$NODE_IP,IP:$APISERVER_SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
[kubelet]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
authorityKeyIdentifier = keyid
subjectAltName = IP:$NODE_IP,DNS:$NODE
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
EOF
    ec_key ca
    openssl req -x509 -new -key ca.key -subj "/CN=ringkeeper-cluster-ca" -config openssl.cnf \
      -extensions ca -days 3650 -sha256 -out ca.crt 2>/dev/null
    ec_key apiserver && sign apiserver "/CN=kube-apiserver" server
    ec_key kubelet-serving && sign kubelet-serving "/CN=$NODE" kubelet
    ec_key admin && sign admin "/O=system:masters/CN=ringkeeper-admin" client
    ec_key apiserver-kubelet-client &&
      sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" client
    ec_key controller-manager && sign controller-manager "/CN=system:kube-controller-manager" client
    ec_key scheduler && sign scheduler "/CN=system:kube-scheduler" client
    ec_key kubelet && sign kubelet "/O=system:nodes/CN=system:node:$NODE" client
    ec_key kube-proxy && sign kube-proxy "/CN=system:kube-proxy" client
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
    openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f ca.srl
    touch .complete
  ) || die "PKI generation failed"
  rm -rf "$PKI"
  mv "$tmp" "$PKI"
}

kubeconfig() { # name cert-name
  cat >"$STATE/kubeconfig-$1.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ringkeeper-local
  cluster:
    server: $APISERVER_URL
    certificate-authority: "$PKI/ca.crt"
users:
- name: $2
  user:
    client-certificate: "$PKI/$2.crt"
    client-key: "$PKI/$2.key"
contexts:
- name: ringkeeper-local
  context:
    cluster: ringkeeper-local
    user: $2
    namespace: default
current-context: ringkeeper-local
EOF
  mv "$STATE/kubeconfig-$1.tmp" "$STATE/kubeconfig-$1"
}

write_files() {
  local c
  for c in admin controller-manager scheduler kubelet kube-proxy; do kubeconfig "$c" "$c"; done
  cp "$STATE/kubeconfig-admin" "$STATE/kubeconfig"
  mkdir -p "$STATE/cni/net.d" "$STATE/cni/ipam" "$STATE/containerd" "$STATE/kubelet" \
    "$STATE/volumes" "$STATE/kube-proxy"
  # Pods route only to their bridge (the node's address is on it) and to the service range.
  cat >"$STATE/cni/net.d/10-ringkeeper.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "ringkeeper",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "$SERVICE_CIDR", "gw": "$NODE_IP"}]
      }
    }
  ]
}
EOF
  cat >"$STATE/containerd/config.toml" <<EOF
version = 2
root = "$STATE/containerd/root"
state = "$CTRD_STATE"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_STATE/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # Root here lacks CAP_SYS_RESOURCE: a negative oom_score_adj is refused (TESTBED.md).
  restrict_oom_score_adj = true
  # Network namespaces under containerd's state, so nothing lands in the host's /run/netns.
  netns_mounts_under_state_dir = true
  enable_selinux = false
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "$RUNC_ROOT"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ""
EOF
  # No cluster DNS: a resolv.conf without nameservers makes lookups fail at once in pods.
  echo "options ndots:1" >"$STATE/kubelet/resolv.conf"
  cat >"$STATE/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$CTRD_SOCK
# cgroups v1 without systemd (TESTBED.md); everything under one root so \`down\` can remove it.
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_ROOT
failCgroupV1: false
failSwapOn: false
resolvConf: $STATE/kubelet/resolv.conf
podCIDR: $POD_CIDR
maxPods: 110
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "200Mi", nodefs.available: "1%", imagefs.available: "1%"}
evictionPressureTransitionPeriod: 10s
nodeStatusUpdateFrequency: 5s
syncFrequency: 10s
fileCheckFrequency: 10s
volumeStatsAggPeriod: 30s
shutdownGracePeriod: 0s
localStorageCapacityIsolation: true
EOF
  cat >"$STATE/kube-proxy/config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
hostnameOverride: $NODE
bindAddress: $NODE_IP
clusterCIDR: $POD_CIDR
clientConnection: {kubeconfig: $STATE/kubeconfig-kube-proxy}
healthzBindAddress: 127.0.0.1:$PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$PROXY_METRICS_PORT
nodePortAddresses: ["$NODE_IP/32"]
iptables: {localhostNodePorts: false, syncPeriod: 10s, minSyncPeriod: 0s}
# The sandbox cannot change conntrack sysctls; leave them as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
  cat >"$STATE/env.tmp" <<EOF
KUBECONFIG=$STATE/kubeconfig
RINGKEEPER_CLUSTER_DIR=$STATE
RINGKEEPER_CLUSTER_APISERVER=$APISERVER_URL
RINGKEEPER_CLUSTER_NODE=$NODE
RINGKEEPER_CONTAINERD_SOCK=$CTRD_SOCK
EOF
  mv "$STATE/env.tmp" "$STATE/env"
}

print_env() {
  local line
  while IFS= read -r line; do printf 'export %s=%q\n' "${line%%=*}" "${line#*=}"; done <"$STATE/env"
}

# --- host network -----------------------------------------------------------------------------

ensure_network() {
  sysctl -qw net.ipv4.ip_forward=1
  [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] ||
    die "br_netfilter is not loaded (pod -> service -> pod on one bridge needs it)"
  sysctl -qw net.bridge.bridge-nf-call-iptables=1
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
  fi
  ip addr replace "$NODE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  if ! ip link show "$SVC_DUMMY" >/dev/null 2>&1; then
    # This kernel has no dummy driver: a bridge without ports drops what is routed to it alike.
    ip link add "$SVC_DUMMY" type bridge
  fi
  ip link set "$SVC_DUMMY" up
  ip route replace "$SERVICE_CIDR" dev "$SVC_DUMMY"
  # Nothing from or to the pod range crosses any other interface.
  iptables -w -N "$FW_CHAIN" 2>/dev/null || true
  iptables -w -F "$FW_CHAIN"
  iptables -w -A "$FW_CHAIN" -s "$POD_CIDR" ! -o "$BRIDGE" -j DROP \
    -m comment --comment "ringkeeper: pods reach only the cluster"
  iptables -w -A "$FW_CHAIN" -d "$POD_CIDR" ! -i "$BRIDGE" -j DROP \
    -m comment --comment "ringkeeper: pods are reached only from this machine"
  iptables -w -C FORWARD -j "$FW_CHAIN" 2>/dev/null || iptables -w -I FORWARD 1 -j "$FW_CHAIN"
  check_routes
}

# A packet to a pod or service address must stay on this machine: each range's first, middle and
# last address routes to our bridge or our dummy interface, never through a gateway.
check_routes() {
  local ip route
  for ip in 10.244.0.2 10.244.0.128 10.244.0.254; do
    route=$(ip -o route get "$ip")
    case $route in *" via "*) die "route to pod address $ip leaves the machine: $route" ;; esac
    case $route in *" dev $BRIDGE "*) ;; *) die "pod address $ip does not route to $BRIDGE: $route" ;; esac
  done
  for ip in 10.96.0.1 10.96.128.7 10.96.255.254; do
    route=$(ip -o route get "$ip")
    case $route in *" via "*) die "route to service address $ip leaves the machine: $route" ;; esac
    case $route in *" dev $SVC_DUMMY "*) ;; *) die "service address $ip does not route to $SVC_DUMMY: $route" ;; esac
  done
}

# --- health -----------------------------------------------------------------------------------

admin_curl() {
  curl -s --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$@"
}
http_code() { admin_curl -o /dev/null -w '%{http_code}' "$@" 2>/dev/null || true; }
insecure_ok() {
  [ "$(curl -sk --max-time 2 -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" = 200 ]
}
etcd_healthy() { curl -sf --max-time 2 "$ETCD_URL/health" 2>/dev/null | grep -q '"health":"true"'; }
apiserver_ready() { [ "$(http_code "$APISERVER_URL/readyz")" = 200 ]; }
kcm_healthy() { insecure_ok "https://127.0.0.1:$KCM_PORT/healthz"; }
sched_healthy() { insecure_ok "https://127.0.0.1:$SCHED_PORT/healthz"; }
containerd_up() { "$CBIN/ctr" --address "$CTRD_SOCK" version >/dev/null 2>&1; }
kubelet_healthy() {
  [ "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz" 2>/dev/null)" = 200 ]
}
network_policies_up() {
  [ "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$NETPOL_METRICS_PORT/metrics" 2>/dev/null)" = 200 ]
}
proxy_healthy() {
  [ "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$PROXY_HEALTHZ_PORT/healthz" 2>/dev/null)" = 200 ]
}
node_ready() {
  admin_curl "$APISERVER_URL/api/v1/nodes/$NODE" 2>/dev/null |
    tr -d ' \n' | grep '"type":"Ready","status":"True"' >/dev/null
}
default_serviceaccount() {
  [ "$(http_code "$APISERVER_URL/api/v1/namespaces/default/serviceaccounts/default")" = 200 ]
}
storageclass_exists() {
  [ "$(http_code "$APISERVER_URL/apis/storage.k8s.io/v1/storageclasses/default")" = 200 ]
}
image_present() { "$CBIN/ctr" --address "$CTRD_SOCK" -n k8s.io images check "name==$1" 2>/dev/null | grep complete >/dev/null; }

all_healthy() {
  local c
  [ -f "$PKI/.complete" ] && [ -f "$STATE/env" ] || return 1
  for c in "${COMPONENTS[@]}"; do is_running "$c" || return 1; done
  etcd_healthy && apiserver_ready && kcm_healthy && sched_healthy && kubelet_healthy &&
    proxy_healthy && network_policies_up && node_ready && storageclass_exists
}

# --- components -------------------------------------------------------------------------------

start_etcd() {
  require_free_ports etcd 127.0.0.1 "$ETCD_PORT" "$ETCD_PEER_PORT"
  start etcd "$KBIN/etcd" --name=ringkeeper-local --data-dir="$STATE/etcd" \
    --listen-client-urls="$ETCD_URL" --advertise-client-urls="$ETCD_URL" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="ringkeeper-local=http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster-state=new --quota-backend-bytes=$((1024 * 1024 * 1024)) \
    --unsafe-no-fsync --log-level=warn
}

start_apiserver() {
  require_free_ports kube-apiserver "$NODE_IP" "$APISERVER_PORT"
  start kube-apiserver "$KBIN/kube-apiserver" \
    --etcd-servers="$ETCD_URL" \
    --bind-address="$NODE_IP" --advertise-address="$NODE_IP" --secure-port="$APISERVER_PORT" \
    --cert-dir="$STATE/apiserver" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" \
    --kubelet-preferred-address-types=InternalIP \
    --anonymous-auth=false --authorization-mode=Node,RBAC \
    --enable-admission-plugins=NodeRestriction \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --shutdown-watch-termination-grace-period=2s \
    --allow-privileged=true --profiling=false --v=1
}

start_controller_manager() {
  require_free_ports kube-controller-manager 127.0.0.1 "$KCM_PORT"
  start kube-controller-manager "$KBIN/kube-controller-manager" \
    --kubeconfig="$STATE/kubeconfig-controller-manager" \
    --authentication-kubeconfig="$STATE/kubeconfig-controller-manager" \
    --authorization-kubeconfig="$STATE/kubeconfig-controller-manager" \
    --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --cert-dir="$STATE/controller-manager" \
    --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --flex-volume-plugin-dir="$STATE/controller-manager/flexvolume" \
    --controllers='*,-cloud-node-lifecycle-controller,-service-lb-controller,-node-route-controller,-node-ipam-controller' \
    --node-monitor-grace-period=40s --v=1
}

start_scheduler() {
  require_free_ports kube-scheduler 127.0.0.1 "$SCHED_PORT"
  start kube-scheduler "$KBIN/kube-scheduler" \
    --kubeconfig="$STATE/kubeconfig-scheduler" \
    --authentication-kubeconfig="$STATE/kubeconfig-scheduler" \
    --authorization-kubeconfig="$STATE/kubeconfig-scheduler" \
    --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" --cert-dir="$STATE/scheduler" \
    --leader-elect=false --v=1
}

start_containerd() {
  mkdir -p "$CTRD_STATE"
  start containerd "$CBIN/containerd" --config="$STATE/containerd/config.toml" --log-level=warn
}

start_kubelet() {
  start kubelet "$KBIN/kubelet" --config="$STATE/kubelet/config.yaml" \
    --kubeconfig="$STATE/kubeconfig-kubelet" --root-dir="$STATE/kubelet/root" \
    --cert-dir="$STATE/kubelet/pki" --hostname-override="$NODE" --node-ip="$NODE_IP" \
    --node-labels="$ZONE_LABELS" --v=1
}

start_proxy() {
  start kube-proxy "$KBIN/kube-proxy" --config="$STATE/kube-proxy/config.yaml" --v=1
}

# kube-network-policies (hack/network-policies.sh) queues each new connection from or to a pod
# that some NetworkPolicy selects to userspace, where the policies judge it (established ones
# pass in the kernel; so does traffic from root on the node: the kubelet's probes, the e2e's own
# calls). Fail-open: were it to die, traffic would flow (e2e 03e would find the agents' policy
# not enforced) rather than every Cassandra pod be cut off.
start_network_policies() {
  start network-policies "$NPBIN" -kubeconfig="$STATE/kubeconfig-admin" \
    -hostname-override="$NODE" -metrics-bind-address="127.0.0.1:$NETPOL_METRICS_PORT" \
    -netfilter-bug-1766-fix=false -disable-nri -fail-open -v=1
}

start_provisioner() {
  start local-path-provisioner "$CBIN/local-path-provisioner" start \
    --kubeconfig="$STATE/kubeconfig-admin" --namespace=local-path-storage \
    --provisioner-name=rancher.io/local-path --helper-image="$HELPER_IMAGE" \
    --configmap-name=local-path-config --service-account-name=local-path-provisioner
}

# What expands a local-path volume when its claim grows (test/cluster/volume-resizer.sh says why
# it only records the new size).
start_resizer() {
  start volume-resizer bash "$root/test/cluster/volume-resizer.sh" "$TOOLS/kubectl" \
    "$STATE/kubeconfig-admin"
}

# The provisioner's namespace, config (volumes under $STATE/volumes; helper pods run the base
# image), and the StorageClass `default`.
apply_storage() {
  sed -e "s#@VOLUMES@#$STATE/volumes#g" -e "s#@HELPER_IMAGE@#$HELPER_IMAGE#g" \
    "$root/test/cluster/storage.yaml" >"$STATE/storage.yaml"
  "$TOOLS/kubectl" --kubeconfig="$STATE/kubeconfig-admin" apply --server-side \
    --field-manager=ringkeeper-local-cluster -f "$STATE/storage.yaml" >/dev/null
}

# cgroups v1: kubelet wants its cgroupRoot to exist in every controller it uses.
ensure_cgroup_root() {
  local d
  for d in /sys/fs/cgroup/*/; do
    [ -d "$d" ] && [ -w "$d" ] || continue
    case $d in */unified/) continue ;; esac
    mkdir -p "$d$CGROUP_ROOT"
  done
}

load_images() { # the images the cluster itself needs, built by hack/images.sh
  if ! image_present "$PAUSE_IMAGE" || ! image_present "$HELPER_IMAGE"; then
    RINGKEEPER_CONTAINERD_SOCK=$CTRD_SOCK bash "$root/hack/images.sh" pause base >&2
  fi
}

# --- commands ---------------------------------------------------------------------------------

cmd_up() {
  local t0 c
  t0=$(now_us)
  [ "$(id -u)" = 0 ] || die "must run as root (it configures network interfaces and cgroups)"
  if [ -d "$STATE" ] && [ ! -f "$MARKER" ] && [ -n "$(ls -A "$STATE")" ]; then
    die "$STATE exists and is not a local-cluster state dir"
  fi
  mkdir -p "$STATE"
  touch "$MARKER"
  lock
  if all_healthy; then
    check_routes
    print_env
    log "already up ($(since "$t0"))"
    return 0
  fi
  bash "$root/hack/install-deps.sh" >&2
  KBIN=$(bash "$root/hack/kubebin/build.sh" etcd kube-apiserver kube-controller-manager \
    kube-scheduler kubelet kube-proxy | tail -n1)
  CBIN=$(bash "$root/hack/cluster/build.sh" | tail -n1)
  NPBIN=$(bash "$root/hack/network-policies.sh" | tail -n1)
  # shellcheck disable=SC2034 # read by launch (test/lib/processes.sh): containerd finds its shim on PATH
  LAUNCH_PATH=$CBIN
  TOOLS=$(bash "$root/hack/tools.sh" | tail -n1)
  command -v runc >/dev/null || die "runc is not installed (hack/install-deps.sh)"
  [ -x /usr/lib/cni/bridge ] || die "CNI plugins are missing (/usr/lib/cni)"
  mkdir -p "$LOGS" "$RUN"
  ensure_pki
  write_files
  ensure_network
  ensure_cgroup_root

  is_running etcd || start_etcd
  wait_until "etcd /health" etcd etcd_healthy
  is_running kube-apiserver || start_apiserver
  wait_until "kube-apiserver /readyz" kube-apiserver apiserver_ready
  is_running kube-controller-manager || start_controller_manager
  is_running kube-scheduler || start_scheduler
  is_running containerd || start_containerd
  wait_until "containerd" containerd containerd_up
  load_images
  is_running kubelet || start_kubelet
  is_running kube-proxy || start_proxy
  is_running network-policies || start_network_policies
  wait_until "kube-controller-manager /healthz" kube-controller-manager kcm_healthy
  wait_until "kube-scheduler /healthz" kube-scheduler sched_healthy
  wait_until "kube-proxy /healthz" kube-proxy proxy_healthy
  wait_until "kube-network-policies /metrics" network-policies network_policies_up
  wait_until "kubelet /healthz" kubelet kubelet_healthy
  wait_until "node $NODE Ready" kubelet node_ready
  wait_until "the default ServiceAccount" kube-controller-manager default_serviceaccount
  apply_storage
  is_running local-path-provisioner || start_provisioner
  is_running volume-resizer || start_resizer
  wait_until "StorageClass default" local-path-provisioner storageclass_exists
  check_routes
  print_env
  log "up in $(since "$t0") (state: $STATE; KUBECONFIG=$STATE/kubeconfig)"
}

ctr_k8s() { "$CBIN/ctr" --address "$CTRD_SOCK" -n k8s.io "$@"; }

# Kill every container before containerd stops: kubelet is gone by then, so nobody would.
kill_containers() {
  local ids id
  containerd_up || return 0
  ids=$(ctr_k8s tasks ls -q 2>/dev/null) || true
  for id in $ids; do ctr_k8s tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
  for id in $ids; do
    for _ in $(seq 50); do
      ctr_k8s tasks delete "$id" >/dev/null 2>&1 && break
      sleep 0.1
    done
  done
  ids=$(ctr_k8s containers ls -q 2>/dev/null) || true
  for id in $ids; do ctr_k8s containers delete "$id" >/dev/null 2>&1 || true; done
}

# Mounts at or below a path, deepest first.
mounts_under() {
  awk -v p="$1" '{ gsub(/\\040/, " ", $5); if ($5 == p || index($5, p "/") == 1) print $5 }' \
    /proc/self/mountinfo | sort -r
}

unmount_all() {
  local m
  for _ in 1 2 3; do # a lazy unmount of a parent can leave children: sweep again
    for m in $(mounts_under "$STATE") $(mounts_under "$CTRD_STATE") $(mounts_under "$RUNC_ROOT"); do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
  done
}

remove_cgroups() {
  local d
  for d in /sys/fs/cgroup/*/"$CGROUP_ROOT"; do
    [ -d "$d" ] || continue
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

# Rules and chains of kube-proxy, kubelet and ours (kube-proxy's own --cleanup first).
remove_iptables() {
  local t chain
  [ -x "${KBIN:-}/kube-proxy" ] && "$KBIN/kube-proxy" --cleanup --v=0 >/dev/null 2>&1 || true
  for t in filter nat mangle raw; do
    # Rules in built-in chains that jump to our chains, then the chains themselves.
    { iptables-save -t "$t" 2>/dev/null || true; } | { grep -E -- "^-A [A-Z]+ .*-j (KUBE-|$FW_CHAIN)" || true; } |
      while read -r _ chain rest; do
        # shellcheck disable=SC2086 # the rule's words
        eval "iptables -w -t $t -D $chain $rest" 2>/dev/null || true
      done
    for chain in $(iptables-save -t "$t" 2>/dev/null | sed -n "s/^:\(KUBE-[^ ]*\|$FW_CHAIN\) .*/\1/p"); do
      iptables -w -t "$t" -F "$chain" 2>/dev/null || true
    done
    for chain in $(iptables-save -t "$t" 2>/dev/null | sed -n "s/^:\(KUBE-[^ ]*\|$FW_CHAIN\) .*/\1/p"); do
      iptables -w -t "$t" -X "$chain" 2>/dev/null || true
    done
  done
}

cmd_down() {
  local c pids
  [ "$(id -u)" = 0 ] || die "must run as root"
  KBIN="$CACHE/kube/$KUBERNETES_VERSION/bin"
  CBIN="$CACHE/cluster/bin"
  if [ -d "$STATE" ]; then
    [ -f "$MARKER" ] || die "$STATE is not a local-cluster state dir; not touching it"
    lock
    for c in volume-resizer local-path-provisioner network-policies kube-proxy kubelet; do
      stop "$c"
    done
    kill_containers
    for ((c = ${#COMPONENTS[@]} - 1; c >= 0; c--)); do stop "${COMPONENTS[c]}"; done
  fi
  pids=$(leftovers)
  if [ -n "$pids" ]; then
    log "killing leftover processes: $(echo "$pids" | tr '\n' ' ')"
    # shellcheck disable=SC2086 # one pid per word
    kill -KILL $pids 2>/dev/null || true
    for c in $pids; do wait_gone "$c" 10 || die "pid $c does not die"; done
  fi
  unmount_all
  remove_cgroups
  remove_iptables
  ip link del "$BRIDGE" 2>/dev/null || true
  ip link del "$SVC_DUMMY" 2>/dev/null || true
  rm -rf "$STATE" "$CTRD_STATE" "$RUNC_ROOT"
  log "down"
  cmd_check_clean
}

# Exit 1 and name what is left if anything of a cluster remains on this machine.
cmd_check_clean() {
  local bad=0 out t
  out=$(leftovers || true)
  [ -z "$out" ] || { log "left behind: processes $(echo "$out" | tr '\n' ' ')"; bad=1; }
  out=$( (mounts_under "$STATE"; mounts_under "$CTRD_STATE"; mounts_under "$RUNC_ROOT") | head -n 5 || true)
  [ -z "$out" ] || { log "left behind: mounts $out"; bad=1; }
  out=$(find "$CTRD_STATE" -path '*netns*' 2>/dev/null | head -n 5 || true)
  [ -z "$out" ] || { log "left behind: network namespaces $out"; bad=1; }
  out=$(ip -o link show 2>/dev/null | grep -E ": ($BRIDGE|$SVC_DUMMY)[:@]" || true)
  [ -z "$out" ] || { log "left behind: interfaces $out"; bad=1; }
  out=$(ip -o link show type veth 2>/dev/null | grep "master $BRIDGE" || true)
  [ -z "$out" ] || { log "left behind: veths $out"; bad=1; }
  for t in filter nat mangle raw; do
    out=$(iptables-save -t "$t" 2>/dev/null | grep -E "KUBE-|$FW_CHAIN|ringkeeper" | head -n 3 || true)
    [ -z "$out" ] || { log "left behind: iptables $t rules: $out"; bad=1; }
  done
  out=$(ls -d /sys/fs/cgroup/*/"$CGROUP_ROOT" 2>/dev/null || true)
  [ -z "$out" ] || { log "left behind: cgroups $(echo "$out" | tr '\n' ' ')"; bad=1; }
  [ ! -e "$STATE" ] || { log "left behind: $STATE"; bad=1; }
  return "$bad"
}

cmd_status() {
  local c ok=0
  [ -f "$MARKER" ] || { echo "not up ($STATE does not exist)"; return 1; }
  CBIN="$CACHE/cluster/bin"
  for c in "${COMPONENTS[@]}"; do
    if is_running "$c"; then echo "$c: running (pid $(pid_of "$c"))"; else
      echo "$c: not running"
      ok=1
    fi
  done
  local name check
  for name in etcd_healthy apiserver_ready kcm_healthy sched_healthy containerd_up kubelet_healthy \
    proxy_healthy network_policies_up node_ready storageclass_exists; do
    check=ok
    "$name" || { check=failing; ok=1; }
    echo "check $name: $check"
  done
  echo "state: $STATE"
  echo "KUBECONFIG=$STATE/kubeconfig"
  return "$ok"
}

cmd_env() {
  [ -f "$STATE/env" ] || die "not up: no $STATE/env"
  print_env
}

usage() { sed -n '2,/^set -euo/p' "$script" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2; }

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  check-clean) cmd_check_clean ;;
  *) usage ;;
esac
