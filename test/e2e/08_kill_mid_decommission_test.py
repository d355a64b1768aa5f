#!/usr/bin/env python3
"""e2e 08: scale 3→4, then 4→3 with the operator leader SIGKILLed while the Decommission is
under way; the next leader finishes it. Helpers and state: e2elib.py."""
import sys
import time

from e2elib import (check_rows, client_on_main, kill_leader, log, patch_members, run_scenario,
                    timed, wait_operation, wait_ready, wait_scaled_down)

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03), 2 operator replicas"
LEAVES = "the shared Cluster Ready 3/3 (scaled to 4 and back); an operator process SIGKILLed"


def scenario_kill_mid_decommission(m, load, session):
    """8. SIGKILL the leader while a decommission is under way; the next leader finishes it."""
    load.set_phase("leader killed mid decommission")
    t = time.monotonic()
    patch_members(m, 4)
    wait_ready(m, 4, 600)
    timed("8 kill mid decommission", "3→4 → Ready 4/4", t)
    t = time.monotonic()
    patch_members(m, 3)
    op = wait_operation(m, "Decommission", 180)
    timed("8 kill mid decommission", "4→3 → operation Decommission", t)
    log(f"operation under way: {op}")
    kill_leader("8 kill mid decommission")
    wait_scaled_down(m, 600)
    timed("8 kill mid decommission", "4→3 → done (StatefulSet 3, Service gone, operation cleared)", t)
    check_rows(session, load, "after the decommission across a leader kill")


def main():
    with client_on_main("leader killed mid decommission") as (m, load, session, _):
        scenario_kill_mid_decommission(m, load, session)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_kill_mid_decommission.__doc__))
