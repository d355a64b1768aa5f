#!/usr/bin/env python3
"""e2e 01: one node's start, then one at a time to 3 (the Cluster `single` in its own namespace,
deleted at the end so that 02 times its creation on an idle machine). The first scenario: it
deletes what an earlier run left. Helpers and state: e2elib.py; run in order by run.sh."""
import sys
import time

from e2elib import (CRD, NS, NS_SINGLE, SINGLE, Names, check_system_replication, connect,
                    create_cluster, delete_namespace, figure, forget_state, kubectl,
                    kubectl_wait_ready, patch_members, run_scenario, save_state, service_ip,
                    superuser, timed, wait_ready)

NEEDS = ("nothing (first scenario): the namespaces of an earlier run (e2e-operator, "
         "e2e-operator-single) are deleted first")
LEAVES = ("no Cassandra: namespace e2e-operator-single deleted (a failure leaves it for "
          "inspection; 02 deletes it); state: single's start and scale-up times, for 02")


def clean_slate():
    """The run starts over: no namespace of an earlier run, nothing in state.json about it."""
    for ns in (NS, NS_SINGLE):
        delete_namespace(ns, 300)
    forget_state()


def scenario_single_timing():
    """1. One node's start, one at a time to 3."""
    s = Names(SINGLE, NS_SINGLE)
    t0 = time.monotonic()
    create_cluster(s, 1)
    kubectl_wait_ready(s, 600)
    wait_ready(s, 1, 60)
    one = timed("1 timing", "single: created → Ready 1/1 (one node's start)", t0)
    ups = []
    for members in (2, 3):
        t = time.monotonic()
        patch_members(s, members)
        wait_ready(s, members, 600)
        ups.append(timed("1 timing", f"single: scale {members - 1}→{members} → Ready "
                                     f"{members}/{members}", t))
    figure("1 timing", "one at a time to 3 (start + 2 scale-ups)", f"{one + sum(ups):.1f}s")
    save_state(single_one=one, single_ups=ups)  # 02 compares 3 at once with these
    # Grown while serving: the system keyspaces follow the DC, one repaired step at a time.
    t = time.monotonic()
    cluster, session = connect(service_ip(s.client, ns=s.ns), *superuser(s))
    try:
        check_system_replication(s, session, 3, ["system_auth 1→2", "system_auth 2→3"])
    finally:
        cluster.shutdown()
    timed("1 timing", "single: Ready 3/3 → system keyspaces at RF 3, repaired", t)
    t = time.monotonic()
    kubectl("delete", CRD, s.cluster, "--wait=true", "--timeout=180s", ns=s.ns, timeout=210)
    delete_namespace(NS_SINGLE, 300)
    timed("1 timing", f"single: Cluster and namespace {NS_SINGLE} deleted", t)


if __name__ == "__main__":
    sys.exit(run_scenario(scenario_single_timing, NEEDS, LEAVES, before=clean_slate))
