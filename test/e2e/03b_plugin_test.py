#!/usr/bin/env python3
"""e2e 03b: the newcomer's tour with the kubectl plugin (kubectl-ringkeeper, found by kubectl on
PATH) and cqlsh in the cassandra image, under the client at QUORUM. `kubectl ringkeeper status`
shows every member as `nodetool status` does (state, address, tokens, ownership, host id, rack)
plus its pod and Kubernetes node; --kubeconfig and --context are honoured and an unknown context
is a clear error; `kubectl exec … cqlsh` (as a user types it) creates a keyspace and a table,
writes and reads; `kubectl ringkeeper cqlsh` does the same as the Cluster's superuser with the
password in no command line, leaving no credentials file behind; `kubectl ringkeeper repair
--wait` runs a Repair to Complete and `status` then names it as the last repair. Helpers and
state: e2elib.py."""
import os
import re
import sys
import time

from e2elib import (DC, client_on_main, expect_no_client_failures, figure, get, kubectl, log, pods,
                    ringkeeper, run_scenario, timed, wait_strict)

NEEDS = "the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03)"
LEAVES = "the shared Cluster Ready 3/3 as it was (the tour's keyspace and Repair removed)"

SECTION = "3b plugin"
TOUR = "tour"
# One line of `nodetool status` or of the plugin's table: state, address, load (a number and a
# unit, or ?), tokens, owns, host id, rack, then (the plugin's) pod and node.
ROW = re.compile(r"^([UD][NLJM]|\?|Absent)\s+(\S+)\s+(\S+ \S+|\?)\s+(\d+|\?)\s+(\S+)\s+(\S+)\s+"
                 r"(\S+)(?:\s+(\S+)\s+(\S+))?\s*$")


def rows(text):
    return {m[2]: m.groups() for m in map(ROW.match, text.splitlines()) if m}


def nodetool_status(pod):
    return kubectl("exec", pod, "-c", "cassandra", "--", "nodetool", "status", timeout=120)


def compare_status(m):
    """The plugin's rows against nodetool's, the load aside (both sizes, sampled apart)."""
    plugin = ringkeeper("status", m.cluster)
    nodetool = nodetool_status(m.pod(0))
    ours, theirs = rows(plugin), rows(nodetool)
    if len(ours) != 3 or set(ours) != set(theirs):
        return None
    for address, (state, _, _, tokens, owns, host, rack, _, _) in ours.items():
        t = theirs[address]
        if (state, tokens, owns, host, rack) != (t[0], t[3], t[4], t[5], t[6]):
            return None
    return plugin, nodetool, ours, theirs


