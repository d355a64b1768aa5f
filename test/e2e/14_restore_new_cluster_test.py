#!/usr/bin/env python3
"""e2e 14: the shared Cluster is gone (13); a new Cluster with another name, in another
namespace, is created from its backup e2e-b1 (spec.restoreFrom) and holds every row the backup
had. Helpers and state: e2elib.py."""
import sys
import time


from e2elib import (CRD, DC, MAIN, NS_RESTORED, RESTORED, Names, PreconditionFailed, S3Server,
                    apply, cluster_manifest, condition, connect, delete_namespace, figure, get,
                    items, kubectl, load_state, log, run_scenario, service_ip, superuser,
                    table_keys, timed, wait)

BUCKET = "e2e-backups"
SECRET = "e2e-s3-credentials"
NEEDS = ("no Cassandra running (13 deleted the shared Cluster); the S3 directory, credentials and "
         "backup_rows of 10a in the state: Backup e2e-b1 of my-cassandra-cluster, stored")
LEAVES = "Cluster restored (namespace e2e-restored) Ready 3/3 and Restored, for 15"


def restored_manifest(name, s3, backup, location="versity"):
    """The seed's Cluster (images and sizes as every scenario's), named `name`, created from
    `backup` of the shared Cluster."""
    m = cluster_manifest(name, 3)
    m["metadata"]["namespace"] = NS_RESTORED
    m["spec"]["storageLocations"] = [{"name": "versity", "s3": {
        "endpoint": s3.endpoint, "bucket": BUCKET, "credentialsSecret": {"name": SECRET}}}]
    m["spec"]["restoreFrom"] = {"storageLocation": location, "cluster": MAIN, "backup": backup}
    return m


def restored_condition(name):
    return condition(get(CRD, name, ns=NS_RESTORED) or {}, "Restored") or {}


def refusals(s3):
    """Bad input changes nothing: a location the Cluster lacks is refused by the API server; a
    backup that does not exist creates no StatefulSet and says why (Restored False,
    BackupNotFound, a Warning event); the Cluster is then deleted, as its user would."""
    bad = restored_manifest("bad-location", s3, "e2e-b1", location="elsewhere")
    try:
        apply(bad, ns=NS_RESTORED)
        raise AssertionError("the API server accepted restoreFrom.storageLocation 'elsewhere'")
    except RuntimeError as e:
        assert "must name one of spec.storageLocations" in str(e), e
    figure("restore-new", "restoreFrom of a location the Cluster lacks",
           "refused by the API server")

    apply(restored_manifest("no-backup", s3, "never-taken"), ns=NS_RESTORED)
    c = wait("Cluster no-backup says the backup is not found",
             lambda: restored_condition("no-backup").get("reason") == "BackupNotFound"
             and restored_condition("no-backup"), 120, ns=NS_RESTORED)
    assert c["status"] == "False", c
    created = items("statefulsets", ns=NS_RESTORED, selector="cassandra.rook.io/cluster=no-backup")
    assert not created, f"StatefulSets created for a backup that does not exist: {created}"
    figure("restore-new", "restoreFrom of a backup never taken",
           f"nothing created; Restored False, BackupNotFound: {c['message'][:70]}")
    kubectl("delete", CRD, "no-backup", "--wait=true", "--timeout=120s", ns=NS_RESTORED,
            timeout=150)


