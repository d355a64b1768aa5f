#!/usr/bin/env python3
"""e2e: a 3-node Cassandra cluster as a StatefulSet of the cassandra image on the local cluster.

Proves, against the real local Kubernetes (test/cluster/local-cluster.sh) and a real CQL client
(cassandra-driver): the 3 pods form one ring whose members are their per-pod Service IPs; every pod
answers CQL at its pod IP and at its Service IP; rows written at RF=3 / CL=ALL read back; a deleted
pod comes back on the same PVC with its data; a deleted PVC and pod come back with an empty volume
(the old volume's directory deleted) and the node rejoins by replacing itself. Prints timings.

Needs KUBECONFIG, KUBECTL, CASSANDRA_IMAGE in the environment (test/e2e/run.sh sets them).
"""
import os
import subprocess
import sys
import time

from cassandra import ConsistencyLevel
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.policies import WhiteListRoundRobinPolicy

NS = "e2e-cassandra"
PODS = ["cass-0", "cass-1", "cass-2"]
ROWS = 200
KUBECTL = os.environ["KUBECTL"]
IMAGE = os.environ["CASSANDRA_IMAGE"]
VOLUMES = os.path.join(os.environ["RINGKEEPER_CLUSTER_DIR"], "volumes")
HERE = os.path.dirname(os.path.abspath(__file__))
T_START = time.monotonic()
TIMINGS = []


def log(msg):
    print(f"[{time.monotonic() - T_START:6.1f}s] {msg}", flush=True)


