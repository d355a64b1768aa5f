#!/usr/bin/env python3
"""make bench: a Repair run by the operator beside `nodetool repair -full -pr` run node by node
(what a DBA without Reaper runs; Reaper for Cassandra 5.0 cannot be had here), on the same
3-node Cluster and the same data, under the same background client at QUORUM. Prints each
way's time and the client's p50/p99 and failed requests beside the client with no repair.
Benchmarks print figures; they never assert on time.

Runs on the local cluster with the operator installed (bench/repair.sh); its Cluster lives in
namespace bench-repair and is deleted afterwards. Reuses the e2e helpers (test/e2e/e2elib.py)."""
import os
import secrets
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "e2e"))

from cassandra.concurrent import execute_concurrent_with_args  # noqa: E402

import e2elib as e  # noqa: E402

NS = "bench-repair"
NAME = "bench-repair"
KS = "bench"
ROWS = int(os.environ.get("BENCH_REPAIR_ROWS", 200_000))
QUIET_SECONDS = 30


def nodetool(n, i, *args, timeout=1800):
    return e.kubectl("exec", n.pod(i), "-c", "cassandra", "--", "nodetool", *args, ns=n.ns,
                     timeout=timeout)


def main():
    n = e.Names(NAME, NS)
    e.kubectl("create", "namespace", NS, ns=None, check=False)
    manifest = e.cluster_manifest(NAME, 3)
    manifest["metadata"]["namespace"] = NS
    t0 = time.monotonic()
    e.apply(manifest, ns=NS)
    e.wait_ready(n, 3, 900)
    print(f"figure cluster_ready_seconds {time.monotonic() - t0:.0f}", flush=True)
    creds = e.superuser(n)
    ip = e.service_ip(n.client, ns=NS)
    cluster, session = e.wait(f"CQL login at {ip}", lambda: e.connect(ip, *creds), 120, ns=NS)
    try:
        for ks in (e.KEYSPACE, KS):
            session.execute(f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = "
                            f"{{'class': 'NetworkTopologyStrategy', '{e.DC}': 3}}")
        session.execute(f"CREATE TABLE IF NOT EXISTS {e.KEYSPACE}.kv (k int PRIMARY KEY, v text)")
        session.execute(f"CREATE TABLE IF NOT EXISTS {KS}.t (k int PRIMARY KEY, v text)")
        ins = session.prepare(f"INSERT INTO {KS}.t (k, v) VALUES (?, ?)")
        ins.consistency_level = e.QUORUM
        t0 = time.monotonic()
        execute_concurrent_with_args(session, ins,
                                     ((k, secrets.token_hex(100)) for k in range(ROWS)),
                                     concurrency=64, raise_on_first_error=True)
        print(f"figure rows_written {ROWS} in {time.monotonic() - t0:.0f}s", flush=True)
        for i in range(3):
            nodetool(n, i, "flush", KS)
        load = e.Load(ip, creds, max_seconds=3600, phase="no repair")
        load.start()
        try:
            e.wait("the client's first writes", lambda: load.total("writes ok") >= 20, 60, ns=NS)
            t0 = time.monotonic()
            e.wait(f"{QUIET_SECONDS} s of the client without a repair",
                   lambda: time.monotonic() - t0 >= QUIET_SECONDS, QUIET_SECONDS + 30, ns=NS)

            load.set_phase("ringkeeper Repair")
            t0 = time.monotonic()
            e.apply({"apiVersion": "cassandra.rook.io/v1alpha1", "kind": "Repair",
                     "metadata": {"name": "bench", "namespace": NS},
                     "spec": {"cluster": NAME, "keyspaces": [KS], "intensity": 1}}, ns=NS)
            status = e.wait("Repair bench finished", lambda: e.finished("repair", "bench", ns=NS),
                            1800, ns=NS, interval=1)
            ours = time.monotonic() - t0
            assert status["phase"] == "Complete", status

            load.set_phase("nodetool repair -full -pr")
            t0 = time.monotonic()
            for i in range(3):
                nodetool(n, i, "repair", "-full", "-pr", KS)
            theirs = time.monotonic() - t0
            load.set_phase("after")
        finally:
            load.stop()
        rows = []
        for phase, seconds in (("no repair", None), ("ringkeeper Repair", ours),
                               ("nodetool repair -full -pr", theirs)):
            rows.append((phase, "-" if seconds is None else f"{seconds:.1f} s",
                         f"{load.latency_ms(phase, 0.5):.1f} ms",
                         f"{load.latency_ms(phase, 0.99):.1f} ms", load.failures(phase)))
        print(f"\nRepair of {ROWS:,} rows ({ROWS * 200 / 1e6:.0f} MB of values, RF 3 on 3 nodes, in "
              f"sync), client at QUORUM (a write and a read every {e.LOAD_INTERVAL}s):")
        print(f"  {'way':32} {'time':>10} {'client p50':>11} {'client p99':>11} {'failed':>7}")
        for r in rows:
            print(f"  {r[0]:32} {r[1]:>10} {r[2]:>11} {r[3]:>11} {r[4]:>7}")
        segments = status["segments"]
        print(f"  (the Repair: {segments['total']} segments, one per node at a time; nodetool: "
              f"one session per node's primary ranges, nodes one after the other)")
    finally:
        cluster.shutdown()
        e.delete_namespace(NS, 600)


if __name__ == "__main__":
    sys.exit(main())
