#!/usr/bin/env python3
"""e2e 03d: the agents' API is mutual TLS with the operator's certificate, on the shared Cluster
(issue 13, "the agent refuses a client without the operator's certificate").

From this machine to one Cassandra pod's agent (port 8090), with the material of the Cluster's
Secret <cluster>-agent-token: plain HTTP gets no HTTP answer; TLS without a client certificate is
refused at the handshake; with a certificate from another CA too; with the agents' own certificate
(the one every pod holds, a client one too so peers can ask for the ring) the ring is read but the
node's routes are 403; with the operator's certificate and the token the node answers, without the
token 401. The agent's certificate verifies against the Cluster's CA under the name
ringkeeper-agent (not its address). The probes and /metrics answer in plain HTTP on 8091, and
nothing else does there. The pods hold the token, the CA and the agents' certificate only, never
the CA's key or the operator's certificate. Helpers and state: e2elib.py."""
import base64
import http.client
import os
import socket
import subprocess
import ssl
import sys
import tempfile

from e2elib import MAIN, NS, Names, figure, get, log, pods, run_scenario

NEEDS = "the shared Cluster Ready 3/3 (02)"
LEAVES = "the shared Cluster untouched"

AGENT_PORT = 8090
HEALTH_PORT = 8091
AGENT_NAME = "ringkeeper-agent"


def secret_files(directory):
    """The Secret's keys, each written to a file in `directory`; their paths by key."""
    data = get("secret", f"{MAIN}-agent-token")["data"]
    paths = {}
    for key, value in data.items():
        paths[key] = os.path.join(directory, key)
        with open(paths[key], "wb") as f:
            f.write(base64.b64decode(value))
    return paths


def other_ca_client(directory):
    """A client certificate from a CA of our own (not the Cluster's)."""
    d = directory
    for cmd in (
            f"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
            f"-subj /CN=stranger-ca -keyout {d}/sca.key -out {d}/sca.crt",
            f"openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
            f"-subj /CN=ringkeeper-operator -keyout {d}/stranger.key -out {d}/stranger.csr",
            f"openssl x509 -req -in {d}/stranger.csr -CA {d}/sca.crt -CAkey {d}/sca.key "
            f"-CAcreateserial -days 1 -out {d}/stranger.crt"):
        subprocess.run(cmd.split(), check=True, capture_output=True, timeout=60)
    return f"{d}/stranger.crt", f"{d}/stranger.key"


def tls_get(ip, path, ca, cert=None, key=None, token=None, name=AGENT_NAME):
    """GET over TLS, the agent verified against `ca` under `name`: (status, body), or raises."""
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = True
    if cert:
        ctx.load_cert_chain(cert, key)
    raw = socket.create_connection((ip, AGENT_PORT), timeout=10)
    with ctx.wrap_socket(raw, server_hostname=name) as s:
        request = f"GET {path} HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n"
        if token:
            request += f"Authorization: Bearer {token}\r\n"
        s.sendall((request + "\r\n").encode())
        response = http.client.HTTPResponse(s)
        response.begin()
        return response.status, response.read().decode(errors="replace")


def refused(fn):
    """The exception `fn` raised (an SSL or connection error), or None when it answered."""
    try:
        fn()
    except (ssl.SSLError, ConnectionError, OSError, http.client.HTTPException) as e:
        return e
    return None


def scenario_agent_tls():
    """3d. The agent API: mutual TLS, the operator's certificate alone past the ring."""
    pod = next(iter(pods(Names(MAIN, NS)).values()))
    ip = pod["status"]["podIP"]
    name = pod["metadata"]["name"]
    log(f"agent of {name} at {ip}:{AGENT_PORT}")
    assert pod["metadata"]["annotations"].get("cassandra.rook.io/agent-tls") == "mutual", \
        pod["metadata"].get("annotations")

    # What the pods hold of the Secret.
    volume = next(v for v in pod["spec"]["volumes"] if v["name"] == "token")
    projected = sorted(i["key"] for i in volume["secret"]["items"])
    assert projected == ["ca.crt", "tls.crt", "tls.key", "token"], projected
    figure("3d agent TLS", "keys the pods mount of the agents' Secret", ", ".join(projected))

    with tempfile.TemporaryDirectory() as d:
        f = secret_files(d)
        with open(f["token"]) as t:
            token = t.read().strip()
        ca = f["ca.crt"]

        # Plain HTTP, even with the token: no HTTP answer.
        def plain():
            c = http.client.HTTPConnection(ip, AGENT_PORT, timeout=10)
            c.request("GET", "/v1/node", headers={"Authorization": f"Bearer {token}"})
            return c.getresponse().status
        e = refused(plain)
        assert e is not None, "the agent answered plain HTTP"
        log(f"plain HTTP: {type(e).__name__}: {e}")

        # TLS without a client certificate, and with another CA's (named as the operator).
        e = refused(lambda: tls_get(ip, "/v1/ring", ca, token=token))
        assert e is not None, "the agent answered a client without a certificate"
        log(f"no client certificate: {type(e).__name__}: {e}")
        stranger = other_ca_client(d)
        e = refused(lambda: tls_get(ip, "/v1/ring", ca, *stranger, token=token))
        assert e is not None, "the agent answered a certificate from another CA"
        log(f"another CA's certificate: {type(e).__name__}: {e}")

        # The agent's certificate does not carry its address: verified by the shared name only.
        e = refused(lambda: tls_get(ip, "/v1/ring", ca, f["operator.crt"], f["operator.key"],
                                    token=token, name=ip))
        assert isinstance(e, ssl.SSLCertVerificationError), e
        log(f"verified under its address: {e}")

        # The agents' own certificate (any pod has it): the ring, and nothing else.
        status, _ = tls_get(ip, "/v1/ring", ca, f["tls.crt"], f["tls.key"], token=token)
        assert status == 200, status
        status, body = tls_get(ip, "/v1/node", ca, f["tls.crt"], f["tls.key"], token=token)
        assert status == 403, (status, body)
        log(f"the agents' certificate on /v1/node: {status} {body}")

        # The operator's certificate: with the token the node answers, without it 401.
        status, body = tls_get(ip, "/v1/node", ca, f["operator.crt"], f["operator.key"],
                               token=token)
        assert status == 200, (status, body)
        status, _ = tls_get(ip, "/v1/node", ca, f["operator.crt"], f["operator.key"],
                            token="wrong")
        assert status == 401, status

    # The kubelet's probes and Prometheus: plain HTTP on the health port, nothing else there.
    c = http.client.HTTPConnection(ip, HEALTH_PORT, timeout=10)
    c.request("GET", "/healthz")
    assert c.getresponse().status == 200
    c = http.client.HTTPConnection(ip, HEALTH_PORT, timeout=10)
    c.request("GET", "/metrics")
    r = c.getresponse()
    assert r.status == 200 and b"ringkeeper_agent_node_reachable" in r.read()
    c = http.client.HTTPConnection(ip, HEALTH_PORT, timeout=10)
    c.request("GET", "/v1/node", headers={"Authorization": f"Bearer {token}"})
    assert c.getresponse().status == 404
    figure("3d agent TLS", "refused", "plain HTTP, no client certificate, another CA's, "
           "the agents' own past the ring (403), no token (401)")


if __name__ == "__main__":
    sys.exit(run_scenario(scenario_agent_tls, NEEDS, LEAVES))
