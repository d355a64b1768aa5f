#!/usr/bin/env python3
"""e2e 05: members 2 (below RF 3) refused with ScaleDownRefused naming the keyspace and its RF;
nothing decommissioned; members back to 3 clears it. Then spec.version 4.1.10 (a downgrade
across a major) refused with VersionChangeRefused: no template changed, no pod restarted; the
version back clears it. Helpers and state: e2elib.py."""
import json
import re
import sys
import time

from e2elib import (CASSANDRA_VERSION, CRD, DC, KEYSPACE, NS, RF, client_on_main, cluster_obj,
                    condition, events, jsonpath, kubectl, log, patch_members, pod_ready, pods,
                    ready_with, ring_un, run_scenario, status_members, timed, wait)

NEEDS = "the shared Cluster Ready 3/3 (02), the keyspace e2e at RF 3 and its rows (03)"
LEAVES = ("the shared Cluster Ready 3/3, members 3, ScaleDownRefused and VersionChangeRefused "
          "False or gone, spec.version as it was")


def keyspaces_at_rf3(session):
    out = []
    for r in session.execute("SELECT keyspace_name, replication FROM system_schema.keyspaces"):
        if r.replication.get(DC) == str(RF):
            out.append(r.keyspace_name)
    return out


def refusal(m, kind):
    """The condition `kind` when True for the Cluster's current generation, else None."""
    obj = cluster_obj(m)
    c = condition(obj, kind)
    if c and c["status"] == "True" and (obj["status"].get("observedGeneration", -1)
                                        >= obj["metadata"]["generation"]):
        return c
    return None


def cleared(m, kind):
    """Ready 3/3 with the condition `kind` False or gone."""
    obj = ready_with(m, 3)
    c = condition(obj, kind) if obj else None
    return obj and (c is None or c["status"] == "False")


def scenario_scale_down_refused(m, load, session):
    """5. Below RF is refused with a condition naming the keyspace; nothing is decommissioned."""
    load.set_phase("scale down to 2 refused")
    rf3 = keyspaces_at_rf3(session)
    assert KEYSPACE in rf3, rf3
    t = time.monotonic()
    patch_members(m, 2)
    c = wait("condition ScaleDownRefused True", lambda: refusal(m, "ScaleDownRefused"), 120)
    timed("5 refuse", "members 2 → ScaleDownRefused", t)
    log(f"ScaleDownRefused: reason {c.get('reason')}: {c.get('message')}")
    named = [ks for ks in rf3 if ks in c.get("message", "")]
    assert named and re.search(rf"\b{RF}\b", c["message"]), \
        f"the message names no keyspace at RF {RF} ({rf3}): {c['message']!r}"
    obj = cluster_obj(m)
    assert jsonpath("statefulset", m.sts, "{.spec.replicas}") == "3", "StatefulSet changed"
    assert not (obj.get("status") or {}).get("operation"), f"an operation started: {obj['status']}"
    states = sorted(mb.get("state") for mb in status_members(obj))
    assert states == ["UN"] * 3, f"members not all UN: {states}"
    pod_map = pods(m)
    assert all(pod_ready(pod_map.get(m.pod(i))) for i in range(3)), "a pod is not Ready"
    assert len(ring_un(m, m.pod(0))) == 3, "the ring lost a member"
    assert events(NS, "ScaleDownRefused"), "no ScaleDownRefused event"
    log("nothing was decommissioned: StatefulSet 3, 3 members UN, no operation")

    t = time.monotonic()
    patch_members(m, 3)
    wait("ScaleDownRefused False (or gone) after members 3",
         lambda: cleared(m, "ScaleDownRefused"), 120)
    timed("5 refuse", "members back to 3 → condition cleared", t)


def patch_version(m, version):
    kubectl("patch", CRD, m.cluster, "--type=merge", "-p",
            json.dumps({"spec": {"version": version}}), ns=m.ns)


def scenario_downgrade_refused(m, load):
    """5b. A downgrade across a major version (5.0 → 4.1) is refused with a condition and an
    event naming it; no template changes, no pod restarts; the version back clears it."""
    load.set_phase("spec.version 4.1.10 refused")
    old = "4.1.10"
    uids = {i: pods(m)[m.pod(i)]["metadata"]["uid"] for i in range(3)}
    image = jsonpath("statefulset", m.sts,
                     "{.spec.template.spec.containers[?(@.name=='cassandra')].image}")
    assert image.endswith(f":{CASSANDRA_VERSION}"), image
    t = time.monotonic()
    patch_version(m, old)
    c = wait("condition VersionChangeRefused True", lambda: refusal(m, "VersionChangeRefused"),
             120)
    timed("5 refuse", f"spec.version {old} → VersionChangeRefused", t)
    log(f"VersionChangeRefused: reason {c.get('reason')}: {c.get('message')}")
    assert c["reason"] == "MajorVersionDowngrade", c
    assert f"spec.version {old} refused (from {CASSANDRA_VERSION}" in c["message"], c
    assert events(NS, "MajorVersionDowngrade"), "no MajorVersionDowngrade event"
    obj = cluster_obj(m)
    assert obj["status"].get("version") == CASSANDRA_VERSION, obj["status"].get("version")
    ready = condition(obj, "Ready")
    assert ready["status"] == "False" and ready["reason"] == "MajorVersionDowngrade", ready
    assert jsonpath("statefulset", m.sts,
                    "{.spec.template.spec.containers[?(@.name=='cassandra')].image}") == image
    assert not (obj.get("status") or {}).get("operation"), f"an operation started: {obj['status']}"
    now = {i: pods(m)[m.pod(i)]["metadata"]["uid"] for i in range(3)}
    assert now == uids, "a pod was recreated"
    log(f"nothing rolled: template image {image}, the 3 pods as they were")

    t = time.monotonic()
    patch_version(m, CASSANDRA_VERSION)
    wait(f"VersionChangeRefused False after spec.version {CASSANDRA_VERSION}",
         lambda: cleared(m, "VersionChangeRefused"), 120)
    timed("5 refuse", "spec.version back → condition cleared", t)
    assert {i: pods(m)[m.pod(i)]["metadata"]["uid"] for i in range(3)} == uids


def main():
    with client_on_main("scale down to 2 refused") as (m, load, session, _):
        scenario_scale_down_refused(m, load, session)
        scenario_downgrade_refused(m, load)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_scale_down_refused.__doc__))
