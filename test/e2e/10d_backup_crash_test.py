#!/usr/bin/env python3
"""e2e 10d: a node's agent SIGKILLed mid-upload and the operator leader SIGKILLed mid-restore;
each finishes, nothing lost. Helpers and state: e2elib.py."""
import os
import secrets
import signal
import sys
import time

from cassandra.concurrent import execute_concurrent_with_args

from e2elib import (DC, MAIN, NS, QUORUM, S3Server, apply, client_on_main, figure, finished,
                    kill_leader, log, run_scenario, status_of, table_keys, timed, wait)

NEEDS = "the shared Cluster Ready 3/3 with storage location 'versity' (10a; state: the S3 directory)"
LEAVES = "the shared Cluster Ready 3/3; keyspace bkcrash as Backup e2e-b3 took it"

BUCKET = "e2e-backups"
ROWS = 30000
RATE = 100_000  # bytes per second per node: the upload lasts long enough to be interrupted


def agent_pids(pod):
    """Host PIDs of the agent sidecar (`ringkeeper-agent serve`) of `pod`."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if (os.path.basename(args[0]) == b"ringkeeper-agent" and b"serve" in args
                and f"--pod={pod}".encode() in args):
            out.append(int(d))
    return out


def scenario_crash(m, load, session, s3):
    """10d. 30k rows in bkcrash; Backup e2e-b3 at 100 kB/s per node; one node's agent SIGKILLed
    once its upload is under way: the operator asks the restarted agent again, the files already
    stored are not sent twice, the backup completes and every file verifies (downloaded). Then a
    Restore of bkcrash from it, the operator leader SIGKILLed once it runs: the next leader
    finishes it; every row is back (counted); no client request failed."""
    s3.point_cluster_at(MAIN)
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS bkcrash WITH replication = "
                    f"{{'class': 'NetworkTopologyStrategy', '{DC}': 3}}")
    session.execute("CREATE TABLE IF NOT EXISTS bkcrash.t (k int PRIMARY KEY, v text)")
    ins = session.prepare("INSERT INTO bkcrash.t (k, v) VALUES (?, ?)")
    ins.consistency_level = QUORUM
    # Random values: compressed SSTables stay big enough for the upload to take a while.
    execute_concurrent_with_args(session, ins, [(k, secrets.token_hex(50)) for k in range(ROWS)],
                                 concurrency=32, raise_on_first_error=True)

    load.set_phase("agent killed mid-upload")
    t0 = time.monotonic()
    apply({"apiVersion": "cassandra.rook.io/v1alpha1", "kind": "Backup",
           "metadata": {"name": "e2e-b3", "namespace": NS},
           "spec": {"cluster": MAIN, "storageLocation": "versity", "keyspaces": ["bkcrash"],
                    "bandwidthBytesPerSecond": RATE}})

    def uploading():
        for n in status_of("backup", "e2e-b3").get("nodes") or []:
            if n.get("phase") == "Running" and n.get("bytesSent", 0) > 0:
                return n
        return None
    node = wait("a node's upload under way", uploading, 300, interval=0.5)
    pod, first_op, sent = node["pod"], node["operation"], node["bytesSent"]
    pids = agent_pids(pod)
    assert len(pids) == 1, f"agent processes of {pod}: {pids}"
    os.kill(pids[0], signal.SIGKILL)
    log(f"SIGKILLed the agent of {pod} (host pid {pids[0]}) after {sent} bytes of operation "
        f"{first_op}")
    status = wait("Backup e2e-b3 finished",
                  lambda: finished("backup", "e2e-b3"), 600, interval=2)
    assert status["phase"] == "Complete", f"{status.get('reason')}: {status.get('message')}"
    timed("crash", "e2e-b3 (agent killed mid-upload): created → Complete", t0)
    after = next(n for n in status["nodes"] if n["pod"] == pod)
    assert after["operation"] != first_op, f"{pod}: the agent was not asked again"
    figure("crash", f"{pod}: bytes before the kill / files already stored when asked again",
           f"{sent:,} / {after['filesSkipped']}")
    assert after["filesSkipped"] > 0, "the restarted agent sent every file again"
    figure("crash", "e2e-b3 files verified (size + MD5, downloaded)",
           s3.verify(BUCKET, MAIN, "e2e-b3"))
    assert load.failures("agent killed mid-upload") == 0

    load.set_phase("leader killed mid-restore")
    session.execute("DROP TABLE bkcrash.t")
    t0 = time.monotonic()
    apply({"apiVersion": "cassandra.rook.io/v1alpha1", "kind": "Restore",
           "metadata": {"name": "e2e-r3", "namespace": NS},
           "spec": {"cluster": MAIN, "backup": "e2e-b3", "keyspaces": ["bkcrash"]}})
    running = wait("Restore e2e-r3 running",
                   lambda: (lambda s: s if s.get("phase") == "Running" else None)(
                       status_of("restore", "e2e-r3")), 120, interval=0.2)
    step = "data" if (running.get("schema") or {}).get("done") else "schema"
    kill_leader("crash")
    figure("crash", "the leader was killed in the restore's step", step)
    status = wait("Restore e2e-r3 finished",
                  lambda: finished("restore", "e2e-r3"), 600, interval=2)
    assert status["phase"] == "Complete", f"{status.get('reason')}: {status.get('message')}"
    timed("crash", "e2e-r3 (leader killed): created → Complete", t0)
    session.cluster.refresh_schema_metadata()
    back = table_keys(session, "bkcrash.t", 2000)
    missing = set(range(ROWS)) - back
    figure("crash", "bkcrash rows read at QUORUM after the restore", f"{len(back)} of {ROWS}")
    assert not missing, f"{len(missing)} rows missing, e.g. {sorted(missing)[:5]}"
    assert load.failures("leader killed mid-restore") == 0


def main():
    s3 = S3Server()
    try:
        with client_on_main("agent killed mid-upload") as (m, load, session, _creds):
            scenario_crash(m, load, session, s3)
    finally:
        s3.stop()


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_crash.__doc__))
