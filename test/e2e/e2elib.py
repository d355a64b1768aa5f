#!/usr/bin/env python3
"""e2e: what the scenarios share (test/e2e/NN_*_test.py, run in order by test/e2e/run.sh).

Against the real local cluster (test/cluster/local-cluster.sh), the operator as deployed by
the Helm chart (hack/helm-install.sh: 2 replicas, leader election on Lease ringkeeper-system/ringkeeper-operator)
and a real CQL client (cassandra-driver) writing and reading at QUORUM, the scenarios prove, in
order (the scenario files in brackets):

  1. creation timing: a 1-member Cluster to Ready (one node's start), scaled 1→2→3 (one at a
     time) (01), against a 3-member Cluster created at once (should take about one node's
     start) (02);
  2. CQL with the generated superuser (cassandra/cassandra refused); keyspace at RF 3, N rows (03);
  3. a background client (writes new rows, reads earlier ones, idempotent, QUORUM) whose
     successes and failures are counted per phase, in every scenario from 03a to 11;
     `helm upgrade` of the operator's chart leaves the running cluster untouched (03a);
     the kubectl plugin's status matches nodetool, cqlsh by kubectl exec and by the plugin, a
     Repair by the plugin (03b); the plugin's restart (07a) and replace (09);
     the agents' port refused to a stranger pod by the Cluster's NetworkPolicy (03e);
  4. scale 3→4 by the autoscaler (data load over the threshold for the period; Cleanup event),
     held at its maximum, and 4→3 by the user (StatefulSet, member Service, status shrink) (04);
  5. scale to 2 refused (ScaleDownRefused names the keyspace and its RF) and back (05);
  6. a pod and its PVC deleted: the member comes back with the same address, UN (06);
  7. a config change restarts every pod one at a time with zero client failures (07);
  8. the operator leader SIGKILLed mid decommission: the next leader finishes it (08);
  9. the operator leader SIGKILLed mid replacement: the next leader finishes it (09);
 10. with nothing changed, reconcile passes make zero writes to the API server (10);
     backups to a real S3 server (versitygw on the node's address) while the client writes: a
     second backup sends only new files, every file stored with its size, bad Backups refused or
     failed with the reason (10a); a restore in place after a keyspace was dropped and another
     written past the backup: every row the backup had, nothing after it (10b); a schedule every
     minute with retention 2: 4 runs, 2 kept, unreferenced files purged, both kept verified (10c);
     an agent SIGKILLed mid-upload and the operator leader mid-restore: both finish (10d);
     repairs (10r): rows written at ONE while one node is out of the ring (hints off), a preview
     Repair finds them out of sync, a Repair fixes it, a second preview finds none, every row
     read at ONE from each node alone; a Repair under the client: no failed request, p99 beside;
     every row confirmed by any scenario's client read back at QUORUM at the end (11);
 11. the operator's RSS and CPU over the whole run (12);
 12. deleting the Cluster removes what it owns and retains the PVCs (13).
 13. several data centers (16, its own Cluster 'multi' in namespace e2e-multi): two created
     together, rows written at LOCAL_QUORUM in one read at LOCAL_ONE in the other; a third added,
     joined without streaming and rebuilt while a client writes: every row read there.

One file per scenario, so one failure does not hide the rest. Two Cassandra clusters in all, as
before the split: `single` (01 only) and the seed's cluster, created at 3 by 02 and shared by 03
to 13. A scenario on the shared cluster starts from its precondition (require_main_ready: the
Cluster exists, members patched back to 3 if a failed scenario left it elsewhere, Ready 3/3,
bounded; require_rows: 03 wrote the table) and fails naming it when it cannot be met.

State between the scenarios' processes lives in $E2E_STATE_DIR (run.sh makes a fresh one):
  state.json    the client's confirmed keys and next key, the operator CPU/RSS samples, 01's timings
  figures.jsonl every figure, appended as measured (a failed scenario keeps what it measured);
                `python3 e2elib.py figures` prints the table of all (run.sh does, at the end)
The run's clock and budget start at $E2E_T0 (epoch seconds, set by run.sh): log times are since
then and no wait goes past E2E_BUDGET_SECONDS after it (run.sh: 45 min for the ci set, 70 for
the full one; 45 when unset).

Needs KUBECONFIG, KUBECTL and CASSANDRA_VERSION (test/e2e/run.sh sets them); runs as root on the
host of the local cluster (it reads /proc of the operator's processes and SIGKILLs the leader).
E2E_KEEP=1 keeps the namespace afterwards; a failed run always keeps it for inspection (13 deletes
the Cluster, as it must to test deletion, but keeps the namespace when an earlier scenario failed).
Every scenario file takes --list: it prints what it needs and leaves, and touches nothing.
"""
import base64
import contextlib
import datetime
import json
import logging
import os
import random
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
import traceback
import urllib.request

import yaml
from cassandra import AuthenticationFailed, ConsistencyLevel
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
from cassandra.policies import (DCAwareRoundRobinPolicy, ExponentialReconnectionPolicy,
                                TokenAwarePolicy, WhiteListRoundRobinPolicy)
from cassandra.query import SimpleStatement

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SEED = os.path.join(ROOT, "config", "samples", "seed-example.yaml")

NS = "e2e-operator"
NS_SINGLE = "e2e-operator-single"
NS_RESTORED = "e2e-restored"  # 14 and 15: the Cluster created from the shared one's backup
RESTORED = "restored"
MAIN = "my-cassandra-cluster"  # the seed's name
SINGLE = "single"
DC = "us-east-1"
RACK = "us-east-1c"
KEYSPACE = "e2e"
RF = 3
ROWS = 1000  # written before the background client starts
LOAD_FIRST_KEY = 1_000_000  # the background client's keys start here
LOAD_INTERVAL = 0.05  # pause between two write+read rounds of the background client
OPERATOR_NS = "ringkeeper-system"
OPERATOR = "ringkeeper-operator"  # Deployment, Lease, process name
METRICS_PORT = 8080
CRD = "clusters.cassandra.rook.io"
REPLACE_LABEL = "cassandra.rook.io/replace"
QUORUM = ConsistencyLevel.QUORUM

KUBECTL = os.environ.get("KUBECTL", "kubectl")
BUDGET = float(os.environ.get("E2E_BUDGET_SECONDS", 45 * 60))  # no wait goes past it
# The run's start (run.sh sets it before the first scenario; a scenario run alone starts its own).
T0 = float(os.environ.get("E2E_T0") or time.time())
FIGURES = []  # (section, name, value): this scenario's figures (all of them: FIGURES_FILE)
STATE_DIR = os.environ.get("E2E_STATE_DIR") or "/tmp/ringkeeper-e2e"
STATE_FILE = os.path.join(STATE_DIR, "state.json")  # what one scenario leaves to the next
FIGURES_FILE = os.path.join(STATE_DIR, "figures.jsonl")  # every scenario's figures, in order
SCENARIO = os.path.splitext(os.path.basename(sys.argv[0]))[0]  # e.g. 04_scale_up_down_test

