#!/usr/bin/env python3
"""e2e 09: pod -2 labelled for replacement (`kubectl ringkeeper replace`), the operator leader
SIGKILLed while the Replace is under way; the next leader finishes it. Helpers and state:
e2elib.py."""
import sys
import time

from e2elib import (NS, check_rows, client_on_main, cluster_obj, events, jsonpath, kill_leader,
                    log, member_of, pod_ready, pods, ready_with, ring_un, ringkeeper,
                    run_scenario, timed, uid, wait, wait_operation)

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03), 2 operator replicas"
LEAVES = "the shared Cluster Ready 3/3 (pod -2 replaced); an operator process SIGKILLed"


def scenario_kill_mid_replace(m, load, session):
    """9. SIGKILL the leader while a replacement is under way; the next leader finishes it."""
    load.set_phase("leader killed mid replace")
    pod = m.pod(2)
    before = member_of(cluster_obj(m), pod)
    assert before and before.get("address"), f"no status member for {pod}"
    old_pod = uid("pod", pod)
    t = time.monotonic()
    # As a user asks for it: the plugin labels the pod.
    ringkeeper("replace", pod)
    assert jsonpath("pod", pod, "{.metadata.labels.cassandra\\.rook\\.io/replace}") == "true"
    op = wait_operation(m, "Replace", 180)
    timed("9 kill mid replace", "label → operation Replace", t)
    log(f"operation under way: {op}")
    kill_leader("9 kill mid replace")

    def back():
        p = pods(m).get(pod)
        if not p or p["metadata"]["uid"] == old_pod or not pod_ready(p):
            return None
        obj = ready_with(m, 3)
        mb = member_of(obj, pod) if obj else None
        return mb if mb and mb.get("state") == "UN" else None
    mb = wait(f"{pod} replaced, UN, operation cleared, Ready 3/3", back, 900)
    timed("9 kill mid replace", "label → replaced, UN, Ready 3/3", t)
    assert mb["address"] == before["address"], f"address changed: {before['address']} → {mb['address']}"
    assert len(ring_un(m, m.pod(0))) == 3, "ring not 3 UN"
    label = jsonpath("pod", pod, "{.metadata.labels.cassandra\\.rook\\.io/replace}")
    log(f"{pod} back as {mb['address']}; replace label on the new pod: {label or '(none)'}"
        " (a leftover label must be ignored: the idle check below would see a second replacement)")
    assert events(NS, "Replaced"), "no Replaced event"
    check_rows(session, load, "after the replacement across a leader kill")
    return old_pod


def main():
    with client_on_main("leader killed mid replace") as (m, load, session, _):
        scenario_kill_mid_replace(m, load, session)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_kill_mid_replace.__doc__))
