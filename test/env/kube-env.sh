#!/usr/bin/env bash
# The integration-tier Kubernetes environment every test reuses: etcd, kube-apiserver and
# kube-controller-manager as plain background processes on 127.0.0.1, with real TLS, client
# certificate and token authentication, and RBAC.
#
#   test/env/kube-env.sh up                 start what is not running and wait until it is ready;
#                                           idempotent; prints the `export` lines of `env`
#   test/env/kube-env.sh down               stop everything it started, remove the state dir
#   test/env/kube-env.sh status             each component and its health; exit 1 unless healthy
#   test/env/kube-env.sh env                print `export KEY=VALUE` lines: eval "$(kube-env.sh env)"
#   test/env/kube-env.sh restart-apiserver  SIGTERM kube-apiserver, wait until it is gone, start it
#                                           again with the same flags, wait until /readyz is ok
#   test/env/kube-env.sh compact-etcd       compact etcd at its current revision (printed), so a
#                                           watch from an older resourceVersion gets 410 Gone
#
# Binaries come from hack/kubebin/build.sh (which builds them on first use). Everything the
# environment owns (PKI, etcd data, kubeconfigs, logs/*.log, pids) lives in the state dir
# ${RINGKEEPER_ENV_DIR:-/tmp/ringkeeper-env}. Settings (read on the first `up`, then kept in
# the state dir so later commands reuse them):
#   RINGKEEPER_ETCD_PORT=23790 RINGKEEPER_ETCD_PEER_PORT=23800
#   RINGKEEPER_APISERVER_PORT=26443 RINGKEEPER_KCM_PORT=26444
#   RINGKEEPER_ENV_TIMEOUT=120      bound, in seconds, of every wait
#
# Files in the state dir for tests: kubeconfig (admin by client certificate, context
# ringkeeper-test), kubeconfig-token (admin by bearer token), kubeconfig-limited (user
# limited-user, no group but system:authenticated), env (the KEY=VALUE lines of `env`).
#
# Note on 410 Gone: the apiserver serves watches (and, in 1.34, lists at an exact old
# resourceVersion) from its watch cache, which keeps recent events whatever etcd compacted. For a
# watch from an old resourceVersion to get 410, run compact-etcd and then restart-apiserver.
set -euo pipefail

script="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
root=$(cd "$(dirname "$script")/../.." && pwd)

STATE=${RINGKEEPER_ENV_DIR:-/tmp/ringkeeper-env}
case $STATE in /*) ;; *) STATE="$PWD/$STATE" ;; esac
STATE=${STATE%/}
[ -n "$STATE" ] || { echo "kube-env: RINGKEEPER_ENV_DIR must not be /" >&2; exit 1; }
PKI="$STATE/pki"
LOGS="$STATE/logs"
RUN="$STATE/run"
MARKER="$STATE/.ringkeeper-kube-env"

ETCD_PORT=${RINGKEEPER_ETCD_PORT:-23790}
ETCD_PEER_PORT=${RINGKEEPER_ETCD_PEER_PORT:-23800}
APISERVER_PORT=${RINGKEEPER_APISERVER_PORT:-26443}
KCM_PORT=${RINGKEEPER_KCM_PORT:-26444}
TIMEOUT=${RINGKEEPER_ENV_TIMEOUT:-120}
if [ -f "$STATE/settings" ]; then
  # shellcheck source=/dev/null
  source "$STATE/settings"
fi
ETCD_URL="http://127.0.0.1:$ETCD_PORT"
APISERVER_URL="https://127.0.0.1:$APISERVER_PORT"

COMPONENTS=(etcd kube-apiserver kube-controller-manager)

log() { printf 'kube-env: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

now_us() { local t=${EPOCHREALTIME//[.,]/}; echo "$((10#$t))"; }
since() { # start_us -> seconds with one decimal
  local d=$(($(now_us) - $1))
  printf '%d.%ds' "$((d / 1000000))" "$((d / 100000 % 10))"
}

# --- processes (test/lib/processes.sh) -------------------------------------------------------

# shellcheck source=../lib/processes.sh
source "$root/test/lib/processes.sh"

leftovers() { # pids of our binaries whose command line names the state dir (lost pid files)
  local p cmd
  for p in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
    case $cmd in
      */etcd\ *|*/kube-apiserver\ *|*/kube-controller-manager\ *) ;;
      *) continue ;;
    esac
    case $cmd in *"=$STATE/"*) alive "${p#/proc/}" && echo "${p#/proc/}" ;; esac
  done
  return 0
}

lock() {
  exec 9>>"$STATE/.lock"
  flock -w "$TIMEOUT" 9 || die "another kube-env.sh holds $STATE/.lock"
}

