#!/usr/bin/env python3
"""e2e 07a: a restart on request (the Cluster annotation cassandra.rook.io/restartedAt, as
`kubectl rollout restart` does for a Deployment) restarts every pod once, one at a time, with
zero client failures; the value is on the StatefulSet's pod template.
Helpers and state: e2elib.py."""
import sys
import time

from e2elib import (client_on_main, cluster_obj, condition, expect_no_client_failures, figure, get,
                    log, pods, ringkeeper, run_scenario, timed, wait_rolled)

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03)"
LEAVES = ("the shared Cluster Ready 3/3, annotated cassandra.rook.io/restartedAt "
          "(every pod restarted)")

RESTARTED_AT = "cassandra.rook.io/restartedAt"
SECTION = "7a restart on request"


def scenario_restart_request(m, load):
    """7a. A restart on request (restartedAt): every pod restarts once, one at a time, zero
    client failures at QUORUM."""
    load.set_phase("restart on request")
    before = {name: p["metadata"]["uid"] for name, p in pods(m).items()}
    assert len(before) == 3, before
    old = (cluster_obj(m)["metadata"].get("annotations") or {}).get(RESTARTED_AT)
    t = time.monotonic()
    # As a user asks for it: `kubectl ringkeeper restart` sets the annotation to the time.
    log(ringkeeper("restart", m.cluster).strip())
    value = (cluster_obj(m)["metadata"].get("annotations") or {}).get(RESTARTED_AT)
    assert value and value != old, f"{RESTARTED_AT} {old!r} → {value!r}"
    log(f"{RESTARTED_AT} {old!r} → {value!r}")

    obj, most_not_ready, order = wait_rolled(m, before)
    timed(SECTION, "restartedAt annotated → every pod restarted, Ready 3/3", t)
    figure(SECTION, "most cassandra pods not Ready at once (sampled ~1/s)", most_not_ready)
    assert sorted(order) == sorted(before), f"pods recreated: {order}, want all of {sorted(before)}"

    sts = get("statefulset", m.sts)
    assert sts, f"no StatefulSet {m.sts}"
    template = (sts["spec"]["template"]["metadata"].get("annotations") or {}).get(RESTARTED_AT)
    assert template == value, (f"StatefulSet {m.sts}: pod template {RESTARTED_AT} = {template!r},"
                               f" want {value!r}")
    now = pods(m)
    for name in before:
        got = (now[name]["metadata"].get("annotations") or {}).get(RESTARTED_AT)
        assert got == value, f"{name}: {RESTARTED_AT} = {got!r}, want {value!r}"
    log(f"{RESTARTED_AT}={value} on {m.sts}'s pod template and on every pod")

    ready = condition(obj, "Ready")
    generation = obj["metadata"]["generation"]
    assert ready.get("observedGeneration") == generation, (
        f"Ready's observedGeneration {ready.get('observedGeneration')} is not the Cluster's "
        f"generation {generation}: {ready}")
    assert (obj.get("status") or {}).get("membersSummary") == "3/3", obj.get("status")
    log(f"Ready True, 3/3, observedGeneration {generation} (the Cluster's generation)")

    expect_no_client_failures(load, "restart on request", SECTION, "during the restart")



def main():
    with client_on_main("restart on request") as (m, load, _, _creds):
        scenario_restart_request(m, load)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_restart_request.__doc__))