# Direct connections only: pod IPs are never sent to an HTTP proxy.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def cassandra_version(variable="CASSANDRA_VERSION"):
    v = os.environ.get(variable)
    if v:
        return v
    with open(os.path.join(ROOT, "versions.env")) as f:
        return re.search(rf"^{variable}=(\S+)", f.read(), re.M)[1]


CASSANDRA_VERSION = cassandra_version()
# The version 17 upgrades from (its image is built beside CASSANDRA_VERSION's by run.sh).
UPGRADE_FROM_VERSION = cassandra_version("CASSANDRA_UPGRADE_FROM_VERSION")


# --- output ----------------------------------------------------------------------------------

def since_start():
    """Seconds since the run's start (E2E_T0): the same clock in every scenario's log."""
    return time.time() - T0


def log(msg):
    print(f"[{since_start():7.1f}s] {msg}", flush=True)


def figure(section, name, value):
    FIGURES.append((section, name, value))
    os.makedirs(STATE_DIR, exist_ok=True)
    with open(FIGURES_FILE, "a") as f:  # at once: a scenario that fails later keeps it
        f.write(json.dumps({"scenario": SCENARIO, "section": section, "name": name,
                            "value": str(value)}) + "\n")
    log(f"{section}: {name} = {value}")


def timed(section, name, t0):
    d = time.monotonic() - t0
    figure(section, name, f"{d:.1f}s")
    return d


def print_figures(figures=None, title="FIGURES"):
    """The table of figures (this scenario's by default; `e2elib.py figures`: every scenario's)."""
    figures = FIGURES if figures is None else figures
    print(f"\n{title}", flush=True)
    w = max([len(f"{s} | {n}") for s, n, _ in figures] + [20])
    print(f"  {'section | figure':{w}s}  value")
    print(f"  {'-' * w}  {'-' * 24}")
    for section, name, value in figures:
        print(f"  {f'{section} | {name}':{w}s}  {value}")
    print(f"  {'total | e2e wall time':{w}s}  {since_start():.1f}s", flush=True)


def read_figures():
    """Every figure in FIGURES_FILE, in the order measured: [(section, name, value)]."""
    if not os.path.exists(FIGURES_FILE):
        return []
    with open(FIGURES_FILE) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [(r["section"], r["name"], r["value"]) for r in rows]


# --- state between the scenarios -------------------------------------------------------------

def load_state():
    try:
        with open(STATE_FILE) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def forget_state(*keys):
    """Drops keys from STATE_FILE (all of it without keys): what described a deleted cluster."""
    state = {} if not keys else {k: v for k, v in load_state().items() if k not in keys}
    os.makedirs(STATE_DIR, exist_ok=True)
    with open(STATE_FILE, "w") as f:
        json.dump(state, f)


# What the shared Cluster's scenarios left (02 deletes and recreates it: forgotten then).
MAIN_STATE = ("rows_written", "load_keys", "load_next_key", "main_not_ready")


def save_state(**changes):
    """Merges changes into STATE_FILE (scenarios run one after another: no lock needed)."""
    state = load_state()
    state.update(changes)
    os.makedirs(STATE_DIR, exist_ok=True)
    tmp = STATE_FILE + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.replace(tmp, STATE_FILE)


# --- Kubernetes ------------------------------------------------------------------------------

def kubectl(*args, ns=NS, stdin=None, check=True, timeout=120):
    cmd = [KUBECTL] + (["-n", ns] if ns else []) + list(args)
    try:
        r = subprocess.run(cmd, input=stdin, text=True, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        if check:
            raise RuntimeError(f"kubectl {' '.join(args)}: no answer in {timeout}s")
        return ""
    if check and r.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout.strip()


# The kubectl plugin (src/plugin), built by run.sh into this directory: kubectl finds
# kubectl-ringkeeper on PATH, as on a user's machine.
PLUGIN_DIR = os.environ.get("E2E_PLUGIN_DIR", "")


def ringkeeper(*args, ns=NS, stdin=None, check=True, timeout=600, env=None):
    """`kubectl ringkeeper -n NS ARGS` through kubectl's plugin mechanism; its stdout (stderr too
    when check=False: the tuple (rc, stdout, stderr))."""
    assert PLUGIN_DIR and os.access(os.path.join(PLUGIN_DIR, "kubectl-ringkeeper"), os.X_OK), (
        f"no kubectl-ringkeeper in E2E_PLUGIN_DIR={PLUGIN_DIR!r} (run.sh builds it)")
    env = dict(env if env is not None else os.environ)
    env["PATH"] = f"{PLUGIN_DIR}:{env.get('PATH', '')}"
    # -n first: everything after a "--" in ARGS is cqlsh's.
    cmd = [KUBECTL, "ringkeeper", *(["-n", ns] if ns else []), *args]
    r = subprocess.run(cmd, input=stdin, text=True, capture_output=True, timeout=timeout, env=env)
    if not check:
        return r.returncode, r.stdout, r.stderr
    if r.returncode != 0:
        raise RuntimeError(f"kubectl ringkeeper {' '.join(args)}: rc {r.returncode}: "
                           f"{r.stderr.strip()}")
    return r.stdout


def apply(manifest, ns=NS):
    """kubectl apply of one object, given as a dict."""
    return kubectl("apply", "-f", "-", stdin=json.dumps(manifest), ns=ns)


def table_keys(session, table, fetch_size=1000, consistency=QUORUM):
    """Every key k of `table` ("keyspace.table"), read at `consistency` (QUORUM), paged."""
    from cassandra.query import SimpleStatement
    statement = SimpleStatement(f"SELECT k FROM {table}", consistency_level=consistency,
                                fetch_size=fetch_size)
    return {row.k for row in session.execute(statement, timeout=60)}


def status_of(kind, name, ns=NS):
    """The object's status ({} when it or its status does not exist)."""
    return (get(kind, name, ns=ns) or {}).get("status") or {}


def finished(kind, name, ns=NS):
    """A Backup's or Restore's status once Complete or Failed, None before."""
    status = status_of(kind, name, ns=ns)
    return status if status.get("phase") in ("Complete", "Failed") else None


def jsonpath(kind, name, path, ns=NS):
    return kubectl("get", kind, name, "-o", f"jsonpath={path}", ns=ns, check=False)


def get(kind, name, ns=NS):
    """The object as a dict, None when it does not exist (or the API did not answer)."""
    out = kubectl("get", kind, name, "-o", "json", "--ignore-not-found", ns=ns, check=False)
    return json.loads(out) if out else None


def items(kind, ns=NS, selector=None):
    args = ["get", kind, "-o", "json"] + (["-l", selector] if selector else [])
    return json.loads(kubectl(*args, ns=ns))["items"]


def condition(obj, ctype):
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def remaining():
    return BUDGET - since_start()


def diagnose(ns):
    """What a human needs when a wait times out: the Clusters' status, pods, events, the leader's log."""
    try:
        return _diagnose(ns)
    except Exception as e:  # diagnostics must not hide the failure they explain
        return f"(diagnostics failed: {e!r})"


def _diagnose(ns):
    parts = []
    for c in (items(CRD, ns=ns) if ns else []):
        st = c.get("status") or {}
        brief = {k: st.get(k) for k in ("observedGeneration", "membersSummary", "bootstrapped",
                                        "authReady", "operation", "conditions")}
        parts.append(f"Cluster {c['metadata']['name']} (generation {c['metadata'].get('generation')}):"
                     f" {json.dumps(brief)}")
        for dc in st.get("dataCenters") or []:
            for m in dc.get("members") or []:
                parts.append(f"  member {json.dumps(m)}")
    if ns:
        parts.append(kubectl("get", "pods,statefulsets,services", "-o", "wide", ns=ns, check=False))
        parts.append(kubectl("get", "events", "--sort-by=.lastTimestamp", ns=ns, check=False)[-4000:])
    holder = lease_holder_pod()
    if holder:
        parts.append(f"operator leader {holder}, last log lines:")
        parts.append(kubectl("logs", holder, "--tail=40", ns=OPERATOR_NS, check=False))
    return "\n".join(parts)


def wait(what, fn, timeout, ns=NS, interval=1.0):
    """Polls fn until it returns a truthy value (returned); bounded by timeout and the test budget.
    On timeout raises with the last error and diagnose(ns)."""
    timeout = min(timeout, max(remaining(), 1))
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = fn()
            if v:
                return v
            last = None
        except Exception as e:  # the next poll decides; the last error is reported on timeout
            last = e
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what} ({last!r})\n"
                               f"{diagnose(ns)}")
        time.sleep(interval)


