#!/usr/bin/env python3
"""e2e 07d: a config value Cassandra refuses (spec.config concurrent_reads: 1; Cassandra wants at
least 2 and exits at startup) stops the roll at its first pod: Degraded PodNotStarting naming the
crash-looping pod within 5 minutes, no second pod touched; removing the value recreates the stuck
pod first and the Cluster returns to Ready 3/3, with zero client failures at QUORUM throughout.
Helpers: e2elib.py, stuckroll.py."""
import json
import sys

from e2elib import CRD, client_on_main, cluster_obj, kubectl, pods, run_scenario
from stuckroll import Breakage, stuck_roll, waiting_reasons

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03)"
LEAVES = "the shared Cluster Ready 3/3 with its config as before (the stuck pod recreated)"

KEY, BAD = "concurrent_reads", 1  # DatabaseDescriptor: "concurrent_reads must be at least 2"
CRASH_TROUBLE = ("CrashLoopBackOff", "Error")
CONFIG_HASH = "cassandra.rook.io/config-hash"


def patch_config(m, value):
    kubectl("patch", CRD, m.cluster, "--type=merge", "-p",
            json.dumps({"spec": {"config": {KEY: value}}}))


def config_hash(p):
    return (p["metadata"].get("annotations") or {}).get(CONFIG_HASH)


def scenario_bad_config(m, load):
    """7d. spec.config with a value Cassandra refuses: Degraded PodNotStarting within 5 min, no
    second pod touched, zero client failures at QUORUM; value removed: Ready 3/3."""
    config = cluster_obj(m)["spec"].get("config") or {}
    assert KEY not in config, f"spec.config already sets {KEY}: {config}"
    good = {config_hash(p) for p in pods(m).values()}
    assert len(good) == 1 and None not in good, f"pods' config hashes: {good}"

    def stuck_ok(p):
        if config_hash(p) in good:
            return f"still on the old config ({config_hash(p)})"
        reasons = waiting_reasons(p)
        st = (p.get("status") or {}).get("containerStatuses") or []
        restarts = sum(c.get("restartCount", 0) for c in st)
        crashed = "CrashLoopBackOff" in reasons.values() or restarts > 0
        return "" if crashed else f"not crash-looping: waiting {reasons}, {restarts} restarts"

    stuck_roll(m, load, Breakage(
        section="7d bad config value",
        what=f"spec.config {KEY}: {BAD} (Cassandra refuses values below 2)",
        fix_what=f"spec.config {KEY} removed",
        apply=lambda: patch_config(m, BAD), fix=lambda: patch_config(m, None),
        trouble=CRASH_TROUBLE, stuck_ok=stuck_ok, fixed_ok=lambda p: config_hash(p) in good))


def main():
    with client_on_main("stuck roll (7d bad config value)") as (m, load, _, _creds):
        scenario_bad_config(m, load)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_bad_config.__doc__))
