#!/usr/bin/env python3
"""e2e 17: a version upgrade. A Cluster of three racks (one member each), encrypted (spec.tls:
client and internode, the operator's CA), created at the previous major
(CASSANDRA_UPGRADE_FROM_VERSION, 4.1.x) with rows written at QUORUM over TLS; a "downgrade" to
3.11 refused with nothing touched; then spec.version set to CASSANDRA_VERSION (5.0.x) while a
client writes and reads at QUORUM: every node snapshots first, one rack at a time restarts on the
new version, then upgradesstables runs on each node, with no failed request and every row
readable. The Cluster is left for 18 (TLS). Helpers and state: e2elib.py."""
import calendar
import copy
import json
import sys
import time

from e2elib import pods as e2e_pods
from e2elib import (CASSANDRA_VERSION, CRD, DC, KEYSPACE, QUORUM, RF, ROWS, UPGRADE_FROM_VERSION,
                    Load, Names, apply, check_rows, cluster_ca, cluster_manifest, cluster_obj,
                    condition, connect, delete_namespace, event_messages, events,
                    expect_no_client_failures, figure, free_room, kubectl, log, on_node, pod_ready,
                    ready_with, run_scenario, service_ip, superuser, timed, tls_context, wait,
                    wait_strict)
from cassandra.concurrent import execute_concurrent_with_args

NS_UP = "e2e-upgrade"
NAME = "upgrade"
FROM, TO = UPGRADE_FROM_VERSION, CASSANDRA_VERSION
RACKS = ("r1", "r2", "r3")
TAG = f"upgrade-{FROM}-to-{TO}"
NEEDS = (f"the images cassandra:{FROM} and cassandra:{TO} imported (run.sh builds both); room "
         "for three Cassandra nodes (16's namespace deleted or being deleted: waited for)")
LEAVES = ("the Cluster upgrade in e2e-upgrade: 3 racks of one member, encrypted, Ready on "
          f"{CASSANDRA_VERSION}, the table {KEYSPACE}.kv (18 uses it, then deletes the namespace)")


def manifest(version):
    """The seed's Cluster (images and sizes as every scenario's) at `version`, with three racks of
    one member each (the seed's rack, its placement included, under three names)."""
    m = cluster_manifest(NAME, 1)
    m["metadata"]["namespace"] = NS_UP
    m["spec"]["version"] = version
    m["spec"]["tls"] = {}  # client and internode encryption from the operator's CA (18)
    seed = m["spec"]["dataCenter"]["racks"][0]
    m["spec"]["dataCenter"]["racks"] = [dict(copy.deepcopy(seed), name=r) for r in RACKS]
    return m


def pod_of(rack):
    return f"{NAME}-{DC}-{rack}-0"


N = Names(NAME, NS_UP)


def cluster():
    return cluster_obj(N) or {}


def ready():
    return ready_with(N, 3)


def pods():
    return e2e_pods(N)


def template_versions():
    """Each rack's StatefulSet template: the tag of its cassandra container's image."""
    out = {}
    for rack in RACKS:
        sts = json.loads(kubectl("get", "statefulset", f"{NAME}-{DC}-{rack}", "-o", "json",
                                 ns=NS_UP))
        image = next(c["image"] for c in sts["spec"]["template"]["spec"]["containers"]
                     if c["name"] == "cassandra")
        out[rack] = image.rsplit(":", 1)[1]
    return out


def release_versions(creds, ctx):
    return {rack: on_node(service_ip(pod_of(rack), ns=NS_UP), creds, lambda s: s.execute(
        "SELECT release_version FROM system.local").one().release_version, ssl_context=ctx)
        for rack in RACKS}


def snapshot_taken(pod):
    """The upgrade's snapshot on the pod's volume, of a user table and of the schema: the
    newest modification time of its directories (epoch seconds)."""
    out = kubectl("exec", pod, "-c", "cassandra", "--", "sh", "-c",
                  f"stat -c %Y /var/lib/cassandra/data/{KEYSPACE}/kv-*/snapshots/{TAG} "
                  f"/var/lib/cassandra/data/system_schema/tables-*/snapshots/{TAG}", ns=NS_UP)
    times = [int(t) for t in out.split()]
    assert len(times) == 2, f"{pod}: {out!r}"
    return max(times)