class AssertionFailure:
    def __init__(self, error):
        self.error = error


def wait_strict(what, fn, timeout):
    """wait(), except that an AssertionError from fn fails at once (a safety rule was broken)."""
    def probe():
        try:
            return fn()
        except AssertionError as e:
            return AssertionFailure(e)
    r = wait(what, probe, timeout)
    if isinstance(r, AssertionFailure):
        raise AssertionError(f"{what}: {r.error}\n{diagnose(NS)}")
    return r


class Names:
    """The contract's object names (src/operator/README.md) for one Cluster."""

    def __init__(self, cluster, ns):
        self.cluster, self.ns = cluster, ns
        self.sts = f"{cluster}-{DC}-{RACK}"
        self.client = f"{cluster}-{DC}-client"
        self.superuser = f"{cluster}-superuser"
        self.selector = f"cassandra.rook.io/cluster={cluster}"

    def pod(self, i):
        return f"{self.sts}-{i}"

    def member_service(self, i):
        return f"{self.sts}-{i}"

    def pvc(self, i):  # the seed's volumeClaimTemplate is named cassandra-data
        return f"cassandra-data-{self.pod(i)}"


def cluster_manifest(name, members):
    """The seed's example Cluster with only its images and sizes changed (and name, members)."""
    with open(SEED) as f:
        seed = yaml.safe_load(f)
    m = yaml.safe_load(json.dumps(seed))  # a deep copy
    spec = m["spec"]
    rack = spec["dataCenter"]["racks"][0]
    assert spec["dataCenter"]["name"] == DC and rack["name"] == RACK, "the seed's dc/rack changed"
    vct = rack["storage"]["volumeClaimTemplates"][0]
    assert vct["metadata"]["name"] == "cassandra-data", "the seed's volumeClaimTemplate changed"
    res = rack["resources"]
    assert res["limits"]["cpu"] == "2000m", "the seed's cpu limit changed"
    m["metadata"]["name"] = name
    spec["repository"] = "localhost/ringkeeper/cassandra"
    spec["version"] = CASSANDRA_VERSION
    spec["sidecarImage"] = {"repository": "localhost/ringkeeper/ringkeeper-agent", "tag": "dev"}
    vct["spec"]["resources"]["requests"]["storage"] = "1Gi"
    res["requests"]["cpu"] = "200m"
    res["requests"]["memory"] = "2Gi"
    res["limits"]["memory"] = "2Gi"
    rack["members"] = members
    changed = sorted(leaf_diff(seed, m))
    allowed = {"metadata.name", "spec.repository", "spec.version", "spec.sidecarImage.repository",
               "spec.sidecarImage.tag", "spec.dataCenter.racks.0.members",
               "spec.dataCenter.racks.0.storage.volumeClaimTemplates.0.spec.resources.requests.storage",
               "spec.dataCenter.racks.0.resources.requests.cpu",
               "spec.dataCenter.racks.0.resources.requests.memory",
               "spec.dataCenter.racks.0.resources.limits.memory"}
    assert set(changed) <= allowed, f"changed more than images and sizes: {changed}"
    return m


def leaf_diff(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in set(a) | set(b):
            yield from leaf_diff(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from leaf_diff(x, y, f"{path}.{i}")
    elif a != b:
        yield path


def cluster_obj(n):
    return get(CRD, n.cluster, ns=n.ns)


def status_members(obj):
    out = []
    for dc in ((obj or {}).get("status") or {}).get("dataCenters") or []:
        out.extend(dc.get("members") or [])
    return out


def member_of(obj, pod):
    return next((m for m in status_members(obj) if m.get("pod") == pod), None)


def ready_with(n, members):
    """Ready True for the current generation, membersSummary n/n, no operation under way."""
    obj = cluster_obj(n)
    if not obj:
        return None
    st = obj.get("status") or {}
    c = condition(obj, "Ready")
    ok = (c is not None and c.get("status") == "True"
          and st.get("membersSummary") == f"{members}/{members}"
          and st.get("observedGeneration", -1) >= obj["metadata"]["generation"]
          and not st.get("operation"))
    return obj if ok else None


def wait_ready(n, members, timeout):
    return wait(f"Cluster {n.cluster} Ready with {members}/{members}",
                lambda: ready_with(n, members), timeout, ns=n.ns)


def patch_members(n, members):
    kubectl("patch", CRD, n.cluster, "--type=json", "-p", json.dumps(
        [{"op": "replace", "path": "/spec/dataCenter/racks/0/members", "value": members}]), ns=n.ns)


def wait_rolled(n, before, timeout=900):
    """Until every pod of `before` (name → UID) has been recreated and the Cluster is Ready
    3/3, failing at once if two cassandra pods are not Ready together (a roll goes one at a time).
    Returns (the Cluster, the most pods not Ready at once, the order the pods were recreated in)."""
    worst = {"not ready": 0}
    order = []

    def done():
        now = pods(n)
        not_ready = 3 - sum(1 for name in before if pod_ready(now.get(name)))
        worst["not ready"] = max(worst["not ready"], not_ready)
        for name in before:
            p = now.get(name)
            if p and p["metadata"]["uid"] != before[name] and name not in order:
                order.append(name)
        assert worst["not ready"] <= 1, f"{not_ready} cassandra pods not Ready at once"
        renewed = all(now.get(name) and now[name]["metadata"]["uid"] != before[name]
                      for name in before)
        return renewed and ready_with(n, 3)
    obj = wait_strict("every pod restarted once, one at a time, Ready 3/3", done, timeout)
    log(f"restart order: {order}")
    return obj, worst["not ready"], order


# The filesystem storage location 10f uses. 10e adds it in the same spec change that turns
# commit log archiving on: both need every pod restarted, and one roll costs two minutes.
FS_CLAIM, FS_LOCATION = "e2e-backups-fs", "fs"


def storage_locations_with_fs(n):
    """The claim FS_CLAIM made, and the Cluster's spec.storageLocations with FS_LOCATION on it
    (for a merge patch: the list is replaced whole)."""
    apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": {"name": FS_CLAIM, "namespace": n.ns},
           # One node here: ReadWriteOnce lets every pod of it mount the volume. A cluster on
           # several nodes needs ReadWriteMany (NFS, CephFS, EFS...).
           "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "default",
                    "resources": {"requests": {"storage": "1Gi"}}}}, ns=n.ns)
    others = [loc for loc in get("cluster", n.cluster, ns=n.ns)["spec"].get("storageLocations")
              or [] if loc["name"] != FS_LOCATION]
    return others + [{"name": FS_LOCATION, "filesystem": {"claimName": FS_CLAIM}}]


