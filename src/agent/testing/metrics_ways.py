"""Measures the ways to read a node's curated metrics at 100 tables, on one real Cassandra 5.0
node (cassandra_cluster.py): latency per read (p50, p99) and Cassandra's CPU per read, side by
side in one run. Prints figures; asserts nothing. Usage:
    metrics_ways.py <ringkeeper-agent> [reads]

The ways:
  agent          the agent's /metrics as it is (what Prometheus scrapes)
  wildcards      Jolokia bulk read with MBean patterns (type=Table,keyspace=*,scope=*,...)
  named          Jolokia bulk read of exact MBean names (the tables from system_schema)
  named-counts   the same without the histograms' percentiles (counts and gauges only)
  vtables        CQL: system_views' per-table tables, plus Jolokia exact reads of the globals
  globals ...    the node-wide part alone: with patterns (GC, thread pools), then named
  user named     exact names, the tables of non-system keyspaces only, globals named
  user p99 only  the same without p50s and the partition count estimate
  tablestats     nodetool tablestats (a new JVM per call; what users run by hand)
"""
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import cassandra_cluster as cc  # noqa: E402
from metrics_bench import cpu_seconds, pct  # noqa: E402  (the same measures as /metrics' bench)
from cassandra.auth import PlainTextAuthProvider  # noqa: E402
from cassandra.cluster import Cluster  # noqa: E402

TABLE_METRICS = {  # per-table MBean name= → attributes read
    "ReadLatency": ["Count", "50thPercentile", "99thPercentile"],
    "WriteLatency": ["Count", "50thPercentile", "99thPercentile"],
    "LiveSSTableCount": ["Value"],
    "LiveDiskSpaceUsed": ["Count"],
    "EstimatedPartitionCount": ["Value"],
    "TombstoneScannedHistogram": ["99thPercentile"],
    "PendingCompactions": ["Value"],
}
GLOBALS = [  # (mbean, attributes): the node-wide part of the curated set
    *[(f"org.apache.cassandra.metrics:type=ClientRequest,scope={s},name={n}", attrs)
      for s in ("Read", "Write", "RangeSlice", "CASRead", "CASWrite")
      for n, attrs in (("Latency", ["Count", "50thPercentile", "99thPercentile", "OneMinuteRate"]),
                       ("Timeouts", ["Count"]), ("Unavailables", ["Count"]),
                       ("Failures", ["Count"]))],
    ("org.apache.cassandra.metrics:type=Storage,name=Load", ["Count"]),
    ("org.apache.cassandra.metrics:type=Storage,name=TotalHints", ["Count"]),
    ("org.apache.cassandra.metrics:type=Storage,name=TotalHintsInProgress", ["Count"]),
    ("org.apache.cassandra.metrics:type=Compaction,name=PendingTasks", ["Value"]),
    ("org.apache.cassandra.metrics:type=Compaction,name=CompletedTasks", ["Value"]),
    *[(f"org.apache.cassandra.metrics:type=DroppedMessage,scope={s},name=Dropped", ["Count"])
      for s in ("MUTATION", "READ", "RANGE_SLICE", "HINT", "COUNTER_MUTATION", "READ_REPAIR")],
    ("org.apache.cassandra.metrics:type=Client,name=connectedNativeClients", ["Value"]),
    ("java.lang:type=Memory", ["HeapMemoryUsage"]),
    ("java.lang:type=GarbageCollector,name=*", ["CollectionCount", "CollectionTime"]),
    ("org.apache.cassandra.metrics:type=ThreadPools,path=*,scope=*,name=PendingTasks", ["Value"]),
    ("org.apache.cassandra.metrics:type=ThreadPools,path=*,scope=*,name=ActiveTasks", ["Value"]),
]
VTABLES = ["local_read_latency", "local_write_latency", "disk_usage", "max_partition_size",
           "tombstones_per_read", "thread_pools", "pending_hints"]


def jolokia(port, requests):
    body = json.dumps(requests).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/jolokia/", data=body,
                                 headers={"Content-Type": "application/json"})
    out = json.loads(urllib.request.urlopen(req, timeout=60).read())
    return sum(1 for r in out if r.get("status") == 200)


def cc_props(mbean):
    """An MBean name's key properties."""
    return dict(kv.split("=", 1) for kv in mbean.split(":", 1)[1].split(","))


def measure(name, pid, reads, fn):
    fn()  # warm up
    lat = []
    cpu0 = cpu_seconds(pid)
    for _ in range(reads):
        t = time.perf_counter()
        fn()
        lat.append(time.perf_counter() - t)
    cpu = (cpu_seconds(pid) - cpu0) / reads
    print(f"{name:<13} p50 {pct(lat, 50) * 1e3:7.1f} ms  p99 {pct(lat, 99) * 1e3:7.1f} ms  "
          f"Cassandra CPU per read {cpu * 1e3:7.2f} ms  ({reads} reads)", flush=True)