def scenario_upgrade():
    """17. Upgrade FROM → TO on a live 3-node cluster (three racks) with the client at QUORUM: a
    4.1 → 3.11 downgrade refused with nothing touched; then every node's snapshot before any
    restart, one rack at a time, upgradesstables on each node; 0 failed requests, every row read
    back, the snapshots on every volume."""
    free_room("e2e-multi", 300)  # 16's nodes: room for these
    delete_namespace(NS_UP, 300)  # an earlier run's
    kubectl("create", "namespace", NS_UP, ns=None)
    t0 = time.monotonic()
    apply(manifest(FROM), ns=NS_UP)
    wait(f"Cluster {NAME} Ready 3/3 on {FROM}", ready, 900, ns=NS_UP, interval=2)
    timed("upgrade", f"3 racks created on Cassandra {FROM}", t0)
    creds = superuser(N)
    ctx = tls_context(cluster_ca(N))
    client_ip = service_ip(f"{NAME}-{DC}-client", ns=NS_UP)
    assert set(release_versions(creds, ctx).values()) == {FROM}
    assert cluster()["status"].get("version") == FROM, cluster()["status"]
    c, session = wait("CQL login over TLS",
                      lambda: connect(client_ip, *creds, ssl_context=ctx), 120, ns=NS_UP)
    load = None
    try:
        session.execute(f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = "
                        f"{{'class': 'NetworkTopologyStrategy', '{DC}': {RF}}}")
        session.execute(f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.kv (k int PRIMARY KEY, v text)")
        ins = session.prepare(f"INSERT INTO {KEYSPACE}.kv (k, v) VALUES (?, ?)")
        ins.consistency_level = QUORUM
        execute_concurrent_with_args(session, ins, [(k, f"value-{k}") for k in range(ROWS)],
                                     concurrency=20, raise_on_first_error=True)
        log(f"{ROWS} rows written at QUORUM on {FROM}")

        # A downgrade across a major: refused, nothing touched.
        uids = {name: p["metadata"]["uid"] for name, p in pods().items()}
        kubectl("patch", CRD, NAME, "--type=merge", "-p",
                json.dumps({"spec": {"version": "3.11.17"}}), ns=NS_UP)
        generation = cluster()["metadata"]["generation"]

        def refused():
            r = condition(cluster(), "VersionChangeRefused") or {}
            return (r.get("status") == "True" and r.get("observedGeneration") == generation
                    and r)
        r = wait("spec.version 3.11.17 refused (VersionChangeRefused)", refused, 120, ns=NS_UP)
        assert r["reason"] == "MajorVersionDowngrade", r
        assert "3.11.17" in r["message"] and FROM in r["message"], r
        assert (condition(cluster(), "Ready") or {}).get("reason") == "MajorVersionDowngrade"
        assert events(NS_UP, "MajorVersionDowngrade") >= 1
        assert set(template_versions().values()) == {FROM}, template_versions()
        assert {name: p["metadata"]["uid"] for name, p in pods().items()} == uids
        assert not cluster()["status"].get("upgrade"), cluster()["status"]
        figure("upgrade", f"spec.version {FROM} → 3.11.17", f"refused: {r['message'][:70]}...")
        kubectl("patch", CRD, NAME, "--type=merge", "-p",
                json.dumps({"spec": {"version": FROM}}), ns=NS_UP)
        wait("the refusal cleared, Ready again", lambda: ready() and (condition(
            cluster(), "VersionChangeRefused") or {}).get("status") == "False", 120, ns=NS_UP)

        # The upgrade, under load.
        load = Load(client_ip, creds, max_seconds=1500, ssl_context=ctx)
        load.start()
        wait("the client's first confirmed writes", lambda: len(load.confirmed()) >= 20, 60,
             ns=NS_UP)
        load.set_phase("upgrade")
        before = {name: (p["metadata"]["uid"], p["metadata"]["creationTimestamp"])
                  for name, p in pods().items()}
        kubectl("patch", CRD, NAME, "--type=merge", "-p",
                json.dumps({"spec": {"version": TO}}), ns=NS_UP)
        t0 = time.monotonic()
        phases, restarted_at = [], {}

        def upgraded():
            st = cluster().get("status") or {}
            phase = (st.get("upgrade") or {}).get("phase")
            if phase and (not phases or phases[-1] != phase):
                phases.append(phase)
                log(f"upgrade phase {phase} after {time.monotonic() - t0:.0f}s")
            now = pods()
            down = [name for name, p in now.items() if not pod_ready(p)]
            assert len(down) <= 1, f"more than one pod down: {down}"
            for rack in RACKS:
                p = now.get(pod_of(rack))
                if p and p["metadata"]["uid"] != before[pod_of(rack)][0]:
                    restarted_at.setdefault(rack, time.monotonic())
            # One rack at a time, in order: a rack restarts only after the ones before it.
            for i, rack in enumerate(RACKS):
                if rack in restarted_at:
                    earlier = [r for r in RACKS[:i] if r not in restarted_at]
                    assert not earlier, f"{rack} restarted before {earlier}"
            last = st.get("lastUpgrade") or {}
            return (not st.get("upgrade") and last.get("to") == TO and st.get("version") == TO
                    and ready())
        wait_strict(f"the upgrade {FROM} → {TO} done (status.lastUpgrade, Ready 3/3)", upgraded,
                    1500)
        timed("upgrade", f"Cassandra {FROM} → {TO} on 3 nodes (snapshots, 3 racks, "
              "upgradesstables)", t0)
        expect_no_client_failures(load, "upgrade", "upgrade", f"during the upgrade {FROM} → {TO}")
        p99 = load.latency_ms("upgrade", 0.99)
        figure("upgrade", "client requests during the upgrade (ok)",
               load.phases["upgrade"]["writes ok"] + load.phases["upgrade"]["reads ok"])
        figure("upgrade", "client p99 latency during the upgrade (ms)",
               f"{p99:.0f}" if p99 is not None else "-")
        # The phases seen (a short one may fall between two polls), in their order.
        order = ["Snapshotting", "Rolling", "UpgradingSSTables"]
        assert "Rolling" in phases and phases == [x for x in order if x in phases], phases
        figure("upgrade", "status.upgrade phases seen", " → ".join(phases))

        # Every node on the new version; every pod recreated, rack by rack.
        assert release_versions(creds, ctx) == {r: TO for r in RACKS}
        assert set(template_versions().values()) == {TO}, template_versions()
        now = pods()
        for name, (old_uid, _) in before.items():
            assert now[name]["metadata"]["uid"] != old_uid, f"{name} not restarted"
        order = sorted(restarted_at, key=restarted_at.get)
        assert order == list(RACKS), order
        figure("upgrade", "racks restarted in order", " → ".join(order))

        # Snapshots present, taken on the old pods (before each one's restart).
        for rack in RACKS:
            pod = pod_of(rack)
            taken = snapshot_taken(pod)
            created = now[pod]["metadata"]["creationTimestamp"]
            created_s = calendar.timegm(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ"))
            assert taken <= created_s, f"{pod}: snapshot {taken} after its new pod {created}"
        assert events(NS_UP, "UpgradeSnapshot") >= 3
        figure("upgrade", f"snapshot {TAG}", "on all 3 volumes, taken before the restarts")

        # upgradesstables on each node.
        last = cluster()["status"]["lastUpgrade"]
        assert sorted(last.get("sstablesUpgraded") or []) == sorted(pod_of(r) for r in RACKS), last
        assert not last.get("sstablesFailed"), last
        finished = [m for m in event_messages(NS_UP, "UpgradingSSTables") if "finished on" in m]
        assert len(finished) >= 3, finished
        for rack in RACKS:  # Cassandra's own word that it ran (its log, on the new version)
            logged = kubectl("exec", pod_of(rack), "-c", "cassandra", "--", "sh", "-c",
                             "grep -c 'Completed Upgrade sstables with status SUCCESSFUL' "
                             "/opt/cassandra/logs/system.log || true", ns=NS_UP)
            assert int(logged.strip() or 0) >= 1, f"{pod_of(rack)}: no upgradesstables logged"
        # Under 5.0's storage_compatibility_mode CASSANDRA_4 the new version still writes 4.1's
        # SSTable format (nb): upgradesstables ran (above) and found nothing older to rewrite.
        figure("upgrade", "upgradesstables", f"done on {len(last['sstablesUpgraded'])} nodes")
        figure("upgrade", "Upgraded", event_messages(NS_UP, "Upgraded")[-1][:90])
        load.set_phase("after the upgrade")
        check_rows(session, load, "after the upgrade")
    finally:
        if load:
            load.stop()
        c.shutdown()


if __name__ == "__main__":
    sys.exit(run_scenario(scenario_upgrade, NEEDS, LEAVES))
