#!/usr/bin/env python3
"""e2e 03a: `helm upgrade` of the operator's release (installed by run.sh with charts/ringkeeper)
to the next chart version, under the client at QUORUM. The operator's pods are replaced and a new
leader takes over; the running Cassandra cluster is untouched: no pod re-created or restarted, the
StatefulSet, its Services and the Cluster's spec unchanged after the new leader's reconciles, the
CRDs still Established, zero client failures. Helpers and state: e2elib.py."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from e2elib import (OPERATOR, OPERATOR_NS, client_on_main, cluster_obj, condition,
                    expect_no_client_failures, figure, get, items, leader, log, pod_ready, pods,
                    reconcile_count, run_scenario, scrape, timed, wait, wait_operator, wait_strict)

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03); the release " \
        "ringkeeper installed by run.sh (hack/helm-install.sh)"
LEAVES = "the shared Cluster Ready 3/3, untouched; the operator at the release's next revision"

SECTION = "3a chart upgrade"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HELM = os.environ.get("HELM", "helm")
RELEASE = "ringkeeper"
CRDS = ("clusters", "backups", "restores", "repairs")


def helm(*args, timeout=600):
    out = subprocess.run([HELM, *args, "--namespace", OPERATOR_NS], capture_output=True,
                         text=True, timeout=timeout)
    if out.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def release():
    """The release as `helm list` shows it: revision, status, chart (name-version)."""
    found = [r for r in json.loads(helm("list", "-o", "json")) if r["name"] == RELEASE]
    assert len(found) == 1, found
    r = found[0]
    return {"revision": int(r["revision"]), "status": r["status"],
            "version": r["chart"][len("ringkeeper-"):]}


def next_version_chart(tmp):
    """The chart as it is, one patch version on: what a user's `helm upgrade` to the next release
    brings (the same templates, a new chart label on every object)."""
    chart = shutil.copytree(os.path.join(ROOT, "charts", "ringkeeper"),
                            os.path.join(tmp, "ringkeeper"), symlinks=False)
    path = os.path.join(chart, "Chart.yaml")
    with open(path) as f:
        text = f.read()
    version = next(line.split(":", 1)[1].strip() for line in text.splitlines()
                   if line.startswith("version:"))
    major, minor, patch = version.split("-")[0].split(".")
    bumped = f"{major}.{minor}.{int(patch) + 1}"
    with open(path, "w") as f:
        f.write(text.replace(f"version: {version}", f"version: {bumped}"))
    return chart, version, bumped


def cassandra_state(m):
    """What must not move: each pod's uid and container restarts, the StatefulSet's uid and
    generation, the Services' uids, the Cluster's generation."""
    return {
        "pods": {name: (p["metadata"]["uid"],
                        sum(c.get("restartCount", 0)
                            for c in (p.get("status") or {}).get("containerStatuses") or []))
                 for name, p in pods(m).items()},
        "statefulset": (get("statefulset", m.sts)["metadata"]["uid"],
                        get("statefulset", m.sts)["metadata"]["generation"]),
        "services": sorted((s["metadata"]["name"], s["metadata"]["uid"])
                           for s in items("service", ns=m.ns, selector=m.selector)),
        "cluster generation": cluster_obj(m)["metadata"]["generation"],
    }


def scenario_chart_upgrade(m, load):
    """3a. helm upgrade to the next chart version: operator replaced, Cassandra untouched."""
    load.set_phase("chart upgrade")
    before = cassandra_state(m)
    assert len(before["pods"]) == 3, before["pods"]
    old_operator = set(p["metadata"]["name"] for p in items("pod", ns=OPERATOR_NS,
                                                            selector=f"app.kubernetes.io/name={OPERATOR}"))
    rel = release()
    revision, chart_before = rel["revision"], rel["version"]
    log(f"release {RELEASE}: revision {revision}, chart {chart_before}, operator pods "
        f"{sorted(old_operator)}")

    with tempfile.TemporaryDirectory() as tmp:
        chart, version, bumped = next_version_chart(tmp)
        assert version == chart_before, f"the release runs chart {chart_before}, the tree {version}"
        t = time.monotonic()
        # --reuse-values: the image and its id set at install; the annotation only marks the run.
        helm("upgrade", RELEASE, chart, "--reuse-values", "--wait=watcher", "--timeout", "300s",
             "--set-string", f"podAnnotations.ringkeeper\\.io/e2e-upgrade={int(time.time())}")
    rel = release()
    assert rel == {"revision": revision + 1, "status": "deployed", "version": bumped}, rel
    log(f"release {RELEASE}: revision {rel['revision']}, chart {bumped}, {rel['status']}")

    def replaced():
        now = {p["metadata"]["name"]: p for p in items("pod", ns=OPERATOR_NS,
                                                        selector=f"app.kubernetes.io/name={OPERATOR}")}
        if set(now) & old_operator or len(now) < 2 or not all(pod_ready(p) for p in now.values()):
            return None
        return now
    new_operator = wait("every operator pod replaced and Ready", replaced, 300, ns=OPERATOR_NS)
    wait_operator()
    pod, _, ip = wait("an operator leader", leader, 120, ns=OPERATOR_NS)
    assert pod in new_operator, f"the leader {pod} is not one of the new pods {sorted(new_operator)}"
    # The new leader has looked at the Cluster (its reconciles counted) before the check below.
    wait(f"{pod} reconciling", lambda: reconcile_count(scrape(ip)) >= 3, 120, ns=OPERATOR_NS)
    timed(SECTION, "helm upgrade → operator replaced, new leader reconciling", t)

    def untouched():
        obj = cluster_obj(m)
        ready = condition(obj, "Ready") or {}
        if ready.get("status") != "True" or (obj.get("status") or {}).get("operation"):
            return None
        return obj
    wait_strict("the Cluster Ready with no operation", untouched, 120)
    after = cassandra_state(m)
    for key in before:
        assert after[key] == before[key], f"{key} changed by the upgrade: {before[key]} → {after[key]}"
    restarted = [n for n in before["pods"] if after["pods"][n] != before["pods"][n]]
    figure(SECTION, "cassandra pods re-created or restarted", len(restarted))
    figure(SECTION, "operator pods", f"{sorted(old_operator)} → {sorted(new_operator)}")
    for kind in CRDS:
        crd = get("crd", f"{kind}.cassandra.rook.io", ns=None)
        assert (condition(crd, "Established") or {}).get("status") == "True", crd.get("status")
        assert crd["metadata"]["labels"].get("helm.sh/chart") == f"ringkeeper-{bumped}", (
            crd["metadata"]["labels"])
    log(f"the {len(CRDS)} CRDs Established, labelled with chart {bumped}")
    assert all(pod_ready(p) for p in pods(m).values()), "a Cassandra pod is not Ready"

    expect_no_client_failures(load, "chart upgrade", SECTION, "during the upgrade")


def main():
    with client_on_main("chart upgrade") as (m, load, _, _creds):
        scenario_chart_upgrade(m, load)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_chart_upgrade.__doc__))
