"""Integration tests of ringkeeper-agent against real Cassandra 5.0 (ctest label `cassandra`).

One 3-node cluster on 127.0.0.1-3 (rendered by `agent init`) is reused across the cases, in an
order where each case leaves the cluster as the next expects it. Usage:
  cassandra_integration_test.py <ringkeeper-agent binary> <python-with-cassandra-driver-site>
"""
import json
import os
import re
import subprocess
import sys
import time
import traceback
import urllib.request

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import cassandra_cluster as cc  # noqa: E402

from cassandra import ConsistencyLevel  # noqa: E402
from cassandra.auth import PlainTextAuthProvider  # noqa: E402
from cassandra.cluster import Cluster as DriverCluster, ExecutionProfile, EXEC_PROFILE_DEFAULT  # noqa: E402
from cassandra.policies import WhiteListRoundRobinPolicy  # noqa: E402

RESULTS = []


# RK_IT_ONLY=write_rows,backup_to_s3 runs those cases alone (a developer's rerun; a case may need
# the ones before it). Every case left out is listed as such in the results.
ONLY = [x for x in os.environ.get("RK_IT_ONLY", "").split(",") if x]


def case(fn):
    def run(*args):
        if ONLY and fn.__name__ not in ONLY:
            RESULTS.append((fn.__name__, "NOT RUN", 0.0, "RK_IT_ONLY"))
            return
        start = time.time()
        try:
            fn(*args)
            RESULTS.append((fn.__name__, "PASS", time.time() - start, ""))
            print(f"PASS {fn.__name__} ({time.time() - start:.1f}s)", flush=True)
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            RESULTS.append((fn.__name__, "FAIL", time.time() - start, str(e)))
            print(f"FAIL {fn.__name__}: {e}", flush=True)
    return run


CREDENTIALS = {"user": "cassandra", "password": "cassandra"}


def session(addresses, cl=ConsistencyLevel.ALL, user=None, password=None):
    user = user or CREDENTIALS["user"]
    password = password or CREDENTIALS["password"]
    clusters = []

    def connect():
        # A driver Cluster whose connect failed is shut down: each try takes a new one.
        profile = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy(addresses),
                                   consistency_level=cl, request_timeout=30)
        c = DriverCluster(addresses, auth_provider=PlainTextAuthProvider(user, password),
                          execution_profiles={EXEC_PROFILE_DEFAULT: profile}, protocol_version=5,
                          connect_timeout=10)
        clusters.append(c)
        return c.connect()
    s = cc.wait_until("CQL login", connect, 90, interval=2)
    for c in clusters[:-1]:
        c.shutdown()
    return clusters[-1], s


def parse_nodetool_status(text):
    out, dc = {}, None
    for line in text.splitlines():
        m = re.match(r"Datacenter: (\S+)", line)
        if m:
            dc = m.group(1)
        m = re.match(r"([UD][NLJM])\s+(\S+)\s+(\S+ \S+|\?)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)", line)
        if m:
            out[m.group(2)] = {"state": m.group(1), "tokens": int(m.group(4)),
                               "host_id": m.group(6), "rack": m.group(7), "dc": dc}
    return out


@case
def ring_agrees_with_nodetool(cluster):
    n1 = cluster.nodes[0]
    ring = n1.ring()
    res = n1.nodetool("status")
    assert res.returncode == 0, res.stderr
    nt = parse_nodetool_status(res.stdout)
    print(res.stdout)
    assert set(ring) == set(nt) == {n.address for n in cluster.nodes}, (ring.keys(), nt.keys())
    for addr, e in ring.items():
        t = nt[addr]
        assert e["status"] + e["state"] == t["state"], (addr, e, t)
        assert e["host_id"] == t["host_id"], (addr, e, t)
        assert e["rack"] == t["rack"] and e["dc"] == t["dc"], (addr, e, t)
        assert e["tokens"] == t["tokens"], (addr, e, t)
    code, info = n1.api("GET", "/v1/node")
    assert code == 200 and info["self_state"] == "UN" and info["peers_state"] == "UN", info
    assert info["host_id"] == nt["127.0.0.1"]["host_id"]
    assert len(info["tokens"]) == 8 and info["schema_version"], info
    assert info["native_transport_running"] is True, info  # /readyz requires it
    # The JVM's CPU time (ProcessCpuTime, for autoscaling on CPU): what the kernel counts for the
    # Cassandra process, read just before and after it (in clock ticks, hence the margin).
    before = process_cpu_seconds(n1.cassandra.pid)
    info = n1.api("GET", "/v1/node")[1]
    after = process_cpu_seconds(n1.cassandra.pid)
    cpu = info["process_cpu_nanos"] / 1e9
    print(f"process CPU: /proc {before:.2f}s <= agent {cpu:.2f}s <= /proc {after:.2f}s")
    assert before > 1 and before - 0.05 <= cpu <= after + 0.05, (before, cpu, after)


