#!/usr/bin/env python3
"""e2e 12: the operator's footprint over the run: the leader's RSS, the largest RSS of any replica,
the CPU of all replicas (killed ones included) from the first scenario's start to now (every
scenario sampled /proc and saved its samples to state.json). Helpers and state: e2elib.py."""
import sys
import time

from e2elib import (OPERATOR_NS, SAMPLER, figure, leader, load_state, log, proc_rss_kib,
                    run_scenario, wait)

NEEDS = "an operator leader; state: the samples of the scenarios before (01 on)"
LEAVES = "nothing changed"


def scenario_operator_footprint():
    """11. The operator's RSS and CPU (all replicas, the whole run so far)."""
    SAMPLER.sample()
    wall = time.time() - load_state()["t_test"]
    cpu = SAMPLER.cpu_seconds()
    pod, pid, _ = wait("an operator leader", leader, 60, ns=OPERATOR_NS)
    figure("11 operator", "leader RSS (VmRSS)", f"{proc_rss_kib(pid) / 1024:.1f} MiB ({pod})")
    figure("11 operator", "largest RSS seen (any replica)",
           f"{max(r for *_, r in SAMPLER.per_process()) / 1024:.1f} MiB")
    figure("11 operator", "CPU, all replicas (utime+stime / wall)",
           f"{cpu:.1f}s / {wall:.0f}s = {100 * cpu / wall:.2f}% of one core")
    for p, name, secs, rss in SAMPLER.per_process():
        log(f"  operator process {p} ({name}): {secs:.1f}s CPU, max RSS {rss / 1024:.1f} MiB")


if __name__ == "__main__":
    sys.exit(run_scenario(scenario_operator_footprint, NEEDS, LEAVES))