def main():
    reads = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    cluster = cc.Cluster(sys.argv[1], 1)
    n = cluster.nodes[0]
    try:
        n.init()
        n.start()
        n.wait_up()
        c = Cluster([n.address], auth_provider=PlainTextAuthProvider("cassandra", "cassandra"))
        s = cc.wait_until("login", c.connect, 60, 2)
        s.execute("CREATE KEYSPACE IF NOT EXISTS bench WITH replication = "
                  "{'class':'SimpleStrategy','replication_factor':1}")
        for i in range(100):
            s.execute(f"CREATE TABLE IF NOT EXISTS bench.t{i} (k int PRIMARY KEY, v text)")
            s.execute(f"INSERT INTO bench.t{i} (k, v) VALUES (1, 'x')")
        tables = [(r.keyspace_name, r.table_name)
                  for r in s.execute("SELECT keyspace_name, table_name FROM system_schema.tables")]
        print(f"node {n.address}: {len(tables)} tables ({len(tables) - 100} of system keyspaces)")
        print("system_views:", sorted(r.table_name for r in s.execute(
            "SELECT table_name FROM system_virtual_schema.tables "
            "WHERE keyspace_name = 'system_views'")))
        pid, port = n.cassandra.pid, n.jolokia_port

        wildcard = [{"type": "read", "mbean": f"org.apache.cassandra.metrics:type=Table,"
                     f"keyspace=*,scope=*,name={m}", "attribute": a}
                    for m, a in TABLE_METRICS.items()]
        named = [{"type": "read", "mbean": f"org.apache.cassandra.metrics:type=Table,"
                  f"keyspace={ks},scope={t},name={m}", "attribute": a}
                 for ks, t in tables for m, a in TABLE_METRICS.items()]
        counts = [dict(r, attribute=[x for x in r["attribute"] if "Percentile" not in x])
                  for r in named]
        counts = [r for r in counts if r["attribute"]]
        globals_ = [{"type": "read", "mbean": m, "attribute": a} for m, a in GLOBALS]
        url = f"http://{n.address}:{cc.AGENT_PORT}/metrics"

        system = {"system", "system_schema", "system_auth", "system_distributed", "system_traces",
                  "system_views", "system_virtual_schema"}
        user = [r for r in named if r["mbean"].split("keyspace=")[1].split(",")[0] not in system]
        user_p99 = [dict(r, attribute=[a for a in r["attribute"] if a != "50thPercentile"])
                    for r in user if "EstimatedPartitionCount" not in r["mbean"]]
        # The thread pools' MBean paths, as a one-off pattern search (not per read).
        found = urllib.request.urlopen(
            f"http://127.0.0.1:{port}/jolokia/search/org.apache.cassandra.metrics:"
            "type=ThreadPools,path=*,scope=*,name=PendingTasks").read()
        pools = [(cc_props(m)["path"], cc_props(m)["scope"]) for m in json.loads(found)["value"]]
        globals_named = [r for r in globals_ if "*" not in r["mbean"]] + [
            {"type": "read", "mbean": f"java.lang:type=GarbageCollector,name={g}",
             "attribute": ["CollectionCount", "CollectionTime"]}
            for g in ("G1 Young Generation", "G1 Old Generation")] + [
            {"type": "read", "mbean": f"org.apache.cassandra.metrics:type=ThreadPools,path={path},"
             f"scope={pool},name={n}", "attribute": "Value"}
            for path, pool in pools for n in ("PendingTasks", "ActiveTasks")]
        print(f"thread pools: {len(pools)}; user tables: {len(user) // len(TABLE_METRICS)}")

        def vtables():
            for t in VTABLES:
                list(s.execute(f"SELECT * FROM system_views.{t}"))
            jolokia(port, globals_)

        print(f"\nreads of the curated set, {len(tables)} tables:")
        measure("agent", pid, reads, lambda: urllib.request.urlopen(url).read())
        measure("wildcards", pid, reads, lambda: jolokia(port, wildcard + globals_))
        measure("named", pid, reads, lambda: jolokia(port, named + globals_))
        measure("named-counts", pid, reads, lambda: jolokia(port, counts + globals_))
        measure("vtables", pid, reads, vtables)
        measure("globals only", pid, reads, lambda: jolokia(port, globals_))
        measure("globals named", pid, reads, lambda: jolokia(port, globals_named))
        measure("user named", pid, reads, lambda: jolokia(port, user + globals_named))
        measure("user p99 only", pid, reads, lambda: jolokia(port, user_p99 + globals_named))
        measure("tablestats", pid, 5, lambda: n.nodetool("tablestats"))
        c.shutdown()
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
