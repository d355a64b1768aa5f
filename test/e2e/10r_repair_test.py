#!/usr/bin/env python3
"""e2e 10r: repairs built in (issue 11), on the shared Cluster with a real client.

Divergence made on purpose: hinted handoff off on every node (`nodetool disablehandoff`), one node
taken out of the ring (`nodetool disablegossip`: its peers see it down and send it nothing; its
process stays, as a stopped one would be restarted by the kubelet at once), 10,000 rows written
at ONE through another node, the node back. A preview Repair reports the mismatching ranges and
bytes; a full Repair runs segment by segment; a second preview reports none; every row is then
read at ONE from the node that missed them, alone (its two peers out of the ring), counted (its
peers took every write: counting them alone proves nothing and took two minutes). Then a Repair of
the client's keyspace under the background client at QUORUM: 0 failed requests, the client's p99
printed beside the same load without a repair.
Helpers and state: e2elib.py."""
import sys
import time

from cassandra import ConsistencyLevel
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.query import SimpleStatement

from e2elib import (DC, KEYSPACE, MAIN, NS, Names, apply, client_on_main, connect, figure,
                    finished, get, kubectl, log, require_main_ready, run_scenario, service_ip,
                    superuser, timed, wait)

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03)"
LEAVES = ("the shared Cluster Ready 3/3, hinted handoff on again, keyspace e2e_repair dropped, "
          "Repairs rp-* in the namespace")

ROWS = 10_000
KS = "e2e_repair"


def nodetool(m, i, *args, timeout=60):
    return kubectl("exec", m.pod(i), "-c", "cassandra", "--", "nodetool", *args, ns=m.ns,
                   timeout=timeout)


def states(m, i):
    """Address -> "UN"/"DN"... as `nodetool status` on pod i shows them."""
    out = nodetool(m, i, "status")
    return {line.split()[1]: line.split()[0] for line in out.splitlines()
            if len(line.split()) > 1 and line[:2] in ("UN", "DN", "UJ", "UL", "DJ", "DL")}


def take_out(m, i, addresses):
    """Pod i out of the ring: gossip off; until the other nodes see it down (they then send it
    no write, and with hints off keep none for it)."""
    nodetool(m, i, "disablegossip")
    me = addresses[i]
    wait(f"{m.pod(i)} out of the ring",
         lambda: all(states(m, j).get(me) == "DN" for j in range(3) if j != i), 120)


def bring_back(m, *pods):
    """Gossip on again on `pods`; until every node sees every node UN."""
    for i in pods:
        nodetool(m, i, "enablegossip")
    wait(f"{', '.join(m.pod(i) for i in pods)} back: every node UN everywhere",
         lambda: all(set(states(m, j).values()) == {"UN"} and len(states(m, j)) == 3
                     for j in range(3)), 180)


def repair(name, spec, timeout):
    """Creates Repair `name` and waits for it to finish (its Complete or Failed condition);
    returns its status. One of that name left by an earlier run goes first."""
    kubectl("delete", "repair", name, "--ignore-not-found", "--wait=true", ns=NS, timeout=120)
    apply({"apiVersion": "cassandra.rook.io/v1alpha1", "kind": "Repair",
           "metadata": {"name": name, "namespace": NS},
           "spec": {"cluster": MAIN, **spec}})
    t0 = time.monotonic()
    wait(f"Repair {name} finished", lambda: finished("repair", name), timeout)
    status = get("repair", name)["status"]
    assert status["phase"] == "Complete", f"Repair {name}: {status}"
    log(f"Repair {name}: {status['segments']} in {time.monotonic() - t0:.1f}s, "
        f"postponed {status.get('postponed')}")
    return status, time.monotonic() - t0


def scenario_divergence(m, creds, addresses):
    """10r. Divergence, preview, repair, preview, every row on the node that missed them."""
    for i in range(3):
        nodetool(m, i, "disablehandoff")
    ddl, schema = connect(service_ip(m.client), *creds)
    try:
        schema.execute(f"DROP KEYSPACE IF EXISTS {KS}", timeout=120)
        schema.execute(f"CREATE KEYSPACE {KS} WITH replication = "
                       f"{{'class': 'NetworkTopologyStrategy', '{DC}': 3}}", timeout=120)
        schema.execute(f"CREATE TABLE {KS}.t (k int PRIMARY KEY, v text)", timeout=120)
    finally:
        ddl.shutdown()
    cluster, session = connect(addresses[0], *creds, whitelist=True)
    try:
        try:
            take_out(m, 2, addresses)
            insert = session.prepare(f"INSERT INTO {KS}.t (k, v) VALUES (?, ?)")
            insert.consistency_level = ConsistencyLevel.ONE
            t0 = time.monotonic()
            results = execute_concurrent_with_args(session, insert,
                                                   [(k, f"v{k}") for k in range(ROWS)],
                                                   concurrency=50, raise_on_first_error=True)
            assert all(ok for ok, _ in results)
            log(f"{ROWS} rows at ONE with {m.pod(2)} out, in {time.monotonic() - t0:.1f}s")
        finally:
            bring_back(m, 2)
    finally:
        cluster.shutdown()

    before, secs = repair("rp-preview-before", {"keyspaces": [KS], "type": "preview",
                                                "segmentsPerNode": 4}, 600)
    figure("10r repair", "preview before: mismatching ranges / bytes",
           f"{before['preview']['mismatchingRanges']} / {before['preview']['mismatchingBytes']} "
           f"({before['segments']['total']} segments, {secs:.1f}s)")
    assert before["preview"]["mismatchingRanges"] > 0, before
    assert before["keyspaces"][0]["mismatchingTables"] == [f"{KS}.t"], before

    full, secs = repair("rp-full", {"keyspaces": [KS], "segmentsPerNode": 4, "intensity": 1},
                        900)
    figure("10r repair", "full repair of the diverged keyspace",
           f"{full['segments']['done']}/{full['segments']['total']} segments in {secs:.1f}s "
           f"({full['segmentSeconds']}s in sessions)")
    assert full["segments"]["done"] == full["segments"]["total"] > 0, full

    after, secs = repair("rp-preview-after", {"keyspaces": [KS], "type": "preview",
                                              "segmentsPerNode": 4}, 600)
    figure("10r repair", "preview after: mismatching ranges / bytes",
           f"{after['preview']['mismatchingRanges']} / {after['preview']['mismatchingBytes']}")
    assert after["preview"]["mismatchingRanges"] == 0, after

    # Every row read at ONE from pod 2 alone: its two peers out of the ring (gossip off), so that
    # only its own replica, which the repair filled, can answer.
    count = count_alone(m, 2, addresses, creds)
    figure("10r repair", f"rows read at ONE from {m.pod(2)} alone (missed the writes; peers DN)",
           f"{count} of {ROWS}")
    assert count == ROWS, count


