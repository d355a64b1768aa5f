#!/usr/bin/env python3
"""e2e 07b: a roll that cannot progress (spec.version set to a version whose image does not exist)
is reported as Degraded PodNotStarting naming the stuck pod and touches no second pod; setting
spec.version back recreates the stuck pod on the original image and the Cluster returns to Ready
3/3, with zero client failures at QUORUM throughout. Helpers: e2elib.py, stuckroll.py."""
import json
import re
import sys

from e2elib import CRD, client_on_main, cluster_obj, kubectl, pods, run_scenario
from stuckroll import Breakage, stuck_roll, waiting_reasons

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03)"
LEAVES = "the shared Cluster Ready 3/3 on its original version (the stuck pod recreated)"

BAD_VERSIONS = ("5.0.99", "5.0.98")  # no such image is built (hack/images.sh builds one version)
# The CRD's spec.version pattern (charts/ringkeeper/files/crds/cassandra.rook.io_clusters.yaml).
VERSION_PATTERN = r"^[0-9]+\.[0-9]+(\.[0-9]+)?([-+][0-9A-Za-z.-]+)?$"
IMAGE_TROUBLE = ("ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull")


def patch_version(m, version):
    kubectl("patch", CRD, m.cluster, "--type=merge", "-p",
            json.dumps({"spec": {"version": version}}))


def images(p):
    spec = p.get("spec") or {}
    return {c["name"]: c.get("image") for c in
            (spec.get("initContainers") or []) + (spec.get("containers") or [])}


def scenario_bad_image(m, load):
    """7b. spec.version to a missing image: Degraded PodNotStarting within 5 min, no second pod
    touched, zero client failures at QUORUM; version back: the stuck pod is recreated, Ready 3/3."""
    obj = cluster_obj(m)
    repo, orig = obj["spec"]["repository"], obj["spec"]["version"]
    bad = next(v for v in BAD_VERSIONS if v != orig)
    assert re.match(VERSION_PATTERN, bad), f"{bad} does not match the CRD's version pattern"
    good_image, bad_image = f"{repo}:{orig}", f"{repo}:{bad}"
    for name, p in pods(m).items():
        assert good_image in images(p).values(), f"{name} does not run {good_image}"

    def stuck_ok(p):
        if bad_image not in images(p).values():
            return f"images {images(p)}, want {bad_image}"
        reasons = waiting_reasons(p)
        return "" if any(r in IMAGE_TROUBLE for r in reasons.values()) else f"waiting {reasons}"

    stuck_roll(m, load, Breakage(
        section="7b bad image",
        what=f"spec.version {orig} → {bad} (image {bad_image}, not built)",
        fix_what=f"spec.version {bad} → {orig} (back)",
        apply=lambda: patch_version(m, bad), fix=lambda: patch_version(m, orig),
        trouble=IMAGE_TROUBLE, stuck_ok=stuck_ok,
        fixed_ok=lambda p: good_image in images(p).values() and bad_image not in images(p).values()))


def main():
    with client_on_main("stuck roll (7b bad image)") as (m, load, _, _creds):
        scenario_bad_image(m, load)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_bad_image.__doc__))