def pods_mounting(n, claim):
    """The Cluster's pods whose volumes include `claim`."""
    return sorted(name for name, p in pods(n).items()
                  if any((v.get("persistentVolumeClaim") or {}).get("claimName") == claim
                         for v in p["spec"].get("volumes") or []))


def kubectl_wait_ready(n, timeout):
    """`kubectl wait --for=condition=Ready` as a user would; diagnostics on failure."""
    timeout = int(min(timeout, max(remaining(), 1)))
    try:
        kubectl("wait", "--for=condition=Ready", f"{CRD}/{n.cluster}", f"--timeout={timeout}s",
                ns=n.ns, timeout=timeout + 30)
    except RuntimeError as e:
        raise TimeoutError(f"{e}\n{diagnose(n.ns)}") from None


def pods(n):
    return {p["metadata"]["name"]: p for p in items("pods", ns=n.ns, selector=n.selector)}


def pod_ready(p):
    if p is None or p["metadata"].get("deletionTimestamp"):
        return False
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in (p.get("status") or {}).get("conditions") or [])


def uid(kind, name, ns=NS):
    return jsonpath(kind, name, "{.metadata.uid}", ns=ns)


def service_ip(name, ns=NS):
    return jsonpath("service", name, "{.spec.clusterIP}", ns=ns)


def events_of(ns, reason):
    return json.loads(kubectl("get", "events", "--field-selector", f"reason={reason}", "-o", "json",
                              ns=ns))["items"]


def events(ns, reason):
    """How many times an event of this reason was recorded in ns (aggregated events count)."""
    return sum(max(e.get("count") or 1, (e.get("series") or {}).get("count") or 1)
               for e in events_of(ns, reason))


def event_messages(ns, reason):
    return [e.get("message") or "" for e in events_of(ns, reason)]


SYSTEM_KEYSPACES = ("system_auth", "system_distributed", "system_traces")


def check_system_replication(n, session, factor, steps):
    """The system keyspaces at `factor` in DC (status.systemReplication says so once repaired),
    reached through the events' `steps` ("system_auth 1→2"...)."""
    wait(f"status.systemReplication {DC}={factor}",
         lambda: ((cluster_obj(n).get("status") or {}).get("systemReplication") or {}).get(DC)
         == factor, 300, ns=n.ns)
    rows = session.execute("SELECT keyspace_name, replication FROM system_schema.keyspaces")
    replication = {r.keyspace_name: r.replication for r in rows}
    for ks in SYSTEM_KEYSPACES:
        assert replication[ks].get(DC) == str(factor) and \
            replication[ks]["class"].endswith("NetworkTopologyStrategy"), (ks, replication[ks])
    said = event_messages(n.ns, "ReplicateSystemKeyspaces")
    for step in steps:
        assert any(step in m for m in said), (step, said)
    assert any("system keyspaces replicated;" in m for m in said), said
    log(f"{n.cluster}: system keyspaces at NetworkTopologyStrategy {DC}={factor}, via "
        f"{', '.join(steps)}")


def ring_un(n, via_pod):
    """The addresses `nodetool status` in via_pod's cassandra container shows Up/Normal."""
    out = kubectl("exec", via_pod, "-c", "cassandra", "--", "nodetool", "status", ns=n.ns, timeout=60)
    return sorted(line.split()[1] for line in out.splitlines() if line.startswith("UN "))


def release_namespace(ns, wait_seconds=0):
    """A scenario's namespace at its end: deleted (waited for up to wait_seconds; not at all when
    0), or kept for inspection when E2E_KEEP=1 or a scenario of this run failed."""
    failed = earlier_failures()
    if failed:
        log(f"namespace {ns} kept for inspection: {', '.join(failed)} failed")
    elif os.environ.get("E2E_KEEP") != "1":
        if wait_seconds:
            delete_namespace(ns, wait_seconds)
        else:
            kubectl("delete", "namespace", ns, "--wait=false", ns=None)


def delete_namespace(ns, timeout):
    kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=false", ns=None)
    wait(f"namespace {ns} gone (its pods too)",
         lambda: not kubectl("get", "namespace", ns, "--ignore-not-found", "-o", "name", ns=None),
         timeout, ns=ns, interval=2)


def free_room(ns, timeout):
    """Namespace ns deleted, waited for until its pods are gone: their nodes' memory and CPU are
    free. The namespace itself goes later (its controller retries with a backoff: half a minute
    and more after the last pod); a scenario that re-creates it uses delete_namespace."""
    kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=false", ns=None)
    wait(f"namespace {ns}'s pods gone",
         lambda: not kubectl("get", "pods", "-o", "name", ns=ns), timeout, ns=ns, interval=2)