# The caches a login and a superuser's query read: held while a node is alone.
AUTH_CACHES = ("CredentialsCache", "RolesCache", "PermissionsCache", "NetworkPermissionsCache")


def auth_cache_config(m, i, cache):
    """(validity ms, update interval ms) of an auth cache of pod i (nodetool getauthcacheconfig)."""
    out = nodetool(m, i, "getauthcacheconfig", "--cache-name", cache)
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return int(fields["Validity Period"]), int(fields["Update Interval"])


def set_auth_cache(m, i, cache, validity, interval):
    nodetool(m, i, "setauthcacheconfig", "--cache-name", cache, "--validity-period",
             str(validity), "--update-interval", str(interval))


def count_alone(m, i, addresses, creds):
    """The rows of KS.t read at ONE through pod i while pod i sees both peers DN (their gossip
    off): only its own replica can answer. The superuser's login and permissions are read at
    LOCAL_QUORUM, which a lone node cannot reach: its auth caches are filled first (a login and
    a read with the peers up) and held 10 minutes, then set back."""
    peers = [j for j in range(3) if j != i]
    saved = {c: auth_cache_config(m, i, c) for c in AUTH_CACHES}
    for c in AUTH_CACHES:
        set_auth_cache(m, i, c, 600_000, 600_000)
    try:
        cluster, session = connect(addresses[i], *creds, whitelist=True)
        try:
            stmt = SimpleStatement(f"SELECT k FROM {KS}.t", fetch_size=5000,
                                   consistency_level=ConsistencyLevel.ONE)
            assert sum(1 for _ in session.execute(stmt, timeout=120)) == ROWS  # caches filled
            try:
                for j in peers:
                    nodetool(m, j, "disablegossip")
                wait(f"{m.pod(i)} alone: its peers DN in its view", lambda: all(
                    states(m, i).get(addresses[j]) == "DN" for j in peers), 120)
                return sum(1 for _ in session.execute(stmt, timeout=120))
            finally:
                bring_back(m, *peers)
        finally:
            cluster.shutdown()
    finally:
        for c, (validity, interval) in saved.items():
            set_auth_cache(m, i, c, validity, interval)


def scenario_under_load(m, load):
    """10r. A Repair under the client at QUORUM: no failed request; p99 beside no repair."""
    load.set_phase("steady (no repair)")
    t0 = time.monotonic()
    wait("30 s of the client without a repair", lambda: time.monotonic() - t0 >= 30, 60)
    load.set_phase("repair of e2e under load")
    _, secs = repair("rp-under-load", {"keyspaces": [KEYSPACE], "segmentsPerNode": 8}, 900)
    load.set_phase("after the repair")
    quiet = load.latency_ms("steady (no repair)", 0.99)
    busy = load.latency_ms("repair of e2e under load", 0.99)
    figure("10r repair", "client p99 at QUORUM: no repair / during the repair",
           f"{quiet:.1f} ms / {busy:.1f} ms (repair {secs:.1f}s)")
    failed = load.failures("repair of e2e under load") + load.failures("steady (no repair)")
    assert failed == 0, f"{failed} client requests failed"


def main():
    m = Names(MAIN, NS)
    require_main_ready(m)
    creds = superuser(m)
    addresses = [service_ip(m.member_service(i)) for i in range(3)]
    t0 = time.monotonic()
    try:
        scenario_divergence(m, creds, addresses)
    finally:
        for i in range(3):
            nodetool(m, i, "enablehandoff")
        cluster, session = connect(service_ip(m.client), *creds)
        try:
            session.execute(f"DROP KEYSPACE IF EXISTS {KS}", timeout=120)
        finally:
            cluster.shutdown()
    timed("10r repair", "divergence, previews, repair, counts", t0)
    with client_on_main("repair under load") as (m, load, _, _creds):
        scenario_under_load(m, load)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=__doc__))