def scenario_restore_new_cluster(s3):
    """14. Restore into a new cluster: Cluster 'restored' in namespace e2e-restored, created
    with spec.restoreFrom e2e-b1 of my-cassandra-cluster (deleted in 13): its members start on
    the backup's tokens with their files fetched by the init container, then its Restore brings
    the schema and data back; every row of bk1 and bk2 the backup had is read at QUORUM, none
    written after it. Bad restoreFrom input is refused or creates nothing."""
    rows = load_state().get("backup_rows")
    if not rows:
        raise PreconditionFailed("precondition: 10a recorded backup_rows (it did not)")
    index = f"{MAIN}/backups/e2e-b1.json"
    if index not in s3.keys(BUCKET, f"{MAIN}/backups/"):
        raise PreconditionFailed(f"precondition: the index {index} is stored (10a writes it)")
    if get(CRD, MAIN, ns="e2e-operator"):
        raise PreconditionFailed("precondition: the shared Cluster is deleted (13 deletes it)")
    delete_namespace(NS_RESTORED, 300)  # an earlier run's
    kubectl("create", "namespace", NS_RESTORED, ns=None)
    apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": SECRET},
           "stringData": {"accessKeyId": s3.access_key, "secretAccessKey": s3.secret}},
          ns=NS_RESTORED)
    refusals(s3)

    n = Names(RESTORED, NS_RESTORED)
    t0 = time.monotonic()
    apply(restored_manifest(RESTORED, s3, "e2e-b1"), ns=NS_RESTORED)
    wait(f"Cluster {RESTORED} Restored",
         lambda: restored_condition(RESTORED).get("status") == "True", 1200, ns=NS_RESTORED,
         interval=2)
    kubectl("wait", "--for=condition=Restored", f"{CRD}/{RESTORED}", "--timeout=10s",
            ns=NS_RESTORED)
    total = timed("restore-new", f"{RESTORED}: created from e2e-b1 → Restored", t0)
    cluster = get(CRD, RESTORED, ns=NS_RESTORED)
    pairs = cluster["status"]["restoreFrom"]["nodes"]
    assert len(pairs) == 3 and {p["source"] for p in pairs} == {
        f"{MAIN}-{DC}-us-east-1c-{i}" for i in range(3)}, pairs
    # Each member's init container fetched its source node's files before Cassandra started.
    fetched = []
    for i in range(3):
        out = kubectl("logs", n.pod(i), "-c", "agent-init", ns=NS_RESTORED)
        line = next((l for l in out.splitlines() if l.startswith("restore: ")), None)
        assert line, f"{n.pod(i)}: agent init fetched nothing:\n{out}"
        fetched.append(line)
        log(f"{n.pod(i)} init: {line}")
    figure("restore-new", "files fetched by the init containers (per member)",
           "; ".join(l.split(":")[1].split(" of ")[0].strip() for l in fetched))
    restore = get("restore", f"{RESTORED}-restore", ns=NS_RESTORED)
    assert restore["status"]["phase"] == "Complete", restore["status"]
    figure("restore-new", "Restore restored-restore: files imported / bytes over 3 nodes",
           f"{sum(x['filesDone'] for x in restore['status']['nodes'])} / "
           f"{sum(x['bytes'] for x in restore['status']['nodes']):,}")
    creds = superuser(n)
    ip = service_ip(f"{RESTORED}-{DC}-client", ns=NS_RESTORED)
    c, session = wait(f"CQL login at {ip}", lambda: connect(ip, *creds), 120, ns=NS_RESTORED,
                      interval=0.5)
    try:
        # Each member owns the tokens its source node owned (its files are that node's ranges):
        # the ring as one member sees it (both tables read from the same node).
        member = service_ip(n.member_service(0), ns=NS_RESTORED)
        one, on_member = connect(member, *creds, whitelist=True)
        try:
            local = on_member.execute("SELECT broadcast_address, tokens FROM system.local").one()
            ring = {str(local.broadcast_address): set(local.tokens)}
            for row in on_member.execute("SELECT peer, tokens FROM system.peers"):
                ring[str(row.peer)] = set(row.tokens)
        finally:
            one.shutdown()
        for pair in pairs:
            manifest = s3.read_json(BUCKET, f"{MAIN}/{pair['source']}/manifests/e2e-b1.json")
            address = service_ip(pair["pod"], ns=NS_RESTORED)
            assert ring.get(address) == set(manifest["tokens"]), (
                f"{pair['pod']} ({address}) owns {sorted(ring.get(address) or [])[:3]}..., "
                f"its source {pair['source']} had {sorted(manifest['tokens'])[:3]}...")
        figure("restore-new", "members on their source node's tokens", f"{len(pairs)} of 3")
        for ks in ("bk1", "bk2"):
            got = table_keys(session, f"{ks}.t")
            want = set(range(rows[ks]))
            figure("restore-new", f"{ks}: rows read at QUORUM (backup had {rows[ks]})",
                   f"{len(got)} (missing {len(want - got)}, not in the backup {len(got - want)})")
            assert got == want, (f"{ks}: missing {sorted(want - got)[:5]}, "
                                 f"extra {sorted(got - want)[:5]}")
    finally:
        c.shutdown()
    log(f"restored in {total:.1f}s")


def main():
    s3 = S3Server()
    try:
        scenario_restore_new_cluster(s3)
    finally:
        s3.stop()


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_restore_new_cluster.__doc__))