# --- the operator's processes, Lease, metrics -----------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def pod_processes(is_it, in_pod):
    """Host PID -> pod name of every process on this machine whose command line (its arguments,
    as bytes) `is_it` accepts and whose HOSTNAME (its container's: the pod's name) `in_pod` does."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if not is_it(f.read().split(b"\0")):
                    continue
            with open(f"/proc/{d}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        host = next((e[9:].decode() for e in env if e.startswith(b"HOSTNAME=")), "")
        if in_pod(host):
            out[int(d)] = host
    return out


def operator_processes():
    """Host PID -> pod name of every ringkeeper-operator process running in an operator pod."""
    return pod_processes(lambda argv: os.path.basename(argv[0]) == OPERATOR.encode(),
                         lambda host: host.startswith(OPERATOR + "-"))


def cassandra_processes(pod_names):
    """Host PID -> pod name of the Cassandra JVM of each of `pod_names`."""
    return pod_processes(
        lambda argv: any(b"org.apache.cassandra.service.CassandraDaemon" in a for a in argv),
        lambda host: host in pod_names)


def proc_cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat(5))


def proc_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)[1])


class OperatorSampler(threading.Thread):
    """Samples every operator process's CPU ticks and RSS every 2 s (and on demand, e.g. just
    before a SIGKILL), so the CPU of processes killed during the test is counted too. A process
    first seen after the first sample started during the test: its whole CPU counts."""

    def __init__(self):
        super().__init__(name="operator-sampler", daemon=True)
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.first, self.last, self.max_rss, self.pods = {}, {}, {}, {}
        self.t0 = time.monotonic()
        self.initial = None

    def sample(self):
        procs = operator_processes()
        with self.lock:
            for pid, pod in procs.items():
                try:
                    ticks, rss = proc_cpu_ticks(pid), proc_rss_kib(pid)
                except (OSError, TypeError):
                    continue
                if self.initial is None or pid in self.initial:
                    self.first.setdefault(pid, ticks)
                else:
                    self.first.setdefault(pid, 0)
                self.last[pid] = ticks
                self.max_rss[pid] = max(rss, self.max_rss.get(pid, 0))
                self.pods[pid] = pod
            if self.initial is None:
                self.initial = set(procs)

    def run(self):
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(2)

    def cpu_seconds(self):
        with self.lock:
            return sum(self.last[p] - self.first[p] for p in self.last) / CLK_TCK

    def per_process(self):
        with self.lock:
            return [(p, self.pods[p], (self.last[p] - self.first[p]) / CLK_TCK, self.max_rss[p])
                    for p in sorted(self.last)]

    def saved(self):
        """The samples so far, for the next scenario's process (state.json "sampler")."""
        with self.lock:
            return {"first": self.first, "last": self.last, "max_rss": self.max_rss,
                    "pods": self.pods,
                    "initial": None if self.initial is None else sorted(self.initial)}

    def restore(self, saved):
        """Continues an earlier scenario's samples: a process it saw keeps its first ticks (the
        whole run's CPU counts), a process first seen later started during the run."""
        if not saved:
            return
        with self.lock:
            for key in ("first", "last", "max_rss", "pods"):
                getattr(self, key).update({int(p): v for p, v in saved[key].items()})
            if saved.get("initial") is not None:
                self.initial = set(saved["initial"])


SAMPLER = OperatorSampler()


def lease():
    return get("lease", OPERATOR, ns=OPERATOR_NS)


def holder_pod(holder):
    """The pod of a Lease holderIdentity: the pod name, or client-go's `<pod>_<uuid>`."""
    return (holder or "").split("_")[0]


def lease_holder_pod():
    try:
        return holder_pod(((lease() or {}).get("spec") or {}).get("holderIdentity"))
    except Exception:
        return ""


def leader():
    """(pod, host PID, pod IP) of the operator leader, or None while there is none."""
    pod = lease_holder_pod()
    if not pod:
        return None
    pids = [pid for pid, p in operator_processes().items() if p == pod]
    ip = jsonpath("pod", pod, "{.status.podIP}", ns=OPERATOR_NS)
    if len(pids) != 1 or not ip:
        return None
    return pod, pids[0], ip


def parse_time(s):
    """RFC 3339 (Kubernetes MicroTime/Time) → aware datetime."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z$", s)
    frac = (m[2] or ".0")[:7].ljust(7, "0")
    return datetime.datetime.fromisoformat(m[1] + frac + "+00:00")


def kill_leader(section):
    """SIGKILLs the leader's process from the host, then waits until a new process leads: the
    Lease is renewed after the kill by a holder whose process is not the killed one (the other
    replica, or the killed pod's restarted container). Returns the new leader's pod."""
    pod, pid, _ = wait("an operator leader", leader, 60)
    lease_before = lease()["spec"]
    SAMPLER.sample()  # its last CPU ticks before it dies
    killed_at = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    log(f"SIGKILLed the operator leader {pod} (host pid {pid})")

    def new_leader():
        spec = lease()["spec"]
        h = holder_pod(spec.get("holderIdentity"))
        if not h or not spec.get("renewTime") or parse_time(spec["renewTime"]) <= killed_at:
            return None
        pids = [p for p, name in operator_processes().items() if name == h and p != pid]
        return (h, spec) if pids else None
    new, spec = wait("a new operator leader after the SIGKILL", new_leader, 120, ns=OPERATOR_NS,
                     interval=0.5)
    timed(section, "SIGKILL → new leader", t0)
    changed = new != pod
    figure(section, "Lease holder", f"{pod} → {new}" + ("" if changed else
                                                         " (restarted container took it back)"))
    figure(section, "leaseTransitions", f"{lease_before.get('leaseTransitions')} → "
                                        f"{spec.get('leaseTransitions')}")
    return new


def scrape(ip):
    """Prometheus text → [(name, labels, value)]."""
    text = HTTP.open(f"http://{ip}:{METRICS_PORT}/metrics", timeout=5).read().decode()
    out = []
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)", line)
        if m and not line.startswith("#"):
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m[2] or ""))
            out.append((m[1], labels, float(m[3])))
    return out


WRITE_VERBS = ("POST", "PUT", "PATCH", "DELETE")


def write_counts(samples):
    """ringkeeper_kube_requests_total per write verb; lease renewals excluded when the metric says
    which resource a request was for (leader election writes its Lease every few seconds)."""
    out = {}
    for verb in WRITE_VERBS:
        out[verb] = sum(v for name, labels, v in samples
                        if name == "ringkeeper_kube_requests_total" and labels.get("verb") == verb
                        and labels.get("resource") not in ("leases", "lease"))
    return out


def reconcile_count(samples):
    return sum(v for name, _, v in samples if name == "ringkeeper_reconcile_total")


# --- CQL -------------------------------------------------------------------------------------

logging.basicConfig(level=logging.WARNING, format="%(asctime)s driver %(levelname)s %(message)s")
logging.getLogger("cassandra").setLevel(logging.ERROR)


def connect(contact, user, password, whitelist=False, connect_timeout=10, dc=DC,
            consistency=QUORUM, ssl_context=None, server_hostname=None):
    """A client of the cluster at `contact`: only `contact` (whitelist), else token-aware with
    its requests in data center `dc` (no remote host is used), at `consistency`. Over TLS with
    `ssl_context` (spec.tls), the nodes' certificate checked for `server_hostname` when given."""
    lbp = (WhiteListRoundRobinPolicy([contact]) if whitelist
           else TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=dc)))
    profile = ExecutionProfile(load_balancing_policy=lbp, consistency_level=consistency,
                               request_timeout=15)
    cluster = Cluster([contact], port=9042, auth_provider=PlainTextAuthProvider(user, password),
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                      connect_timeout=connect_timeout, protocol_version=5,
                      reconnection_policy=ExponentialReconnectionPolicy(0.5, 8),
                      max_schema_agreement_wait=30, ssl_context=ssl_context,
                      ssl_options={"server_hostname": server_hostname} if server_hostname
                      else None)
    try:
        return cluster, cluster.connect()
    except Exception:
        cluster.shutdown()
        raise


def cluster_ca(n):
    """The PEM of the CA a Cluster's nodes are certified by (spec.tls: the Secret <cluster>-ca)."""
    data = json.loads(kubectl("get", "secret", f"{n.cluster}-ca", "-o", "json", ns=n.ns))["data"]
    return base64.b64decode(data["ca.crt"]).decode()