def scenario_plugin(m, load, session, creds):
    """3b. The plugin's status matches nodetool; cqlsh by kubectl exec and by the plugin; a
    Repair by the plugin."""
    load.set_phase("plugin tour")
    t = time.monotonic()
    plugin, nodetool, ours, theirs = wait_strict(
        "kubectl ringkeeper status to show what nodetool status shows", lambda: compare_status(m),
        120)
    timed(SECTION, "status matching nodetool status", t)
    log(f"kubectl ringkeeper status {m.cluster}:\n{plugin}")
    log(f"nodetool status ({m.pod(0)}):\n{nodetool}")
    by_pod = pods(m)
    for address, row in ours.items():
        pod, node = row[7], row[8]
        assert pod in by_pod, f"{address}: pod {pod} is not one of {sorted(by_pod)}"
        assert node == by_pod[pod]["spec"]["nodeName"], f"{pod}: node {node}"
    figure(SECTION, "members shown alike by the plugin and nodetool (state, address, tokens, "
                    "owns, host id, rack)", f"{len(ours)} of {len(theirs)}")
    figure(SECTION, "load, plugin | nodetool",
           "; ".join(f"{a}: {ours[a][2]} | {theirs[a][2]}" for a in sorted(ours)))

    # kubectl's own flags: --kubeconfig with no KUBECONFIG in the environment, --context by name.
    kubeconfig = os.environ["KUBECONFIG"]
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    context = kubectl("config", "current-context", ns=None)
    out = ringkeeper("status", m.cluster, "--kubeconfig", kubeconfig, "--context", context, env=env)
    assert rows(out).keys() == ours.keys(), out
    rc, _, err = ringkeeper("status", m.cluster, "--kubeconfig", kubeconfig, "--context",
                            "no-such-context", env=env, check=False)
    assert rc != 0 and "no-such-context" in err, (rc, err)
    log(f"--kubeconfig/--context honoured (context {context}); an unknown one: {err.strip()}")

    # cqlsh in the image, as a newcomer types it.
    user, password = creds
    t = time.monotonic()
    out = kubectl("exec", m.pod(1), "-c", "cassandra", "--", "cqlsh", "-u", user, "-p", password,
                  "--no-color", "-e",
                  f"CREATE KEYSPACE IF NOT EXISTS {TOUR} WITH replication = "
                  f"{{'class': 'NetworkTopologyStrategy', '{DC}': 3}}; "
                  f"CREATE TABLE IF NOT EXISTS {TOUR}.notes (id int PRIMARY KEY, body text); "
                  f"CONSISTENCY QUORUM; "
                  f"INSERT INTO {TOUR}.notes (id, body) VALUES (1, 'written by kubectl exec cqlsh'); "
                  f"SELECT id, body FROM {TOUR}.notes WHERE id = 1;", timeout=180)
    assert "written by kubectl exec cqlsh" in out and "(1 rows)" in out, out
    timed(SECTION, "kubectl exec cqlsh: keyspace, table, write, read", t)

    # The plugin's cqlsh: the superuser's credentials from its Secret, on stdin only.
    t = time.monotonic()
    out = ringkeeper("cqlsh", m.cluster, "--", "--no-color", "-e",
                     f"CONSISTENCY QUORUM; "
                     f"INSERT INTO {TOUR}.notes (id, body) VALUES (2, 'written by the plugin'); "
                     f"SELECT id, body FROM {TOUR}.notes;")
    assert "written by kubectl exec cqlsh" in out and "written by the plugin" in out, out
    assert "(2 rows)" in out, out
    timed(SECTION, "kubectl ringkeeper cqlsh: write, read both rows", t)
    left = {p: kubectl("exec", p, "-c", "cassandra", "--", "sh", "-c",
                       "ls /tmp | grep -c '^ringkeeper-cqlsh-' || true").strip()
            for p in (m.pod(i) for i in range(3))}
    assert all(n == "0" for n in left.values()), f"credentials files left: {left}"
    seen = {r.id: r.body for r in session.execute(f"SELECT id, body FROM {TOUR}.notes")}
    assert seen == {1: "written by kubectl exec cqlsh", 2: "written by the plugin"}, seen
    log(f"both rows read back by the driver; no credentials file left on {sorted(left)}")

    # A Repair by the plugin, followed to Complete; status names it.
    t = time.monotonic()
    out = ringkeeper("repair", m.cluster, "-k", TOUR, "--segments-per-node", "1", "--name",
                     "tour-repair", "--wait")
    timed(SECTION, "kubectl ringkeeper repair --wait → Complete", t)
    log(out.strip())
    repair = get("repair", "tour-repair")
    assert repair["status"]["phase"] == "Complete", repair["status"]
    done = repair["status"]["segments"]
    figure(SECTION, "tour repair segments done", f"{done.get('done')}/{done.get('total')}")
    status = ringkeeper("status", m.cluster)
    assert "(repair/tour-repair, full)" in status, status
    log([line for line in status.splitlines() if line.startswith("Last ")])

    # The tour leaves nothing for the scenarios after it.
    kubectl("delete", "repair", "tour-repair", "--wait=true")
    session.execute(f"DROP KEYSPACE {TOUR}", timeout=120)

    expect_no_client_failures(load, "plugin tour", SECTION, "during the tour")


def main():
    with client_on_main("plugin tour") as (m, load, session, creds):
        scenario_plugin(m, load, session, creds)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_plugin.__doc__))