def process_cpu_seconds(pid):
    """utime + stime of `pid` (/proc/<pid>/stat), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@case
def schema_agreement(cluster):
    # Every agent reports its node's view over CQL: all three agree on one version, the one
    # JMX reports in /v1/node.
    versions = set()
    for n in cluster.nodes:
        code, sa = n.api("GET", "/v1/schema")
        assert code == 200, (code, sa)
        print(n.address, sa)
        assert sa["agreed"] is True and sa["disagreeing"] == [], sa
        others = {m.address for m in cluster.nodes} - {n.address}
        assert set(sa["peer_versions"]) == others, sa
        assert set(sa["peer_versions"].values()) == {sa["local_version"]}, sa
        code, info = n.api("GET", "/v1/node")
        assert info["schema_version"] == sa["local_version"], (info, sa)
        versions.add(sa["local_version"])
    assert len(versions) == 1, versions
    # A schema change moves every node to a new version, agreed again.
    c, s = session([cluster.nodes[0].address])
    s.execute("CREATE KEYSPACE IF NOT EXISTS schema_probe WITH replication = "
              "{'class':'NetworkTopologyStrategy','dc1':1}")
    c.shutdown()
    # The change reaches the other nodes by gossip, a moment later (once, in CI, after the
    # driver returned): wait, bounded, until node 2 sees every node on the new version.

    def agreed_on_new_version():
        code, sa = cluster.nodes[1].api("GET", "/v1/schema")
        return code == 200 and sa["agreed"] and sa["local_version"] not in versions and sa

    sa = cc.wait_until("schema agreement on the new version", agreed_on_new_version, 30,
                       interval=0.2)
    print("after CREATE KEYSPACE:", sa)


@case
def write_rows(cluster):
    c, s = session([n.address for n in cluster.nodes])
    s.execute("CREATE KEYSPACE IF NOT EXISTS rf2 WITH replication = "
              "{'class':'NetworkTopologyStrategy','dc1':2}")
    s.execute("CREATE KEYSPACE IF NOT EXISTS rf3 WITH replication = "
              "{'class':'NetworkTopologyStrategy','dc1':3}")
    for ks in ("rf2", "rf3"):
        s.execute(f"CREATE TABLE IF NOT EXISTS {ks}.t (k int PRIMARY KEY, v text)")
        ins = s.prepare(f"INSERT INTO {ks}.t (k, v) VALUES (?, ?)")
        for k in range(500):
            s.execute(ins, (k, f"value-{k}"))
    c.shutdown()


def scrape(node):
    """The agent's /metrics (anonymous, as Prometheus scrapes it): {(name, labels): value}."""
    code, text = node.api("GET", "/metrics", token=None)
    assert code == 200, (code, text)
    series = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, value = line.rsplit(" ", 1)
        name, _, labels = head.partition("{")
        pairs = tuple(tuple(kv.split("=", 1)) for kv in labels.rstrip("}").split('",') if kv)
        series[(name, tuple((k, v.strip('"')) for k, v in pairs))] = float(value)
    return series


def table_series(series, ks, table):
    return {name for name, labels in series
            if ("keyspace", ks) in labels and ("table", table) in labels}


