"""Benchmark: /metrics latency (p50, p99) and CPU per scrape on a node with 100 tables, side by
side with reading the same table MBeans through the real nodetool (JMX) in the same run.
Prints figures; asserts nothing. Usage: metrics_bench.py <ringkeeper-agent> [scrapes]
"""
import os
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import cassandra_cluster as cc  # noqa: E402
from cassandra.auth import PlainTextAuthProvider  # noqa: E402
from cassandra.cluster import Cluster  # noqa: E402


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    scrapes = int(sys.argv[2]) if len(sys.argv) > 2 else 200
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
        c.shutdown()
        url = f"http://{n.address}:{cc.AGENT_PORT}/metrics"
        body = urllib.request.urlopen(url).read().decode()
        series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
        lat = []
        jvm0, agent0 = cpu_seconds(n.cassandra.pid), cpu_seconds(n.agent.pid)
        for _ in range(scrapes):
            t = time.perf_counter()
            urllib.request.urlopen(url).read()
            lat.append(time.perf_counter() - t)
        jvm_cpu = (cpu_seconds(n.cassandra.pid) - jvm0) / scrapes
        agent_cpu = (cpu_seconds(n.agent.pid) - agent0) / scrapes
        print(f"/metrics: {series} series, {scrapes} scrapes: p50 {pct(lat, 50) * 1e3:.1f} ms, "
              f"p99 {pct(lat, 99) * 1e3:.1f} ms; CPU per scrape: agent "
              f"{agent_cpu * 1e3:.2f} ms, Cassandra JVM {jvm_cpu * 1e3:.2f} ms")
        # nodetool tablestats reads the per-table MBeans over JMX (a new JVM per call, as used).
        nt_lat = []
        runs = 5
        jvm0 = cpu_seconds(n.cassandra.pid)
        for _ in range(runs):
            t = time.perf_counter()
            r = n.nodetool("tablestats", "bench")
            nt_lat.append(time.perf_counter() - t)
            assert r.returncode == 0, r.stderr
        jvm_cpu = (cpu_seconds(n.cassandra.pid) - jvm0) / runs
        print(f"nodetool tablestats bench (JMX): {runs} runs: p50 {pct(nt_lat, 50) * 1e3:.0f} ms, "
              f"max {max(nt_lat) * 1e3:.0f} ms; Cassandra JVM CPU per run {jvm_cpu * 1e3:.1f} ms "
              f"(plus a nodetool JVM start each)")
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