# --- PKI, tokens, kubeconfigs ------------------------------------------------------------------

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
    cat >openssl.cnf <<'EOF'
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
subjectAltName = IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
EOF
    ec_key ca
    openssl req -x509 -new -key ca.key -subj "/CN=ringkeeper-test-ca" -config openssl.cnf \
      -extensions ca -days 3650 -sha256 -out ca.crt 2>/dev/null
    ec_key apiserver
    sign apiserver "/CN=kube-apiserver" server
    ec_key admin
    sign admin "/O=system:masters/CN=ringkeeper-admin" client
    ec_key controller-manager
    sign controller-manager "/CN=system:kube-controller-manager" client
    # Service-account tokens are signed RS256, as on most clusters.
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
    openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
    openssl rand -hex 24 >admin.token
    openssl rand -hex 24 >limited.token
    {
      echo "$(cat admin.token),ringkeeper-admin-token,ringkeeper-admin-token,\"system:masters\""
      echo "$(cat limited.token),limited-user,limited-user"
    } >tokens.csv
    rm -f ca.srl
    touch .complete
  ) || die "PKI generation failed"
  rm -rf "$PKI"
  mv "$tmp" "$PKI"
}

kubeconfig() { # file user-name user-lines
  cat >"$1.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ringkeeper-test
  cluster:
    server: $APISERVER_URL
    certificate-authority: "$PKI/ca.crt"
users:
- name: $2
  user:
$3
contexts:
- name: ringkeeper-test
  context:
    cluster: ringkeeper-test
    user: $2
    namespace: default
current-context: ringkeeper-test
EOF
  mv "$1.tmp" "$1"
}

write_files() {
  kubeconfig "$STATE/kubeconfig" ringkeeper-admin \
    "    client-certificate: \"$PKI/admin.crt\"
    client-key: \"$PKI/admin.key\""
  kubeconfig "$STATE/kubeconfig-token" ringkeeper-admin-token "    token: $(cat "$PKI/admin.token")"
  kubeconfig "$STATE/kubeconfig-limited" limited-user "    token: $(cat "$PKI/limited.token")"
  kubeconfig "$STATE/kubeconfig-controller-manager" system:kube-controller-manager \
    "    client-certificate: \"$PKI/controller-manager.crt\"
    client-key: \"$PKI/controller-manager.key\""
  cat >"$STATE/env.tmp" <<EOF
KUBECONFIG=$STATE/kubeconfig
RINGKEEPER_ENV_DIR=$STATE
RINGKEEPER_APISERVER=$APISERVER_URL
RINGKEEPER_ETCD=$ETCD_URL
RINGKEEPER_CA=$PKI/ca.crt
RINGKEEPER_ADMIN_CERT=$PKI/admin.crt
RINGKEEPER_ADMIN_KEY=$PKI/admin.key
RINGKEEPER_ADMIN_TOKEN_FILE=$PKI/admin.token
RINGKEEPER_LIMITED_TOKEN_FILE=$PKI/limited.token
RINGKEEPER_KUBECONFIG_TOKEN=$STATE/kubeconfig-token
RINGKEEPER_KUBECONFIG_LIMITED=$STATE/kubeconfig-limited
RINGKEEPER_ENV_SCRIPT=$script
EOF
  mv "$STATE/env.tmp" "$STATE/env"
}

print_env() {
  local line
  while IFS= read -r line; do
    printf 'export %s=%q\n' "${line%%=*}" "${line#*=}"
  done <"$STATE/env"
}

# --- health ------------------------------------------------------------------------------------

admin_curl() {
  curl -s --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$@"
}
http_code() { admin_curl -o /dev/null -w '%{http_code}' "$@" 2>/dev/null || true; }

etcd_healthy() { curl -sf --max-time 2 "$ETCD_URL/health" 2>/dev/null | grep -q '"health":"true"'; }
apiserver_ready() { [ "$(http_code "$APISERVER_URL/readyz")" = 200 ]; }
default_namespace() { [ "$(http_code "$APISERVER_URL/api/v1/namespaces/default")" = 200 ]; }
default_serviceaccount() {
  [ "$(http_code "$APISERVER_URL/api/v1/namespaces/default/serviceaccounts/default")" = 200 ]
}
# Its serving certificate is self-signed in its cert dir; /healthz needs no credentials.
kcm_healthy() {
  [ "$(curl -sk --max-time 2 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$KCM_PORT/healthz" \
    2>/dev/null)" = 200 ]
}