@case
def node_metrics(cluster):
    """The curated set by exact MBean names: every series labelled with the node's place; user
    tables only, a new table in the very next scrape, a dropped one gone; figures agree with
    nodetool and with the node's own filesystem."""
    for i, n in enumerate(cluster.nodes):
        series = scrape(n)
        place = {("cluster", "rk-it"), ("datacenter", "dc1"), ("rack", f"r{i % 3 + 1}"),
                 ("pod", f"node{i + 1}")}
        for name, labels in series:
            assert place <= set(labels), (name, labels)
        names = {name for name, _ in series}
        for want in ("cassandra_client_request_latency_total", "cassandra_dropped_messages_total",
                     "cassandra_thread_pool_pending_tasks", "jvm_gc_collections_total",
                     "jvm_memory_heap_used_bytes", "cassandra_storage_load_bytes",
                     "cassandra_compaction_pending_tasks", "cassandra_node_operation_mode"):
            assert want in names, f"{n.pod}: no {want}"
        assert not any(dict(labels).get("keyspace", "").startswith("system")
                       for _, labels in series), "system tables have per-table series"
        want_table = {"cassandra_table_read_latency_total", "cassandra_table_write_latency_total",
                      "cassandra_table_live_sstables", "cassandra_table_live_disk_space_used_bytes",
                      "cassandra_table_estimated_partitions", "cassandra_table_pending_compactions"}
        missing = want_table - table_series(series, "rf3", "t")
        assert not missing, f"{n.pod}: rf3.t lacks {missing}"
        up = {dict(labels)["state"]: v for (name, labels), v in series.items()
              if name == "cassandra_ring_endpoints"}
        assert up.get("UN") == 3 and up.get("DN") == 0, up
        used = next(v for (name, _), v in series.items() if name == "cassandra_data_volume_used_bytes")
        free = next(v for (name, _), v in series.items()
                    if name == "cassandra_data_volume_available_bytes")
        st = os.statvfs(f"{n.dir}/data")
        # The same filesystem: its size agrees within what other writers changed in between.
        assert abs((used + free) - (st.f_blocks - st.f_bfree + st.f_bavail) * st.f_frsize) < 1 << 30
    n1 = cluster.nodes[0]
    flushed = n1.nodetool("flush", "rf3", "t")
    assert flushed.returncode == 0, flushed.stderr
    sstables = next(v for (name, labels), v in scrape(n1).items()
                    if name == "cassandra_table_live_sstables"
                    and {("keyspace", "rf3"), ("table", "t")} <= set(labels))
    stats = n1.nodetool("tablestats", "rf3.t").stdout
    counted = int(next(line.split(":")[1] for line in stats.splitlines()
                       if line.strip().startswith("SSTable count")))
    assert counted >= 1 and sstables == counted, (sstables, counted, stats)
    print(f"  {len(scrape(n1))} series on node1; rf3.t SSTables {counted} as nodetool says")
    # A table created: in the next scrape (the plan follows the schema version), then dropped.
    c, s = session([n.address for n in cluster.nodes])
    s.execute("CREATE TABLE rf3.fresh (k int PRIMARY KEY, v text)")
    s.execute("INSERT INTO rf3.fresh (k, v) VALUES (1, 'x')")
    writes = {name: v for (name, labels), v in scrape(n1).items()
              if ("table", "fresh") in labels}
    assert writes.get("cassandra_table_write_latency_total", 0) >= 1, writes
    s.execute("DROP TABLE rf3.fresh")
    c.shutdown()
    after = scrape(n1)
    assert not table_series(after, "rf3", "fresh"), table_series(after, "rf3", "fresh")
    assert table_series(after, "rf3", "t"), "rf3.t gone after another table was dropped"


@case
def snapshot_flush_cleanup(cluster):
    n1 = cluster.nodes[0]
    op = n1.operation({"kind": "flush", "keyspace": "rf2"})
    assert op["state"] == "succeeded", op
    op = n1.operation({"kind": "snapshot", "tag": "it-snap", "keyspaces": ["rf2"]})
    assert op["state"] == "succeeded", op
    code, snaps = n1.api("GET", "/v1/snapshots")
    tags = {(s["tag"], s["keyspace"], s["table"]) for s in snaps["snapshots"]}
    assert ("it-snap", "rf2", "t") in tags, tags
    assert all(s["size_bytes"] > 0 for s in snaps["snapshots"] if s["tag"] == "it-snap")
    listed = n1.nodetool("listsnapshots").stdout
    assert "it-snap" in listed, listed
    op = n1.operation({"kind": "clear_snapshot", "tag": "it-snap"})
    assert op["state"] == "succeeded", op
    code, snaps = n1.api("GET", "/v1/snapshots")
    assert not [s for s in snaps["snapshots"] if s["tag"] == "it-snap"], snaps
    op = n1.operation({"kind": "cleanup", "keyspace": "rf2"})
    assert op["state"] == "succeeded", op


@case
def upgrade_sstables(cluster):
    """upgrade_sstables (after a major upgrade): Jolokia's 5-argument upgradeSSTables on this
    Cassandra, one keyspace and then every keyspace (the system ones included, as nodetool);
    Cassandra logs each run and its status. The sstables here are already in the running
    format: nothing is rewritten (excludeCurrentVersion), and the run succeeds."""
    n1 = cluster.nodes[0]
    op = n1.operation({"kind": "upgrade_sstables", "keyspace": "rf2"})
    assert op["state"] == "succeeded", op
    op = n1.operation({"kind": "upgrade_sstables"})
    assert op["state"] == "succeeded", op
    # Cassandra's log is written asynchronously: its lines may trail the operation's end.
    def logged():
        log = open(f"{n1.dir}/logs/system.log", errors="replace").read()
        return all(f"Starting Upgrade sstables on {ks}." in log
                   for ks in ("rf2", "system_auth", "system_schema")) and \
            log.count("Completed Upgrade sstables with status SUCCESSFUL") >= 3
    cc.wait_until("Cassandra logged each keyspace's upgradesstables run", logged, 30)
    failed = n1.operation({"kind": "upgrade_sstables", "keyspace": "nope"})
    assert failed["state"] == "failed" and "nope" in failed["message"], failed


