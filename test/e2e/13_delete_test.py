#!/usr/bin/env python3
"""e2e 13: deleting the shared Cluster removes what it owns and retains the PVCs; then the
namespace is deleted, unless E2E_KEEP=1 or an earlier scenario failed (kept for inspection).
Helpers and state: e2elib.py."""
import sys
import time

from e2elib import (CRD, MAIN, NS, Names, PreconditionFailed, cluster_obj, figure, kubectl,
                    release_namespace, run_scenario, timed, wait)

NEEDS = ("the shared Cluster (02) and the PVCs of its pods 0, 1, 2 (in any state: deletion is "
         "tested anyway)")
LEAVES = ("the Cluster deleted, its PVCs retained; namespace e2e-operator deleted unless "
          "E2E_KEEP=1 or a scenario before failed")


def scenario_delete(m):
    """12. The Cluster deleted: owned objects go, PVCs stay (pvcDeletionPolicy Retain)."""
    t = time.monotonic()
    kubectl("delete", CRD, m.cluster, "--wait=true", "--timeout=300s", timeout=330)

    def gone():
        left = kubectl("get", "statefulsets,services,pods,poddisruptionbudgets", "-l", m.selector,
                       "-o", "name")
        return not left
    wait("StatefulSets, Services, pods, PDBs of the Cluster gone", gone, 300)
    timed("12 delete", "Cluster deleted → owned objects gone", t)
    pvcs = kubectl("get", "pvc", "-o", "jsonpath={.items[*].metadata.name}").split()
    for i in range(3):
        assert m.pvc(i) in pvcs, f"PVC {m.pvc(i)} was not retained: {pvcs}"
    figure("12 delete", "PVCs retained", len([p for p in pvcs if p.startswith(f"cassandra-data-{m.sts}-")]))


def require_cluster_and_pvcs(m):
    """The Cluster exists and so do the PVCs this scenario checks are retained."""
    if not cluster_obj(m):
        raise PreconditionFailed(f"precondition: Cluster {m.ns}/{m.cluster} exists (02_create_three"
                                 "_test creates it; it did not)")
    pvcs = kubectl("get", "pvc", "-o", "jsonpath={.items[*].metadata.name}").split()
    missing = [m.pvc(i) for i in range(3) if m.pvc(i) not in pvcs]
    if missing:
        raise PreconditionFailed(f"precondition: PVCs {missing} exist before the deletion: {pvcs}")


def main():
    m = Names(MAIN, NS)
    require_cluster_and_pvcs(m)
    scenario_delete(m)
    release_namespace(NS, wait_seconds=300)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_delete.__doc__))
