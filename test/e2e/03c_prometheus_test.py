#!/usr/bin/env python3
"""e2e 03c: a real Prometheus (3.x, hack/prometheus.sh) scrapes the shared Cluster's nodes and the operator as
the chart's ServiceMonitor and PodMonitor ask (promlib.py translates them into Kubernetes
service-discovery jobs), under the client at QUORUM. Every Cassandra pod's agent and both
operator replicas are up as targets; the nodes' series carry the agent's own cluster,
datacenter, rack and pod labels (none renamed exported_*) and the namespace; the client's writes
show as a write rate; the table e2e.kv has its per-table series on every node; each node sees
3 endpoints UN; the data volume's bytes are there; the operator says the Cluster is Ready with 3
members UN. Helpers and state: e2elib.py."""
import os
import sys
import time

from e2elib import (DC, KEYSPACE, RACK, client_on_main, expect_no_client_failures, figure, log,
                    pods, run_scenario, timed, wait_strict)
from promlib import Prometheus

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03); the release " \
        "ringkeeper installed by run.sh"
LEAVES = "the shared Cluster as it was; the Prometheus this scenario started, stopped"

SECTION = "3c prometheus"


def one_value(prom, expr):
    result = prom.query(expr)
    assert len(result) == 1, f"{expr}: {len(result)} series: {result}"
    return float(result[0]["value"][1])


def scenario_prometheus(m, load, session, creds):
    """Prometheus scrapes the nodes and the operator through the chart's monitors."""
    load.set_phase("prometheus")
    names = set(pods(m))
    assert len(names) == 3, names
    t0 = time.monotonic()
    with Prometheus(os.environ["KUBECONFIG"]) as prom:
        def targets_up():
            t = prom.targets()
            agents = [x for x in t if x[0].startswith("podmonitor/") and x[1].get("pod") in names]
            operators = [x for x in t if x[0].startswith("servicemonitor/")]
            if len(agents) != 3 or len(operators) != 2:
                return None
            if not all(h == "up" for _, _, h, _ in agents + operators):
                return None
            return agents, operators
        agents, operators = wait_strict("3 agents and 2 operator replicas up as targets",
                                        targets_up, 120)
        timed(SECTION, "Prometheus started → every target up", t0)
        for _, labels, _, _ in agents:
            assert labels.get("cluster") == m.cluster and labels.get("namespace") == m.ns, labels

        # The nodes' series: labelled by the agent, kept as written.
        sel = f'namespace="{m.ns}",cluster="{m.cluster}"'
        kv = prom.query(f'cassandra_table_write_latency_total{{{sel},keyspace="{KEYSPACE}",'
                        f'table="kv"}}')
        assert {s["metric"].get("pod") for s in kv} == names, kv
        for s in kv:
            labels = s["metric"]
            assert labels.get("datacenter") == DC and labels.get("rack") == RACK, labels
            renamed = [k for k in labels if k.startswith("exported_")]
            assert not renamed, f"labels renamed by the scrape: {renamed}"
        # The client's writes, as a rate over the last scrapes (Prometheus needs two of each).
        write_rate = wait_strict(
            "the client's writes as a rate",
            lambda: (prom.query(f'sum(rate(cassandra_client_request_latency_total{{{sel},'
                                f'request_type="Write"}}[30s]))') or [None])[0], 90)
        figure(SECTION, "client writes/s as the nodes count them (rate over 30 s)",
               f"{float(write_rate['value'][1]):.1f}")
        for pod in sorted(names):
            on = f'{sel},pod="{pod}"'
            assert one_value(prom, f'cassandra_ring_endpoints{{{on},state="UN"}}') == 3, pod
            assert one_value(prom, f'cassandra_ring_endpoints{{{on},state="DN"}}') == 0, pod
            assert one_value(prom, f'cassandra_data_volume_used_bytes{{{on}}}') > 0, pod
            assert one_value(prom, f'cassandra_data_volume_available_bytes{{{on}}}') > 0, pod
            assert one_value(prom, f'jvm_memory_heap_used_bytes{{{on}}}') > 0, pod
        per_node = prom.query(f'scrape_samples_scraped{{{sel}}}')
        figure(SECTION, "series per node scrape",
               " / ".join(str(int(float(s["value"][1]))) for s in per_node))
        figure(SECTION, "slowest node scrape (ms)",
               f"{one_value(prom, f'max(scrape_duration_seconds{{{sel}}})') * 1e3:.0f}")

        # The operator's series for the Cluster (the leader's; the other replica has none).
        assert one_value(prom, f'max(ringkeeper_cluster_ready{{{sel}}})') == 1
        assert one_value(prom, f'max(ringkeeper_cluster_members{{{sel},state="UN"}})') == 3
        assert one_value(prom, f'max(ringkeeper_cluster_condition{{{sel},type="Ready",'
                               f'status="True"}})') == 1
        log(f"targets: {len(agents)} agents, {len(operators)} operator replicas up; "
            f"e2e.kv on {len(kv)} nodes; Ready 1, 3 UN as the operator and every node see it")
    expect_no_client_failures(load, "prometheus", SECTION, "while scraped")


def main():
    with client_on_main("prometheus") as (m, load, session, creds):
        scenario_prometheus(m, load, session, creds)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_prometheus.__doc__))