@case
def rebuild(cluster):
    """rebuild (a joining data center's member): Jolokia's rebuild(String) on this Cassandra;
    an unknown source data center fails naming it, a known one streams and succeeds."""
    n1 = cluster.nodes[0]
    op = n1.operation({"kind": "rebuild", "source_dc": "nowhere"})
    assert op["state"] == "failed" and "nowhere" in op["message"], op
    op = n1.operation({"kind": "rebuild", "source_dc": "dc1"})
    assert op["state"] == "succeeded", op
    c, s = session([n1.address], cl=ConsistencyLevel.ONE)
    try:
        rows = s.execute("SELECT count(*) FROM rf2.t").one()[0]
    finally:
        c.shutdown()
    assert rows > 0, rows


@case
def backup_to_s3(cluster):
    # One node's backup to a real S3 server that checks every signature, read back with botocore.
    n1 = cluster.nodes[0]
    s3 = cluster.s3 = cc.S3Server(cluster.dir)
    client = s3.client()
    client.create_bucket(Bucket="backups")

    def backup(name, location):
        return n1.operation({"kind": "backup", "backup": name, "location": location,
                             "upload_parallelism": 4})
    first = backup("b1", s3.location("backups", "it"))
    assert first["state"] == "succeeded", first
    assert first["manifest"] == "it/rk-it/node1/manifests/b1.json", first
    assert first["files_total"] > 0 and first["bytes_sent"] == first["bytes_total"] > 0, first
    manifest = json.loads(client.get_object(Bucket="backups", Key=first["manifest"])["Body"].read())
    assert manifest["node"] == "node1" and manifest["backup"] == "b1", manifest
    assert manifest["hostId"] == n1.api("GET", "/v1/node")[1]["host_id"], manifest
    assert len(manifest["tokens"]) == 8, manifest
    assert len(manifest["files"]) == first["files_total"], (len(manifest["files"]), first)
    tables = {(f["keyspace"], f["table"].split("-")[0]) for f in manifest["files"]}
    assert ("rf3", "t") in tables and ("system_schema", "tables") in tables, tables
    for f in manifest["files"]:
        head = client.head_object(Bucket="backups", Key=f["key"])
        assert head["ContentLength"] == f["size"], (f, head["ContentLength"])
    code, snaps = n1.api("GET", "/v1/snapshots")
    assert not [x for x in snaps["snapshots"] if x["tag"].startswith("rk-backup-")], snaps
    # More rows, flushed: the second backup sends the new files, not the ones stored.
    # (In a table of their own: the later cases count rf3.t's 500 rows.)
    c, s = session([n.address for n in cluster.nodes])
    s.execute("CREATE TABLE IF NOT EXISTS rf3.after_b1 (k int PRIMARY KEY, v text)")
    ins = s.prepare("INSERT INTO rf3.after_b1 (k, v) VALUES (?, ?)")
    for k in range(100):
        s.execute(ins, (k, f"value-{k}"))
    c.shutdown()
    assert n1.operation({"kind": "flush", "keyspace": "rf3"})["state"] == "succeeded"
    second = backup("b2", s3.location("backups", "it"))
    assert second["state"] == "succeeded", second
    assert second["files_skipped"] > 0 and second["bytes_sent"] < second["bytes_total"], second
    print(f"figure: backup b1 sent {first['bytes_sent']} bytes in {first['files_total']} files; "
          f"b2 sent {second['bytes_sent']} of {second['bytes_total']} bytes "
          f"({second['files_skipped']} of {second['files_total']} files already stored)")
    # Restored in place on node1 from b2 after a truncate: its files imported into Cassandra
    # (importNewSSTables through Jolokia, which must pass it a Set), every row back on node1.
    c, s = session([n.address for n in cluster.nodes])
    s.execute("TRUNCATE rf3.after_b1")
    c.shutdown()
    restored = n1.operation({"kind": "restore", "backup": "b2", "source_node": "node1",
                             "keyspaces": ["rf3"], "location": s3.location("backups", "it")})
    assert restored["state"] == "succeeded", restored
    with open(f"{n1.dir}/agent.log", errors="replace") as f:
        said = [line for line in f if "restore b2:" in line]
    # At ALL: only node1 has rows now, so all 100 back means node1 holds them.
    c, s = session([n.address for n in cluster.nodes])
    rows = s.execute("SELECT count(*) FROM rf3.after_b1").one()[0]
    c.shutdown()
    assert rows == 100, f"{rows} of 100 rows after node1's restore; agent: {said}"
    assert said and said[-1].rstrip().endswith("imported (0 already fetched)"), said
    # Bad credentials: refused with the reason, no manifest, the snapshot cleared.
    bad = f"{cluster.dir}/s3/bad-credentials"
    with open(bad, "w") as f:
        f.write("rk-it\nnot-the-secret\n")
    refused = backup("b3", s3.location("backups", "it", credentials_file=bad))
    assert refused["state"] == "failed" and "SignatureDoesNotMatch" in refused["message"], refused
    assert "not-the-secret" not in refused["message"], refused
    listed = client.list_objects_v2(Bucket="backups", Prefix="it/rk-it/node1/manifests/")
    assert sorted(o["Key"] for o in listed.get("Contents", [])) == [
        "it/rk-it/node1/manifests/b1.json", "it/rk-it/node1/manifests/b2.json"], listed
    code, snaps = n1.api("GET", "/v1/snapshots")
    assert not [x for x in snaps["snapshots"] if x["tag"].startswith("rk-backup-")], snaps
    # A missing bucket is named.
    missing = backup("b4", s3.location("no-such-bucket"))
    assert missing["state"] == "failed" and "NoSuchBucket" in missing["message"], missing


