#!/usr/bin/env python3
"""e2e 07: a config change restarts every pod once, one at a time, with zero client failures;
the new value is live on every node. Helpers and state: e2elib.py."""
import json
import sys
import time

from e2elib import (CRD, client_on_main, figure, kubectl, log, pods, run_scenario, service_ip,
                    setting, timed, wait, wait_rolled)

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03)"
LEAVES = "the shared Cluster Ready 3/3, concurrent_compactors changed (every pod restarted)"


def scenario_rolling_restart(m, load, creds):
    """7. A config change: pods restart one at a time, zero client failures."""
    load.set_phase("rolling restart (config)")
    before = {name: p["metadata"]["uid"] for name, p in pods(m).items()}
    assert len(before) == 3, before
    # A harmless setting, to a value the nodes do not have yet (the default follows the cores).
    # A pod is Ready (UN as its peers see it) a moment before it opens CQL: wait for each.
    current = [wait(f"{m.pod(i)} answers CQL",
                    lambda i=i: setting(service_ip(m.member_service(i)), creds,
                                        "concurrent_compactors"), 120)
               for i in range(3)]
    value = 1 if "1" not in current else 2
    log(f"concurrent_compactors {current} → {value}")
    t = time.monotonic()
    kubectl("patch", CRD, m.cluster, "--type=merge", "-p",
            json.dumps({"spec": {"config": {"concurrent_compactors": value}}}))

    _, most_not_ready, _ = wait_rolled(m, before)
    timed("7 rolling restart", "config change → every pod restarted, Ready 3/3", t)
    figure("7 rolling restart", "most cassandra pods not Ready at once (sampled ~1/s)",
           most_not_ready)
    for i in range(3):
        # Ready means UN as the peers see it; CQL on the node may open a moment later.
        ip = service_ip(m.member_service(i))
        v = wait(f"{m.pod(i)} answering CQL at {ip}",
                 lambda ip=ip: setting(ip, creds, "concurrent_compactors"), 60)
        assert v == str(value), f"{m.pod(i)}: concurrent_compactors = {v}, want {value}"
    log(f"concurrent_compactors = {value} on every node (system_views.settings)")
    load.set_phase("after rolling restart")
    failed = load.failures("rolling restart (config)")
    figure("7 rolling restart", "client failures during the restart", failed)
    assert failed == 0, f"{failed} client failures during the rolling restart"



def main():
    with client_on_main("rolling restart (config)") as (m, load, _, creds):
        scenario_rolling_restart(m, load, creds)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_rolling_restart.__doc__))
