#!/usr/bin/env python3
"""e2e 07d: bad config. First a key this Cassandra does not know (spec.config
not_a_cassandra_key): refused before any pod rolls, ConfigRefused True naming it, no pod touched;
removed, ConfigRefused False. Then a value Cassandra refuses (concurrent_reads: 1; Cassandra wants
at least 2 and exits at startup): the roll stops at its first pod, Degraded PodNotStarting naming
the crash-looping pod within 5 minutes, no second pod touched; removing the value recreates the
stuck pod first and the Cluster returns to Ready 3/3. Zero client failures at QUORUM throughout.
Helpers: e2elib.py, stuckroll.py."""
import json
import sys
import time

from e2elib import (wait_strict, CRD, client_on_main, cluster_obj, condition, figure, kubectl, log,
                    pods, ready_with, run_scenario, timed)
from stuckroll import Breakage, stuck_roll, waiting_reasons

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03)"
LEAVES = "the shared Cluster Ready 3/3 with its config as before (the stuck pod recreated)"

KEY, BAD = "concurrent_reads", 1  # DatabaseDescriptor: "concurrent_reads must be at least 2"
UNKNOWN = "not_a_cassandra_key"
SECTION_KEY = "7d unknown config key"
HOLD_SECONDS = 30
CRASH_TROUBLE = ("CrashLoopBackOff", "Error")
CONFIG_HASH = "cassandra.rook.io/config-hash"


def patch_config(m, value):
    kubectl("patch", CRD, m.cluster, "--type=merge", "-p",
            json.dumps({"spec": {"config": {KEY: value}}}))


def config_hash(p):
    return (p["metadata"].get("annotations") or {}).get(CONFIG_HASH)


def unknown_key_refused(m, load):
    """A key Cassandra does not know: ConfigRefused names it, no pod is touched; removed: gone."""
    load.set_phase("unknown config key")
    before = {name: p["metadata"]["uid"] for name, p in pods(m).items()}
    t = time.monotonic()
    kubectl("patch", CRD, m.cluster, "--type=merge", "-p",
            json.dumps({"spec": {"config": {UNKNOWN: 1}}}))

    def refused():
        c = condition(cluster_obj(m), "ConfigRefused")
        return c if c.get("status") == "True" and UNKNOWN in (c.get("message") or "") else None
    c = wait_strict(f"ConfigRefused True naming {UNKNOWN}", refused, 120)
    timed(SECTION_KEY, f"{UNKNOWN} set → ConfigRefused", t)
    log(f"ConfigRefused: {c.get('reason')}: {c.get('message')}")
    end = time.monotonic() + HOLD_SECONDS

    def touched():
        now = {name: p["metadata"]["uid"] for name, p in pods(m).items()}
        return sorted(name for name in before | now if before.get(name) != now.get(name))

    def untouched():
        assert not touched(), f"pods touched while the key was refused: {touched()}"
        return time.monotonic() >= end
    wait_strict(f"{HOLD_SECONDS}s with no pod touched", untouched, HOLD_SECONDS + 30)
    figure(SECTION_KEY, "pods touched while refused", len(touched()))
    kubectl("patch", CRD, m.cluster, "--type=merge", "-p",
            json.dumps({"spec": {"config": {UNKNOWN: None}}}))

    def accepted():
        obj = ready_with(m, 3)
        c = condition(obj, "ConfigRefused") if obj else {}
        return obj if c.get("status") == "False" else None
    wait_strict("ConfigRefused False and Ready 3/3 once the key is removed", accepted, 120)
    assert not touched(), f"pods touched: {touched()}"
    failed = load.failures("unknown config key")
    figure(SECTION_KEY, "client failures (QUORUM)", failed)
    assert failed == 0, f"{failed} client failures at QUORUM"


def scenario_bad_config(m, load):
    """7d. spec.config with a key Cassandra does not know: ConfigRefused, no pod touched; with a
    value Cassandra refuses: Degraded PodNotStarting within 5 min, no second pod touched; value
    removed: Ready 3/3. Zero client failures at QUORUM."""
    config = cluster_obj(m)["spec"].get("config") or {}
    assert KEY not in config, f"spec.config already sets {KEY}: {config}"
    unknown_key_refused(m, load)
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
