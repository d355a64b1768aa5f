#!/usr/bin/env python3
"""e2e 10f: a filesystem storage location (a PersistentVolumeClaim every Cassandra pod mounts)
for backups, their verification, a restore and a schedule's retention, while the client writes
at QUORUM. Helpers and state: e2elib.py."""
import json
import os
import sys
import time

from cassandra.concurrent import execute_concurrent_with_args

from e2elib import (DC, FS_CLAIM, FS_LOCATION, MAIN, NS, QUORUM, apply, client_on_main,
                    event_messages, figure, finished, get, items, kubectl, log, pods,
                    pods_mounting, run_scenario, storage_locations_with_fs, table_keys, timed,
                    wait, wait_rolled)

NEEDS = ("the shared Cluster Ready 3/3; the location 'fs' mounted in every pod by 10e's roll (added "
         "here, with a roll, when it is not)")
LEAVES = ("the shared Cluster Ready 3/3 with the filesystem location 'fs' (claim e2e-backups-fs) "
          "mounted in every pod; keyspace bkfs as Restore e2e-fs-r left it; Backups e2e-fs-1, "
          "e2e-fs-2 and one scheduled one kept in 'fs'")

CLAIM, LOCATION = FS_CLAIM, FS_LOCATION
SCHEDULE = "fs-every-minute"
FIRST, SECOND = range(0, 2000), range(2000, 2500)


def write(session, keys):
    ins = session.prepare("INSERT INTO bkfs.t (k, v) VALUES (?, ?)")
    ins.consistency_level = QUORUM
    ins.is_idempotent = True
    execute_concurrent_with_args(session, ins, [(k, f"v{k}" * 20) for k in keys], concurrency=32,
                                 raise_on_first_error=True)


def volume_dir():
    """Where the claim's volume is on this machine (local-path: a host directory), to look at
    what the agents wrote with the test's own eyes."""
    pv = get("pvc", CLAIM)["spec"]["volumeName"]
    spec = get("pv", pv, ns=None)["spec"]
    path = (spec.get("hostPath") or spec.get("local") or {}).get("path")
    assert path and os.path.isdir(path), f"volume {pv}: no host directory ({spec})"
    return path


def stored(root):
    """Every stored object under the cluster's prefix: key -> path (the store's own files under
    .ringkeeper/ are not objects)."""
    out = {}
    for d, dirs, files in os.walk(os.path.join(root, MAIN)):
        for f in files:
            path = os.path.join(d, f)
            out[os.path.relpath(path, root)] = path
    return out


def unreferenced(root):
    objects = stored(root)
    listed = set()
    for key, path in objects.items():
        if "/manifests/" in key:
            with open(path) as f:
                listed.update(e["key"] for e in json.load(f)["files"])
    return [k for k in objects if "/data/" in k and k not in listed]


def backup(name, keyspaces, timeout=600):
    apply({"apiVersion": "cassandra.rook.io/v1alpha1", "kind": "Backup",
           "metadata": {"name": name, "namespace": NS},
           "spec": {"cluster": MAIN, "storageLocation": LOCATION, "keyspaces": keyspaces}})
    status = wait(f"Backup {name} finished", lambda: finished("backup", name), timeout, interval=2)
    assert status["phase"] == "Complete", f"{name}: {status.get('reason')}: {status.get('message')}"
    return status


def scheduled():
    return items("backups", selector=f"cassandra.rook.io/backup-schedule={SCHEDULE}")


