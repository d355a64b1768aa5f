#!/usr/bin/env python3
"""e2e 10u: every panel of every Grafana dashboard the chart ships (charts/ringkeeper/files/
dashboards) returns data from a real Prometheus (hack/prometheus.sh) that scraped the shared Cluster
through the chart's monitors (promlib.py), under the client at QUORUM. The scenario drives what
the rarer panels show, never allow-listing one: a preview Repair, a full Repair at intensity 0.5
(its segments running, postponed while replicas rest, finished), and a rolling restart by the
plugin while it runs (an operation under way then finished, members down one at a time). Each
dashboard's variables are resolved as Grafana would (its label_values queries asked of
Prometheus; the shared Cluster, its first pod, the table e2e.kv picked among the answers) and
each panel's queries are run over the scenario's window as Grafana's range query: each must
return at least one series with a value. Helpers and state: e2elib.py."""
import glob
import json
import os
import re
import sys
import time

from e2elib import (KEYSPACE, MAIN, NS, ROOT, PreconditionFailed, client_on_main,
                    expect_no_client_failures, figure, get, items, kubectl, log, pods, ringkeeper,
                    run_scenario, timed, wait_rolled, wait_strict)
from promlib import Prometheus

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03), a Complete " \
        "Backup of it (10a)"
LEAVES = "the shared Cluster Ready 3/3 (its pods restarted once); the Repairs of this scenario " \
         "deleted; the Prometheus it started, stopped"

SECTION = "10u dashboards"
DASHBOARDS = os.path.join(ROOT, "charts", "ringkeeper", "files", "dashboards")
SCRAPE = "5s"
# Grafana's $__rate_interval: max(4 x the scrape interval, step + scrape interval).
RATE_INTERVAL = "30s"
STEP = 5
REPAIRS = ("dash-preview", "dash-full")
PICK = {"namespace": NS, "cluster": MAIN, "keyspace": KEYSPACE, "table": "kv"}


def substitute(expr, values):
    expr = expr.replace("$__rate_interval", RATE_INTERVAL).replace("$__interval", f"{STEP}s")
    return re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m[1], m[0]), expr)


def resolve_variables(prom, dashboard, start, m):
    """The dashboard's query variables, in order, as Grafana resolves them: label_values(selector,
    label) asked of Prometheus with the variables before it filled in; the value for the shared
    Cluster picked among the answers (and it must be among them)."""
    values = {}
    for v in dashboard["templating"]["list"]:
        if v["type"] == "datasource":
            continue
        assert v["type"] == "query", f"{dashboard['uid']}: variable {v['name']} of type {v['type']}"
        q = substitute(v["query"]["query"], values)
        found = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q)
        assert found, f"{dashboard['uid']}: variable {v['name']}: {q}"
        answers = prom.api(f"label/{found[2]}/values", **{"match[]": found[1], "start": start})
        want = PICK.get(v["name"]) or (sorted(pods(m))[0] if v["name"] == "pod" else None)
        assert want in answers, f"{dashboard['uid']}: ${v['name']} = {answers}, not {want}"
        values[v["name"]] = want
    return values


def check_dashboards(prom, start, m):
    """Every query of every panel: a range query over the window, at least one series with a
    value. Returns (dashboards, panels, queries); fails naming every panel without data."""
    end = time.time()
    empty, panels, queries = [], 0, 0
    files = sorted(glob.glob(os.path.join(DASHBOARDS, "*.json")))
    for path in files:
        with open(path) as f:
            dashboard = json.load(f)
        values = resolve_variables(prom, dashboard, start, m)
        for panel in dashboard["panels"]:
            if panel["type"] == "row":
                continue
            panels += 1
            for target in panel["targets"]:
                queries += 1
                expr = substitute(target["expr"], values)
                series = prom.query_range(expr, start, end, STEP)
                if not any(v[1] not in ("NaN", "+Inf", "-Inf") for s in series for v in s["values"]):
                    empty.append(f"{dashboard['title']} / {panel['title']} / {target['refId']}: {expr}")
        log(f"{dashboard['title']}: variables {values}")
    assert not empty, f"{len(empty)} queries without data:\n  " + "\n  ".join(empty)
    return len(files), panels, queries


