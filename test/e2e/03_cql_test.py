#!/usr/bin/env python3
"""e2e 03: CQL with the generated superuser (cassandra/cassandra refused), the system keyspaces at
RF 3, the keyspace e2e at RF 3 and its initial rows at QUORUM. Helpers and state: e2elib.py."""
import sys
import time

from cassandra.cluster import NoHostAvailable
from cassandra.concurrent import execute_concurrent_with_args

from e2elib import (DC, KEYSPACE, MAIN, NS, QUORUM, RF, ROWS, Names, auth_refused, check_rows,
                    check_system_replication, cluster_obj, default_login_refused, figure, log,
                    quiet_connect, require_main_ready, run_scenario, save_state, service_ip,
                    superuser, timed, wait)

NEEDS = "the shared Cluster Ready 3/3 (02), authReady"
LEAVES = ("the shared Cluster Ready 3/3; keyspace e2e at RF 3, table e2e.kv with the initial rows "
          "(state: rows_written)")


def scenario_cql(m):
    """2. The generated superuser; cassandra/cassandra refused; keyspace at RF 3; N rows."""
    wait("status.authReady", lambda: (cluster_obj(m).get("status") or {}).get("authReady"), 180)
    creds = superuser(m)
    ip = service_ip(m.client)
    assert ip, f"no ClusterIP on Service {m.client}"
    log(f"client Service {m.client} at {ip}; superuser {creds[0]!r}")
    # Ready and authReady promise a working login: count the refusals a user would see first.
    refusals = []

    def login():
        try:
            return quiet_connect(ip, *creds)
        except NoHostAvailable as e:
            if auth_refused(e):
                refusals.append(time.monotonic())
            raise
    t0 = time.monotonic()
    cluster, session = wait(f"CQL login as {creds[0]} at {ip}", login, 120, interval=0.5)
    try:
        timed("2 CQL", "authReady → first superuser login", t0)
        figure("2 CQL", "superuser logins refused after authReady", len(refusals))
        # Cassandra caches a role's login right for roles_validity (2 s) and the operator logged in
        # as cassandra moments before disabling it: bounded wait, then the time is a figure.
        t0 = time.monotonic()
        wait("cassandra/cassandra refused", lambda: default_login_refused(ip), 30, interval=0.5)
        timed("2 CQL", "authReady → cassandra/cassandra refused (Cassandra's role cache)", t0)
        # Created at 3: straight to RF 3 and repaired before the superuser was written.
        check_system_replication(m, session, 3, ["system_auth 1→3"])
        log("CQL answers the generated superuser; cassandra/cassandra is refused")
        session.execute(f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = "
                        f"{{'class': 'NetworkTopologyStrategy', '{DC}': {RF}}}")
        session.execute(f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.kv (k int PRIMARY KEY, v text)")
        ins = session.prepare(f"INSERT INTO {KEYSPACE}.kv (k, v) VALUES (?, ?)")
        ins.consistency_level = QUORUM
        ins.is_idempotent = True
        t0 = time.monotonic()
        execute_concurrent_with_args(session, ins, [(k, f"value-{k}") for k in range(ROWS)],
                                     concurrency=20, raise_on_first_error=True)
        timed("2 CQL", f"write {ROWS} rows at QUORUM (RF {RF})", t0)
        save_state(rows_written=True)  # 04 to 11 read them (and the client's rows) back
        check_rows(session, None, "initial rows")
    finally:
        cluster.shutdown()


def main():
    m = Names(MAIN, NS)
    require_main_ready(m)
    scenario_cql(m)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_cql.__doc__))