all_healthy() {
  local c
  [ -f "$PKI/.complete" ] && [ -f "$STATE/env" ] || return 1
  for c in "${COMPONENTS[@]}"; do is_running "$c" || return 1; done
  etcd_healthy && apiserver_ready && kcm_healthy && default_serviceaccount
}

# --- components --------------------------------------------------------------------------------

start_etcd() {
  start etcd "$BIN/etcd" \
    --name=ringkeeper \
    --data-dir="$STATE/etcd" \
    --listen-client-urls="$ETCD_URL" \
    --advertise-client-urls="$ETCD_URL" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="ringkeeper=http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster-state=new \
    --quota-backend-bytes=$((512 * 1024 * 1024)) \
    --unsafe-no-fsync \
    --log-level=warn
}

# --shutdown-watch-termination-grace-period: without it the apiserver does not end open watches
# on SIGTERM and waits out a 60 s shutdown timeout for their connections; with it, about 1 s.
start_apiserver() {
  start kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers="$ETCD_URL" \
    --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 \
    --secure-port="$APISERVER_PORT" \
    --cert-dir="$STATE/apiserver" \
    --tls-cert-file="$PKI/apiserver.crt" \
    --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --token-auth-file="$PKI/tokens.csv" \
    --anonymous-auth=false \
    --authorization-mode=Node,RBAC \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-account-key-file="$PKI/sa.pub" \
    --service-account-signing-key-file="$PKI/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --endpoint-reconciler-type=none \
    --shutdown-watch-termination-grace-period=2s \
    --allow-privileged=true \
    --profiling=false \
    --v=1
}

start_controller_manager() {
  start kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig="$STATE/kubeconfig-controller-manager" \
    --authentication-kubeconfig="$STATE/kubeconfig-controller-manager" \
    --authorization-kubeconfig="$STATE/kubeconfig-controller-manager" \
    --authentication-skip-lookup=true \
    --bind-address=127.0.0.1 \
    --secure-port="$KCM_PORT" \
    --cert-dir="$STATE/controller-manager" \
    --leader-elect=false \
    --use-service-account-credentials=false \
    --service-account-private-key-file="$PKI/sa.key" \
    --root-ca-file="$PKI/ca.crt" \
    --flex-volume-plugin-dir="$STATE/controller-manager/flexvolume" \
    --controllers='*,-cloud-node-lifecycle-controller,-service-lb-controller,-node-route-controller,-node-ipam-controller' \
    --v=1
}

# With --use-service-account-credentials=false every controller acts as the user
# system:kube-controller-manager, whose bootstrap role lacks what the controllers do (the
# StatefulSet controller creating pods, the garbage collector deleting anything): bind it to
# cluster-admin, as a cluster running its controllers on one credential must.
ensure_controller_manager_binding() {
  local code
  code=$(admin_curl -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary @- "$APISERVER_URL/apis/rbac.authorization.k8s.io/v1/clusterrolebindings" <<'EOF'
{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
 "metadata": {"name": "ringkeeper:kube-controller-manager"},
 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
 "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
               "name": "system:kube-controller-manager"}]}
EOF
  ) || true
  case $code in
    201 | 409) ;;
    *) fail "creating the kube-controller-manager ClusterRoleBinding: HTTP $code" kube-apiserver ;;
  esac
}

# --- commands ----------------------------------------------------------------------------------

cmd_up() {
  local t0 c
  t0=$(now_us)
  if [ -d "$STATE" ] && [ ! -f "$MARKER" ] && [ -n "$(ls -A "$STATE")" ]; then
    die "$STATE exists and is not a kube-env state dir; set RINGKEEPER_ENV_DIR elsewhere"
  fi
  mkdir -p "$STATE"
  touch "$MARKER"
  lock
  if all_healthy; then
    print_env
    log "already up ($(since "$t0"))"
    return 0
  fi
  BIN=$(bash "$root/hack/kubebin/build.sh" | tail -n1)
  for c in "${COMPONENTS[@]}"; do [ -x "$BIN/$c" ] || die "no $BIN/$c"; done
  mkdir -p "$LOGS" "$RUN"
  [ -f "$STATE/settings" ] || cat >"$STATE/settings" <<EOF
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
APISERVER_PORT=$APISERVER_PORT
KCM_PORT=$KCM_PORT
EOF
  ensure_pki
  write_files

  if ! is_running etcd; then
    require_free_ports etcd 127.0.0.1 "$ETCD_PORT" "$ETCD_PEER_PORT"
    start_etcd
  fi
  wait_until "etcd /health" etcd etcd_healthy
  if ! is_running kube-apiserver; then
    require_free_ports kube-apiserver 127.0.0.1 "$APISERVER_PORT"
    start_apiserver
  fi
  wait_until "kube-apiserver /readyz" kube-apiserver apiserver_ready
  wait_until "the default namespace" kube-apiserver default_namespace
  ensure_controller_manager_binding
  if ! is_running kube-controller-manager; then
    require_free_ports kube-controller-manager 127.0.0.1 "$KCM_PORT"
    start_controller_manager
  fi
  wait_until "kube-controller-manager /healthz" kube-controller-manager kcm_healthy
  wait_until "the default ServiceAccount" kube-controller-manager default_serviceaccount

  print_env
  log "up in $(since "$t0") (state: $STATE)"
}

