#!/usr/bin/env python3
"""e2e 03e: the agents' API port is reachable from the operator and the cluster's own pods only
(issue 13: "the agent's port reachable from the operator only (a NetworkPolicy; not through the
member Service's other users)"), on the shared Cluster.

The operator made the NetworkPolicy <cluster>-agent; the local cluster enforces it
(kube-network-policies, test/cluster/local-cluster.sh). From a probe pod in the Cluster's namespace
that is not one of its pods: a Cassandra pod's 8090, by pod IP and through its member Service, does
not connect; its 9042 (CQL), 7000 (internode) and 8091 (health, metrics) do. From a Cassandra pod,
a peer's 8090 connects (peers read each other's ring for their readiness). That the operator reaches
every agent is what every other scenario rests on. Then the policy is shown to be what refuses: the
Cluster paused, the policy deleted, the probe connects to 8090; unpaused, the operator puts the policy
back and the probe is refused again. Helpers and state: e2elib.py."""
import json
import subprocess
import sys
import time

from e2elib import (CRD, KUBECTL, MAIN, NS, Names, figure, get, kubectl, log, pods, run_scenario,
                    service_ip, timed, wait)

NEEDS = "the shared Cluster Ready 3/3 (02)"
LEAVES = "the shared Cluster untouched (paused and unpaused; its NetworkPolicy put back)"

PROBE = "e2e-probe"
PROBE_IMAGE = "localhost/debian:bookworm-slim"  # loaded by the local cluster (hack/images.sh base)
POLICY = f"{MAIN}-agent"


def connects(pod, ip, port, container=None):
    """Whether a TCP connection from `pod` to ip:port is established within 3 s."""
    where = ["-c", container] if container else []
    r = subprocess.run([KUBECTL, "-n", NS, "exec", pod, *where, "--", "timeout", "3", "bash", "-c",
                        f"exec 3<>/dev/tcp/{ip}/{port}"], capture_output=True, text=True,
                       timeout=60)
    return r.returncode == 0


def scenario_network_policy():
    """The agents' port: refused to a stranger pod, open to peers, and refused by the policy."""
    m = Names(MAIN, NS)
    policy = get("networkpolicy", POLICY)
    owner = policy["metadata"]["ownerReferences"][0]
    assert owner["kind"] == "Cluster" and owner["name"] == MAIN, owner
    agent_rule = policy["spec"]["ingress"][1]
    assert agent_rule["ports"] == [{"protocol": "TCP", "port": 8090}], agent_rule
    log(f"{POLICY}: 8090 from {json.dumps(agent_rule['from'])}")

    kubectl("run", PROBE, f"--image={PROBE_IMAGE}", "--image-pull-policy=Never", "--restart=Never",
            "--command", "--", "sleep", "900")
    try:
        kubectl("wait", "--for=condition=Ready", f"pod/{PROBE}", "--timeout=120s", timeout=150)
        now = pods(m)
        target = now[m.pod(0)]["status"]["podIP"]
        peer = m.pod(1)
        member_service = service_ip(m.member_service(0))
        checks = {
            ("probe", "pod IP", 8090): connects(PROBE, target, 8090),
            ("probe", "member Service", 8090): connects(PROBE, member_service, 8090),
            ("probe", "pod IP", 9042): connects(PROBE, target, 9042),
            ("probe", "pod IP", 7000): connects(PROBE, target, 7000),
            ("probe", "pod IP", 8091): connects(PROBE, target, 8091),
            (peer, "pod IP", 8090): connects(peer, target, 8090, container="cassandra"),
        }
        for (source, via, port), ok in checks.items():
            figure("3e policy", f"{source} → {m.pod(0)} {via}:{port}",
                   "connects" if ok else "no connection")
        assert not checks[("probe", "pod IP", 8090)], "a stranger pod reached the agents' API"
        assert not checks[("probe", "member Service", 8090)], \
            "a stranger pod reached the agents' API through the member Service"
        for port in (9042, 7000, 8091):
            assert checks[("probe", "pod IP", port)], f"the policy closed port {port}"
        assert checks[(peer, "pod IP", 8090)], "a peer cannot reach the agents' API"

        # The policy is what refuses: paused (the operator leaves its objects alone) and deleted,
        # the probe connects; unpaused, the operator puts it back and the probe is refused again.
        kubectl("patch", CRD, MAIN, "--type=merge", "-p", '{"spec":{"paused":true}}')
        wait("the Cluster reported Paused",
             lambda: any(c["type"] == "Paused" and c["status"] == "True"
                         for c in get(CRD, MAIN)["status"]["conditions"]), 60)
        kubectl("delete", "networkpolicy", POLICY)
        t = time.monotonic()
        wait("the probe reaching 8090 without the policy", lambda: connects(PROBE, target, 8090),
             60)
        timed("3e policy", "policy deleted → the probe connects to 8090", t)
        kubectl("patch", CRD, MAIN, "--type=merge", "-p", '{"spec":{"paused":false}}')
        t = time.monotonic()
        wait("the operator putting the policy back",
             lambda: kubectl("get", "networkpolicy", POLICY, "--ignore-not-found", "-o", "name"),
             120)
        timed("3e policy", "unpaused → the policy is back", t)
        wait("the probe refused on 8090 again", lambda: not connects(PROBE, target, 8090), 60)
        timed("3e policy", "unpaused → the probe refused on 8090", t)
    finally:
        kubectl("delete", "pod", PROBE, "--wait=false", "--ignore-not-found", check=False)
        # Never leave the shared Cluster paused (a failure above may have).
        kubectl("patch", CRD, MAIN, "--type=merge", "-p", '{"spec":{"paused":false}}', check=False)


def main():
    scenario_network_policy()


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_network_policy.__doc__))
