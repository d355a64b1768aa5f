#!/usr/bin/env python3
"""e2e 10e: commit log archiving and a restore in place to a point in time, while the client
writes at QUORUM. Helpers and state: e2elib.py."""
import datetime
import json
import os
import sys
import time

from cassandra.concurrent import execute_concurrent_with_args

from e2elib import (CRD, DC, FS_CLAIM, FS_LOCATION, MAIN, NS, QUORUM, S3Server, apply,
                    client_on_main, figure, finished, kubectl, log, pods, pods_mounting,
                    run_scenario, storage_locations_with_fs, table_keys, timed, wait, wait_rolled)

NEEDS = "the shared Cluster Ready 3/3 with storage location 'versity' (10a; state: the S3 directory)"
LEAVES = ("the shared Cluster Ready 3/3 archiving its commit log to 'versity', with the "
          "filesystem location 'fs' (claim e2e-backups-fs) mounted in every pod (for 10f: one roll "
          "for both); keyspace pit as Restore e2e-pit left it (rows before the point in time)")

BUCKET = "e2e-backups"
IN_BACKUP, BEFORE, AFTER = range(0, 1000), range(1000, 2000), range(2000, 3000)
FILLER_BLOB = 512 * 1024
FILLER_MAX_BYTES = 96 << 20  # bounded: three times the default 32 MiB segment


def write(session, keys, tag):
    ins = session.prepare("INSERT INTO pit.t (k, v) VALUES (?, ?)")
    ins.consistency_level = QUORUM
    ins.is_idempotent = True
    execute_concurrent_with_args(session, ins, [(k, f"{tag}-{k}") for k in keys], concurrency=32,
                                 raise_on_first_error=True)


def stored_segments(s3):
    """Every archived segment: key -> (node, LastModified)."""
    out, token = {}, None
    c = s3.client()
    while True:
        args = {"Bucket": BUCKET, "Prefix": f"{MAIN}/"}
        if token:
            args["ContinuationToken"] = token
        page = c.list_objects_v2(**args)
        for o in page.get("Contents", []):
            parts = o["Key"].split("/")
            if len(parts) == 4 and parts[2] == "commitlog":
                out[o["Key"]] = (parts[1], o["LastModified"].timestamp())
        if not page.get("IsTruncated"):
            return out
        token = page["NextContinuationToken"]


def nodes_with_segment_after(s3, t):
    return {node for node, stored in stored_segments(s3).values() if stored >= t}


def restore(name, spec):
    apply({"apiVersion": "cassandra.rook.io/v1alpha1", "kind": "Restore",
           "metadata": {"name": name, "namespace": NS}, "spec": {"cluster": MAIN, **spec}})


