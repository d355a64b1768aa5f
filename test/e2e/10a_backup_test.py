#!/usr/bin/env python3
"""e2e 10a: backups of the shared cluster to a real S3 server (versitygw on the node's address)
while the client writes at QUORUM. Helpers and state: e2elib.py."""
import json
import sys
import time

from cassandra.concurrent import execute_concurrent_with_args

from e2elib import (DC, MAIN, NS, QUORUM, S3Server, apply, client_on_main, figure, finished,
                    kubectl, log, run_scenario, save_state, timed, wait)

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03)"
LEAVES = ("the shared Cluster Ready 3/3 with storage location 'versity'; keyspaces bk1 and bk2 "
          "(state: backup_rows); Backups e2e-b1 and e2e-b2 Complete in bucket e2e-backups of "
          "the S3 directory and credentials kept in the state")

BUCKET = "e2e-backups"
CREDENTIALS_SECRET = "e2e-s3"
ROWS_PER_KEYSPACE = 5000
MORE_ROWS = 2000


def backup_manifest(name, location="versity"):
    return {"apiVersion": "cassandra.rook.io/v1alpha1", "kind": "Backup",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"cluster": MAIN, "storageLocation": location}}


def storage_locations(s3):
    def location(name, bucket):
        return {"name": name, "s3": {"endpoint": s3.endpoint, "bucket": bucket,
                                     "credentialsSecret": {"name": CREDENTIALS_SECRET}}}
    return [location("versity", BUCKET), location("no-bucket", "e2e-no-such-bucket")]


def take_backup(name, timeout=600):
    """Creates Backup `name`, waits for it to finish, requires Complete; returns its status."""
    t0 = time.monotonic()
    apply(backup_manifest(name))
    status = wait(f"Backup {name} finished", lambda: finished("backup", name), timeout, interval=2)
    assert status["phase"] == "Complete", (
        f"Backup {name} {status['phase']}: {status.get('reason')}: {status.get('message')}")
    # What `kubectl wait` sees.
    kubectl("wait", "--for=condition=Complete", f"backup/{name}", "--timeout=10s")
    timed("backup", f"{name}: created → Complete", t0)
    nodes = status["nodes"]
    figure("backup", f"{name}: bytes / sent / files / files already stored",
           f"{status['bytes']:,} / {status['bytesSent']:,} / "
           f"{sum(n['filesTotal'] for n in nodes)} / {sum(n['filesSkipped'] for n in nodes)}")
    return status


def write_rows(session, keyspace, first, count):
    ins = session.prepare(f"INSERT INTO {keyspace}.t (k, v) VALUES (?, ?)")
    ins.consistency_level = QUORUM
    ins.is_idempotent = True
    execute_concurrent_with_args(session, ins,
                                 [(k, f"{keyspace}-{k}") for k in range(first, first + count)],
                                 concurrency=32, raise_on_first_error=True)


def check_stored(s3, backup):
    """The index names every node; every manifest exists, holds the keyspaces' schema, and every
    file it lists is stored with its size. Returns the number of files listed."""
    index = s3.read_json(BUCKET, f"{MAIN}/backups/{backup}.json")
    assert len(index["nodes"]) == 3, index
    stored = s3.keys(BUCKET, f"{MAIN}/")
    files = 0
    for node in index["nodes"]:
        manifest = s3.read_json(BUCKET, node["manifest"])
        assert manifest["backup"] == backup and manifest["node"] == node["node"], manifest
        assert len(manifest["tokens"]) > 0, f"{node['node']}: no tokens saved"
        for ks in ("bk1", "bk2"):
            replication = manifest["keyspaces"].get(ks, {}).get("replication", {})
            assert replication.get(DC) == "3", f"{node['node']}: {ks} replication {replication}"
        names = {(f["keyspace"], f["name"]) for f in manifest["files"]}
        assert ("bk1", "schema.cql") in names, f"{node['node']}: no schema.cql for bk1"
        for f in manifest["files"]:
            assert stored.get(f["key"]) == f["size"], (
                f"{f['key']}: stored {stored.get(f['key'])}, manifest says {f['size']}")
            files += 1
    return files


def snapshots_left():
    """rk-backup-* snapshot directories on every pod (a backup clears its own)."""
    found = []
    for p in pods_of_main():
        out = kubectl("exec", p, "-c", "cassandra", "--", "sh", "-c",
                      "ls -d /var/lib/cassandra/data/*/*/snapshots/rk-backup-* 2>/dev/null || true")
        found += [line for line in out.splitlines() if line.strip()]
    return found


def pods_of_main():
    return sorted(p["metadata"]["name"] for p in pods_for_uids())


def pods_for_uids():
    return json.loads(kubectl("get", "pods", "-l", f"cassandra.rook.io/cluster={MAIN}",
                              "-o", "json"))["items"]