def kubectl(*args, stdin=None, check=True):
    r = subprocess.run([KUBECTL, "-n", NS, *args], input=stdin, text=True, capture_output=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout.strip()


def jsonpath(kind, name, path):
    return kubectl("get", kind, name, "-o", f"jsonpath={path}", check=False)


def wait(what, fn, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # the next poll decides; the last error is reported on timeout
            last = e
        else:
            last = None
        if time.monotonic() > deadline:
            events = kubectl("get", "events", "--sort-by=.lastTimestamp", check=False)[-3000:]
            raise TimeoutError(f"timed out after {timeout}s waiting for {what} ({last})\n{events}")
        time.sleep(2)


def timed(name, t0):
    d = time.monotonic() - t0
    TIMINGS.append((name, d))
    log(f"{name}: {d:.1f}s")


def pod_ready(pod):
    return jsonpath("pod", pod, '{.status.conditions[?(@.type=="Ready")].status}') == "True"


def session_for(ip):
    profile = ExecutionProfile(
        load_balancing_policy=WhiteListRoundRobinPolicy([ip]),
        consistency_level=ConsistencyLevel.ALL, request_timeout=30)
    cluster = Cluster([ip], port=9042, auth_provider=PlainTextAuthProvider("cassandra", "cassandra"),
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile}, connect_timeout=10,
                      protocol_version=5)
    return cluster, cluster.connect()


def cql(ip, fn):
    cluster, session = session_for(ip)
    try:
        return fn(session)
    finally:
        cluster.shutdown()


def un_members(pod):
    """The addresses `nodetool status` on pod shows as Up/Normal."""
    out = kubectl("exec", pod, "--", "nodetool", "status", check=False)
    return sorted(line.split()[1] for line in out.splitlines() if line.startswith("UN "))


def count_rows(ip):
    return cql(ip, lambda s: s.execute("SELECT count(*) FROM e2e.kv").one()[0])


def all_up(service_ips):
    """Every node sees exactly the three Service IPs, all Up/Normal."""
    want = sorted(service_ips.values())
    return all(un_members(p) == want for p in PODS)


def volume_dirs(pvc):
    return [d for d in os.listdir(VOLUMES) if d.endswith(f"_{NS}_{pvc}")]


def main():
    kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true", "--timeout=120s")
    subprocess.run([KUBECTL, "create", "namespace", NS], check=True, capture_output=True)
    manifest = open(os.path.join(HERE, "cassandra-statefulset.yaml")).read().replace("@IMAGE@", IMAGE)

    t0 = time.monotonic()
    kubectl("apply", "-f", "-", stdin=manifest)
    wait("3 pods Running", lambda: all(
        jsonpath("pod", p, "{.status.phase}") == "Running" for p in PODS), 180)
    timed("pods created -> all Running", t0)
    wait("3 pods Ready (CQL open)", lambda: all(pod_ready(p) for p in PODS), 420)
    timed("pods created -> all Ready", t0)

    pod_ips = {p: jsonpath("pod", p, "{.status.podIP}") for p in PODS}
    service_ips = {p: jsonpath("service", p, "{.spec.clusterIP}") for p in PODS}
    log(f"pod IPs {pod_ips}; Service IPs {service_ips}")
    wait("a 3-node ring of the Service IPs, all UN as every node sees it", lambda: all_up(service_ips), 300)
    timed("pods created -> 3-node ring, all UN", t0)

    release = lambda s: s.execute("SELECT release_version FROM system.local").one().release_version
    for p in PODS:
        for ip in (pod_ips[p], service_ips[p]):
            assert ip.startswith("10.244.0.") or ip.startswith("10.96."), ip
            # The default superuser appears a few seconds after the ring forms.
            wait(f"{p} CQL login at {ip}", lambda ip=ip: cql(ip, release), 120)
    log("every pod answers CQL at its pod IP and at its Service IP")

    def write(s):
        s.execute("CREATE KEYSPACE IF NOT EXISTS e2e WITH replication = "
                  "{'class': 'NetworkTopologyStrategy', 'dc1': 3}")
        s.execute("CREATE TABLE IF NOT EXISTS e2e.kv (k int PRIMARY KEY, v text)")
        ins = s.prepare("INSERT INTO e2e.kv (k, v) VALUES (?, ?)")
        for k in range(ROWS):
            s.execute(ins, (k, f"value-{k}"))
    t1 = time.monotonic()
    wait("schema and rows written at CL=ALL", lambda: cql(service_ips["cass-0"], write) or True, 120)
    timed(f"write {ROWS} rows at RF=3, CL=ALL", t1)
    for p in PODS:
        n = count_rows(service_ips[p])
        assert n == ROWS, f"{p} sees {n} rows, want {ROWS}"
        v = cql(pod_ips[p], lambda s: s.execute("SELECT v FROM e2e.kv WHERE k = 42").one().v)
        assert v == "value-42", v
    log(f"every node reads back {ROWS} rows at CL=ALL")

    # A deleted pod comes back on the same PVC, with its data.
    pvc_uid = jsonpath("pvc", "data-cass-1", "{.metadata.uid}")
    kubectl("exec", "cass-1", "--", "sh", "-c", "echo first-life > /var/lib/cassandra/e2e-marker")
    t2 = time.monotonic()
    old_uid = jsonpath("pod", "cass-1", "{.metadata.uid}")
    kubectl("delete", "pod", "cass-1", "--wait=true", "--timeout=120s")
    wait("cass-1 recreated and Ready", lambda: jsonpath("pod", "cass-1", "{.metadata.uid}") not in
         ("", old_uid) and pod_ready("cass-1"), 300)
    timed("pod deleted -> back and Ready on the same PVC", t2)
    assert jsonpath("pvc", "data-cass-1", "{.metadata.uid}") == pvc_uid, "cass-1's PVC changed"
    marker = kubectl("exec", "cass-1", "--", "cat", "/var/lib/cassandra/e2e-marker")
    assert marker == "first-life", marker
    wait("cass-1 back in the ring", lambda: all_up(service_ips), 180)
    assert count_rows(service_ips["cass-1"]) == ROWS
    log("cass-1 came back on its PVC with its data")

    # A deleted PVC and pod come back with an empty volume; the node replaces itself.
    old_pvc_uid = jsonpath("pvc", "data-cass-2", "{.metadata.uid}")
    old_pv = jsonpath("pvc", "data-cass-2", "{.spec.volumeName}")
    assert volume_dirs("data-cass-2"), "no volume directory for data-cass-2"
    kubectl("exec", "cass-2", "--", "sh", "-c", "echo first-life > /var/lib/cassandra/e2e-marker")
    kubectl("patch", "configmap", "cass-replace", "--type=merge", "-p", '{"data":{"cass-2":"replace"}}')
    t3 = time.monotonic()
    old_uid = jsonpath("pod", "cass-2", "{.metadata.uid}")
    kubectl("delete", "pvc", "data-cass-2", "--wait=false")
    kubectl("delete", "pod", "cass-2", "--wait=true", "--timeout=120s")
    wait("a new PVC data-cass-2", lambda: jsonpath("pvc", "data-cass-2", "{.metadata.uid}") not in
         ("", old_pvc_uid) and jsonpath("pvc", "data-cass-2", "{.status.phase}") == "Bound", 180)
    wait(f"old PV {old_pv} deleted with its data", lambda: not kubectl(
        "get", "pv", old_pv, "--ignore-not-found", check=False) and
         all(old_pv not in d for d in os.listdir(VOLUMES)), 120)
    wait("cass-2 recreated and Running", lambda: jsonpath("pod", "cass-2", "{.metadata.uid}") not in
         ("", old_uid) and jsonpath("pod", "cass-2", "{.status.phase}") == "Running", 180)
    timed("PVC + pod deleted -> new empty volume, pod Running", t3)
    out = kubectl("exec", "cass-2", "--", "sh", "-c", "cat /var/lib/cassandra/e2e-marker 2>&1 || true")
    assert "first-life" not in out, "cass-2's new volume still holds the old marker"
    wait("cass-2 Ready (replaced itself)", lambda: pod_ready("cass-2"), 420)
    wait("cass-2 back in the ring", lambda: all_up(service_ips), 180)
    timed("PVC + pod deleted -> node replaced and in the ring", t3)
    logs = kubectl("logs", "cass-2", check=False)
    assert "empty volume: replacing" in logs, "cass-2 did not start as a replacement"
    for p in PODS:
        assert count_rows(service_ips[p]) == ROWS
    log("cass-2 came back with an empty volume and rejoined by replacing itself; all rows read at CL=ALL")

    print("\nTIMINGS")
    for name, d in TIMINGS:
        print(f"  {name:55s} {d:7.1f}s")
    print(f"  {'e2e total':55s} {time.monotonic() - T_START:7.1f}s")
    if os.environ.get("E2E_KEEP") != "1":
        kubectl("delete", "namespace", NS, "--wait=true", "--timeout=180s", check=False)
    print("PASS")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
