"""A roll that cannot progress, and its recovery (e2e 07b bad image, 07d bad config value): the
spec is broken, the first pod recreated on the new template cannot start; the Cluster must say so
in Degraded PodNotStarting naming that pod within 5 minutes, touch no second pod (watched for
HOLD_SECONDS), and lose no client request at QUORUM; the spec is fixed, the stuck pod must be
recreated first and the Cluster come back to Ready 3/3 with Degraded False."""
import time
from dataclasses import dataclass
from typing import Callable

from e2elib import (wait_strict, cluster_obj, condition, figure, log, pod_ready, pods, ready_with,
                    timed)

HOLD_SECONDS = 30  # how long the stuck roll is watched after Degraded, for a second pod touched


@dataclass
class Breakage:
    section: str          # the figures' section ("7b bad image")
    what: str             # "version 5.0.9 → 5.0.99 (image ... not built)", for the log
    fix_what: str         # "version back to 5.0.9"
    apply: Callable[[], None]  # breaks the spec
    fix: Callable[[], None]    # puts it back
    trouble: tuple        # words one of which the Degraded message must carry for the pod
    stuck_ok: Callable    # (pod) -> "" when the stuck pod shows the breakage, else why not
    fixed_ok: Callable    # (pod) -> True when a pod runs the fixed template


def gone_or_renewed(before, now):
    """The pods of `before` (name → UID) deleted, being deleted or recreated, in `now`."""
    return sorted(name for name, u in before.items()
                  if not now.get(name) or now[name]["metadata"]["uid"] != u
                  or now[name]["metadata"].get("deletionTimestamp"))


def waiting_reasons(p):
    st = p.get("status") or {}
    return {c["name"]: ((c.get("state") or {}).get("waiting") or {}).get("reason")
            for c in (st.get("initContainerStatuses") or []) + (st.get("containerStatuses") or [])}


def stuck_roll(m, load, b):
    stuck_phase, recovery_phase = f"stuck roll ({b.section})", f"recovery ({b.section})"
    before = {name: p["metadata"]["uid"] for name, p in pods(m).items()}
    assert len(before) == 3, before
    worst = {"not ready": 0}
    touched = []  # the pods deleted or recreated since the patch, in the order seen

    def sample(limit):
        """Not Ready pods (at most 1 at once) and pods touched (at most `limit`)."""
        now = pods(m)
        not_ready = 3 - sum(1 for name in before if pod_ready(now.get(name)))
        worst["not ready"] = max(worst["not ready"], not_ready)
        for name in gone_or_renewed(before, now):
            if name not in touched:
                touched.append(name)
        assert not_ready <= 1, f"{not_ready} cassandra pods not Ready at once"
        assert len(touched) <= limit, f"pods deleted or recreated: {touched} (at most {limit})"
        return now

    load.set_phase(stuck_phase)
    log(b.what)
    t = time.monotonic()
    b.apply()
    fixed = False
    try:
        def degraded():
            now = sample(1)
            if not touched:
                return None
            stuck = touched[0]
            p = now.get(stuck)
            c = condition(cluster_obj(m), "Degraded")
            if not (p and p["metadata"]["uid"] != before[stuck] and c
                    and c.get("status") == "True" and c.get("reason") == "PodNotStarting"):
                return None
            msg = c.get("message") or ""
            if stuck not in msg or not any(r in msg for r in b.trouble):
                return None
            return stuck, p, c
        stuck, p, c = wait_strict("Degraded PodNotStarting naming the stuck pod", degraded, 300)
        timed(b.section, "spec broken → Degraded PodNotStarting", t)
        log(f"Degraded: {c['message']}")
        why_not = b.stuck_ok(p)
        assert not why_not, f"{stuck}: {why_not}"
        log(f"{stuck} recreated on the broken template, waiting: {waiting_reasons(p)}")

        # The roll must stay stuck: watched for a while, no second pod is touched.
        end = time.monotonic() + HOLD_SECONDS
        wait_strict(f"{HOLD_SECONDS}s of the stuck roll with no second pod touched",
                    lambda: sample(1) is not None and time.monotonic() >= end, HOLD_SECONDS + 60)
        assert touched == [stuck], f"pods deleted or recreated while stuck: {touched}"
        c = condition(cluster_obj(m), "Degraded")
        assert c and c.get("status") == "True" and c.get("reason") == "PodNotStarting", c
        figure(b.section, "pods touched while stuck", f"{len(touched)} ({stuck})")
        failed = load.failures(stuck_phase)
        figure(b.section, "client failures while stuck (2 of 3 up, QUORUM)", failed)
        assert failed == 0, f"{failed} client failures at QUORUM while the roll was stuck"

        load.set_phase(recovery_phase)
        stuck_uid = p["metadata"]["uid"]
        log(b.fix_what)
        t = time.monotonic()
        b.fix()
        fixed = True

        def recovered():
            now = sample(3)
            q = now.get(stuck)
            if not (q and q["metadata"]["uid"] != stuck_uid and pod_ready(q) and b.fixed_ok(q)):
                return None
            if len(now) != 3 or not all(pod_ready(x) for x in now.values()):
                return None
            obj = ready_with(m, 3)
            d = condition(obj, "Degraded")
            return obj if d and d.get("status") == "False" else None
        obj = wait_strict(f"{stuck} recreated on the fixed template, Ready 3/3, Degraded False",
                          recovered, 600)
        timed(b.section, "spec fixed → Ready 3/3", t)
        figure(b.section, "most cassandra pods not Ready at once (sampled ~1/s)", worst["not ready"])
        for name, q in pods(m).items():
            assert b.fixed_ok(q), f"{name} is not on the fixed template"
        log(f"every pod Ready on the fixed template; pods touched in all: {touched}; Degraded: "
            f"{condition(obj, 'Degraded').get('message')}")
        load.set_phase(f"after {recovery_phase}")
        failed = load.failures(recovery_phase)
        figure(b.section, "client failures during the recovery (QUORUM)", failed)
        assert failed == 0, f"{failed} client failures at QUORUM during the recovery"
    finally:
        if not fixed:  # the next scenarios need the shared Cluster as it was
            log(f"scenario failed before the fix: {b.fix_what}")
            try:
                b.fix()
            except Exception as e:  # must not hide the failure that brought us here
                log(f"could not fix the spec: {e!r}")
