#!/usr/bin/env python3
"""e2e 06: pod -1 and its PVC deleted; the member comes back on a new PVC with the same address,
UN, and every confirmed row is read back. Helpers and state: e2elib.py."""
import sys
import time

from e2elib import (check_rows, client_on_main, cluster_obj, kubectl, log, member_of, pod_ready,
                    pods, ready_with, ring_un, run_scenario, service_ip, timed, uid, wait)

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03)"
LEAVES = "the shared Cluster Ready 3/3 (pod -1 on a new PVC)"


def scenario_pod_and_pvc_lost(m, load, session):
    """6. Pod -1 and its PVC deleted: the member returns with the same address, UN."""
    load.set_phase("pod + PVC deleted")
    pod, pvc, svc = m.pod(1), m.pvc(1), m.member_service(1)
    before = member_of(cluster_obj(m), pod)
    assert before and before.get("address"), f"no status member for {pod}"
    svc_ip = service_ip(svc)
    assert before["address"] == svc_ip, f"member address {before['address']} is not {svc}'s {svc_ip}"
    old_pod, old_pvc = uid("pod", pod), uid("pvc", pvc)
    assert old_pvc, f"no PVC {pvc}"
    t = time.monotonic()
    kubectl("delete", "pvc", pvc, "--wait=false")
    kubectl("delete", "pod", pod, "--wait=false")

    def back():
        p = pods(m).get(pod)
        if not p or p["metadata"]["uid"] == old_pod or not pod_ready(p):
            return None
        new_pvc = uid("pvc", pvc)
        obj = ready_with(m, 3)
        mb = member_of(obj, pod) if obj else None
        return new_pvc and new_pvc != old_pvc and mb and mb.get("state") == "UN" and mb
    mb = wait(f"{pod} back on a new PVC, UN, Ready 3/3", back, 900)
    timed("6 volume loss", "pod + PVC deleted → member back UN, Ready 3/3", t)
    assert mb["address"] == before["address"], f"address changed: {before['address']} → {mb['address']}"
    un = ring_un(m, m.pod(0))
    assert before["address"] in un and len(un) == 3, f"ring from {m.pod(0)}: UN {un}"
    log(f"{pod} returned as {mb['address']} (same Service IP), UN in the ring")
    check_rows(session, load, "after pod + PVC loss")


def main():
    with client_on_main("pod + PVC deleted") as (m, load, session, _):
        scenario_pod_and_pvc_lost(m, load, session)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_pod_and_pvc_lost.__doc__))