@case
def range_map(cluster):
    """GET /v1/ranges: the keyspace's token ranges and replicas as `nodetool describering` shows
    them, tiling the ring once (what a repair is planned from); no such keyspace is 404, none
    asked 400."""
    n1 = cluster.nodes[0]
    code, m = n1.api("GET", "/v1/ranges?keyspace=rf3")
    assert code == 200, m
    got = {(int(r["start"]), int(r["end"])): sorted(r["endpoints"]) for r in m["ranges"]}
    out = cluster.nodes[2].nodetool("describering", "rf3").stdout
    want = {(int(a), int(b)): sorted(e.strip() for e in eps.split(","))
            for a, b, eps in re.findall(
                r"start_token:(-?\d+), end_token:(-?\d+), endpoints:\[([^\]]*)\]", out)}
    assert want, f"nothing parsed from nodetool describering: {out[:300]}"
    assert got == want, f"agent {sorted(got.items())[:3]} vs nodetool {sorted(want.items())[:3]}"
    starts = sorted(got)
    for i, (a, b) in enumerate(starts):
        assert b == starts[(i + 1) % len(starts)][0], f"({a}, {b}] is not followed by its end"
    total = sum(((b - a) % 2**64) or 2**64 for a, b in got)
    assert total == 2**64, f"the ranges cover {total} tokens"
    assert all(len(eps) == 3 for eps in got.values()), "RF 3: three replicas per range"
    code, body = n1.api("GET", "/v1/ranges?keyspace=no_such_keyspace")
    assert code == 404, (code, body)
    code, body = n1.api("GET", "/v1/ranges")
    assert code == 400, (code, body)
    print(f"range map of rf3: {len(got)} ranges, 3 replicas each, as nodetool describering")


@case
def repair_range(cluster):
    n1 = cluster.nodes[0]
    code, info = n1.api("GET", "/v1/node")
    tokens = sorted(int(t) for t in info["tokens"])
    rng = f"{tokens[0]}:{tokens[0] + 2**50}"
    op = n1.operation({"kind": "repair", "keyspace": "rf3", "tables": ["t"], "ranges": [rng],
                       "parallelism": "parallel"})
    assert op["state"] == "succeeded" and op["repair_command"] > 0, op
    print("repair:", op)


@case
def preview_repair(cluster):
    """A preview repair finds what a keyspace raised from RF 1 to RF 3 lacks on its new replicas
    (ranges, bytes, the table), streams nothing; a full repair of the same ranges fixes it; a
    second preview finds it in sync. Pending compactions are in /v1/node (the runner's
    back-pressure)."""
    n1 = cluster.nodes[0]
    c, s = session([n.address for n in cluster.nodes], cl=ConsistencyLevel.ONE)
    s.execute("CREATE KEYSPACE div WITH replication = "
              "{'class':'NetworkTopologyStrategy','dc1':1}")
    s.execute("CREATE TABLE div.t (k int PRIMARY KEY, v text)")
    for i in range(300):
        s.execute("INSERT INTO div.t (k, v) VALUES (%s, %s)", (i, "x" * 100))
    s.execute("ALTER KEYSPACE div WITH replication = {'class':'NetworkTopologyStrategy','dc1':3}")
    c.shutdown()
    cc.wait_until("schema agreed", lambda: n1.api("GET", "/v1/schema")[1]["agreed"], 30)
    # The whole ring as the node's ranges of the keyspace (RF 3 of 3: all of them are its own).
    # Cassandra refuses a requested range that is not within one of its ranges; refused on the
    # seed, such a request once left it unable to answer a replacement's gossip (as
    # `nodetool describering` on it did): the runner only asks for pieces of the map's ranges.
    code, ranges = n1.api("GET", "/v1/ranges?keyspace=div")
    assert code == 200, ranges
    everything = [f"{r['start']}:{r['end']}" for r in ranges["ranges"]]

    try:
        def preview():
            op = n1.operation({"kind": "repair", "keyspace": "div", "repair_type": "preview",
                               "ranges": everything, "run": f"preview-{time.time()}"})
            assert op["state"] == "succeeded", op
            return op["preview"]
        before = preview()
        print("preview before repair:", before)
        assert before["done"] and before["ranges"] > 0 and before["bytes"] > 0, before
        assert before["tables"] == ["div.t"], before
        op = n1.operation({"kind": "repair", "keyspace": "div", "ranges": everything,
                           "repair_type": "full", "datacenters": ["dc1"]})
        assert op["state"] == "succeeded", op
        after = preview()
        print("preview after repair:", after)
        assert after["done"] and after["ranges"] == 0 and after["tables"] == [], after
        code, info = n1.api("GET", "/v1/node")
        assert code == 200 and info["pending_compactions"] >= 0, info
    finally:
        # decommission, later, refuses while RF 3 keyspaces exist
        c, s = session([n1.address])
        s.execute("DROP KEYSPACE div")
        c.shutdown()


