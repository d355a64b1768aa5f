#!/usr/bin/env python3
"""e2e 16: several data centers. A Cluster created with two (dc1, dc2: one member each, started
together), rows written at LOCAL_QUORUM in dc1 and read at LOCAL_ONE in dc2; then a third data
center added to the running cluster joins without streaming and rebuilds from dc1 while a client
keeps writing in dc1: every row read at LOCAL_ONE in dc3; dc3 removed again, refused while a
keyspace replicates there, then decommissioned. Helpers and state: e2elib.py."""
import copy
import sys
import threading
import time

from cassandra import ConsistencyLevel

from e2elib import (CRD, Names, apply, cluster_manifest, condition, connect, delete_namespace,
                    event_messages, figure, get, kubectl, log, release_namespace, run_scenario,
                    service_ip, superuser, table_keys, timed, wait)

NS_MULTI = "e2e-multi"
NAME = "multi"
ROWS = 2000
NEEDS = ("room for three Cassandra nodes (the Clusters of 13 to 15 deleted or being deleted); "
         "nothing else")
LEAVES = ("namespace e2e-multi being deleted (not waited for) unless E2E_KEEP=1 or a scenario "
          "failed (kept for inspection)")


def manifest(dcs):
    """The seed's Cluster (images and sizes as every scenario's) with spec.dataCenters: one
    data center per (name, members, extra fields), each with the seed's rack."""
    m = cluster_manifest(NAME, 1)
    m["metadata"]["namespace"] = NS_MULTI
    seed_dc = m["spec"].pop("dataCenter")
    m["spec"]["dataCenters"] = []
    for name, members, extra in dcs:
        dc = copy.deepcopy(seed_dc)
        dc["name"] = name
        dc["racks"][0]["members"] = members
        dc.update(extra)
        m["spec"]["dataCenters"].append(dc)
    return m


def connect_in(dc, creds, consistency):
    """A client through `dc`'s client Service whose requests stay in `dc`."""
    return connect(service_ip(f"{NAME}-{dc}-client", ns=NS_MULTI), *creds, dc=dc,
                   consistency=consistency)


def ready(members):
    c = get(CRD, NAME, ns=NS_MULTI) or {}
    r = condition(c, "Ready") or {}
    return (r.get("status") == "True" and c.get("status", {}).get("membersSummary") ==
            f"{members}/{members}" and c)


class Writer(threading.Thread):
    """Writes new rows at LOCAL_QUORUM in dc1 until stopped (bounded: at most 20 minutes),
    counting failures; `confirmed` holds the keys whose write succeeded."""

    def __init__(self, session, first_key):
        super().__init__(daemon=True)
        self.session, self.key = session, first_key
        self.confirmed, self.failures, self.errors = set(), 0, []
        self.stop = threading.Event()

    def run(self):
        insert = self.session.prepare("INSERT INTO geo.t (k, v) VALUES (?, ?)")
        deadline = time.monotonic() + 1200
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                self.session.execute(insert, (self.key, f"row {self.key}"))
                self.confirmed.add(self.key)
            except Exception as e:  # counted: the scenario asserts there are none
                self.failures += 1
                self.errors.append(repr(e)[:200])
            self.key += 1
            self.stop.wait(0.05)


