#!/usr/bin/env python3
"""e2e: the Ringkeeper operator on the local Kubernetes, with a real CQL client throughout.

Against the real local cluster (test/cluster/local-cluster.sh), the operator as deployed by
hack/install-operator.sh (2 replicas, leader election on Lease ringkeeper-system/ringkeeper-operator)
and a real CQL client (cassandra-driver) writing and reading at QUORUM, this proves, in order:

  1. creation timing: a 1-member Cluster to Ready (one node's start), scaled 1→2→3 (one at a
     time), against a 3-member Cluster created at once (should take about one node's start);
  2. CQL with the generated superuser (cassandra/cassandra refused); keyspace at RF 3, N rows;
  3. a background client (writes new rows, reads earlier ones, idempotent, QUORUM) whose
     successes and failures are counted per phase;
  4. scale 3→4 (Cleanup event) and 4→3 (StatefulSet, member Service, status shrink);
  5. scale to 2 refused (ScaleDownRefused names the keyspace and its RF) and back;
  6. a pod and its PVC deleted: the member comes back with the same address, UN;
  7. a config change restarts every pod one at a time with zero client failures;
  8. the operator leader SIGKILLed mid decommission: the next leader finishes it;
  9. the operator leader SIGKILLed mid replacement: the next leader finishes it;
 10. with nothing changed, reconcile passes make zero writes to the API server;
 11. the operator's RSS and CPU;
 12. deleting the Cluster removes what it owns and retains the PVCs.
A table of every figure is printed at the end (also after a failure, with what was measured).

Needs KUBECONFIG, KUBECTL and CASSANDRA_VERSION (test/e2e/run.sh sets them); runs as root on the
host of the local cluster (it reads /proc of the operator's processes and SIGKILLs the leader).
E2E_KEEP=1 keeps the namespace afterwards; a failed run always keeps it for inspection.
"""
import base64
import datetime
import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import yaml
from cassandra import AuthenticationFailed, ConsistencyLevel
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.policies import (DCAwareRoundRobinPolicy, ExponentialReconnectionPolicy,
                                TokenAwarePolicy, WhiteListRoundRobinPolicy)
from cassandra.query import SimpleStatement

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SEED = os.path.join(ROOT, "config", "samples", "seed-example.yaml")

NS = "e2e-operator"
NS_SINGLE = "e2e-operator-single"
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
T_START = time.monotonic()
FIGURES = []  # (section, name, value): the summary table

# Direct connections only: pod IPs are never sent to an HTTP proxy.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def cassandra_version():
    v = os.environ.get("CASSANDRA_VERSION")
    if v:
        return v
    with open(os.path.join(ROOT, "versions.env")) as f:
        return re.search(r"^CASSANDRA_VERSION=(\S+)", f.read(), re.M)[1]


CASSANDRA_VERSION = cassandra_version()


# --- output ----------------------------------------------------------------------------------

def log(msg):
    print(f"[{time.monotonic() - T_START:7.1f}s] {msg}", flush=True)


def figure(section, name, value):
    FIGURES.append((section, name, value))
    log(f"{section}: {name} = {value}")


def timed(section, name, t0):
    d = time.monotonic() - t0
    figure(section, name, f"{d:.1f}s")
    return d


def print_figures():
    print("\nFIGURES", flush=True)
    w = max([len(f"{s} | {n}") for s, n, _ in FIGURES] + [20])
    print(f"  {'section | figure':{w}s}  value")
    print(f"  {'-' * w}  {'-' * 24}")
    for section, name, value in FIGURES:
        print(f"  {f'{section} | {name}':{w}s}  {value}")
    print(f"  {'total | e2e wall time':{w}s}  {time.monotonic() - T_START:.1f}s", flush=True)


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
    return BUDGET - (time.monotonic() - T_START)


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


def delete_namespace(ns, timeout):
    kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=false", ns=None)
    wait(f"namespace {ns} gone (its pods too)",
         lambda: not kubectl("get", "namespace", ns, "--ignore-not-found", "-o", "name", ns=None),
         timeout, ns=ns, interval=2)


