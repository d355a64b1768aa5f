#!/usr/bin/env python3
"""e2e 07c: growing the rack's storage on the live 3-node cluster, 1Gi → 2Gi, as a user would (one
field of the Cluster). Every claim is raised and resized (the local StorageClass allows expansion;
test/cluster/volume-resizer.sh records the size), the StatefulSet is re-created with the 2Gi
claim template while its pods keep running (none restarts), VolumesResized and Ready come back
True, the reconcile never fails on the way, and the client at QUORUM sees zero failures.
Helpers and state: e2elib.py."""
import json
import sys
import time

from e2elib import (CRD, client_on_main, cluster_obj, condition, expect_no_client_failures, figure,
                    get, items, kubectl, log, pod_ready, pods, ready_with, run_scenario, timed,
                    wait_strict)

NEEDS = "the shared Cluster Ready 3/3 (02) with 1Gi volumes, the table e2e.kv and its rows (03)"
LEAVES = "the shared Cluster Ready 3/3 with 2Gi volumes (claims and StatefulSet template)"

SECTION = "7c storage grow"
GROWN = "2Gi"
STORAGE_PATH = "/spec/dataCenter/racks/0/storage/volumeClaimTemplates/0/spec/resources/requests/storage"


def claims(m):
    return {c["metadata"]["name"]: c for c in items("pvc", ns=m.ns, selector=m.selector)}


def claim_sizes(c):
    return (c["spec"]["resources"]["requests"].get("storage"),
            ((c.get("status") or {}).get("capacity") or {}).get("storage"))


def template_size(m):
    sts = get("statefulset", m.sts)
    if not sts:
        return None
    return sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]


def scenario_storage_grow(m, load):
    """7c. Storage grows 1Gi → 2Gi on the live cluster: claims resized, StatefulSet re-created
    with the new template, no pod restarted, nothing stalls, zero client failures at QUORUM."""
    load.set_phase("storage grow")
    before = {name: p["metadata"]["uid"] for name, p in pods(m).items()}
    assert len(before) == 3, before
    # The members' claims, and any a scale-down retained (pvcDeletionPolicy Retain, 04): all of
    # the rack's claims grow, so a member that comes back has the new size too.
    start_claims = claims(m)
    assert all(m.pvc(i) in start_claims for i in range(3)), sorted(start_claims)
    for name, c in start_claims.items():
        assert claim_sizes(c) == ("1Gi", "1Gi"), f"{name} is not at 1Gi before: {claim_sizes(c)}"
    log(f"claims before: {sorted(start_claims)}")
    sts_uid = get("statefulset", m.sts)["metadata"]["uid"]
    # A resize can be over between two ~1 s samples; lastTransitionTime moves only when the
    # status does, so a True condition stamped later than before the patch went False between.
    resized_before = condition(cluster_obj(m), "VolumesResized") or {}
    assert resized_before.get("status") == "True", resized_before
    worst = {"not ready": 0}
    seen = {"ReconcileError": None, "sts gone": False, "VolumesResized False": None}

    t = time.monotonic()
    kubectl("patch", CRD, m.cluster, "--type=json", "-p",
            json.dumps([{"op": "replace", "path": STORAGE_PATH, "value": GROWN}]))
    log(f"{m.cluster}: rack storage 1Gi → {GROWN}")

    def restarted(now):
        return sorted(name for name, u in before.items()
                      if not now.get(name) or now[name]["metadata"]["uid"] != u)

    def done():
        now = pods(m)
        assert not restarted(now), f"pods recreated while storage grew: {restarted(now)}"
        not_ready = sum(1 for name in before if not pod_ready(now.get(name)))
        worst["not ready"] = max(worst["not ready"], not_ready)
        obj = cluster_obj(m)
        ready = condition(obj, "Ready")
        if ready.get("reason") == "ReconcileError":
            seen["ReconcileError"] = ready.get("message")
        resized = condition(obj, "VolumesResized")
        if resized.get("status") == "False" and not seen["VolumesResized False"]:
            seen["VolumesResized False"] = f"{resized.get('reason')}: {resized.get('message')}"
        if get("statefulset", m.sts) is None:
            seen["sts gone"] = True
        sizes = {name: claim_sizes(c) for name, c in claims(m).items()}
        assert set(sizes) >= set(start_claims), f"claims gone: {sorted(start_claims)} → {sorted(sizes)}"
        if any(s != (GROWN, GROWN) for s in sizes.values()) or template_size(m) != GROWN:
            return None
        if resized.get("status") != "True" or (obj.get("status") or {}).get("operation"):
            return None
        return obj if ready_with(m, 3) else None
    obj = wait_strict(f"claims and StatefulSet at {GROWN}, VolumesResized and Ready True", done, 600)
    timed(SECTION, f"storage patched → every claim resized, StatefulSet at {GROWN}, Ready", t)
    figure(SECTION, "cassandra pods restarted", len(restarted(pods(m))))
    figure(SECTION, "most cassandra pods not Ready at once (sampled ~1/s)", worst["not ready"])
    resized_after = condition(obj, "VolumesResized")
    if not seen["VolumesResized False"] and (resized_after.get("lastTransitionTime")
                                             != resized_before.get("lastTransitionTime")):
        seen["VolumesResized False"] = (
            f"between samples: True since {resized_before.get('lastTransitionTime')}, "
            f"True again since {resized_after.get('lastTransitionTime')}")
    log(f"while growing: {seen}")
    assert seen["ReconcileError"] is None, f"the reconcile failed on the way: {seen['ReconcileError']}"
    assert seen["VolumesResized False"], "VolumesResized never reported the growth under way"
    assert worst["not ready"] == 0, f"{worst['not ready']} pods not Ready while storage grew"

    sts = get("statefulset", m.sts)
    assert sts["metadata"]["uid"] != sts_uid, "the StatefulSet was not re-created"
    assert sts["spec"]["replicas"] == 3, sts["spec"]["replicas"]
    for name, c in claims(m).items():
        log(f"{name}: request {c['spec']['resources']['requests']['storage']}, capacity "
            f"{c['status']['capacity']['storage']}, volume {c['spec'].get('volumeName')}")
    for name in before:
        refs = pods(m)[name]["metadata"].get("ownerReferences") or []
        assert any(r.get("uid") == sts["metadata"]["uid"] for r in refs), (
            f"{name} is not adopted by the new StatefulSet: {refs}")
    log(f"StatefulSet {m.sts} re-created (uid {sts_uid[:8]} → {sts['metadata']['uid'][:8]}) "
        f"with {GROWN} claims; every pod adopted, none restarted")
    assert (obj.get("status") or {}).get("membersSummary") == "3/3", obj.get("status")

    expect_no_client_failures(load, "storage grow", SECTION, "while storage grew")


def main():
    with client_on_main("storage grow") as (m, load, _, _creds):
        scenario_storage_grow(m, load)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_storage_grow.__doc__))
