#!/usr/bin/env python3
"""e2e 02: the seed's Cluster created at 3 members at once, to Ready 3/3 (about one node's start),
compared with 01's one node and one at a time. This Cluster is shared by 03 to 13 (no other
scenario creates one). Helpers and state: e2elib.py; run in order by run.sh."""
import sys
import time

from e2elib import (MAIN, MAIN_STATE, NS, NS_SINGLE, Names, create_cluster, delete_namespace,
                    figure, forget_state, kubectl_wait_ready, load_state, log, run_scenario, timed,
                    wait_ready)

NEEDS = ("no Cassandra running: namespace e2e-operator-single gone (deleted here, bounded, if 01 "
         "failed and left it) and e2e-operator gone (deleted here if left)")
LEAVES = "namespace e2e-operator, Cluster my-cassandra-cluster Ready 3/3 (the shared Cluster)"


def scenario_create_three():
    """1. 3 at once (the seed's Cluster), against one node and one at a time to 3."""
    for ns in (NS_SINGLE, NS):  # 01 deleted both (a no-op then); a failed 01 may have left one
        delete_namespace(ns, 300)
    forget_state(*MAIN_STATE)  # whatever an earlier 02's Cluster held is gone with it
    m = Names(MAIN, NS)
    t0 = time.monotonic()
    create_cluster(m, 3)
    kubectl_wait_ready(m, 900)
    wait_ready(m, 3, 60)
    three = timed("1 timing", f"{MAIN}: 3 at once, created → Ready 3/3", t0)
    state = load_state()
    one, ups = state.get("single_one"), state.get("single_ups") or []
    if one is None or len(ups) != 2:
        log("01 measured no full single timing (it failed): no comparison")
        figure("1 timing", "one node | one at a time to 3 | 3 at once",
               f"{'-' if one is None else f'{one:.1f}s'} | - | {three:.1f}s (01 incomplete)")
        return
    figure("1 timing", "one node | one at a time to 3 | 3 at once",
           f"{one:.1f}s | {one + sum(ups):.1f}s | {three:.1f}s (3 at once = {three / one:.2f}× one node)")


if __name__ == "__main__":
    sys.exit(run_scenario(scenario_create_three, NEEDS, LEAVES))