# --- the operator's processes, Lease, metrics -----------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def operator_processes():
    """Host PID -> pod name of every ringkeeper-operator process running in an operator pod (the
    container's HOSTNAME is its pod's name)."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                arg0 = f.read().split(b"\0")[0]
            if os.path.basename(arg0) != OPERATOR.encode():
                continue
            with open(f"/proc/{d}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        host = next((e[9:].decode() for e in env if e.startswith(b"HOSTNAME=")), "")
        if host.startswith(OPERATOR + "-"):
            out[int(d)] = host
    return out


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


def connect(contact, user, password, whitelist=False, connect_timeout=10):
    lbp = (WhiteListRoundRobinPolicy([contact]) if whitelist
           else TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=DC)))
    profile = ExecutionProfile(load_balancing_policy=lbp, consistency_level=QUORUM,
                               request_timeout=15)
    cluster = Cluster([contact], port=9042, auth_provider=PlainTextAuthProvider(user, password),
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                      connect_timeout=connect_timeout, protocol_version=5,
                      reconnection_policy=ExponentialReconnectionPolicy(0.5, 8),
                      max_schema_agreement_wait=30)
    try:
        return cluster, cluster.connect()
    except Exception:
        cluster.shutdown()
        raise


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


def on_node(ip, creds, fn):
    """fn(session) on the node at ip only."""
    cluster, session = connect(ip, *creds, whitelist=True)
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

    def __init__(self, contact, creds, max_seconds):
        super().__init__(name="cql-load", daemon=True)
        self.cluster, self.session = connect(contact, *creds)
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
        self.phase = "steady"
        self.phases = {}  # name -> counters
        self.phase_order = []
        self.keys = []  # confirmed keys, in write order
        self.written = {}  # confirmed key -> value
        self.crash = None
        self._open_phase(self.phase)

    def _open_phase(self, name):
        if name not in self.phases:
            self.phases[name] = {"writes ok": 0, "writes failed": 0, "reads ok": 0,
                                 "reads failed": 0, "lost": 0, "errors": [],
                                 "start": time.monotonic(), "end": None}
            self.phase_order.append(name)

    def set_phase(self, name):
        with self.lock:
            self.phases[self.phase]["end"] = time.monotonic()
            self.phase = name
            self._open_phase(name)
        log(f"client phase: {name}")

    def _count(self, phase, what, error=None):
        with self.lock:
            p = self.phases[phase]
            p[what] += 1
            if error is not None and len(p["errors"]) < 5:
                p["errors"].append(f"{time.monotonic() - T_START:.1f}s {what}: {error!r}"[:300])

    def failures(self, phase):
        with self.lock:
            p = self.phases.get(phase)
            return 0 if p is None else p["writes failed"] + p["reads failed"] + p["lost"]

    def total(self, what):
        with self.lock:
            return sum(p[what] for p in self.phases.values())

    def confirmed(self):
        with self.lock:
            return dict(self.written)

    def run(self):
        rng = random.Random(7)
        key = LOAD_FIRST_KEY
        deadline = time.monotonic() + self.max_seconds
        try:
            while not self.stop_event.is_set() and time.monotonic() < deadline:
                phase = self.phase
                if self.writes_on.is_set():
                    value = f"load-{key}"
                    try:
                        self.session.execute(self.ins, (key, value))
                        self._count(phase, "writes ok")
                        with self.lock:
                            self.written[key] = value
                            self.keys.append(key)
                    except Exception as e:
                        self._count(phase, "writes failed", e)
                    key += 1
                with self.lock:
                    k = rng.choice(self.keys) if self.keys else None
                    want = self.written.get(k)
                if k is not None:
                    try:
                        row = self.session.execute(self.sel, (k,)).one()
                        if row is None or row.v != want:
                            self._count(phase, "lost", f"key {k}: got {row and row.v!r}, want {want!r}")
                        else:
                            self._count(phase, "reads ok")
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


# --- the scenarios ---------------------------------------------------------------------------

def wait_operator():
    """The operator installed by hack/install-operator.sh: two processes, a leader on the Lease."""
    t0 = time.monotonic()
    wait("two operator processes", lambda: len(set(operator_processes().values())) >= 2, 180,
         ns=OPERATOR_NS)
    pod, pid, ip = wait("an operator leader", leader, 120, ns=OPERATOR_NS)
    wait(f"{pod} serving /metrics", lambda: scrape(ip), 60, ns=OPERATOR_NS)
    log(f"operator leader {pod} (host pid {pid}, {ip}) after {time.monotonic() - t0:.1f}s")


def create_cluster(n, members):
    kubectl("create", "namespace", n.ns, ns=None)
    kubectl("apply", "-f", "-", stdin=json.dumps(cluster_manifest(n.cluster, members)), ns=n.ns)


def scenario_timing():
    """1. One node's start, one at a time to 3, and 3 at once."""
    s = Names(SINGLE, NS_SINGLE)
    t0 = time.monotonic()
    create_cluster(s, 1)
    kubectl_wait_ready(s, 600)
    wait_ready(s, 1, 60)
    one = timed("1 timing", "single: created → Ready 1/1 (one node's start)", t0)
    ups = []
    for members in (2, 3):
        t = time.monotonic()
        patch_members(s, members)
        wait_ready(s, members, 600)
        ups.append(timed("1 timing", f"single: scale {members - 1}→{members} → Ready "
                                     f"{members}/{members}", t))
    figure("1 timing", "one at a time to 3 (start + 2 scale-ups)", f"{one + sum(ups):.1f}s")
    # Grown while serving: the system keyspaces follow the DC, one repaired step at a time.
    t = time.monotonic()
    cluster, session = connect(service_ip(s.client, ns=s.ns), *superuser(s))
    try:
        check_system_replication(s, session, 3, ["system_auth 1→2", "system_auth 2→3"])
    finally:
        cluster.shutdown()
    timed("1 timing", "single: Ready 3/3 → system keyspaces at RF 3, repaired", t)
    t = time.monotonic()
    kubectl("delete", CRD, s.cluster, "--wait=true", "--timeout=180s", ns=s.ns, timeout=210)
    delete_namespace(NS_SINGLE, 300)
    timed("1 timing", f"single: Cluster and namespace {NS_SINGLE} deleted", t)

    m = Names(MAIN, NS)
    t0 = time.monotonic()
    create_cluster(m, 3)
    kubectl_wait_ready(m, 900)
    wait_ready(m, 3, 60)
    three = timed("1 timing", f"{MAIN}: 3 at once, created → Ready 3/3", t0)
    figure("1 timing", "one node | one at a time to 3 | 3 at once",
           f"{one:.1f}s | {one + sum(ups):.1f}s | {three:.1f}s (3 at once = {three / one:.2f}× one node)")