def scenario_point_in_time(m, load, session, s3):
    """10e. Archiving turned on (a roll, one pod at a time; 10f's location added in it). Keyspace pit: 1,000 rows, Backup e2e-pit-b, 1,000 rows more, the point in time T
    (a whole second), 1,000 rows after it. The recovery point from the storage alone is
    measured: how long a write takes to be in a stored segment of every node while 512 KiB
    writes fill the 32 MiB segments (each node's agent ships them). A Restore of pit to T: all 2,000 rows before T back and none of the 1,000
    after (counted), each node restarted once to replay; refusals: a point before the backup,
    one in the future, a fraction of a second; no failed client request."""
    s3.point_cluster_at(MAIN)
    load.set_phase("archiving on (roll)")
    before = {name: p["metadata"]["uid"] for name, p in pods(m).items()}
    t0 = time.monotonic()
    # 10f's filesystem location in the same change: one roll for both.
    kubectl("patch", CRD, MAIN, "--type=merge", "-p", json.dumps({"spec": {
        "commitLogArchive": {"storageLocation": "versity"},
        "storageLocations": storage_locations_with_fs(m)}}))
    _, worst, _ = wait_rolled(m, before)
    timed("pitr", f"archiving on, location '{FS_LOCATION}' added: the roll (3 pods, one at a time)",
          t0)
    assert worst <= 1
    assert len(pods_mounting(m, FS_CLAIM)) == 3, pods_mounting(m, FS_CLAIM)
    assert load.failures("archiving on (roll)") == 0, "client requests failed during the roll"

    load.set_phase("point in time: writes")
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS pit WITH replication = "
                    f"{{'class': 'NetworkTopologyStrategy', '{DC}': 3}}")
    session.execute("CREATE TABLE IF NOT EXISTS pit.t (k int PRIMARY KEY, v text)")
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS pitfill WITH replication = "
                    f"{{'class': 'NetworkTopologyStrategy', '{DC}': 3}}")
    session.execute("CREATE TABLE IF NOT EXISTS pitfill.b (k int PRIMARY KEY, v blob)")
    write(session, IN_BACKUP, "backup")
    apply({"apiVersion": "cassandra.rook.io/v1alpha1", "kind": "Backup",
           "metadata": {"name": "e2e-pit-b", "namespace": NS},
           "spec": {"cluster": MAIN, "storageLocation": "versity", "keyspaces": ["pit"]}})
    status = wait("Backup e2e-pit-b finished", lambda: finished("backup", "e2e-pit-b"), 600,
                  interval=2)
    assert status["phase"] == "Complete", f"{status.get('reason')}: {status.get('message')}"
    write(session, BEFORE, "before")
    # The point in time: the next whole second, once every write before it is confirmed; the
    # client's timestamps (this host's clock, as the nodes') are after it from then on.
    point = int(time.time()) + 1
    wait("the clock past the point in time", lambda: time.time() >= point + 1, 5, interval=0.05)
    write(session, AFTER, "after")
    point_text = datetime.datetime.fromtimestamp(point, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    log(f"point in time {point_text}: rows {BEFORE.start}..{BEFORE.stop - 1} before, "
        f"{AFTER.start}..{AFTER.stop - 1} after")

    # The recovery point from the storage alone: a segment is archived when it is full.
    load.set_phase("point in time: recovery point")
    marked = time.time()
    blob = os.urandom(FILLER_BLOB)
    ins = session.prepare("INSERT INTO pitfill.b (k, v) VALUES (?, ?)")
    ins.consistency_level = QUORUM
    written = 0
    while len(nodes_with_segment_after(s3, marked)) < 3:
        assert written < FILLER_MAX_BYTES, (
            f"{written:,} bytes written and not every node stored a segment since")
        execute_concurrent_with_args(session, ins, [(written // FILLER_BLOB + i, blob)
                                                    for i in range(8)], concurrency=4,
                                     raise_on_first_error=True)
        written += 8 * FILLER_BLOB
    rpo = time.time() - marked
    log(f"every node stored a segment since the mark: {sorted(nodes_with_segment_after(s3, marked))}")
    figure("pitr", "recovery point from storage alone: a write → a stored segment holding it "
                   "(512 KiB writes filling 32 MiB segments)",
           f"{rpo:.1f} s after {written / 2**20:.0f} MiB written "
           f"({written / 2**20 / rpo:.1f} MiB/s)")
    session.execute("DROP KEYSPACE pitfill")

    load.set_phase("point in time: refusals")
    for name, spec, reason in [
            ("e2e-pit-early", {"pointInTime": "2020-01-01T00:00:00Z"}, "PointInTimeBeforeBackup"),
            ("e2e-pit-future", {"pointInTime": "2099-01-01T00:00:00Z"}, "PointInTimeInFuture")]:
        restore(name, {"backup": "e2e-pit-b", "keyspaces": ["pit"], **spec})
        s = wait(f"Restore {name} finished", lambda n=name: finished("restore", n), 120,
                 interval=2)
        assert s["phase"] == "Failed" and s.get("reason") == reason, s
        figure("pitr", f"{name} refused with", f"{reason}: {s.get('message', '')[:90]}")
    try:
        restore("e2e-pit-fraction", {"backup": "e2e-pit-b", "pointInTime": "2026-12-05T03:04:05.5Z"})
        raise AssertionError("a point in time with a fraction of a second was accepted")
    except RuntimeError as e:
        assert "whole seconds" in str(e), e
        figure("pitr", "a fraction of a second refused by the API server", "whole seconds")

    load.set_phase("point in time: restore")
    t0 = time.monotonic()
    restore("e2e-pit", {"backup": "e2e-pit-b", "keyspaces": ["pit"], "pointInTime": point_text})
    status = wait("Restore e2e-pit finished", lambda: finished("restore", "e2e-pit"), 1200,
                  interval=2)
    assert status["phase"] == "Complete", (
        f"Restore e2e-pit {status['phase']}: {status.get('reason')}: {status.get('message')}")
    kubectl("wait", "--for=condition=Complete", "restore/e2e-pit", "--timeout=10s")
    timed("pitr", "e2e-pit (files, then 3 nodes restarted to replay): created → Complete", t0)
    assert all(n.get("replay") == "Done" for n in status["nodes"]), status["nodes"]
    assert status["pointInTime"]["tables"] == ["pit.t"], status["pointInTime"]
    session.cluster.refresh_schema_metadata()
    keys = table_keys(session, "pit.t")
    want = set(IN_BACKUP) | set(BEFORE)
    missing, after = want - keys, keys & set(AFTER)
    figure("pitr", "pit rows at QUORUM after the restore: before T (of 2,000) / after T (of 1,000)",
           f"{len(keys & want)} / {len(after)}")
    assert not missing, f"{len(missing)} rows written before T missing, e.g. {sorted(missing)[:5]}"
    assert not after, f"{len(after)} rows written after T are back, e.g. {sorted(after)[:5]}"
    for phase in ("archiving on (roll)", "point in time: writes", "point in time: restore"):
        assert load.failures(phase) == 0, f"client requests failed in phase {phase}"


def main():
    s3 = S3Server()
    try:
        with client_on_main("archiving on (roll)") as (m, load, session, _creds):
            scenario_point_in_time(m, load, session, s3)
    finally:
        s3.stop()


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_point_in_time.__doc__))