def scenario_filesystem(m, load, session):
    """10f. A PVC added as storage location 'fs' (a roll: every pod mounts it; 10e's roll when it
    ran before). Keyspace bkfs:
    2,000 rows, Backup e2e-fs-1; 500 rows more, Backup e2e-fs-2 sends only the new files (bytes
    of both printed); the files are in the volume, each manifest's files stored with their size;
    e2e-fs-1 verified on request by the operator through the agents; bkfs dropped and restored
    from e2e-fs-1: its 2,000 rows back, none of the 500 later. Then a schedule every minute with
    retention 1 on 'fs': after 2 scheduled backups 1 remains, the purged one's index and
    manifests are gone from the volume and no data file is left that no manifest lists. No
    failed client request."""
    load.set_phase("filesystem location: roll")
    if FS_LOCATION in {loc["name"] for loc in get("cluster", MAIN)["spec"].get("storageLocations")
                       or []}:
        log(f"location '{FS_LOCATION}' on the Cluster already (10e added it in its roll)")
    else:
        before = {name: p["metadata"]["uid"] for name, p in pods(m).items()}
        t0 = time.monotonic()
        kubectl("patch", "cluster", MAIN, "--type=merge", "-p", json.dumps({"spec": {
            "storageLocations": storage_locations_with_fs(m)}}))
        _, worst, _ = wait_rolled(m, before)
        timed("filesystem", "location added: the roll (3 pods mount the claim, one at a time)", t0)
        assert worst <= 1
    mounting = pods_mounting(m, CLAIM)
    figure("filesystem", f"pods mounting the claim {CLAIM}", len(mounting))
    assert len(mounting) == 3, mounting
    root = volume_dir()
    log(f"the claim's volume is {root} on this machine")

    load.set_phase("filesystem location: backups")
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS bkfs WITH replication = "
                    f"{{'class': 'NetworkTopologyStrategy', '{DC}': 3}}")
    session.execute("CREATE TABLE IF NOT EXISTS bkfs.t (k int PRIMARY KEY, v text)")
    write(session, FIRST)
    t0 = time.monotonic()
    first = backup("e2e-fs-1", ["bkfs"])
    timed("filesystem", "Backup e2e-fs-1 (3 nodes): created → Complete", t0)
    assert first["index"] == f"filesystem://{LOCATION}/{MAIN}/backups/e2e-fs-1.json", first["index"]
    write(session, SECOND)
    second = backup("e2e-fs-2", ["bkfs"])
    figure("filesystem", "bytes stored / sent: e2e-fs-1, e2e-fs-2",
           f"{first['bytes']:,} / {first['bytesSent']:,}, {second['bytes']:,} / "
           f"{second['bytesSent']:,}")
    assert second["bytesSent"] < second["bytes"], "the second backup sent every file again"
    objects = stored(root)
    assert f"{MAIN}/backups/e2e-fs-1.json" in objects and f"{MAIN}/backups/e2e-fs-2.json" in objects
    files = 0
    for n in first["nodes"]:
        with open(objects[n["manifest"]]) as f:
            for e in json.load(f)["files"]:
                assert os.path.getsize(objects[e["key"]]) == e["size"], e["key"]
                files += 1
    figure("filesystem", "e2e-fs-1: files in the volume with their manifest's size", files)

    kubectl("annotate", "--overwrite", "backup", "e2e-fs-1", "cassandra.rook.io/verify=e2e-10f")

    def verified():
        v = ((get("backup", "e2e-fs-1") or {}).get("status") or {}).get("verification") or {}
        return v if v.get("request") == "e2e-10f" else None
    v = wait("Backup e2e-fs-1 verified on request", verified, 60)
    assert v["passed"], f"verification failed: {v.get('problems')}"
    figure("filesystem", "e2e-fs-1 verified on request through the agents (files, bytes)",
           f"{v['files']}, {v['bytes']:,}")

    load.set_phase("filesystem location: restore")
    session.execute("DROP KEYSPACE bkfs")
    t0 = time.monotonic()
    apply({"apiVersion": "cassandra.rook.io/v1alpha1", "kind": "Restore",
           "metadata": {"name": "e2e-fs-r", "namespace": NS},
           "spec": {"cluster": MAIN, "backup": "e2e-fs-1", "keyspaces": ["bkfs"]}})
    status = wait("Restore e2e-fs-r finished", lambda: finished("restore", "e2e-fs-r"), 900,
                  interval=2)
    assert status["phase"] == "Complete", f"{status.get('reason')}: {status.get('message')}"
    timed("filesystem", "Restore e2e-fs-r (bkfs dropped first): created → Complete", t0)
    session.cluster.refresh_schema_metadata()
    keys = table_keys(session, "bkfs.t")
    figure("filesystem", "bkfs rows after the restore: of e2e-fs-1 (2,000) / written after (500)",
           f"{len(keys & set(FIRST))} / {len(keys & set(SECOND))}")
    assert keys == set(FIRST), (f"{len(set(FIRST) - keys)} missing, "
                                f"{len(keys - set(FIRST))} not in the backup")

    load.set_phase("filesystem location: schedule")
    t0 = time.monotonic()

    def set_schedule(suspend):
        kubectl("patch", "cluster", MAIN, "--type=merge", "-p", json.dumps({"spec": {"backups": [
            {"name": SCHEDULE, "schedule": "* * * * *", "storageLocation": LOCATION,
             "keyspaces": ["bkfs"], "startingDeadlineSeconds": 60, "suspend": suspend,
             "retention": {"count": 1, "orphanFileGracePeriod": "0s"}}]}}))
    set_schedule(False)
    completed = set()

    def two_done():
        for b in scheduled():
            phase = (b.get("status") or {}).get("phase")
            assert phase != "Failed", f"{b['metadata']['name']}: {b['status'].get('message')}"
            if phase == "Complete":
                completed.add(b["metadata"]["name"])
            if len(completed) < 2:  # new rows in every run's files
                write(session, range(10_000 + 100 * len(completed), 10_100 + 100 * len(completed)))
        return len(completed) >= 2
    wait("2 scheduled backups complete in 'fs'", two_done, 5 * 60, interval=3)
    set_schedule(True)  # suspended: its retention still applies

    def settled():
        kept = [b["metadata"]["name"] for b in scheduled()]
        return kept if len(kept) == 1 and not unreferenced(root) else None
    kept = wait("1 scheduled backup kept and no unreferenced file in the volume", settled, 180,
                interval=3)
    timed("filesystem", "schedule set → 2 scheduled backups, 1 purged, orphans collected", t0)
    purged = sorted(completed - set(kept))
    objects = stored(root)
    for name in purged:
        assert f"{MAIN}/backups/{name}.json" not in objects, f"{name}: index still stored"
        assert not [k for k in objects if k.endswith(f"/manifests/{name}.json")], \
            f"{name}: a manifest is still stored"
    figure("filesystem", "scheduled backups complete / kept / purged (index and manifests gone)",
           f"{len(completed)} / {len(kept)} / {len(purged)}")
    orphans = [e for e in event_messages(NS, "OrphanFilesPurged") if f" in {LOCATION} " in e]
    figure("filesystem", "OrphanFilesPurged in 'fs' (through the agents)",
           "; ".join(orphans)[:120] or "none (no file was left unreferenced)")
    kubectl("patch", "cluster", MAIN, "--type=json", "-p",
            json.dumps([{"op": "remove", "path": "/spec/backups"}]))
    for phase in ("filesystem location: roll", "filesystem location: backups",
                  "filesystem location: restore", "filesystem location: schedule"):
        assert load.failures(phase) == 0, f"client requests failed in phase {phase}"


def main():
    with client_on_main("filesystem location: roll") as (m, load, session, _creds):
        scenario_filesystem(m, load, session)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_filesystem.__doc__))