def tls_context(ca_pem=None, check_hostname=False):
    """A client TLS context trusting `ca_pem` only (None: the system's store, which does not
    know the Cluster's CA); names checked only with check_hostname (the client dials IPs)."""
    ctx = ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()
    ctx.check_hostname = check_hostname
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def superuser(n):
    data = json.loads(kubectl("get", "secret", n.superuser, "-o", "json", ns=n.ns))["data"]
    return (base64.b64decode(data["username"]).decode(), base64.b64decode(data["password"]).decode())


def auth_refused(error):
    # errors is {endpoint: exception} when no connection opened; a list of endpoints when the
    # control connection logged in and only the pools failed (not a refusal).
    errors = error.errors.values() if isinstance(getattr(error, "errors", None), dict) else []
    return isinstance(error, NoHostAvailable) and any(
        isinstance(x, AuthenticationFailed) for x in errors)


def quiet_connect(ip, user, password):
    """connect(), without the driver's error log of a refused login (the caller judges it)."""
    quiet = logging.getLogger("cassandra.cluster")
    quiet.setLevel(logging.CRITICAL)
    try:
        return connect(ip, user, password)
    finally:
        quiet.setLevel(logging.NOTSET)


def default_login_refused(ip):
    try:
        cluster, _ = quiet_connect(ip, "cassandra", "cassandra")
    except NoHostAvailable as e:
        return auth_refused(e)
    cluster.shutdown()
    return False


def on_node(ip, creds, fn, ssl_context=None):
    """fn(session) on the node at ip only."""
    cluster, session = connect(ip, *creds, whitelist=True, ssl_context=ssl_context)
    try:
        return fn(session)
    finally:
        cluster.shutdown()


def setting(ip, creds, name):
    """A node's live setting (the virtual table system_views.settings), asked of that node."""
    quiet = logging.getLogger("cassandra.cluster")
    quiet.setLevel(logging.CRITICAL)  # a node not answering yet is the caller's to judge
    try:
        row = on_node(ip, creds, lambda s: s.execute(
            "SELECT value FROM system_views.settings WHERE name = %s", (name,)).one())
    finally:
        quiet.setLevel(logging.NOTSET)
    return row and row.value


def scan(session):
    """Every row of e2e.kv, read at QUORUM (a full range scan)."""
    stmt = SimpleStatement(f"SELECT k, v FROM {KEYSPACE}.kv", consistency_level=QUORUM,
                           fetch_size=2000)
    return {r.k: r.v for r in session.execute(stmt, timeout=60)}


def check_rows(session, load, what):
    """Every row written before (the initial rows and every write the client saw succeed) is
    readable at QUORUM with its value. Driver errors are retried (bounded); a missing row is not."""
    expected = {k: f"value-{k}" for k in range(ROWS)}
    expected.update(load.confirmed() if load else {})
    t0 = time.monotonic()
    got = wait(f"a full scan of {KEYSPACE}.kv at QUORUM ({what})", lambda: scan(session), 180)
    wrong = [k for k, v in expected.items() if got.get(k) != v]
    assert not wrong, (f"{what}: {len(wrong)} of {len(expected)} rows lost or wrong at QUORUM, "
                       f"e.g. {sorted(wrong)[:10]}")
    log(f"{what}: all {len(expected)} rows read back at QUORUM ({time.monotonic() - t0:.1f}s)")
    return len(expected)


class Load(threading.Thread):
    """The background client: writes a new row and reads an earlier one at QUORUM, round after
    round, with idempotent prepared statements (the driver may retry them on another node).
    Counts successes and failures per phase (the phase at the start of each request); a read
    that finds a confirmed row missing or wrong counts as lost. Stops on stop() or after
    max_seconds. Thread-safe: the test switches phases and reads counts while it runs."""

    def __init__(self, contact, creds, max_seconds, phase="steady", written=(),
                 first_key=LOAD_FIRST_KEY, ssl_context=None):
        super().__init__(name="cql-load", daemon=True)
        self.cluster, self.session = connect(contact, *creds, ssl_context=ssl_context)
        self.ins = self.session.prepare(f"INSERT INTO {KEYSPACE}.kv (k, v) VALUES (?, ?)")
        self.sel = self.session.prepare(f"SELECT v FROM {KEYSPACE}.kv WHERE k = ?")
        for s in (self.ins, self.sel):
            s.is_idempotent = True
            s.consistency_level = QUORUM
        self.max_seconds = max_seconds
        self.stop_event = threading.Event()
        self.writes_on = threading.Event()
        self.writes_on.set()
        self.lock = threading.Lock()
        self.phase = phase
        self.phases = {}  # name -> counters
        self.phase_order = []
        # Confirmed keys, in write order (earlier scenarios' clients' first: state.json).
        self.keys = list(written)
        self.written = {k: f"load-{k}" for k in self.keys}  # confirmed key -> value
        self.next_key = first_key  # after every key an earlier client tried
        self.crash = None
        self._open_phase(self.phase)

    def _open_phase(self, name):
        if name not in self.phases:
            self.phases[name] = {"writes ok": 0, "writes failed": 0, "reads ok": 0,
                                 "reads failed": 0, "lost": 0, "errors": [],
                                 "start": time.monotonic(), "end": None, "latencies": []}
            self.phase_order.append(name)

    def set_phase(self, name):
        with self.lock:
            self.phases[self.phase]["end"] = time.monotonic()
            self.phase = name
            self._open_phase(name)
        log(f"client phase: {name}")

    def _count(self, phase, what, error=None, seconds=None):
        with self.lock:
            p = self.phases[phase]
            p[what] += 1
            if seconds is not None:
                p["latencies"].append(seconds * 1000)
            if error is not None and len(p["errors"]) < 5:
                p["errors"].append(f"{since_start():.1f}s {what}: {error!r}"[:300])

    def failures(self, phase):
        with self.lock:
            p = self.phases.get(phase)
            return 0 if p is None else p["writes failed"] + p["reads failed"] + p["lost"]

    def latency_ms(self, phase, q):
        """The q-quantile (0.99: p99) of the phase's successful requests' latency, in ms; None
        before any."""
        with self.lock:
            p = self.phases.get(phase)
            lat = sorted(p["latencies"]) if p else []
        return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else None

    def total(self, what):
        with self.lock:
            return sum(p[what] for p in self.phases.values())

    def confirmed(self):
        with self.lock:
            return dict(self.written)

    def run(self):
        rng = random.Random(7)
        key = self.next_key
        deadline = time.monotonic() + self.max_seconds
        try:
            while not self.stop_event.is_set() and time.monotonic() < deadline:
                phase = self.phase
                if self.writes_on.is_set():
                    value = f"load-{key}"
                    try:
                        t = time.monotonic()
                        self.session.execute(self.ins, (key, value))
                        self._count(phase, "writes ok", seconds=time.monotonic() - t)
                        with self.lock:
                            self.written[key] = value
                            self.keys.append(key)
                    except Exception as e:
                        self._count(phase, "writes failed", e)
                    key += 1
                    self.next_key = key
                with self.lock:
                    k = rng.choice(self.keys) if self.keys else None
                    want = self.written.get(k)
                if k is not None:
                    try:
                        t = time.monotonic()
                        row = self.session.execute(self.sel, (k,)).one()
                        if row is None or row.v != want:
                            self._count(phase, "lost", f"key {k}: got {row and row.v!r}, want {want!r}")
                        else:
                            self._count(phase, "reads ok", seconds=time.monotonic() - t)
                    except Exception as e:
                        self._count(phase, "reads failed", e)
                self.stop_event.wait(LOAD_INTERVAL)  # the client's pace, not a wait for a state
        except Exception as e:  # a bug in the loop itself: reported by stop()
            self.crash = e

    def stop(self):
        """Stops the loop (bounded) and the driver; report() and crash remain readable."""
        self.stop_event.set()
        self.join(timeout=60)
        with self.lock:
            self.phases[self.phase]["end"] = time.monotonic()
        self.cluster.shutdown()

    def report(self):
        with self.lock:
            rows = []
            for name in self.phase_order:
                p = self.phases[name]
                d = (p["end"] or time.monotonic()) - p["start"]
                failed = p["writes failed"] + p["reads failed"] + p["lost"]
                rows.append((name, p, d, failed))
        for name, p, d, failed in rows:
            if p["writes ok"] + p["reads ok"] + failed == 0:
                continue  # a phase that ended as it began
            figure("client", f"{name} (ok / failed)",
                   f"{p['writes ok'] + p['reads ok']} / {failed}  (w {p['writes ok']}/"
                   f"{p['writes failed']}, r {p['reads ok']}/{p['reads failed']}, lost {p['lost']}, "
                   f"{d:.0f}s)")
            for e in p["errors"]:
                log(f"  {name}: {e}")