def scenario_data_centers():
    """16. Several data centers: dc1 and dc2 (one member each) created together, started at
    once; rows written at LOCAL_QUORUM in dc1 are read at LOCAL_ONE in dc2. dc3 added to the
    running cluster (replicateUserKeyspaces 1) starts without streaming, keyspace geo is altered
    to replicate there and dc3's member rebuilds from dc1, while a client writes in dc1 with no
    failed request; every row, old and new, is read at LOCAL_ONE in dc3. dc3 taken out of the
    spec is refused while geo replicates there (nothing touched); geo altered away, dc3's member
    is decommissioned and its objects deleted; every row still read at LOCAL_ONE in dc2."""
    delete_namespace(NS_MULTI, 300)  # an earlier run's
    kubectl("create", "namespace", NS_MULTI, ns=None)
    n = Names(NAME, NS_MULTI)
    t0 = time.monotonic()
    apply(manifest([("dc1", 1, {}), ("dc2", 1, {})]), ns=NS_MULTI)
    wait(f"Cluster {NAME} Ready 2/2 (dc1 + dc2)", lambda: ready(2), 900, ns=NS_MULTI, interval=2)
    timed("data-centers", "dc1 + dc2 (1 member each) created together → Ready", t0)
    pods = {p: kubectl("get", "pod", f"{NAME}-{p}-us-east-1c-0", "-o",
                       "jsonpath={.metadata.creationTimestamp}", ns=NS_MULTI)
            for p in ("dc1", "dc2")}
    figure("data-centers", "pods created (dc1, dc2)", f"{pods['dc1']}, {pods['dc2']}")

    creds = superuser(n)
    c1, s1 = wait("CQL login in dc1",
                  lambda: connect_in("dc1", creds, ConsistencyLevel.LOCAL_QUORUM), 120,
                  ns=NS_MULTI, interval=1)
    clients = [c1]
    try:
        # The system keyspaces replicate in both data centers (the operator's doing).
        auth = s1.execute("SELECT replication FROM system_schema.keyspaces "
                          "WHERE keyspace_name = 'system_auth'").one().replication
        assert auth.get("dc1") == "1" and auth.get("dc2") == "1", auth
        s1.execute("CREATE KEYSPACE IF NOT EXISTS geo WITH replication = "
                   "{'class': 'NetworkTopologyStrategy', 'dc1': 1, 'dc2': 1}", timeout=60)
        s1.execute("CREATE TABLE IF NOT EXISTS geo.t (k int PRIMARY KEY, v text)", timeout=60)
        insert = s1.prepare("INSERT INTO geo.t (k, v) VALUES (?, ?)")
        t0 = time.monotonic()
        failed = 0
        for k in range(ROWS):
            try:
                s1.execute(insert, (k, f"row {k}"))
            except Exception as e:
                failed += 1
                log(f"write {k} failed: {e!r}"[:200])
        timed("data-centers", f"{ROWS} rows written at LOCAL_QUORUM in dc1", t0)
        assert failed == 0, f"{failed} writes failed in dc1"

        c2, s2 = connect_in("dc2", creds, ConsistencyLevel.LOCAL_ONE)
        clients.append(c2)
        got = table_keys(s2, "geo.t", consistency=ConsistencyLevel.LOCAL_ONE)
        figure("data-centers", f"rows read at LOCAL_ONE in dc2 (written {ROWS} in dc1)",
               f"{len(got)} (missing {ROWS - len(got & set(range(ROWS)))})")
        assert got == set(range(ROWS)), f"dc2 misses {sorted(set(range(ROWS)) - got)[:5]}"

        # dc3 joins the running cluster while dc1 takes writes.
        writer = Writer(s1, ROWS)
        writer.start()
        t0 = time.monotonic()
        apply(manifest([("dc1", 1, {}), ("dc2", 1, {}),
                        ("dc3", 1, {"replicateUserKeyspaces": 1, "rebuildFrom": "dc1"})]),
              ns=NS_MULTI)
        phases = []

        def joined():
            c = get(CRD, NAME, ns=NS_MULTI) or {}
            join = c.get("status", {}).get("dataCenterJoin")
            if join and (not phases or phases[-1] != join.get("phase")):
                phases.append(join.get("phase"))
                log(f"dataCenterJoin: {join}")
            return not join and event_messages(NS_MULTI, "DataCenterJoined") and ready(3)

        try:
            wait("dc3 joined and rebuilt (status.dataCenterJoin gone, Ready 3/3)", joined, 1200,
                 ns=NS_MULTI, interval=2)
        finally:
            writer.stop.set()
            writer.join(30)
        timed("data-centers", "dc3 added → joined, rebuilt from dc1", t0)
        figure("data-centers", "dc3's join phases seen", " → ".join(phases))
        figure("data-centers", "writes at LOCAL_QUORUM in dc1 during the join (failed)",
               f"{len(writer.confirmed)} ({writer.failures})")
        assert writer.failures == 0, f"{writer.failures} writes failed: {writer.errors[:3]}"
        for reason in ("DataCenterJoining", "ReplicateUserKeyspaces", "Rebuilding",
                       "DataCenterJoined"):
            messages = event_messages(NS_MULTI, reason)
            assert messages, f"no {reason} event"
            log(f"{reason}: {messages[-1]}")
        figure("data-centers", "DataCenterJoined", event_messages(NS_MULTI, "DataCenterJoined")[-1])

        c3, s3 = connect_in("dc3", creds, ConsistencyLevel.LOCAL_ONE)
        clients.append(c3)
        geo = s3.execute("SELECT replication FROM system_schema.keyspaces "
                         "WHERE keyspace_name = 'geo'").one().replication
        assert geo.get("dc3") == "1", geo
        want = set(range(ROWS)) | writer.confirmed
        got = table_keys(s3, "geo.t", consistency=ConsistencyLevel.LOCAL_ONE)
        figure("data-centers", "rows read at LOCAL_ONE in dc3 after its rebuild (confirmed)",
               f"{len(got & want)} of {len(want)} (missing {len(want - got)})")
        assert want <= got, f"dc3 misses {sorted(want - got)[:5]}"

        # dc3 taken out of the spec: refused while geo replicates there, and nothing touched.
        apply(manifest([("dc1", 1, {}), ("dc2", 1, {})]), ns=NS_MULTI)
        refused = wait("the removal of dc3 refused (DataCenterChangeRefused)",
                       lambda: (condition(get(CRD, NAME, ns=NS_MULTI) or {},
                                          "DataCenterChangeRefused") or {}).get("status") == "True"
                       and condition(get(CRD, NAME, ns=NS_MULTI), "DataCenterChangeRefused"),
                       120, ns=NS_MULTI)
        assert refused["reason"] == "KeyspacesInDataCenter" and "geo" in refused["message"], refused
        figure("data-centers", "dc3 removed from the spec while geo replicates there",
               f"refused: {refused['message'][:60]}...")
        # Untouched: dc3's member still in the ring, serving every row.
        assert not [r for r in event_messages(NS_MULTI, "Decommissioning") if "dc3" in r]
        got = table_keys(s3, "geo.t", consistency=ConsistencyLevel.LOCAL_ONE)
        assert want <= got, "dc3 lost rows while its removal was refused"
        # The way forward: geo altered away from dc3; dc3's member decommissioned (forced past
        # system_auth's factor there), then the system keyspaces altered away, its objects
        # deleted, while dc1 takes writes.
        s1.execute("ALTER KEYSPACE geo WITH replication = "
                   "{'class': 'NetworkTopologyStrategy', 'dc1': 1, 'dc2': 1}", timeout=60)
        writer = Writer(s1, max(want) + 1)
        writer.start()
        t0 = time.monotonic()

        def removed():
            left = kubectl("get", "statefulsets,services,configmaps,poddisruptionbudgets", "-l",
                           "cassandra.rook.io/datacenter=dc3", "-o", "name", ns=NS_MULTI)
            return not left and event_messages(NS_MULTI, "DataCenterRemoved") and ready(2)

        try:
            wait("dc3 decommissioned and its objects deleted", removed, 600, ns=NS_MULTI,
                 interval=2)
        finally:
            writer.stop.set()
            writer.join(30)
        timed("data-centers", "geo altered away from dc3 → dc3 left (decommissioned, deleted)", t0)
        figure("data-centers", "writes at LOCAL_QUORUM in dc1 during the removal (failed)",
               f"{len(writer.confirmed)} ({writer.failures})")
        assert writer.failures == 0, f"{writer.failures} writes failed: {writer.errors[:3]}"
        figure("data-centers", "DataCenterRemoved",
               event_messages(NS_MULTI, "DataCenterRemoved")[-1][:90])
        peers = {r.data_center for r in s1.execute("SELECT data_center FROM system.peers")}
        assert "dc3" not in peers, peers
        for keyspace in ("system_auth", "system_distributed", "system_traces"):
            replication = s1.execute("SELECT replication FROM system_schema.keyspaces "
                                     "WHERE keyspace_name = %s", (keyspace,)).one().replication
            assert "dc3" not in replication, (keyspace, replication)
        want |= writer.confirmed
        got = table_keys(s2, "geo.t", consistency=ConsistencyLevel.LOCAL_ONE)
        figure("data-centers", "rows read at LOCAL_ONE in dc2 after dc3 left (confirmed)",
               f"{len(got & want)} of {len(want)}")
        assert want <= got, f"dc2 misses {sorted(want - got)[:5]}"
    finally:
        for c in clients:
            c.shutdown()


def main():
    scenario_data_centers()
    release_namespace(NS_MULTI)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_data_centers.__doc__))