def jolokia(node, request):
    req = urllib.request.Request(f"http://127.0.0.1:{node.jolokia_port}/jolokia/",
                                 data=json.dumps(request).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        body = json.loads(r.read())
    assert body.get("status") == 200, body
    return body["value"]


def parent_repair_sessions(node):
    return jolokia(node, {"type": "exec", "mbean": "org.apache.cassandra.db:type=RepairService",
                          "operation": "parentRepairSessionsCount()"})


REPAIR_LOAD_TABLES = 40


@case
def repair_stopped_while_running(cluster):
    # A sequential full repair of many RF=3 tables: one snapshot + validation per table, range
    # and replica, so it runs for many seconds - long enough to be caught running and stopped.
    n1 = cluster.nodes[0]
    c, s = session([n.address for n in cluster.nodes])
    s.execute("CREATE KEYSPACE IF NOT EXISTS repair_load WITH replication = "
              "{'class':'NetworkTopologyStrategy','dc1':3}")
    for i in range(REPAIR_LOAD_TABLES):
        s.execute(f"CREATE TABLE IF NOT EXISTS repair_load.t{i} (k int PRIMARY KEY, v text)")
        s.execute(f"INSERT INTO repair_load.t{i} (k, v) VALUES ({i}, 'x')")
    c.shutdown()
    start = time.time()
    code, op = n1.api("POST", "/v1/operations", {"kind": "repair", "keyspace": "repair_load",
                                                 "parallelism": "sequential"})
    assert code == 202, op
    path = f"/v1/operations/{op['id']}"

    # Observed running on both sides: the agent's operation and Cassandra's parent session.
    def running():
        _, o = n1.api("GET", path)
        if o["state"] != "running":
            return o  # ended before it could be stopped: fails below
        return o if o["repair_command"] > 0 and parent_repair_sessions(n1) > 0 else None
    observed = cc.wait_until("repair observed running", running, 60, interval=0.2)
    assert observed["state"] == "running", f"repair ended before it could be stopped: {observed}"
    time.sleep(1)  # let its sessions start (a stop during prepare would find none to fail)
    _, o = n1.api("GET", path)
    assert o["state"] == "running", o
    print(f"repair running after {time.time() - start:.1f}s: {observed}; stopping", flush=True)
    stop = n1.operation({"kind": "stop_repairs"})
    assert stop["state"] == "succeeded", stop
    final = cc.wait_until("stopped repair ends", lambda: (lambda c, o: o if o["state"] !=
                          "running" else None)(*n1.api("GET", path)), 120)
    print(f"stopped repair after {time.time() - start:.1f}s:", final)
    assert final["state"] == "stopped", final
    # Cassandra agrees: no parent repair session left on the coordinator. Its participants
    # keep theirs until told too: stop_repairs on every node, as the operator does.
    cc.wait_until("no repair session on 127.0.0.1", lambda: parent_repair_sessions(n1) == 0, 60)
    print("parent repair sessions after stop on 127.0.0.1:",
          {n.address: parent_repair_sessions(n) for n in cluster.nodes})
    for n in cluster.nodes[1:]:
        assert n.operation({"kind": "stop_repairs"})["state"] == "succeeded"
    cc.wait_until("no repair session anywhere",
                  lambda: all(parent_repair_sessions(n) == 0 for n in cluster.nodes), 60)
    # Leave the ring as the next cases expect (decommission refuses while RF=3 keyspaces exist).
    c, s = session([n1.address])
    s.execute("DROP KEYSPACE repair_load")
    c.shutdown()


@case
def bad_input(cluster):
    n1 = cluster.nodes[0]
    code, _ = n1.api("POST", "/v1/operations", {"kind": "decommission"}, token="wrong")
    assert code == 401
    assert len(n1.ring()) == len(cluster.nodes)  # nothing done
    code, body = n1.api("GET", "/v1/nothing")
    assert code == 404, (code, body)
    code, body = n1.api("POST", "/v1/operations", '{"kind": ')
    assert code == 400 and "malformed JSON" in body["message"], body
    # Jolokia unreachable: an agent pointed at a port nobody serves.
    cluster.overrides = None


@case
def replacement(cluster):
    n1, n2, n3 = cluster.nodes
    # A member no peer lists as a seed, as most members of a DC with more than three are: its
    # same-address replacement announces itself hibernating, a state peers never gossip to, so it
    # learns the ring only if a peer lists it as a seed (CASSANDRA-19580; without, it depends
    # on a race, and after one failed start never). PUT /v1/seeds is how the operator does it.
    for n, others in ((n1, "127.0.0.3"), (n3, "127.0.0.1")):
        code, got = n.api("PUT", "/v1/seeds", {"seeds": ["127.0.0.1", "127.0.0.3"]})
        assert code == 200, got
        assert [s.split(":")[0] for s in got["seeds"]] == [others], got
    code, got = n1.api("PUT", "/v1/seeds", {"seeds": ["127.0.0.1", "bad,seed"]})
    assert code == 400 and "bad,seed" in got["message"], (code, got)
    # From a settled ring (the previous case dropped a keyspace of 40 tables: a snapshot and a
    # flush each, on every node), as an operator replaces a member only when the rest are UN.
    start = time.time()
    cluster.wait_converged()
    n2.stop_cassandra()
    # As when a pod is gone: its peers have seen it down before the replacement starts
    # (Cassandra refuses to replace a node whose gossip state changed within the ring delay).
    cc.wait_until("127.0.0.1 sees 127.0.0.2 down",
                  lambda: n1.ring()[n2.address]["status"] == "D", 60)
    print(f"127.0.0.2 killed and seen down {time.time() - start:.1f}s into the case", flush=True)
    n2.wipe()
    out = n2.init(member_joined_before=True)
    assert "start mode: replace" in out, out
    assert "replace_address_first_boot=127.0.0.2" in open(f"{n2.dir}/conf/jvm-ringkeeper.options").read()
    n2.start(ring_delay_ms=15000)
    # What the operator does while a member is replaced: its peers list it as a seed.
    for n in (n1, n3):
        code, got = n.api("PUT", "/v1/seeds", {"seeds": ["127.0.0.1", "127.0.0.2", "127.0.0.3"]})
        assert code == 200 and any(s.startswith("127.0.0.2") for s in got["seeds"]), got
    assert "seeds: 127.0.0.1,127.0.0.2,127.0.0.3" in open(f"{n1.dir}/conf/cassandra.yaml").read()
    # In a pod the kubelet restarts a replacement that exits, for as long as it takes (the
    # seed too busy for the shadow round within the short ring delay, or a peer still seen
    # alive); the flow under test must finish after that.
    n2.wait_up(timeout=420, restart_on="any")
    print(f"replacement UN {time.time() - start:.1f}s into the case", flush=True)
    cluster.wait_converged()
    # Same-address replacement keeps the host id in 5.0; the log proves it replaced.
    log = open(f"{n2.dir}/logs/system.log").read()
    assert "Replacing a node with token(s)" in log, "no replacement in the log"
    op = n2.operation({"kind": "repair", "keyspace": "rf3"})
    assert op["state"] == "succeeded", op
    c, s = session([n2.address], cl=ConsistencyLevel.ONE)
    rows = {r.k: r.v for r in s.execute("SELECT k, v FROM rf3.t")}
    c.shutdown()
    assert len(rows) == 500 and rows[7] == "value-7", len(rows)


@case
def superuser_flow(cluster):
    n1 = cluster.nodes[0]
    out = subprocess.run([cluster.agent_bin, "setup-auth", "--host", n1.address,
                          "--superuser", "rk-admin", "--password", "s3cr'et",
                          "--read-replication", "rf2"], capture_output=True, text=True, timeout=120)
    print(out.stdout, out.stderr)
    assert out.returncode == 0, out.stderr
    assert "'dc1': '2'" in out.stdout or '"dc1":"2"' in out.stdout, out.stdout
    m = re.search(r"schema agreement: (\d+) nodes on (\S+)", out.stdout)
    assert m and int(m.group(1)) == len(cluster.nodes), out.stdout
    cluster.set_cql_credentials("rk-admin", "s3cr'et")  # re-read by the agents on each use
    code, sa = n1.api("GET", "/v1/schema")
    assert code == 200 and sa["local_version"] == m.group(2), (code, sa, m.group(2))
    c, s = session([n1.address], user="rk-admin", password="s3cr'et")
    assert s.execute("SELECT count(*) FROM rf2.t").one()[0] == 500
    c.shutdown()
    CREDENTIALS.update(user="rk-admin", password="s3cr'et")

    def refused():
        c = DriverCluster([n1.address], auth_provider=PlainTextAuthProvider("cassandra",
                                                                            "cassandra"))
        try:
            c.connect()
            return False  # the role cache (roles_validity 2s) may still let it in
        except Exception as e:  # noqa: BLE001
            return "AuthenticationFailed" in repr(e) or "login" in repr(e).lower()
        finally:
            c.shutdown()
    cc.wait_until("cassandra/cassandra refused", refused, 30)


@case
def decommission(cluster):
    n3 = cluster.nodes[2]
    # Cassandra refuses to leave fewer nodes than a keyspace's RF (system_distributed has 3):
    # shrink those first, as an operator scaling 3 -> 2 must.
    c, s = session([cluster.nodes[0].address], cl=ConsistencyLevel.ALL)
    for ks in ("system_distributed", "system_traces", "system_auth", "rf3"):
        s.execute(f"ALTER KEYSPACE {ks} WITH replication = "
                  "{'class':'NetworkTopologyStrategy','dc1':2}")
    c.shutdown()
    code, op = n3.api("POST", "/v1/operations", {"kind": "decommission"})
    assert code == 202, op
    code, body = n3.api("POST", "/v1/operations", {"kind": "decommission"})
    assert code == 409, (code, body)
    final = cc.wait_until("decommission", lambda: (lambda c, o: o if o["state"] != "running"
                          else None)(*n3.api("GET", f"/v1/operations/{op['id']}")), 600)
    assert final["state"] == "succeeded", final
    cc.wait_until("ring drops 127.0.0.3", lambda: n3.address not in cluster.nodes[0].ring(), 60)
    c, s = session([cluster.nodes[0].address, cluster.nodes[1].address], cl=ConsistencyLevel.ALL)
    rows = {r.k: r.v for r in s.execute("SELECT k, v FROM rf2.t")}
    c.shutdown()
    assert len(rows) == 500, len(rows)


@case
def jolokia_unreachable(cluster):
    n3 = cluster.nodes[2]
    n3.stop_cassandra()
    code, body = n3.api("GET", "/v1/node")
    assert code == 503 and "unreachable" in body["message"], (code, body)


def main():
    agent_bin = sys.argv[1]
    start = time.time()
    cluster = cc.Cluster(agent_bin, 3)
    try:
        # A brand-new cluster: precomputed interleaved tokens, all members at once, no streaming.
        tokens = cc.interleaved_tokens(3, 8)
        for i, n in enumerate(cluster.nodes):
            out = n.init(initial_tokens=tokens[i], auto_bootstrap=False)
            assert "start mode: fresh" in out, out
        # Unknown override is refused with its name.
        with open(f"{cluster.dir}/overrides.yaml", "w") as f:
            f.write("concurrent_reads: 16\nnot_a_cassandra_key: 1\n")
        cluster.overrides = f"{cluster.dir}/overrides.yaml"
        try:
            cluster.nodes[0].init()
            raise AssertionError("unknown override accepted")
        except RuntimeError as e:
            assert "not_a_cassandra_key" in str(e), e
            print("PASS unknown_override_refused:", e)
        cluster.overrides = None
        for n in cluster.nodes:
            n.start()
        for n in cluster.nodes:
            n.wait_up()
        cluster.wait_converged()
        print(f"cluster UN after {time.time() - start:.0f}s", flush=True)
        ring_agrees_with_nodetool(cluster)
        schema_agreement(cluster)
        write_rows(cluster)
        node_metrics(cluster)
        bad_input(cluster)
        snapshot_flush_cleanup(cluster)
        rebuild(cluster)
        upgrade_sstables(cluster)
        backup_to_s3(cluster)
        range_map(cluster)
        repair_range(cluster)
        preview_repair(cluster)
        repair_stopped_while_running(cluster)
        replacement(cluster)
        superuser_flow(cluster)
        decommission(cluster)
        jolokia_unreachable(cluster)
    finally:
        cluster.close()
    print(f"\n{'case':34} result  seconds")
    for name, res, secs, msg in RESULTS:
        print(f"{name:34} {res:6} {secs:7.1f} {msg[:80]}")
    print(f"total {time.time() - start:.0f}s")
    sys.exit(0 if RESULTS and all(r[1] == "PASS" for r in RESULTS) else 1)


if __name__ == "__main__":
    main()