cmd_down() {
  local c pids
  if [ -d "$STATE" ]; then
    [ -f "$MARKER" ] || die "$STATE is not a kube-env state dir; not touching it"
    lock
    for ((c = ${#COMPONENTS[@]} - 1; c >= 0; c--)); do stop "${COMPONENTS[c]}"; done
  fi
  pids=$(leftovers)
  if [ -n "$pids" ]; then
    log "killing leftover processes: $(echo "$pids" | tr '\n' ' ')"
    # shellcheck disable=SC2086 # one pid per word
    kill -KILL $pids 2>/dev/null || true
    for c in $pids; do wait_gone "$c" 10 || die "pid $c does not die"; done
  fi
  rm -rf "$STATE"
  log "down"
}

cmd_status() {
  local c ok=0 pid
  [ -f "$MARKER" ] || { echo "not up ($STATE does not exist)"; return 1; }
  for c in "${COMPONENTS[@]}"; do
    if is_running "$c"; then
      pid=$(pid_of "$c")
      echo "$c: running (pid $pid)"
    else
      echo "$c: not running"
      ok=1
    fi
  done
  if etcd_healthy; then echo "etcd $ETCD_URL/health: ok"; else echo "etcd $ETCD_URL/health: failing"; ok=1; fi
  if apiserver_ready; then echo "kube-apiserver $APISERVER_URL/readyz: ok"; else
    echo "kube-apiserver $APISERVER_URL/readyz: failing"
    ok=1
  fi
  if kcm_healthy; then echo "kube-controller-manager :$KCM_PORT/healthz: ok"; else
    echo "kube-controller-manager :$KCM_PORT/healthz: failing"
    ok=1
  fi
  echo "state: $STATE"
  return "$ok"
}

cmd_env() {
  [ -f "$STATE/env" ] || die "not up: no $STATE/env"
  print_env
}

cmd_restart_apiserver() {
  local t0 pid
  t0=$(now_us)
  [ -f "$MARKER" ] || die "not up"
  lock
  is_running kube-apiserver || die "kube-apiserver is not running"
  pid=$(pid_of kube-apiserver)
  kill -TERM "$pid"
  wait_gone "$pid" "$TIMEOUT" || fail "kube-apiserver (pid $pid) still runs ${TIMEOUT}s after SIGTERM" kube-apiserver
  require_free_ports kube-apiserver 127.0.0.1 "$APISERVER_PORT"
  launch kube-apiserver
  wait_until "kube-apiserver /readyz" kube-apiserver apiserver_ready
  log "kube-apiserver restarted in $(since "$t0")"
}

# Compacts etcd's history up to its current revision: a watch or a list from an older
# resourceVersion that reaches etcd then fails with 410 Gone. The apiserver serves watches from
# its watch cache, which still holds recent events; `restart-apiserver` afterwards empties it,
# and then every older resourceVersion gets 410 Gone.
cmd_compact_etcd() {
  local out rev
  [ -f "$MARKER" ] || die "not up"
  out=$(curl -sf --max-time 5 -X POST "$ETCD_URL/v3/kv/range" -d '{"key":"AA=="}') ||
    die "cannot read etcd's revision from $ETCD_URL"
  rev=$(grep -o '"revision":"[0-9]*"' <<<"$out" | head -n1 | tr -dc 0-9)
  [ -n "$rev" ] || die "no revision in etcd's answer: $out"
  out=$(curl -s --max-time 30 -X POST "$ETCD_URL/v3/kv/compaction" \
    -d "{\"revision\":\"$rev\",\"physical\":true}") || die "compaction request failed"
  case $out in
    *'"header"'*) ;;
    *'has been compacted'*) ;;
    *) die "compaction at revision $rev failed: $out" ;;
  esac
  log "compacted etcd at revision $rev"
  echo "$rev"
}

usage() { sed -n '2,/^set -euo/p' "$script" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2; }

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  restart-apiserver) cmd_restart_apiserver ;;
  compact-etcd) cmd_compact_etcd ;;
  *) usage ;;
esac
