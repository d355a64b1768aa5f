#!/usr/bin/env python3
"""e2e 10s: repairs scheduled, covered, and carried through crashes (issue 11), on the shared
Cluster with a real client at QUORUM throughout.

Schedules and coverage: a keyspace e2e_sched with table `fast` (gc_grace_seconds 120) and `slow`
(the default 10 days). A schedule every minute (spec.repairs[], history limit 2) repairs `slow`;
the automatic schedule (spec.autoRepair, on by default) repairs `fast` on its own every 60 s
(0.5 x gc_grace). For three minutes: each scheduled Repair is created within seconds of its minute,
no more than two finished ones are kept, and `fast` is never left unrepaired longer than its
gc_grace (status.repairCoverage, polled). Then the coverage view: every replicated table, none
past its deadline.

The operator leader SIGKILLed mid-repair: the next leader resumes; every segment ran exactly once,
counted from Cassandra's own record of repair sessions (system_distributed.parent_repair_history).

(A replica killed mid-segment: 10t.) Helpers and state: e2elib.py."""
import datetime
import json
import sys
import time

from e2elib import (DC, KEYSPACE, MAIN, NS, apply, client_on_main, event_messages, figure,
                    finished, get, items, kill_leader, kubectl, parse_time, run_scenario,
                    status_of, timed, wait)

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03)"
LEAVES = ("the shared Cluster Ready 3/3 with no repair schedule (spec.repairs and spec.autoRepair "
          "removed), keyspace e2e_sched dropped, Repair rp-kill in the namespace")

KS = "e2e_sched"
ONE_SECOND = datetime.timedelta(seconds=1)
WATCH_SECONDS = 180


def patch_main(spec):
    kubectl("patch", "cluster", MAIN, "--type", "merge", "-p", json.dumps({"spec": spec}))


def coverage():
    """status.repairCoverage.tables by "ks.table"."""
    tables = ((get("cluster", MAIN) or {}).get("status") or {}).get("repairCoverage") or {}
    return {f"{t['keyspace']}.{t['table']}": t for t in tables.get("tables") or []}


def repairs_of(schedule):
    return items("repair", selector=f"cassandra.rook.io/repair-schedule={schedule}")


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def scenario_schedules(session, load):
    """Schedule every minute + the automatic schedule, for WATCH_SECONDS."""
    session.execute(f"DROP KEYSPACE IF EXISTS {KS}", timeout=120)  # left by a failed run
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS {KS} WITH replication = "
                    f"{{'class': 'NetworkTopologyStrategy', '{DC}': 3}}")
    session.execute(f"CREATE TABLE IF NOT EXISTS {KS}.fast (k int PRIMARY KEY, v text) "
                    f"WITH gc_grace_seconds = 120")
    session.execute(f"CREATE TABLE IF NOT EXISTS {KS}.slow (k int PRIMARY KEY, v text)")
    for t in ("fast", "slow"):
        ins = session.prepare(f"INSERT INTO {KS}.{t} (k, v) VALUES (?, ?)")
        for k in range(200):
            session.execute(ins, (k, f"row {k}"))
    load.set_phase("schedules")
    patched = now_utc()
    # Small repairs (3 segments) at full speed: each done in seconds, so the coverage, which
    # moves when a Repair completes, shows `fast` repaired within its 120 s.
    patch_main({"repairs": [{"name": "minutely", "schedule": "* * * * *",
                             "tables": [f"{KS}.slow"], "segmentsPerNode": 1, "intensity": 1,
                             "successfulRepairsHistoryLimit": 2}],
                "autoRepair": {"segmentsPerNode": 1, "intensity": 1}})
    seen = wait(f"{KS}.fast in status.repairCoverage", lambda: coverage().get(f"{KS}.fast"), 180,
                interval=2)
    assert seen["gcGraceSeconds"] == 120, seen
    first_seen = parse_time(seen["firstSeen"])
    t0 = time.monotonic()
    created, longest_gap, fast_repairs = {}, 0.0, set()
    while time.monotonic() - t0 < WATCH_SECONDS:
        for r in repairs_of("minutely"):
            created[r["metadata"]["name"]] = r
        fast = coverage().get(f"{KS}.fast") or {}
        since = parse_time(fast["lastRepaired"]) if fast.get("lastRepaired") else first_seen
        gap = (now_utc() - since).total_seconds()
        longest_gap = max(longest_gap, gap)
        assert gap < 120, f"{KS}.fast unrepaired for {gap:.0f}s, past its gc_grace: {fast}"
        if fast.get("repair"):
            fast_repairs.add(fast["repair"])
        time.sleep(3)
    figure("10s schedules", f"{KS}.fast (gc_grace 120 s): longest time unrepaired",
           f"{longest_gap:.0f} s")
    figure("10s schedules", f"{KS}.fast repaired by automatic Repairs", len(fast_repairs))
    assert len(fast_repairs) >= 2, f"the automatic schedule repaired {KS}.fast {fast_repairs}"
    assert all("-auto-" in r for r in fast_repairs), fast_repairs
    autos = event_messages(NS, "AutoRepairScheduled")
    assert any(f"{KS}.fast" in m for m in autos), autos
    assert not any(f"{KS}.slow" in m for m in autos), f"slow was not due: {autos}"

    # The schedule: one Repair per minute, created on time; the history limit kept. A run due
    # within startingDeadlineSeconds when the schedule appears is created at once, and one due
    # while the previous Repair still runs waits for it (as a CronJob's with Forbid): those are
    # late by design; the others are created within seconds of their minute.
    late = []
    for name, r in sorted(created.items()):
        at = parse_time(r["metadata"]["annotations"]["cassandra.rook.io/scheduled-at"])
        delay = (parse_time(r["metadata"]["creationTimestamp"]) - at).total_seconds()
        assert name.endswith(at.strftime("%Y%m%d%H%M")), (name, at)
        assert delay < 60, f"{name} created {delay:.0f}s after its minute"
        if at >= patched:
            late.append(delay)
    figure("10s schedules", "minutely Repairs created / seconds after their minute",
           f"{len(created)} / {', '.join(f'{d:.0f}' for d in late)}")
    assert len(created) >= 3, f"a schedule every minute made {sorted(created)} in 3 minutes"
    assert sum(d <= 15 for d in late) >= 2, f"created late: {late}"
    kept = [r for r in repairs_of("minutely")
            if (r.get("status") or {}).get("phase") == "Complete"]
    assert len(kept) <= 2, f"history limit 2, kept {[r['metadata']['name'] for r in kept]}"
    assert len(event_messages(NS, "RepairScheduled")) >= 3

    # The coverage view: every replicated table, none past its deadline (repaired, or first
    # seen, less than gc_grace_seconds ago).
    patch_main({"repairs": None, "autoRepair": None})
    view = coverage()
    now = now_utc()
    repaired = [k for k, t in view.items() if t.get("lastRepaired")]
    for key, t in view.items():
        if t["gcGraceSeconds"] == 0:
            continue  # tombstones purged at once (system_traces): no deadline to keep
        since = parse_time(t.get("lastRepaired") or t["firstSeen"])
        assert (now - since).total_seconds() < t["gcGraceSeconds"], f"{key} overdue: {t}"
    for key in (f"{KS}.fast", f"{KS}.slow", f"{KEYSPACE}.kv", "system_auth.roles"):
        assert key in view, f"{key} not in the coverage: {sorted(view)}"
    assert f"{KS}.slow" in repaired and f"{KS}.fast" in repaired, repaired
    figure("10s schedules", "coverage: tables / repaired / past gc_grace",
           f"{len(view)} / {len(repaired)} / 0")
    assert load.failures("schedules") == 0