# --- helpers of several scenarios -----------------------------------------------------------

def wait_operator():
    """The operator installed by its Helm chart (hack/helm-install.sh): two processes, a leader on the Lease."""
    t0 = time.monotonic()
    wait("two operator processes", lambda: len(set(operator_processes().values())) >= 2, 180,
         ns=OPERATOR_NS)
    pod, pid, ip = wait("an operator leader", leader, 120, ns=OPERATOR_NS)
    wait(f"{pod} serving /metrics", lambda: scrape(ip), 60, ns=OPERATOR_NS)
    log(f"operator leader {pod} (host pid {pid}, {ip}) after {time.monotonic() - t0:.1f}s")


def create_cluster(n, members):
    kubectl("create", "namespace", n.ns, ns=None)
    kubectl("apply", "-f", "-", stdin=json.dumps(cluster_manifest(n.cluster, members)), ns=n.ns)


def wait_scaled_down(m, timeout):
    def done():
        obj = ready_with(m, 3)
        return (obj and len(status_members(obj)) == 3
                and jsonpath("statefulset", m.sts, "{.spec.replicas}") == "3"
                and not kubectl("get", "service", m.member_service(3), "--ignore-not-found",
                                "-o", "name", check=False))
    wait("StatefulSet at 3 replicas, member Service -3 gone, 3 members in status", done, timeout)


def wait_operation(m, kind, timeout):
    def under_way():
        op = ((cluster_obj(m) or {}).get("status") or {}).get("operation") or {}
        return op if op.get("kind") == kind else None
    return wait(f"status.operation.kind == {kind}", under_way, timeout, interval=0.5)


# --- a scenario's frame -----------------------------------------------------------------------

class PreconditionFailed(AssertionError):
    """A state a scenario needs is not there, and it could not bring it there itself."""


def require_main_ready(m, members=3):
    """The shared Cluster (created by 02) Ready with members/members and no operation under way.
    A failed scenario may have left it at another size (patched back here: the operator then
    finishes or undoes what it was doing) or mid operation (waited for, bounded: 600 s, 120 s
    once such a wait has already failed in this run, so a broken cluster does not eat the budget
    of every scenario after it)."""
    obj = cluster_obj(m)
    if not obj:
        raise PreconditionFailed(f"precondition: Cluster {m.ns}/{m.cluster} exists (02_create_three"
                                 "_test creates it; it did not)")
    if "autoscaling" in obj["spec"]:
        log(f"precondition: {m.cluster} has spec.autoscaling (04 failed before removing it): "
            "removed")
        kubectl("patch", CRD, m.cluster, "--type=json", "-p", json.dumps(
            [{"op": "remove", "path": "/spec/autoscaling"}]), ns=m.ns)
    if ready_with(m, members):
        return obj
    spec_members = obj["spec"]["dataCenter"]["racks"][0].get("members")
    if spec_members != members:
        log(f"precondition: {m.cluster} has members {spec_members} (a scenario before failed):"
            f" patched back to {members}")
        patch_members(m, members)
    timeout = 120 if load_state().get("main_not_ready") else 600
    try:
        return wait_ready(m, members, timeout)
    except TimeoutError as e:
        save_state(main_not_ready=SCENARIO)
        raise PreconditionFailed(f"precondition: Cluster {m.ns}/{m.cluster} Ready {members}/"
                                 f"{members}: {e}") from None


def require_rows():
    """03 wrote the table and its initial rows (state.json says so)."""
    if not load_state().get("rows_written"):
        raise PreconditionFailed(f"precondition: {KEYSPACE}.kv holds the {ROWS} initial rows "
                                 "(03_cql_test writes them; it did not)")


@contextlib.contextmanager
def client_on_main(first_phase):
    """What the scenarios 04 to 11 share: the Cluster Ready 3/3 (require_main_ready), the table
    (require_rows), a superuser session, and the background client (Load), which continues the
    earlier scenarios' clients: it reads the rows they confirmed and writes keys after theirs.
    It warms up in phase "steady, before <first_phase>" (20 writes) before the scenario starts.
    Yields (m, load, session, creds). At the end: the client stopped and reported, its confirmed
    keys saved for the next scenario; a crash of the client loop or a lost row fails the scenario."""
    m = Names(MAIN, NS)
    require_main_ready(m)
    require_rows()
    creds = superuser(m)
    ip = service_ip(m.client)
    cluster, session = wait(f"CQL login as {creds[0]} at {ip}", lambda: connect(ip, *creds), 120,
                            interval=0.5)
    state = load_state()
    try:
        load = Load(ip, creds, max_seconds=max(remaining(), 60),
                    phase=f"steady, before {first_phase}", written=state.get("load_keys", []),
                    first_key=state.get("load_next_key", LOAD_FIRST_KEY))
    except Exception:
        cluster.shutdown()
        raise
    load.start()
    try:
        wait("the client's first writes", lambda: load.total("writes ok") >= 20, 60)
        yield m, load, session, creds
    finally:
        load.stop()
        load.report()
        cluster.shutdown()
        save_state(load_keys=load.keys, load_next_key=load.next_key)
    assert load.crash is None, f"the client loop crashed: {load.crash!r}"
    lost = load.total("lost")
    assert lost == 0, f"the client found {lost} confirmed rows missing or wrong"


