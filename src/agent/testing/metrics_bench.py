"""Benchmark (`make bench`, bench/metrics.sh): the agent's /metrics latency (p50, p99) and the
Cassandra CPU per scrape on a node with 100 user tables, side by side with `nodetool tablestats`
(what an SRE runs instead) on the same node in the same run. Prints figures; asserts nothing.
Usage: metrics_bench.py <ringkeeper-agent> [scrapes]
"""
import os
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


def scrape_figures(url, pids, scrapes):
    """Latencies of `scrapes` GETs of url and the CPU seconds each pid spent per GET."""
    urllib.request.urlopen(url).read()  # warm: the agent finds its catalogue once
    lat = []
    cpu0 = [cpu_seconds(p) for p in pids]
    for _ in range(scrapes):
        t = time.perf_counter()
        urllib.request.urlopen(url).read()
        lat.append(time.perf_counter() - t)
    return lat, [(cpu_seconds(p) - c) / scrapes for p, c in zip(pids, cpu0)]


def tablestats_figures(node, runs, *args):
    lat = []
    jvm0 = cpu_seconds(node.cassandra.pid)
    for _ in range(runs):
        t = time.perf_counter()
        r = node.nodetool("tablestats", *args)
        lat.append(time.perf_counter() - t)
        assert r.returncode == 0, r.stderr
    return lat, (cpu_seconds(node.cassandra.pid) - jvm0) / runs


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
        for i in range(100):  # with a row each: their histograms are not empty
            s.execute(f"CREATE TABLE IF NOT EXISTS bench.t{i} (k int PRIMARY KEY, v text)")
            s.execute(f"INSERT INTO bench.t{i} (k, v) VALUES (1, 'x')")
        tables = len(list(s.execute("SELECT table_name FROM system_schema.tables")))
        c.shutdown()
        url = f"http://{n.address}:{cc.AGENT_PORT}/metrics"
        body = urllib.request.urlopen(url).read().decode()
        series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
        lat, (jvm_cpu, agent_cpu) = scrape_figures(url, [n.cassandra.pid, n.agent.pid], scrapes)
        # nodetool tablestats reads the per-table MBeans over JMX (a new JVM per call, as used):
        # of the same 100 tables, then of every table.
        ts_lat, ts_cpu = tablestats_figures(n, 5, "bench")
        all_lat, all_cpu = tablestats_figures(n, 3)
        print(f"one Cassandra 5.0 node, 100 user tables ({tables} with the system ones); "
              f"/metrics {series} series, {scrapes} scrapes; nodetool 5 and 3 runs")
        print(f"\n{'read':<34} {'p50 ms':>9} {'p99/max ms':>11} {'Cassandra CPU ms':>17} "
              f"{'reader CPU ms':>14}")
        print(f"{'ringkeeper agent /metrics':<34} {pct(lat, 50) * 1e3:9.1f} "
              f"{pct(lat, 99) * 1e3:11.1f} {jvm_cpu * 1e3:17.2f} {agent_cpu * 1e3:14.2f}")
        print(f"{'nodetool tablestats bench':<34} {pct(ts_lat, 50) * 1e3:9.0f} "
              f"{max(ts_lat) * 1e3:11.0f} {ts_cpu * 1e3:17.1f} {'(a JVM each)':>14}")
        print(f"{'nodetool tablestats (all tables)':<34} {pct(all_lat, 50) * 1e3:9.0f} "
              f"{max(all_lat) * 1e3:11.0f} {all_cpu * 1e3:17.1f} {'(a JVM each)':>14}")
        print(f"\nCassandra CPU: a scrape costs 1/{ts_cpu / max(jvm_cpu, 1e-6):.0f} of tablestats "
              f"of the same tables, 1/{all_cpu / max(jvm_cpu, 1e-6):.0f} of tablestats of all")
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
