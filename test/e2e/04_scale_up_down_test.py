#!/usr/bin/env python3
"""e2e 04: scale 3→4 (Cleanup event) and 4→3 (StatefulSet, member Service, status shrink), with
the background client. Shared helpers and the run's state: e2elib.py; run in order by run.sh."""
import sys
import time

from e2elib import (NS, check_rows, client_on_main, events, patch_members, run_scenario, timed,
                    wait, wait_ready, wait_scaled_down)

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03)"
LEAVES = "the shared Cluster Ready 3/3 (scaled to 4 and back)"


def scenario_scale_up_down(m, load, session):
    """4. 3→4 with a Cleanup event, then 4→3."""
    load.set_phase("scale up 3→4")
    cleanups = events(NS, "Cleanup")
    t = time.monotonic()
    patch_members(m, 4)
    wait_ready(m, 4, 600)
    timed("4 scale", "3→4 → Ready 4/4", t)
    wait("a Cleanup event after the scale-up", lambda: events(NS, "Cleanup") > cleanups, 300)
    timed("4 scale", "3→4 → Cleanup event", t)

    load.set_phase("scale down 4→3")
    t = time.monotonic()
    patch_members(m, 3)
    wait_scaled_down(m, 600)
    timed("4 scale", "4→3 → StatefulSet 3, Service -3 gone, Ready 3/3", t)
    check_rows(session, load, "after 4→3")


def main():
    with client_on_main("scale up 3→4") as (m, load, session, _):
        scenario_scale_up_down(m, load, session)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_scale_up_down.__doc__))