def repair_sessions(session, keyspace, since, until):
    """Cassandra's record of the repair sessions (one per repair command) on `keyspace` started
    between `since` and `until` (whole seconds): their requested ranges."""
    rows = session.execute("SELECT keyspace_name, started_at, requested_ranges "
                           "FROM system_distributed.parent_repair_history", timeout=60)
    lo, hi = since.replace(microsecond=0), until.replace(microsecond=0) + ONE_SECOND
    return [frozenset(r.requested_ranges or ()) for r in rows
            if r.keyspace_name == keyspace and r.started_at is not None
            and lo <= r.started_at.replace(tzinfo=since.tzinfo) <= hi]


def start_repair(name, spec):
    kubectl("delete", "repair", name, "--ignore-not-found", "--wait=true", ns=NS, timeout=120)
    apply({"apiVersion": "cassandra.rook.io/v1alpha1", "kind": "Repair",
           "metadata": {"name": name, "namespace": NS}, "spec": {"cluster": MAIN, **spec}})


def scenario_leader_killed(session, load):
    """A Repair of e2e (12 segments); the leader SIGKILLed once 3 are done."""
    load.set_phase("leader killed mid-repair")
    start_repair("rp-kill", {"keyspaces": [KEYSPACE], "segmentsPerNode": 4, "intensity": 1})
    t0 = time.monotonic()
    status = wait("rp-kill: 3 segments done",
                  lambda: (lambda s: s if (s.get("segments") or {}).get("done", 0) >= 3 else None)(
                      status_of("repair", "rp-kill")), 300, interval=0.5)
    total = status["segments"]["total"]
    done_at_kill = status["segments"]["done"]
    assert done_at_kill < total, f"rp-kill finished before the kill: {status['segments']}"
    kill_leader("10s repairs")
    status = wait("rp-kill finished", lambda: finished("repair", "rp-kill"), 600, interval=2)
    assert status["phase"] == "Complete", f"{status.get('reason')}: {status.get('message')}"
    timed("10s repairs", "rp-kill (leader killed): created → Complete", t0)
    sessions = repair_sessions(session, KEYSPACE, parse_time(status["startTime"]),
                               parse_time(status["completionTime"]))
    figure("10s repairs", "rp-kill: segments / done at the kill / Cassandra repair sessions "
           "(distinct ranges)", f"{total} / {done_at_kill} / {len(sessions)} ({len(set(sessions))})")
    assert len(sessions) == total and len(set(sessions)) == total, (
        f"{len(sessions)} repair sessions for {total} segments: a segment ran twice or not at all")
    assert load.failures("leader killed mid-repair") == 0


def main():
    t0 = time.monotonic()
    with client_on_main("schedules") as (m, load, session, _creds):
        try:
            scenario_schedules(session, load)
        finally:
            patch_main({"repairs": None, "autoRepair": None})
            session.execute(f"DROP KEYSPACE IF EXISTS {KS}", timeout=120)
        timed("10s repairs", "schedules and coverage", t0)
        scenario_leader_killed(session, load)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=__doc__))
