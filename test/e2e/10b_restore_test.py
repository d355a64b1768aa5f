#!/usr/bin/env python3
"""e2e 10b: restore in place from the first backup of 10a while the client writes at QUORUM.
Helpers and state: e2elib.py."""
import sys
import time


from e2elib import (MAIN, NS, S3Server, apply, client_on_main, figure, finished, kubectl,
                    load_state, log, run_scenario, table_keys, timed, wait)

NEEDS = ("the shared Cluster Ready 3/3 with storage location 'versity' and Backup e2e-b1 "
         "Complete (10a; state: backup_rows, the S3 directory and credentials)")
LEAVES = "the shared Cluster Ready 3/3; bk1 and bk2 as e2e-b1 took them"


def restore_manifest(name, spec):
    return {"apiVersion": "cassandra.rook.io/v1alpha1", "kind": "Restore",
            "metadata": {"name": name, "namespace": NS}, "spec": {"cluster": MAIN, **spec}}


def scenario_restore(m, load, session, s3):
    """10b. Restore in place: bk2 dropped and bk1 written past the backup; a Restore of both from
    e2e-b1 brings back the schema and every row the backup had (counted) and nothing written
    after it, with no failed client request; Restores of a missing backup, of a keyspace the
    backup lacks, and of an incomplete source fail with the reason."""
    rows = load_state().get("backup_rows")
    assert rows, "10a did not record its rows"
    s3.point_cluster_at(MAIN)
    before = {ks: table_keys(session, f"{ks}.t") for ks in ("bk1", "bk2")}
    assert len(before["bk1"]) > rows["bk1"], "bk1 has no rows written after the backup"
    load.set_phase("restore: bk2 dropped")
    session.execute("DROP KEYSPACE bk2")

    load.set_phase("restore")
    t0 = time.monotonic()
    apply(restore_manifest("e2e-r1", {"backup": "e2e-b1", "keyspaces": ["bk1", "bk2"]}))
    status = wait("Restore e2e-r1 finished", lambda: finished("restore", "e2e-r1"), 900, interval=2)
    assert status["phase"] == "Complete", (
        f"Restore e2e-r1 {status['phase']}: {status.get('reason')}: {status.get('message')}")
    kubectl("wait", "--for=condition=Complete", "restore/e2e-r1", "--timeout=10s")
    timed("restore", "e2e-r1 (in place, bk1 + bk2): created → Complete", t0)
    figure("restore", "e2e-r1 files / bytes fetched over 3 nodes",
           f"{sum(n['filesDone'] for n in status['nodes'])} / "
           f"{sum(n['bytes'] for n in status['nodes']):,}")
    session.cluster.refresh_schema_metadata()
    after = {ks: table_keys(session, f"{ks}.t") for ks in ("bk1", "bk2")}
    for ks in ("bk1", "bk2"):
        want = set(range(rows[ks]))
        missing, extra = want - after[ks], after[ks] - want
        figure("restore", f"{ks}: rows read at QUORUM after the restore (backup had {rows[ks]})",
               f"{len(after[ks])} (missing {len(missing)}, written after the backup "
               f"{len(extra)})")
        assert not missing, f"{ks}: {len(missing)} rows of the backup missing, e.g. {sorted(missing)[:5]}"
        assert not extra, f"{ks}: {len(extra)} rows written after the backup still there"
    assert load.failures("restore") == 0, "client requests failed during the restore"

    for name, spec, reason in [
            ("e2e-r-none", {"backup": "e2e-nothing"}, "BackupNotFound"),
            ("e2e-r-failed", {"backup": "e2e-no-bucket"}, "BackupNotComplete"),
            ("e2e-r-ks", {"backup": "e2e-b1", "keyspaces": ["nope"]}, "KeyspaceNotInBackup"),
            ("e2e-r-name", {"source": {"storageLocation": "versity", "cluster": MAIN,
                                       "backup": "never-taken"}}, "BackupNotFound")]:
        apply(restore_manifest(name, spec))
        s = wait(f"Restore {name} finished", lambda n=name: finished("restore", n), 120, interval=2)
        assert s["phase"] == "Failed" and s.get("reason") == reason, s
        log(f"{name}: Failed, {reason}: {s.get('message')}")
        figure("restore", f"{name} refused with", f"{reason}: {s.get('message', '')[:90]}")


def main():
    s3 = S3Server()
    try:
        with client_on_main("restore") as (m, load, session, _creds):
            scenario_restore(m, load, session, s3)
    finally:
        s3.stop()


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_restore.__doc__))
