#!/usr/bin/env python3
"""e2e 10t: a replica's Cassandra SIGKILLed while its repair segment runs (issue 11), on the shared
Cluster: the segment fails, is retried once the node is back (postponed while it is not UN), and
the Repair completes. Helpers and state: e2elib.py."""
import os
import signal
import sys
import time

from e2elib import (KEYSPACE, MAIN, NS, apply, client_on_main, figure, get, kubectl, log,
                    run_scenario, status_of, timed, wait)

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03)"
LEAVES = "the shared Cluster Ready 3/3 (the killed node restarted by its kubelet), Repair rp-replica"


def cassandra_pid(pod):
    """Host PID of the Cassandra JVM of `pod` (its container's HOSTNAME is the pod's name)."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if b"org.apache.cassandra.service.CassandraDaemon" not in f.read():
                    continue
            with open(f"/proc/{d}/environ", "rb") as f:
                if f"HOSTNAME={pod}".encode() in f.read().split(b"\0"):
                    return int(d)
        except OSError:
            continue
    return None


def scenario_replica_killed(session, load):
    """A Repair of e2e; a replica (not the segment's coordinator) SIGKILLed as its first
    segment starts: the segment is retried once the node is back and the Repair completes."""
    load.set_phase("replica killed mid-segment")
    kubectl("delete", "repair", "rp-replica", "--ignore-not-found", "--wait=true", ns=NS,
            timeout=120)
    apply({"apiVersion": "cassandra.rook.io/v1alpha1", "kind": "Repair",
           "metadata": {"name": "rp-replica", "namespace": NS},
           "spec": {"cluster": MAIN, "keyspaces": [KEYSPACE], "segmentsPerNode": 2,
                    "intensity": 1, "segmentTimeoutSeconds": 120}})
    t0 = time.monotonic()
    running = wait("rp-replica: a segment recorded", lambda: (
        lambda s: s["running"][0] if s.get("running") else None)(status_of("repair", "rp-replica")),
        300, interval=0.1)
    victim = next(p for p in running["replicas"] if p != running["coordinator"])
    pid = cassandra_pid(victim)
    assert pid, f"no Cassandra process of {victim} on this host"
    os.kill(pid, signal.SIGKILL)
    log(f"SIGKILLed Cassandra of {victim} (host pid {pid}) in segment {running['segment']} "
        f"(coordinator {running['coordinator']}, attempt {running.get('attempt', 1)})")
    retried = set()  # (keyspace, segment) seen waiting for, or in, a second attempt

    def done():
        s = status_of("repair", "rp-replica")
        retried.update((r["keyspace"], r["segment"]) for r in s.get("retrying") or [])
        retried.update((r["keyspace"], r["segment"]) for r in s.get("running") or []
                       if r.get("attempt", 1) > 1)
        return s if s.get("phase") in ("Complete", "Failed") else None
    status = wait("rp-replica finished", done, 900, interval=1)
    assert status["phase"] == "Complete", f"{status.get('reason')}: {status.get('message')}"
    timed("10t repairs", "rp-replica (a replica killed): created → Complete", t0)
    figure("10t repairs", "rp-replica: segments / segments retried / postponed",
           f"{status['segments']['total']} / {sorted(retried)} / {status.get('postponed')}")
    assert retried, "the segment the killed replica was in was never retried"
    assert status["segments"]["done"] == status["segments"]["total"]
    wait("the killed replica's pod Ready again", lambda: (
        lambda p: p and all(c.get("ready") for c in (p.get("status") or {}).get(
            "containerStatuses") or []))(get("pod", victim)), 300)



def main():
    with client_on_main("replica killed mid-segment") as (m, load, session, _creds):
        scenario_replica_killed(session, load)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=__doc__))
