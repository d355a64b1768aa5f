#!/usr/bin/env python3
"""e2e 10: with nothing changed (the client only reads), reconcile passes make zero writes to the
API server (the leader's ringkeeper_kube_requests_total). Helpers and state: e2elib.py.

"Nothing changed" includes the repair scheduler's view: a table created shortly before (03's
e2e.kv when 10 runs right after it) is a real change, recorded in status.repairCoverage within
about two minutes of its creation; the window starts once it is there. When writes happen anyway,
the failure names the Cluster's fields that changed and the Repairs that appeared."""
import sys
import time

from e2elib import (KEYSPACE, MAIN, OPERATOR_NS, WRITE_VERBS, client_on_main, figure, get, items,
                    leaf_diff, lease_holder_pod, leader, reconcile_count, run_scenario, scrape,
                    wait, wait_ready, write_counts)

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03), an operator leader"
COVERAGE_WAIT = 180  # the scheduler reads tables once a minute and passes at least once a minute


def covered_tables():
    status = (get("cluster", MAIN) or {}).get("status") or {}
    tables = (status.get("repairCoverage") or {}).get("tables") or []
    return {f"{t['keyspace']}.{t['table']}" for t in tables}
LEAVES = "the shared Cluster Ready 3/3, unchanged"


def scenario_idle(m, load):
    """10. With nothing changed, reconcile passes make zero writes."""
    load.set_phase("idle (client reads only)")
    load.writes_on.clear()  # data written changes a node's load, which status may report
    try:
        wait_ready(m, 3, 120)
        wait(f"{KEYSPACE}.kv in status.repairCoverage", lambda: f"{KEYSPACE}.kv" in covered_tables(),
             COVERAGE_WAIT)
        pod, _, ip = wait("an operator leader", leader, 60, ns=OPERATOR_NS)
        # One pass after everything above settled, then the measured window.
        first = reconcile_count(scrape(ip))
        wait("one settling reconcile pass", lambda: reconcile_count(scrape(ip)) >= first + 1, 60,
             ns=OPERATOR_NS)
        s0 = scrape(ip)
        cluster0, repairs0 = get("cluster", MAIN), {r["metadata"]["name"] for r in items("repair")}
        t = time.monotonic()
        r0, w0 = reconcile_count(s0), write_counts(s0)
        def two_passes():
            s = scrape(ip)
            return s if reconcile_count(s) >= r0 + 2 else None
        s1 = wait("2 more reconcile passes (resync 15s)", two_passes, 90, ns=OPERATOR_NS)
        window = time.monotonic() - t
        assert lease_holder_pod() == pod, "the leader changed during the measurement"
        r1, w1 = reconcile_count(s1), write_counts(s1)
        delta = {v: w1[v] - w0[v] for v in WRITE_VERBS}
        figure("10 idle", "reconcile passes (ringkeeper_reconcile_total)",
               f"{r0:.0f} → {r1:.0f} (+{r1 - r0:.0f} in {window:.0f}s)")
        figure("10 idle", "writes (ringkeeper_kube_requests_total POST/PUT/PATCH/DELETE)",
               " ".join(f"{v} {w0[v]:.0f}→{w1[v]:.0f}" for v in WRITE_VERBS))
        if any(delta.values()):
            changed = sorted(leaf_diff(cluster0, get("cluster", MAIN)))
            new_repairs = sorted({r["metadata"]["name"] for r in items("repair")} - repairs0)
            raise AssertionError(f"idle reconcile passes wrote to the API server: {delta}; the "
                                 f"Cluster's fields that changed: {changed}; new Repairs: "
                                 f"{new_repairs}")
    finally:
        load.writes_on.set()
        load.set_phase("after idle")


def main():
    with client_on_main("idle (client reads only)") as (m, load, _, _creds):
        scenario_idle(m, load)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_idle.__doc__))