def refused_by_api(manifest, words):
    """kubectl apply fails and its message has `words`."""
    try:
        apply(manifest)
    except RuntimeError as e:
        assert words in str(e), f"refused, but not for {words!r}: {e}"
        return
    raise AssertionError(f"the API server accepted {manifest['metadata']['name']}")


def scenario_backup(m, load, session, s3):
    """10a. Backups while the client writes at QUORUM: a storage location added without a roll;
    10k rows in two keyspaces at RF 3; Backup 1 complete; more rows; Backup 2 sends only the
    new files (bytes of both printed); every file of both is stored with its size, each node's
    manifest holds the schema and tokens, the snapshots are cleared; bad Backups are refused by
    the API server or fail with the reason, and none is taken for complete."""
    pod_uids = {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods_for_uids()}
    s3.client().create_bucket(Bucket=BUCKET)
    apply({"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": CREDENTIALS_SECRET, "namespace": NS},
           "stringData": {"accessKeyId": s3.access_key, "secretAccessKey": s3.secret}})
    kubectl("patch", "cluster", MAIN, "--type", "merge", "-p",
            json.dumps({"spec": {"storageLocations": storage_locations(s3)}}))

    load.set_phase("backup: rows written")
    t0 = time.monotonic()
    for ks in ("bk1", "bk2"):
        session.execute(f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = "
                        f"{{'class': 'NetworkTopologyStrategy', '{DC}': 3}}")
        session.execute(f"CREATE TABLE IF NOT EXISTS {ks}.t (k int PRIMARY KEY, v text)")
        write_rows(session, ks, 0, ROWS_PER_KEYSPACE)
    timed("backup", f"{2 * ROWS_PER_KEYSPACE} rows in bk1, bk2 at QUORUM (RF 3)", t0)
    save_state(backup_rows={"bk1": ROWS_PER_KEYSPACE, "bk2": ROWS_PER_KEYSPACE})

    load.set_phase("backup 1")
    first = take_backup("e2e-b1")
    assert first["bytesSent"] > 0

    load.set_phase("backup: more rows")
    write_rows(session, "bk1", ROWS_PER_KEYSPACE, MORE_ROWS)
    load.set_phase("backup 2")
    second = take_backup("e2e-b2")
    skipped = sum(n["filesSkipped"] for n in second["nodes"])
    assert skipped > 0, "the second backup stored every file again"
    assert second["bytesSent"] < second["bytes"], second
    figure("backup", "e2e-b2 sent / e2e-b1 sent (bytes)",
           f"{second['bytesSent']:,} / {first['bytesSent']:,}")
    for phase in ("backup 1", "backup 2"):
        assert load.failures(phase) == 0, f"client requests failed during {phase}"

    figure("backup", "files listed by e2e-b1 / e2e-b2, every one stored with its size",
           f"{check_stored(s3, 'e2e-b1')} / {check_stored(s3, 'e2e-b2')}")
    left = snapshots_left()
    assert not left, f"backup snapshots left on the nodes: {left}"

    # Bad input: refused by the API server, or failed with the reason; never complete.
    refused_by_api({**backup_manifest("e2e-bad"), "spec": {"cluster": MAIN}},
                   "storageLocation")
    bad_parallelism = backup_manifest("e2e-bad")
    bad_parallelism["spec"]["uploadParallelism"] = 0
    refused_by_api(bad_parallelism, "uploadParallelism")
    changed = backup_manifest("e2e-b1", "no-bucket")
    refused_by_api(changed, "cannot change")
    for name, location, reason, words in [
            ("e2e-nowhere", "nowhere", "StorageLocationNotFound", "nowhere"),
            ("e2e-no-bucket", "no-bucket", "NodeBackupFailed", "bucket")]:
        apply(backup_manifest(name, location))
        status = wait(f"Backup {name} finished", lambda n=name: finished("backup", n), 300,
                      interval=2)
        assert status["phase"] == "Failed", status
        assert status.get("reason") == reason, status
        assert words.lower() in status.get("message", "").lower(), status
        assert not s3.keys(BUCKET, f"{MAIN}/backups/{name}"), f"{name} has an index"
        log(f"{name}: Failed, {reason}: {status['message']}")
        figure("backup", f"{name} refused with", f"{reason}: {status['message'][:90]}")

    now = {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods_for_uids()}
    assert now == pod_uids, f"pods were replaced during the backups: {pod_uids} → {now}"
    log("adding storage locations and backing up rolled no pod")


def main():
    s3 = S3Server()
    try:
        with client_on_main("backup") as (m, load, session, _creds):
            scenario_backup(m, load, session, s3)
    finally:
        s3.stop()


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_backup.__doc__))