def scenario_cql(m):
    """2. The generated superuser; cassandra/cassandra refused; keyspace at RF 3; N rows."""
    wait("status.authReady", lambda: (cluster_obj(m).get("status") or {}).get("authReady"), 180)
    creds = superuser(m)
    ip = service_ip(m.client)
    assert ip, f"no ClusterIP on Service {m.client}"
    log(f"client Service {m.client} at {ip}; superuser {creds[0]!r}")
    # Ready and authReady promise a working login: count the refusals a user would see first.
    refusals = []

    def login():
        try:
            return quiet_connect(ip, *creds)
        except NoHostAvailable as e:
            if auth_refused(e):
                refusals.append(time.monotonic())
            raise
    t0 = time.monotonic()
    cluster, session = wait(f"CQL login as {creds[0]} at {ip}", login, 120, interval=0.5)
    timed("2 CQL", "authReady → first superuser login", t0)
    figure("2 CQL", "superuser logins refused after authReady", len(refusals))
    # Cassandra caches a role's login right for roles_validity (2 s) and the operator logged in
    # as cassandra moments before disabling it: bounded wait, then the time is a figure.
    t0 = time.monotonic()
    wait("cassandra/cassandra refused", lambda: default_login_refused(ip), 30, interval=0.5)
    timed("2 CQL", "authReady → cassandra/cassandra refused (Cassandra's role cache)", t0)
    # Created at 3: straight to RF 3 and repaired before the superuser was written.
    check_system_replication(m, session, 3, ["system_auth 1→3"])
    log("CQL answers the generated superuser; cassandra/cassandra is refused")
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = "
                    f"{{'class': 'NetworkTopologyStrategy', '{DC}': {RF}}}")
    session.execute(f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.kv (k int PRIMARY KEY, v text)")
    ins = session.prepare(f"INSERT INTO {KEYSPACE}.kv (k, v) VALUES (?, ?)")
    ins.consistency_level = QUORUM
    ins.is_idempotent = True
    t0 = time.monotonic()
    execute_concurrent_with_args(session, ins, [(k, f"value-{k}") for k in range(ROWS)],
                                 concurrency=20, raise_on_first_error=True)
    timed("2 CQL", f"write {ROWS} rows at QUORUM (RF {RF})", t0)
    check_rows(session, None, "initial rows")
    return ip, creds, cluster, session


def keyspaces_at_rf3(session):
    out = []
    for r in session.execute("SELECT keyspace_name, replication FROM system_schema.keyspaces"):
        if r.replication.get(DC) == str(RF):
            out.append(r.keyspace_name)
    return out


def scenario_scale_up_down(m, load, session):
    """4. 3→4 with a Cleanup event, then 4→3."""
    load.set_phase("scale up 3→4")
    cleanups = events(NS, "Cleanup")
    t = time.monotonic()
    patch_members(m, 4)
    wait_ready(m, 4, 600)
    timed("4 scale", "3→4 → Ready 4/4", t)
    wait("a Cleanup event after the scale-up", lambda: events(NS, "Cleanup") > cleanups, 300)
    timed("4 scale", "3→4 → Cleanup event", t)

    load.set_phase("scale down 4→3")
    t = time.monotonic()
    patch_members(m, 3)
    wait_scaled_down(m, 600)
    timed("4 scale", "4→3 → StatefulSet 3, Service -3 gone, Ready 3/3", t)
    check_rows(session, load, "after 4→3")


def wait_scaled_down(m, timeout):
    def done():
        obj = ready_with(m, 3)
        return (obj and len(status_members(obj)) == 3
                and jsonpath("statefulset", m.sts, "{.spec.replicas}") == "3"
                and not kubectl("get", "service", m.member_service(3), "--ignore-not-found",
                                "-o", "name", check=False))
    wait("StatefulSet at 3 replicas, member Service -3 gone, 3 members in status", done, timeout)


def scenario_scale_down_refused(m, load, session):
    """5. Below RF is refused with a condition naming the keyspace; nothing is decommissioned."""
    load.set_phase("scale down to 2 refused")
    rf3 = keyspaces_at_rf3(session)
    assert KEYSPACE in rf3, rf3
    t = time.monotonic()
    patch_members(m, 2)

    def refused():
        obj = cluster_obj(m)
        c = condition(obj, "ScaleDownRefused")
        if c and c["status"] == "True" and (obj["status"].get("observedGeneration", -1)
                                            >= obj["metadata"]["generation"]):
            return c
        return None
    c = wait("condition ScaleDownRefused True", refused, 120)
    timed("5 refuse", "members 2 → ScaleDownRefused", t)
    log(f"ScaleDownRefused: reason {c.get('reason')}: {c.get('message')}")
    named = [ks for ks in rf3 if ks in c.get("message", "")]
    assert named and re.search(rf"\b{RF}\b", c["message"]), \
        f"the message names no keyspace at RF {RF} ({rf3}): {c['message']!r}"
    obj = cluster_obj(m)
    assert jsonpath("statefulset", m.sts, "{.spec.replicas}") == "3", "StatefulSet changed"
    assert not (obj.get("status") or {}).get("operation"), f"an operation started: {obj['status']}"
    states = sorted(mb.get("state") for mb in status_members(obj))
    assert states == ["UN"] * 3, f"members not all UN: {states}"
    pod_map = pods(m)
    assert all(pod_ready(pod_map.get(m.pod(i))) for i in range(3)), "a pod is not Ready"
    assert len(ring_un(m, m.pod(0))) == 3, "the ring lost a member"
    assert events(NS, "ScaleDownRefused"), "no ScaleDownRefused event"
    log("nothing was decommissioned: StatefulSet 3, 3 members UN, no operation")

    t = time.monotonic()
    patch_members(m, 3)

    def cleared():
        obj = ready_with(m, 3)
        c = condition(obj, "ScaleDownRefused") if obj else None
        return obj and (c is None or c["status"] == "False")
    wait("ScaleDownRefused False (or gone) after members 3", cleared, 120)
    timed("5 refuse", "members back to 3 → condition cleared", t)


def scenario_pod_and_pvc_lost(m, load, session):
    """6. Pod -1 and its PVC deleted: the member returns with the same address, UN."""
    load.set_phase("pod + PVC deleted")
    pod, pvc, svc = m.pod(1), m.pvc(1), m.member_service(1)
    before = member_of(cluster_obj(m), pod)
    assert before and before.get("address"), f"no status member for {pod}"
    svc_ip = service_ip(svc)
    assert before["address"] == svc_ip, f"member address {before['address']} is not {svc}'s {svc_ip}"
    old_pod, old_pvc = uid("pod", pod), uid("pvc", pvc)
    assert old_pvc, f"no PVC {pvc}"
    t = time.monotonic()
    kubectl("delete", "pvc", pvc, "--wait=false")
    kubectl("delete", "pod", pod, "--wait=false")

    def back():
        p = pods(m).get(pod)
        if not p or p["metadata"]["uid"] == old_pod or not pod_ready(p):
            return None
        new_pvc = uid("pvc", pvc)
        obj = ready_with(m, 3)
        mb = member_of(obj, pod) if obj else None
        return new_pvc and new_pvc != old_pvc and mb and mb.get("state") == "UN" and mb
    mb = wait(f"{pod} back on a new PVC, UN, Ready 3/3", back, 900)
    timed("6 volume loss", "pod + PVC deleted → member back UN, Ready 3/3", t)
    assert mb["address"] == before["address"], f"address changed: {before['address']} → {mb['address']}"
    un = ring_un(m, m.pod(0))
    assert before["address"] in un and len(un) == 3, f"ring from {m.pod(0)}: UN {un}"
    log(f"{pod} returned as {mb['address']} (same Service IP), UN in the ring")
    check_rows(session, load, "after pod + PVC loss")


def scenario_rolling_restart(m, load, creds):
    """7. A config change: pods restart one at a time, zero client failures."""
    load.set_phase("rolling restart (config)")
    before = {name: p["metadata"]["uid"] for name, p in pods(m).items()}
    assert len(before) == 3, before
    worst = {"not ready": 0}
    order = []
    # A harmless setting, to a value the nodes do not have yet (the default follows the cores).
    # A pod is Ready (UN as its peers see it) a moment before it opens CQL: wait for each.
    current = [wait(f"{m.pod(i)} answers CQL",
                    lambda i=i: setting(service_ip(m.member_service(i)), creds,
                                        "concurrent_compactors"), 120)
               for i in range(3)]
    value = 1 if "1" not in current else 2
    log(f"concurrent_compactors {current} → {value}")
    t = time.monotonic()
    kubectl("patch", CRD, m.cluster, "--type=merge", "-p",
            json.dumps({"spec": {"config": {"concurrent_compactors": value}}}))

    def done():
        now = pods(m)
        not_ready = 3 - sum(1 for name in before if pod_ready(now.get(name)))
        worst["not ready"] = max(worst["not ready"], not_ready)
        for name in before:
            p = now.get(name)
            if p and p["metadata"]["uid"] != before[name] and name not in order:
                order.append(name)
        assert worst["not ready"] <= 1, f"{not_ready} cassandra pods not Ready at once"
        renewed = all(now.get(name) and now[name]["metadata"]["uid"] != before[name]
                      for name in before)
        return renewed and ready_with(m, 3)
    wait_strict("every pod restarted once, one at a time, Ready 3/3", done, 900)
    timed("7 rolling restart", "config change → every pod restarted, Ready 3/3", t)
    figure("7 rolling restart", "most cassandra pods not Ready at once (sampled ~1/s)",
           worst["not ready"])
    log(f"restart order: {order}")
    for i in range(3):
        # Ready means UN as the peers see it; CQL on the node may open a moment later.
        ip = service_ip(m.member_service(i))
        v = wait(f"{m.pod(i)} answering CQL at {ip}",
                 lambda ip=ip: setting(ip, creds, "concurrent_compactors"), 60)
        assert v == str(value), f"{m.pod(i)}: concurrent_compactors = {v}, want {value}"
    log(f"concurrent_compactors = {value} on every node (system_views.settings)")
    load.set_phase("after rolling restart")
    failed = load.failures("rolling restart (config)")
    figure("7 rolling restart", "client failures during the restart", failed)
    assert failed == 0, f"{failed} client failures during the rolling restart"


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


class AssertionFailure:
    def __init__(self, error):
        self.error = error


def wait_operation(m, kind, timeout):
    def under_way():
        op = ((cluster_obj(m) or {}).get("status") or {}).get("operation") or {}
        return op if op.get("kind") == kind else None
    return wait(f"status.operation.kind == {kind}", under_way, timeout, interval=0.5)


def scenario_kill_mid_decommission(m, load, session):
    """8. SIGKILL the leader while a decommission is under way; the next leader finishes it."""
    load.set_phase("leader killed mid decommission")
    t = time.monotonic()
    patch_members(m, 4)
    wait_ready(m, 4, 600)
    timed("8 kill mid decommission", "3→4 → Ready 4/4", t)
    t = time.monotonic()
    patch_members(m, 3)
    op = wait_operation(m, "Decommission", 180)
    timed("8 kill mid decommission", "4→3 → operation Decommission", t)
    log(f"operation under way: {op}")
    kill_leader("8 kill mid decommission")
    wait_scaled_down(m, 600)
    timed("8 kill mid decommission", "4→3 → done (StatefulSet 3, Service gone, operation cleared)", t)
    check_rows(session, load, "after the decommission across a leader kill")


def scenario_kill_mid_replace(m, load, session):
    """9. SIGKILL the leader while a replacement is under way; the next leader finishes it."""
    load.set_phase("leader killed mid replace")
    pod = m.pod(2)
    before = member_of(cluster_obj(m), pod)
    assert before and before.get("address"), f"no status member for {pod}"
    old_pod = uid("pod", pod)
    t = time.monotonic()
    kubectl("label", "pod", pod, f"{REPLACE_LABEL}=true")
    op = wait_operation(m, "Replace", 180)
    timed("9 kill mid replace", "label → operation Replace", t)
    log(f"operation under way: {op}")
    kill_leader("9 kill mid replace")

    def back():
        p = pods(m).get(pod)
        if not p or p["metadata"]["uid"] == old_pod or not pod_ready(p):
            return None
        obj = ready_with(m, 3)
        mb = member_of(obj, pod) if obj else None
        return mb if mb and mb.get("state") == "UN" else None
    mb = wait(f"{pod} replaced, UN, operation cleared, Ready 3/3", back, 900)
    timed("9 kill mid replace", "label → replaced, UN, Ready 3/3", t)
    assert mb["address"] == before["address"], f"address changed: {before['address']} → {mb['address']}"
    assert len(ring_un(m, m.pod(0))) == 3, "ring not 3 UN"
    label = jsonpath("pod", pod, "{.metadata.labels.cassandra\\.rook\\.io/replace}")
    log(f"{pod} back as {mb['address']}; replace label on the new pod: {label or '(none)'}"
        " (a leftover label must be ignored: the idle check below would see a second replacement)")
    assert events(NS, "Replaced"), "no Replaced event"
    check_rows(session, load, "after the replacement across a leader kill")
    return old_pod


def scenario_idle(m, load):
    """10. With nothing changed, reconcile passes make zero writes."""
    load.set_phase("idle (client reads only)")
    load.writes_on.clear()  # data written changes a node's load, which status may report
    try:
        wait_ready(m, 3, 120)
        pod, _, ip = wait("an operator leader", leader, 60, ns=OPERATOR_NS)
        # One pass after everything above settled, then the measured window.
        first = reconcile_count(scrape(ip))
        wait("one settling reconcile pass", lambda: reconcile_count(scrape(ip)) >= first + 1, 60,
             ns=OPERATOR_NS)
        s0 = scrape(ip)
        t = time.monotonic()
        r0, w0 = reconcile_count(s0), write_counts(s0)
        def two_passes():
            s = scrape(ip)
            return s if reconcile_count(s) >= r0 + 2 else None
        s1 = wait("2 more reconcile passes (resync 15s)", two_passes, 90, ns=OPERATOR_NS)
        window = time.monotonic() - t
        assert lease_holder_pod() == pod, "the leader changed during the measurement"
        r1, w1 = reconcile_count(s1), write_counts(s1)
        delta = {v: w1[v] - w0[v] for v in WRITE_VERBS}
        figure("10 idle", "reconcile passes (ringkeeper_reconcile_total)",
               f"{r0:.0f} → {r1:.0f} (+{r1 - r0:.0f} in {window:.0f}s)")
        figure("10 idle", "writes (ringkeeper_kube_requests_total POST/PUT/PATCH/DELETE)",
               " ".join(f"{v} {w0[v]:.0f}→{w1[v]:.0f}" for v in WRITE_VERBS))
        assert not any(delta.values()), f"idle reconcile passes wrote to the API server: {delta}"
    finally:
        load.writes_on.set()
        load.set_phase("after idle")


def scenario_delete(m):
    """12. The Cluster deleted: owned objects go, PVCs stay (pvcDeletionPolicy Retain)."""
    t = time.monotonic()
    kubectl("delete", CRD, m.cluster, "--wait=true", "--timeout=300s", timeout=330)

    def gone():
        left = kubectl("get", "statefulsets,services,pods,poddisruptionbudgets", "-l", m.selector,
                       "-o", "name")
        return not left
    wait("StatefulSets, Services, pods, PDBs of the Cluster gone", gone, 300)
    timed("12 delete", "Cluster deleted → owned objects gone", t)
    pvcs = kubectl("get", "pvc", "-o", "jsonpath={.items[*].metadata.name}").split()
    for i in range(3):
        assert m.pvc(i) in pvcs, f"PVC {m.pvc(i)} was not retained: {pvcs}"
    figure("12 delete", "PVCs retained", len([p for p in pvcs if p.startswith(f"cassandra-data-{m.sts}-")]))


def main():
    log(f"kubectl {KUBECTL}; Cassandra {CASSANDRA_VERSION}; budget {BUDGET:.0f}s")
    for ns in (NS, NS_SINGLE):
        delete_namespace(ns, 300)
    wait_operator()
    SAMPLER.sample()
    SAMPLER.start()
    t_test = time.monotonic()

    scenario_timing()
    m = Names(MAIN, NS)
    ip, creds, cluster, session = scenario_cql(m)
    load = Load(ip, creds, max_seconds=max(remaining(), 60))
    load.start()
    try:
        wait("the client's first writes", lambda: load.total("writes ok") >= 20, 60)
        scenario_scale_up_down(m, load, session)
        scenario_scale_down_refused(m, load, session)
        scenario_pod_and_pvc_lost(m, load, session)
        scenario_rolling_restart(m, load, creds)
        scenario_kill_mid_decommission(m, load, session)
        scenario_kill_mid_replace(m, load, session)
        scenario_idle(m, load)
        load.set_phase("final check")
        figure("client", "rows read back at QUORUM at the end",
               check_rows(session, load, "at the end"))
    finally:
        load.stop()
        load.report()
        cluster.shutdown()
    assert load.crash is None, f"the client loop crashed: {load.crash!r}"
    lost = load.total("lost")
    assert lost == 0, f"the client found {lost} confirmed rows missing or wrong"

    # 11. The operator's footprint.
    SAMPLER.sample()
    wall = time.monotonic() - t_test
    cpu = SAMPLER.cpu_seconds()
    pod, pid, _ = wait("an operator leader", leader, 60, ns=OPERATOR_NS)
    figure("11 operator", "leader RSS (VmRSS)", f"{proc_rss_kib(pid) / 1024:.1f} MiB ({pod})")
    figure("11 operator", "largest RSS seen (any replica)",
           f"{max(r for *_, r in SAMPLER.per_process()) / 1024:.1f} MiB")
    figure("11 operator", "CPU, all replicas (utime+stime / wall)",
           f"{cpu:.1f}s / {wall:.0f}s = {100 * cpu / wall:.2f}% of one core")
    for p, name, secs, rss in SAMPLER.per_process():
        log(f"  operator process {p} ({name}): {secs:.1f}s CPU, max RSS {rss / 1024:.1f} MiB")

    scenario_delete(m)
    if os.environ.get("E2E_KEEP") != "1":
        delete_namespace(NS, 300)


if __name__ == "__main__":
    # A stopped run (SIGTERM) still stops its client and prints what it measured.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rc = 0
    try:
        main()
        print("PASS", flush=True)
    except Exception as e:
        print(f"FAIL: {e}", file=sys.stderr, flush=True)
        rc = 1
    finally:
        SAMPLER.stop_event.set()
        print_figures()
    sys.exit(rc)
