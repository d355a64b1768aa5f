# shellcheck shell=bash
# Daemons as plain background processes, shared by test/env/kube-env.sh and
# test/cluster/local-cluster.sh. Sourced, not run. The caller defines `log` and `die` and sets
#   RUN      where name.args (the command line, one word per line) and name.pid live
#   LOGS     where name.log (stdout and stderr, appended) lives
#   TIMEOUT  bound, in seconds, of wait_until
# and may set LAUNCH_PATH (prepended to PATH for the daemons only).

pid_of() { [ -f "$RUN/$1.pid" ] && cat "$RUN/$1.pid"; }

alive() { # pid: exists and is not a zombie
  local state
  [ -r "/proc/$1/stat" ] || return 1
  state=$(sed 's/^.*) \(.\).*$/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

arg0_of() { tr '\0' '\n' 2>/dev/null <"/proc/$1/cmdline" | head -n1; }

is_running() { # name: its pid file names a live process running the binary it was started with
  local pid
  pid=$(pid_of "$1") || return 1
  alive "$pid" || return 1
  [ "$(arg0_of "$pid")" = "$(head -n1 "$RUN/$1.args" 2>/dev/null)" ]
}

launch() { # name: starts the command saved in $RUN/name.args in its own session
  local name=$1 args pid deadline=$((SECONDS + 10))
  mapfile -t args <"$RUN/$name.args"
  # fd 9 is the caller's lock: the daemon must not inherit it.
  PATH="${LAUNCH_PATH:+$LAUNCH_PATH:}$PATH" setsid "${args[@]}" >>"$LOGS/$name.log" 2>&1 \
    </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$RUN/$name.pid"
  # Until the forked shell has exec'd setsid and setsid the daemon, /proc shows another arg0 and
  # is_running would call a healthy daemon dead (a quarter of launches on a busy machine; it
  # failed a CI run). Wait for the exec, or for the process to die (wait_until reports that).
  while alive "$pid" && [ "$(arg0_of "$pid")" != "${args[0]}" ] && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 0.01
  done
}

start() { # name binary args...
  local name=$1
  shift
  printf '%s\n' "$@" >"$RUN/$name.args"
  launch "$name"
}

fail() { # message component: say it, show the component's log, exit 1
  log "$1"
  log "last 40 lines of $LOGS/$2.log:"
  tail -n 40 "$LOGS/$2.log" >&2 2>/dev/null || true
  exit 1
}

wait_until() { # what component command...: poll the command until it succeeds, bounded
  local what=$1 name=$2 deadline=$((SECONDS + TIMEOUT))
  shift 2
  until "$@"; do
    is_running "$name" || fail "$name exited while waiting for $what" "$name"
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${TIMEOUT}s waiting for $what" "$name"
    sleep 0.2
  done
  is_running "$name" || fail "$name exited while waiting for $what" "$name"
}

wait_gone() { # pid seconds
  local deadline=$((SECONDS + $2))
  while alive "$1"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

stop() { # name: SIGTERM its process group, SIGKILL after 20 s
  local name=$1 pid
  is_running "$name" || { rm -f "$RUN/$name.pid"; return 0; }
  pid=$(pid_of "$name")
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" 20; then
    log "$name (pid $pid) ignored SIGTERM for 20s; killing it"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "$name (pid $pid) does not die"
  fi
  rm -f "$RUN/$name.pid"
}

# A port someone else listens on would make the health checks talk to them.
require_free_ports() { # component host port...
  local name=$1 host=$2 p
  shift 2
  for p in "$@"; do
    if (exec 3<>"/dev/tcp/$host/$p") 2>/dev/null; then
      die "cannot start $name: $host:$p is in use (another environment? see the script's ports)"
    fi
  done
}
