#!/usr/bin/env python3
"""e2e 15: the 3-node backup e2e-b1 restored into a cluster of another size: 14's Cluster grown
to 4 members, bk1 and bk2 dropped, a Restore streams each source node's files to the replicas of
their rows (the bulk loader inside Cassandra). Helpers and state: e2elib.py."""
import sys
import time


from e2elib import (CRD, DC, MAIN, NS_RESTORED, RESTORED, Names, PreconditionFailed, S3Server,
                    apply, condition, connect, figure, finished, get, load_state, patch_members,
                    release_namespace, run_scenario, service_ip, superuser, table_keys, timed,
                    wait, wait_ready)

NEEDS = ("14's Cluster 'restored' (namespace e2e-restored) Ready 3/3 and Restored; the S3 "
         "directory and credentials of 10a (backup e2e-b1 of my-cassandra-cluster, 3 nodes)")
LEAVES = ("namespace e2e-restored being deleted (not waited for: nothing after needs the room) "
          "unless E2E_KEEP=1 or a scenario before failed (kept for inspection)")


def scenario_restore_other_size(s3):
    """15. Restore into another size: the 3-node backup e2e-b1 into 14's Cluster grown to 4
    members, bk1 and bk2 dropped first: the Restore streams each source node's files to the
    replicas of their rows (method BulkLoad, one part per source node); every row of the backup
    is read at QUORUM, none other."""
    rows = load_state().get("backup_rows")
    n = Names(RESTORED, NS_RESTORED)
    cluster = get(CRD, RESTORED, ns=NS_RESTORED)
    if not rows or not cluster or (condition(cluster, "Restored") or {}).get("status") != "True":
        raise PreconditionFailed("precondition: 14's Cluster restored exists and is Restored, "
                                 "10a recorded backup_rows")
    s3.point_cluster_at(RESTORED, ns=NS_RESTORED)
    t0 = time.monotonic()
    patch_members(n, 4)
    wait_ready(n, 4, 900)
    timed("restore-size", f"{RESTORED}: 3 → 4 members", t0)

    creds = superuser(n)
    ip = service_ip(f"{RESTORED}-{DC}-client", ns=NS_RESTORED)
    c, session = wait(f"CQL login at {ip}", lambda: connect(ip, *creds), 120, ns=NS_RESTORED,
                      interval=0.5)
    try:
        for ks in ("bk1", "bk2"):
            session.execute(f"DROP KEYSPACE {ks}", timeout=60)
        t0 = time.monotonic()
        apply({
            "apiVersion": "cassandra.rook.io/v1alpha1", "kind": "Restore",
            "metadata": {"name": "e2e-r-resized", "namespace": NS_RESTORED},
            "spec": {"cluster": RESTORED, "keyspaces": ["bk1", "bk2"],
                     "source": {"storageLocation": "versity", "cluster": MAIN,
                                "backup": "e2e-b1"}}}, ns=NS_RESTORED)
        status = wait("Restore e2e-r-resized finished",
                      lambda: finished("restore", "e2e-r-resized", ns=NS_RESTORED), 900,
                      ns=NS_RESTORED, interval=2)
        assert status["phase"] == "Complete", (
            f"Restore {status['phase']}: {status.get('reason')}: {status.get('message')}")
        timed("restore-size", "e2e-r-resized (3-node backup into 4 members): created → Complete",
              t0)
        assert status.get("method") == "BulkLoad", status
        parts = status["nodes"]
        assert sorted(p["source"] for p in parts) == [
            f"{MAIN}-{DC}-us-east-1c-{i}" for i in range(3)], parts
        figure("restore-size", "parts streamed (source → member)",
               ", ".join(f"{p['source'][-1]}→{p['pod'][-1]}" for p in parts))
        session.cluster.refresh_schema_metadata()
        for ks in ("bk1", "bk2"):
            got = table_keys(session, f"{ks}.t")
            want = set(range(rows[ks]))
            figure("restore-size", f"{ks}: rows read at QUORUM on 4 members (backup had "
                   f"{rows[ks]} on 3)",
                   f"{len(got)} (missing {len(want - got)}, not in the backup {len(got - want)})")
            assert got == want, (f"{ks}: missing {sorted(want - got)[:5]}, "
                                 f"extra {sorted(got - want)[:5]}")
    finally:
        c.shutdown()


def main():
    s3 = S3Server()
    try:
        scenario_restore_other_size(s3)
    finally:
        s3.stop()
    release_namespace(NS_RESTORED)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_restore_other_size.__doc__))