def repair_manifest(name, **spec):
    return {"apiVersion": "cassandra.rook.io/v1alpha1", "kind": "Repair",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"cluster": MAIN, "keyspaces": [KEYSPACE], **spec}}


def scenario_dashboards(m, load, session, creds):
    """Every panel of every dashboard returns data; the rare ones driven by the scenario."""
    backups = [b for b in items("backup")
               if b["spec"].get("cluster") == MAIN and b.get("status", {}).get("phase") == "Complete"]
    if not backups:
        raise PreconditionFailed("precondition: a Complete Backup of the shared Cluster "
                                 "(10a_backup_test takes them; none is there)")
    for name in REPAIRS:  # a failed run's, which would be Complete already
        kubectl("delete", "repair", name, "--ignore-not-found", "--wait=true")
    start = time.time()
    try:
        check_with_prometheus(m, load, start)
    finally:
        for name in REPAIRS:
            kubectl("delete", "repair", name, "--ignore-not-found", "--wait=true")
    expect_no_client_failures(load, "dashboards", SECTION, "during the repairs and the restart")


def check_with_prometheus(m, load, start):
    with Prometheus(os.environ["KUBECONFIG"], interval=SCRAPE) as prom:
        wait_strict("the shared Cluster's nodes scraped",
                    lambda: len(prom.query(f'up{{namespace="{NS}",cluster="{MAIN}"}} == 1')) == 3,
                    120)
        load.set_phase("dashboards")
        # A preview Repair, then a full one at intensity 0.5 with a restart of every pod while it
        # runs: segments running and postponed, an operation under way and finished.
        kubectl("apply", "-f", "-", stdin=json.dumps(repair_manifest("dash-preview", type="preview")))
        wait_strict("preview Repair Complete",
                    lambda: (get("repair", "dash-preview").get("status") or {}).get("phase")
                    == "Complete", 300)
        t = time.monotonic()
        kubectl("apply", "-f", "-", stdin=json.dumps(repair_manifest(
            "dash-full", intensity=0.5, segmentsPerNode=4)))
        wait_strict("full Repair running", lambda: ((get("repair", "dash-full").get("status") or {})
                                                    .get("phase") in ("Running", "Complete")), 120)
        before = {name: p["metadata"]["uid"] for name, p in pods(m).items()}
        t_restart = time.monotonic()
        log(ringkeeper("restart", m.cluster).strip())
        wait_rolled(m, before)
        timed(SECTION, "restart of 3 pods during the full Repair", t_restart)
        wait_strict("full Repair Complete",
                    lambda: (get("repair", "dash-full").get("status") or {}).get("phase")
                    == "Complete", 600)
        timed(SECTION, "full Repair (intensity 0.5) → Complete", t)
        repair = get("repair", "dash-full")["status"]
        figure(SECTION, "full Repair segments / postponed",
               f"{repair['segments'].get('done')}/{repair['segments'].get('total')} / "
               f"{repair.get('postponed')}")
        # What the operator shows after the fact has been scraped once before the panels are read.
        # (the Repair's time and the coverage it left, which the Cluster's status gets a moment
        # after the Repair's own).
        wait_strict("the finished Repair's time and coverage scraped",
                    lambda: prom.query('ringkeeper_repair_duration_seconds{repair="dash-full"}')
                    and prom.query(f'ringkeeper_repair_last_success_timestamp_seconds{{namespace='
                                   f'"{NS}",cluster="{MAIN}",keyspace="{KEYSPACE}"}} > 0'), 90)
        t = time.monotonic()
        dashboards, panels, queries = check_dashboards(prom, start, m)
        timed(SECTION, "every panel's queries run", t)
        figure(SECTION, "dashboards / panels / queries, each with data",
               f"{dashboards} / {panels} / {queries}")


def main():
    with client_on_main("dashboards") as (m, load, session, creds):
        scenario_dashboards(m, load, session, creds)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_dashboards.__doc__))
