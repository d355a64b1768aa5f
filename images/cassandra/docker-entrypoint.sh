#!/bin/bash
# The official cassandra image's entrypoint behaviour: runs `cassandra -f` by default (also when
# the first argument is an option), drops root to the cassandra user after fixing ownership, and
# edits cassandra.yaml / cassandra-rackdc.properties from CASSANDRA_* variables:
#   CASSANDRA_LISTEN_ADDRESS (default: auto = the first non-loopback address), CASSANDRA_BROADCAST_ADDRESS
#   (default: the listen address), CASSANDRA_RPC_ADDRESS (default 0.0.0.0),
#   CASSANDRA_BROADCAST_RPC_ADDRESS (default: the broadcast address), CASSANDRA_SEEDS (default: the
#   broadcast address), CASSANDRA_CLUSTER_NAME, CASSANDRA_NUM_TOKENS, CASSANDRA_ENDPOINT_SNITCH,
#   CASSANDRA_DC, CASSANDRA_RACK.
set -e

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- cassandra -f "$@"
fi

if [ "$1" = 'cassandra' ] && [ "$(id -u)" = '0' ]; then
  find "$CASSANDRA_CONF" /var/lib/cassandra /var/log/cassandra \! -user cassandra -exec chown cassandra '{}' +
  exec gosu cassandra "${BASH_SOURCE[0]}" "$@"
fi

_ip_address() {
  # The first non-loopback, non-link-local IPv4 address of the container.
  ip address | awk '
    $1 != "inet" { next }
    $NF == "lo" { next }
    $2 ~ /^127[.]/ { next }
    $2 ~ /^169[.]254[.]/ { next }
    { gsub(/\/.+$/, "", $2); print $2; exit }
  '
}

# "sed -i" without replacing the file (which fails on a bind-mounted file).
_sed_in_place() {
  local filename="$1" tmp
  shift
  tmp="$(mktemp)"
  sed "$@" "$filename" >"$tmp"
  cat "$tmp" >"$filename"
  rm "$tmp"
}

if [ "$1" = 'cassandra' ]; then
  : "${CASSANDRA_RPC_ADDRESS=0.0.0.0}"
  : "${CASSANDRA_LISTEN_ADDRESS=auto}"
  if [ "$CASSANDRA_LISTEN_ADDRESS" = 'auto' ]; then
    CASSANDRA_LISTEN_ADDRESS="$(_ip_address)"
  fi
  : "${CASSANDRA_BROADCAST_ADDRESS="$CASSANDRA_LISTEN_ADDRESS"}"
  if [ "$CASSANDRA_BROADCAST_ADDRESS" = 'auto' ]; then
    CASSANDRA_BROADCAST_ADDRESS="$(_ip_address)"
  fi
  : "${CASSANDRA_BROADCAST_RPC_ADDRESS:=$CASSANDRA_BROADCAST_ADDRESS}"
  if [ -n "${CASSANDRA_NAME:+1}" ]; then
    : "${CASSANDRA_SEEDS:="cassandra"}"
  fi
  : "${CASSANDRA_SEEDS:="$CASSANDRA_BROADCAST_ADDRESS"}"

  _sed_in_place "$CASSANDRA_CONF/cassandra.yaml" -r 's/(- seeds:).*/\1 "'"$CASSANDRA_SEEDS"'"/'

  for yaml in broadcast_address broadcast_rpc_address cluster_name endpoint_snitch listen_address \
    num_tokens rpc_address start_rpc; do
    var="CASSANDRA_${yaml^^}"
    val="${!var}"
    if [ "$val" ]; then
      if grep -Eq '^(# )?'"$yaml"':' "$CASSANDRA_CONF/cassandra.yaml"; then
        _sed_in_place "$CASSANDRA_CONF/cassandra.yaml" -r 's/^(# )?('"$yaml"':).*/\2 '"$val"'/'
      else
        # Upstream's file has every key, commented out; a trimmed file gets the key appended.
        echo "$yaml: $val" >>"$CASSANDRA_CONF/cassandra.yaml"
      fi
    fi
  done

  for rackdc in dc rack; do
    var="CASSANDRA_${rackdc^^}"
    val="${!var}"
    if [ "$val" ]; then
      _sed_in_place "$CASSANDRA_CONF/cassandra-rackdc.properties" -r 's/^('"$rackdc"'=).*/\1 '"$val"'/'
    fi
  done
fi

exec "$@"
