#!/usr/bin/env python3
"""e2e 10c: a backup schedule every minute with retention 2 on the shared cluster, while the
client writes at QUORUM. Helpers and state: e2elib.py."""
import json
import sys
import threading
import time

from cassandra.concurrent import execute_concurrent_with_args

from e2elib import (DC, MAIN, NS, QUORUM, S3Server, client_on_main, event_messages, figure, get,
                    items, kubectl, log, run_scenario, timed, wait)

NEEDS = "the shared Cluster Ready 3/3 with storage location 'versity' (10a; state: the S3 directory)"
LEAVES = ("the shared Cluster Ready 3/3 without schedules; keyspace bksched; two scheduled "
          "Backups kept")

BUCKET = "e2e-backups"
SCHEDULE = "every-minute"
RUNS = 4


def scheduled_backups():
    return items("backups", selector=f"cassandra.rook.io/backup-schedule={SCHEDULE}")


def patch_schedules(schedules):
    kubectl("patch", "cluster", MAIN, "--type", "merge", "-p",
            json.dumps({"spec": {"backups": schedules}}))


class Writer(threading.Thread):
    """Rows into bksched.t every few seconds (bounded), so each backup has new SSTables."""

    def __init__(self, session, seconds):
        super().__init__(daemon=True)
        self.session, self.deadline, self.stop, self.rows = session, time.monotonic() + seconds, \
            threading.Event(), 0
        self.error = None

    def run(self):
        ins = self.session.prepare("INSERT INTO bksched.t (k, v) VALUES (?, ?)")
        ins.consistency_level = QUORUM
        try:
            while not self.stop.is_set() and time.monotonic() < self.deadline:
                execute_concurrent_with_args(
                    self.session, ins, [(self.rows + i, "x" * 100) for i in range(300)],
                    concurrency=16, raise_on_first_error=True)
                self.rows += 300
                self.stop.wait(15)
        except Exception as e:  # reported by the scenario
            self.error = e


def unreferenced(s3):
    """Stored data files of the cluster that no remaining manifest lists."""
    keys = s3.keys(BUCKET, f"{MAIN}/")
    listed = set()
    for key in keys:
        if "/manifests/" in key:
            listed.update(f["key"] for f in s3.read_json(BUCKET, key)["files"])
    return [k for k in keys if "/data/" in k and k not in listed]


def scenario_schedule(m, load, session, s3):
    """10c. A schedule every minute, retention 2, orphan grace 0 (bksched written between runs,
    compacting at every second flush): after 4 scheduled backups, 2 remain with their index and
    manifests, the others' are gone, every stored data file is listed by a remaining manifest
    (the unreferenced ones purged), and every file of both kept backups downloads with its size
    and MD5. Then suspended (a unit test proves a suspended schedule creates nothing) and removed."""
    s3.point_cluster_at(MAIN)
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS bksched WITH replication = "
                    f"{{'class': 'NetworkTopologyStrategy', '{DC}': 3}}")
    session.execute("CREATE TABLE IF NOT EXISTS bksched.t (k int PRIMARY KEY, v text) WITH "
                    "compaction = {'class': 'SizeTieredCompactionStrategy', 'min_threshold': 2}")
    writer = Writer(session, 8 * 60)
    writer.start()
    load.set_phase("backup schedule")
    t0 = time.monotonic()
    patch_schedules([{"name": SCHEDULE, "schedule": "* * * * *", "storageLocation": "versity",
                      "keyspaces": ["bksched"], "startingDeadlineSeconds": 60,
                      "retention": {"count": 2, "orphanFileGracePeriod": "0s"}}])
    completed = set()

    def runs_done():
        for b in scheduled_backups():
            if (b.get("status") or {}).get("phase") == "Complete":
                completed.add(b["metadata"]["name"])
            assert (b.get("status") or {}).get("phase") != "Failed", \
                f"{b['metadata']['name']} failed: {b['status'].get('message')}"
        return len(completed) >= RUNS
    wait(f"{RUNS} scheduled backups complete", runs_done, 8 * 60, interval=2)
    timed("schedule", f"schedule set → {RUNS} scheduled backups complete", t0)
    patch_schedules([{"name": SCHEDULE, "schedule": "* * * * *", "storageLocation": "versity",
                      "keyspaces": ["bksched"], "suspend": True,
                      "retention": {"count": 2, "orphanFileGracePeriod": "0s"}}])
    writer.stop.set()
    writer.join(timeout=60)
    assert writer.error is None, f"the writer failed: {writer.error!r}"

    def settled():
        backups = scheduled_backups()
        phases = [(b.get("status") or {}).get("phase") for b in backups]
        return len(backups) == 2 and phases == ["Complete", "Complete"] and not unreferenced(s3)
    wait("2 scheduled backups kept and no unreferenced file", settled, 180, interval=3)
    kept = sorted(b["metadata"]["name"] for b in scheduled_backups())
    purged = sorted(completed - set(kept))
    figure("schedule", "scheduled backups seen complete / kept / purged",
           f"{len(completed)} / {len(kept)} / {len(purged)}")
    stored = s3.keys(BUCKET, f"{MAIN}/")
    for name in purged:
        assert f"{MAIN}/backups/{name}.json" not in stored, f"{name}: index still stored"
        assert not [k for k in stored if k.endswith(f"/manifests/{name}.json")], \
            f"{name}: a manifest is still stored"
    orphans = event_messages(NS, "OrphanFilesPurged")
    figure("schedule", "OrphanFilesPurged events", "; ".join(orphans)[:120] or "none")
    assert orphans, "no unreferenced file was purged (bksched compacts at every second flush)"
    figure("schedule", "files verified (size + MD5, downloaded) in the 2 kept backups",
           " + ".join(str(s3.verify(BUCKET, MAIN, name)) for name in kept))
    # The product's verification, asked for by annotation: the operator lists what is stored and
    # checks every manifest's files (size, ETag = the server's MD5 of a file sent in one PUT).
    for name in kept:
        kubectl("annotate", "--overwrite", "backup", name, "cassandra.rook.io/verify=e2e-10c")

        def verified(n=name):
            v = ((get("backup", n) or {}).get("status") or {}).get("verification") or {}
            return v if v.get("request") == "e2e-10c" else None
        v = wait(f"Backup {name} verified on request", verified, 60)
        assert v["passed"], f"{name}: verification failed: {v.get('problems')}"
        kubectl("wait", "--for=condition=Verified", f"backup/{name}", "--timeout=10s")
        figure("schedule", f"{name}: verified on request (files, bytes)",
               f"{v['files']}, {v['bytes']:,}")
    patch_schedules(None)
    assert load.failures("backup schedule") == 0, "client requests failed during the schedule"
    log(f"kept {kept}, purged {purged}")


def main():
    s3 = S3Server()
    try:
        with client_on_main("backup schedule") as (m, load, session, _creds):
            scenario_schedule(m, load, session, s3)
    finally:
        s3.stop()


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_schedule.__doc__))
