#!/usr/bin/env python3
"""e2e 10t: a replica's Cassandra SIGKILLed while its repair segment runs (issue 11), on the shared
Cluster: the segment fails, is retried once the node is back (postponed while it is not UN), and
the Repair completes. Helpers and state: e2elib.py."""
import os
import signal
import sys
import time

from e2elib import (KEYSPACE, MAIN, NS, apply, cassandra_processes, client_on_main, connect,
                    figure, get, kubectl, log, run_scenario, service_ip, status_of, timed, wait)

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03)"
LEAVES = "the shared Cluster Ready 3/3 (the killed node restarted by its kubelet), Repair rp-replica"


def cassandra_pid(pod):
    """Host PID of the Cassandra JVM of `pod`, None when it runs none."""
    return next(iter(cassandra_processes({pod})), None)


def coordinates_a_repair(session):
    """Whether the node `session` is pinned to coordinates a repair that has not ended:
    Cassandra's own record of the repairs it coordinates (the virtual table
    system_views.repairs, local to that node)."""
    rows = session.execute("SELECT id, completed FROM system_views.repairs", timeout=10)
    return any(not r.completed for r in rows)


def kill_a_replica_mid_segment(on_pod):
    """Freezes a replica (not the coordinator) of the next segment rp-replica runs and, if
    that segment is still running 6 s later, SIGKILLs it; else lets it go and tries the next
    segment (three at most). Returns (victim pod, (keyspace, segment) killed)."""
    tried = set()
    for _ in range(3):
        running = wait("rp-replica: a segment recorded", lambda: next(
            (r for r in status_of("repair", "rp-replica").get("running") or []
             if (r["keyspace"], r["segment"]) not in tried), None), 300, interval=0.1)
        segment = (running["keyspace"], running["segment"])
        tried.add(segment)
        victim = next(p for p in running["replicas"] if p != running["coordinator"])
        pid = cassandra_pid(victim)
        assert pid, f"no Cassandra process of {victim} on this host"
        # Whether the segment still runs is asked of its coordinator: the Repair's status is
        # the operator's view, which lags while its passes wait on the frozen replica's agent
        # (a run killed a replica whose segment had already ended and saw no retry).
        coordinator = on_pod[running["coordinator"]]
        os.kill(pid, signal.SIGSTOP)
        frozen = time.monotonic()
        was_busy = False

        def verdict():
            nonlocal was_busy
            busy = coordinates_a_repair(coordinator)
            if was_busy and not busy:
                return "finished"
            was_busy = was_busy or busy
            if time.monotonic() - frozen >= 6:
                return "running" if busy else "finished"
            return None
        if wait(f"segment {segment} with {victim} frozen", verdict, 30,
                interval=0.5) == "running":
            os.kill(pid, signal.SIGKILL)
            log(f"SIGKILLed Cassandra of {victim} (host pid {pid}) in segment {segment} "
                f"(coordinator {running['coordinator']}, attempt {running.get('attempt', 1)})")
            return victim, segment
        os.kill(pid, signal.SIGCONT)
        log(f"segment {segment} finished before {victim} froze: the next one")
    raise AssertionError(f"every segment tried finished before its replica froze: {sorted(tried)}")


def scenario_replica_killed(m, creds, load):
    """A Repair of e2e; a replica (not the segment's coordinator) frozen as a segment starts
    and, the segment still running 6 s later, SIGKILLed: that segment is retried once the node
    is back and the Repair completes."""
    load.set_phase("replica killed mid-segment")
    kubectl("delete", "repair", "rp-replica", "--ignore-not-found", "--wait=true", ns=NS,
            timeout=120)
    # A session on each node, opened before any segment runs (a segment of in-sync data takes
    # about a second): the coordinator of the segment found running is asked at once.
    nodes = [connect(service_ip(m.member_service(i)), *creds, whitelist=True) for i in range(3)]
    try:
        on_pod = {m.pod(i): session for i, (_, session) in enumerate(nodes)}
        apply({"apiVersion": "cassandra.rook.io/v1alpha1", "kind": "Repair",
               "metadata": {"name": "rp-replica", "namespace": NS},
               "spec": {"cluster": MAIN, "keyspaces": [KEYSPACE], "segmentsPerNode": 2,
                        "intensity": 1, "segmentTimeoutSeconds": 120}})
        t0 = time.monotonic()
        victim, killed = kill_a_replica_mid_segment(on_pod)
    finally:
        for cluster, _ in nodes:
            cluster.shutdown()
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
    figure("10t repairs", "rp-replica: segments / segments retried / failed attempts / postponed",
           f"{status['segments']['total']} / {sorted(retried)} / {status.get('failedAttempts')} / "
           f"{status.get('postponed')}")
    assert killed in retried, f"segment {killed}, cut by the kill, was never retried: {retried}"
    assert status.get("failedAttempts", 0) >= 1, status
    assert status["segments"]["done"] == status["segments"]["total"]
    wait("the killed replica's pod Ready again", lambda: (
        lambda p: p and all(c.get("ready") for c in (p.get("status") or {}).get(
            "containerStatuses") or []))(get("pod", victim)), 300)



def main():
    with client_on_main("replica killed mid-segment") as (m, load, _session, creds):
        scenario_replica_killed(m, creds, load)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=__doc__))