def expect_no_client_failures(load, phase, section, during):
    """A scenario's end: the client moves on to "after <phase>", and the requests that failed in
    <phase> are printed (figure "client failures <during> (QUORUM)") and must be none."""
    load.set_phase(f"after {phase}")
    failed = load.failures(phase)
    figure(section, f"client failures {during} (QUORUM)", failed)
    assert failed == 0, f"{failed} client failures at QUORUM {during}"


NODE_IP = os.environ.get("E2E_NODE_IP", "10.244.0.1")  # the node's address on the pod bridge


class S3Server:
    """versitygw (hack/s3/versitygw.sh) on the node's address (the pods reach it there, the test
    on the host too), over a posix directory under the state dir that outlives the process (a
    later scenario restores from it: the same directory and credentials, a new port). Root
    credentials are generated once and kept in the state; they reach versitygw through its
    environment, never a command line. `client()` is botocore's: an independent reader."""

    def __init__(self):
        import secrets
        import socket
        state = load_state()
        self.dir = os.path.join(STATE_DIR, "s3")
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        self.access_key = state.get("s3_access_key") or f"rk-e2e-{secrets.token_hex(4)}"
        self.secret = state.get("s3_secret") or secrets.token_hex(20)
        save_state(s3_access_key=self.access_key, s3_secret=self.secret)
        gw = subprocess.run(["bash", os.path.join(ROOT, "hack", "s3", "versitygw.sh")], check=True,
                            capture_output=True, text=True).stdout.strip()
        with socket.socket() as sock:
            sock.bind((NODE_IP, 0))
            port = sock.getsockname()[1]
        self.endpoint = f"http://{NODE_IP}:{port}"
        env = dict(os.environ, ROOT_ACCESS_KEY_ID=self.access_key,
                   ROOT_SECRET_ACCESS_KEY=self.secret)
        self.proc = subprocess.Popen(
            [gw, "--port", f"{NODE_IP}:{port}", "--region", "us-east-1", "--quiet", "posix",
             os.path.join(self.dir, "data")], env=env,
            stdout=open(os.path.join(self.dir, "log"), "ab"), stderr=subprocess.STDOUT,
            start_new_session=True)

        def answers():
            if self.proc.poll() is not None:
                raise RuntimeError(f"versitygw exited: "
                                   f"{open(os.path.join(self.dir, 'log')).read()[-2000:]}")
            self.client().list_buckets()
            return True
        wait("versitygw answers", answers, 30, interval=0.2)
        log(f"versitygw at {self.endpoint} over {self.dir}/data")

    def client(self):
        import botocore.session
        return botocore.session.get_session().create_client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret)

    def keys(self, bucket, prefix=""):
        """Every key under prefix with its size."""
        out, token = {}, None
        c = self.client()
        while True:
            args = {"Bucket": bucket, "Prefix": prefix}
            if token:
                args["ContinuationToken"] = token
            page = c.list_objects_v2(**args)
            for o in page.get("Contents", []):
                out[o["Key"]] = o["Size"]
            if not page.get("IsTruncated"):
                return out
            token = page["NextContinuationToken"]

    def read_json(self, bucket, key):
        return json.loads(self.client().get_object(Bucket=bucket, Key=key)["Body"].read())

    def verify(self, bucket, cluster, backup):
        """Every file the backup's manifests list downloads with its size and MD5 (the index
        names the manifests). Returns the number of files."""
        import hashlib
        index = self.read_json(bucket, f"{cluster}/backups/{backup}.json")
        client = self.client()
        files = 0
        for node in index["nodes"]:
            for f in self.read_json(bucket, node["manifest"])["files"]:
                body = client.get_object(Bucket=bucket, Key=f["key"])["Body"].read()
                assert len(body) == f["size"], f"{f['key']}: {len(body)} bytes, manifest {f['size']}"
                assert hashlib.md5(body).hexdigest() == f["md5"], f"{f['key']}: MD5 differs"
                files += 1
        return files

    def point_cluster_at(self, cluster, ns=NS):
        """The Cluster's storage locations, their endpoint this server's (a new port each run)."""
        locations = get("cluster", cluster, ns=ns)["spec"].get("storageLocations") or []
        assert locations, f"Cluster {cluster} has no storage location (10a adds them)"
        for location in locations:
            location["s3"]["endpoint"] = self.endpoint
        kubectl("patch", "cluster", cluster, "--type", "merge", "-p",
                json.dumps({"spec": {"storageLocations": locations}}), ns=ns)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


RESULTS_FILE = os.path.join(STATE_DIR, "results.tsv")  # run.sh: scenario, rc, seconds


def earlier_failures():
    """The scenarios of this run that failed so far (run.sh records each one's result)."""
    if not os.path.exists(RESULTS_FILE):
        return []
    with open(RESULTS_FILE) as f:
        return [line.split("\t")[0] for line in f if line.split("\t")[1:2] != ["0"]]


def run_scenario(body, needs, leaves, doc=None, before=None):
    """A scenario file's main. With --list: prints what the scenario does, needs and leaves, and
    touches nothing. Otherwise: before() (01 cleans the namespaces first), the operator up, its
    CPU/RSS samples continued from the scenario before, body(), PASS or FAIL, this scenario's
    figures (every figure also went to FIGURES_FILE), the samples saved. Returns the exit code."""
    doc = " ".join((doc or body.__doc__ or "").split())
    if "--list" in sys.argv[1:]:
        print(f"{SCENARIO}: {doc}\n  needs:  {needs}\n  leaves: {leaves}")
        return 0
    # A stopped run (SIGTERM) still stops its client and prints what it measured.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rc = 0
    sampling = False
    try:
        log(f"{SCENARIO}: {doc}")
        log(f"kubectl {KUBECTL}; Cassandra {CASSANDRA_VERSION}; budget {BUDGET:.0f}s, "
            f"{remaining():.0f}s left; state {STATE_DIR}")
        if before:
            before()
        wait_operator()
        SAMPLER.restore(load_state().get("sampler"))
        SAMPLER.sample()
        SAMPLER.start()
        sampling = True
        if "t_test" not in load_state():
            save_state(t_test=time.time())  # the footprint's window starts with the first scenario
        body()
        print(f"PASS {SCENARIO}", flush=True)
    except Exception as e:
        traceback.print_exc()
        print(f"FAIL {SCENARIO}: {e}", file=sys.stderr, flush=True)
        rc = 1
    finally:
        SAMPLER.stop_event.set()
        if sampling:
            SAMPLER.sample()
            save_state(sampler=SAMPLER.saved())
        print_figures(title=f"FIGURES ({SCENARIO})")
    return rc


if __name__ == "__main__":
    if sys.argv[1:] != ["figures"]:
        sys.exit("usage: e2elib.py figures   (the table of every scenario's figures)")
    print_figures(read_figures(), title=f"FIGURES (every scenario; {FIGURES_FILE})")
