#!/usr/bin/env python3
"""e2e 07b: a roll that cannot progress (spec.version set to a version whose image does not exist)
is reported as Degraded PodNotStarting naming the stuck pod and touches no second pod; setting
spec.version back recreates the stuck pod on the original image and the Cluster returns to Ready
3/3, with zero client failures at QUORUM throughout. Helpers and state: e2elib.py."""
import json
import re
import sys
import time

from e2elib import (wait_strict, CRD, client_on_main, cluster_obj, condition, figure, kubectl,
                    log, pod_ready, pods, ready_with, run_scenario, timed)

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03)"
LEAVES = "the shared Cluster Ready 3/3 on its original version (the stuck pod recreated)"

SECTION = "7b bad image"
BAD_VERSIONS = ("5.0.99", "5.0.98")  # no such image is built (hack/images.sh builds one version)
# The CRD's spec.version pattern (config/crd/cassandra.rook.io_clusters.yaml).
VERSION_PATTERN = r"^[0-9]+\.[0-9]+(\.[0-9]+)?([-+][0-9A-Za-z.-]+)?$"
IMAGE_TROUBLE = ("ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull")
HOLD_SECONDS = 30  # how long the stuck roll is watched after Degraded, for a second pod touched
STUCK, RECOVERY = "stuck roll (bad image)", "recovery (version back)"


def patch_version(m, version):
    kubectl("patch", CRD, m.cluster, "--type=merge", "-p",
            json.dumps({"spec": {"version": version}}))


def gone_or_renewed(before, now):
    """The pods of `before` (name → UID) deleted, being deleted or recreated, in `now`."""
    return sorted(name for name, u in before.items()
                  if not now.get(name) or now[name]["metadata"]["uid"] != u
                  or now[name]["metadata"].get("deletionTimestamp"))


def images(p):
    spec = p.get("spec") or {}
    return {c["name"]: c.get("image") for c in
            (spec.get("initContainers") or []) + (spec.get("containers") or [])}


def waiting_reasons(p):
    st = p.get("status") or {}
    return {c["name"]: ((c.get("state") or {}).get("waiting") or {}).get("reason")
            for c in (st.get("initContainerStatuses") or []) + (st.get("containerStatuses") or [])}


def scenario_bad_image(m, load):
    """7b. spec.version to a missing image: Degraded PodNotStarting within 5 min, no second pod
    touched, zero client failures at QUORUM; version back: the stuck pod is recreated, Ready 3/3."""
    obj = cluster_obj(m)
    repo, orig = obj["spec"]["repository"], obj["spec"]["version"]
    bad = next(v for v in BAD_VERSIONS if v != orig)
    assert re.match(VERSION_PATTERN, bad), f"{bad} does not match the CRD's version pattern"
    good_image, bad_image = f"{repo}:{orig}", f"{repo}:{bad}"
    before = {name: p["metadata"]["uid"] for name, p in pods(m).items()}
    assert len(before) == 3, before
    assert all(good_image in images(p).values() for p in pods(m).values()), \
        f"not every pod runs {good_image}"
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

    load.set_phase(STUCK)
    log(f"spec.version {orig} → {bad} (image {bad_image}, not built)")
    t = time.monotonic()
    patch_version(m, bad)
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
            if stuck not in msg or not any(r in msg for r in IMAGE_TROUBLE):
                return None
            return stuck, p, c
        stuck, p, c = wait_strict("Degraded PodNotStarting naming the pod with the missing image",
                                  degraded, 300)
        timed(SECTION, f"version → {bad} → Degraded PodNotStarting", t)
        log(f"Degraded: {c['message']}")
        assert bad_image in images(p).values(), f"{stuck}: images {images(p)}, want {bad_image}"
        reasons = waiting_reasons(p)
        assert any(r in IMAGE_TROUBLE for r in reasons.values()), f"{stuck}: waiting {reasons}"
        log(f"{stuck} recreated on {bad_image}, waiting: {reasons}")

        # The roll must stay stuck: watched for a while, no second pod is touched.
        end = time.monotonic() + HOLD_SECONDS
        wait_strict(f"{HOLD_SECONDS}s of the stuck roll with no second pod touched",
                    lambda: sample(1) is not None and time.monotonic() >= end, HOLD_SECONDS + 60)
        assert touched == [stuck], f"pods deleted or recreated while stuck: {touched}"
        c = condition(cluster_obj(m), "Degraded")
        assert c and c.get("status") == "True" and c.get("reason") == "PodNotStarting", c
        figure(SECTION, "pods touched while stuck", f"{len(touched)} ({stuck})")
        failed = load.failures(STUCK)
        figure(SECTION, "client failures while stuck (2 of 3 up, QUORUM)", failed)
        assert failed == 0, f"{failed} client failures at QUORUM while the roll was stuck"

        load.set_phase(RECOVERY)
        stuck_uid = p["metadata"]["uid"]
        log(f"spec.version {bad} → {orig} (back)")
        t = time.monotonic()
        patch_version(m, orig)
        fixed = True

        def recovered():
            now = sample(3)
            q = now.get(stuck)
            if not (q and q["metadata"]["uid"] != stuck_uid and pod_ready(q)
                    and good_image in images(q).values()):
                return None
            if len(now) != 3 or not all(pod_ready(x) for x in now.values()):
                return None
            obj = ready_with(m, 3)
            d = condition(obj, "Degraded")
            return obj if d and d.get("status") == "False" else None
        obj = wait_strict(f"{stuck} recreated on {good_image}, Ready 3/3, Degraded False",
                          recovered, 600)
        timed(SECTION, f"version back to {orig} → Ready 3/3", t)
        figure(SECTION, "most cassandra pods not Ready at once (sampled ~1/s)", worst["not ready"])
        now = pods(m)
        for name, q in now.items():
            assert bad_image not in images(q).values(), f"{name} still on {bad_image}"
        log(f"every pod Ready on {good_image}; pods touched in all: {touched}; Degraded: "
            f"{condition(obj, 'Degraded').get('message')}")
        load.set_phase("after recovery")
        failed = load.failures(RECOVERY)
        figure(SECTION, "client failures during the recovery (QUORUM)", failed)
        assert failed == 0, f"{failed} client failures at QUORUM during the recovery"
    finally:
        if not fixed:  # the next scenarios need the shared Cluster on its version
            log(f"scenario failed before the fix: spec.version back to {orig}")
            try:
                patch_version(m, orig)
            except Exception as e:  # must not hide the failure that brought us here
                log(f"could not set spec.version back to {orig}: {e!r}")



def main():
    with client_on_main(STUCK) as (m, load, _, _creds):
        scenario_bad_image(m, load)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_bad_image.__doc__))
