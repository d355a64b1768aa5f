#!/usr/bin/env python3
"""e2e 18: client and internode encryption (spec.tls), on 17's Cluster (three racks, created
encrypted, upgraded to CASSANDRA_VERSION).

The nodes' own settings read back (system_views.settings): internode encryption all, client
certificates required between nodes, client encryption required. A plain CQL client is refused;
a TLS client that does not trust the Cluster's CA is refused; one that trusts it reads and writes,
also when it checks the name the nodes' certificate carries (the client Service's), and one
expecting another name is refused. Then the certificate rotated under the client at QUORUM
(spec.tls.certificateValidity changed: the operator issues a new certificate, the pods roll one
at a time): no failed request, and every node serves the new certificate. Helpers and state:
e2elib.py."""
import base64
import json
import logging
import socket
import ssl
import sys
import time

from e2elib import (CRD, DC, KEYSPACE, Load, Names, check_rows, cluster_ca, cluster_obj, connect,
                    event_messages, expect_no_client_failures, figure, get, kubectl, log,
                    on_node, pod_ready, pods, ready_with, release_namespace, run_scenario,
                    service_ip, superuser, timed, tls_context, wait, wait_strict)

NS_TLS = "e2e-upgrade"  # 17's
NAME = "upgrade"
RACKS = ("r1", "r2", "r3")
N = Names(NAME, NS_TLS)
SERVER_NAME = f"{NAME}-{DC}-client.{NS_TLS}.svc"
NEEDS = "17's Cluster upgrade in e2e-upgrade (encrypted, Ready 3/3), its table e2e.kv"
LEAVES = ("namespace e2e-upgrade being deleted (not waited for) unless E2E_KEEP=1 or a scenario "
          "failed (kept for inspection)")


def pod_of(rack):
    return f"{NAME}-{DC}-{rack}-0"


def node_certificate():
    """The nodes' certificate as the operator keeps it (the node Secret's tls.crt), DER."""
    secret = get("secret", f"{NAME}-node-tls", ns=NS_TLS)
    return ssl.PEM_cert_to_DER_cert(base64.b64decode(secret["data"]["tls.crt"]).decode())


def served_certificate(ip, ctx):
    """The certificate the node at ip presents on its CQL port (DER), verified against ctx."""
    with socket.create_connection((ip, 9042), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=SERVER_NAME) as s:
            return s.getpeercert(binary_form=True)


def refused(what, fn):
    """fn() must fail (a refused connection); the reason, for the log."""
    quiet = logging.getLogger("cassandra.cluster")
    quiet.setLevel(logging.CRITICAL)
    try:
        cluster, _ = fn()
        cluster.shutdown()
    except Exception as e:  # NoHostAvailable carrying the TLS or protocol error
        log(f"{what}: refused ({type(e).__name__}: {str(e)[:160]})")
        return str(e)
    finally:
        quiet.setLevel(logging.NOTSET)
    raise AssertionError(f"{what}: connected")


def encryption_settings(ip, creds, ctx):
    """The node's own encryption settings (name -> value) from system_views.settings."""
    rows = on_node(ip, creds, lambda s: list(s.execute(
        "SELECT name, value FROM system_views.settings")), ssl_context=ctx)
    return {r.name: r.value for r in rows if r.name.startswith(("server_encryption_options.",
                                                                 "client_encryption_options."))}


def setting(settings, name):
    assert name in settings, f"no setting {name} in {sorted(settings)}"
    return settings[name]


def scenario_tls():
    """18. spec.tls: the nodes' settings, plain and untrusting clients refused, a trusting one
    served (name checked too); the certificate rotated under the QUORUM client with 0 failures."""
    assert ready_with(N, 3), "17's Cluster is not Ready 3/3"
    creds = superuser(N)
    ca = cluster_ca(N)
    ctx = tls_context(ca)
    client_ip = service_ip(f"{NAME}-{DC}-client", ns=NS_TLS)
    status_tls = cluster_obj(N)["status"]["tls"]
    assert status_tls["client"] and status_tls["internode"], status_tls
    assert status_tls["caSecret"] == f"{NAME}-ca", status_tls

    # The nodes' own settings.
    for rack in RACKS:
        ip = service_ip(pod_of(rack), ns=NS_TLS)
        s = encryption_settings(ip, creds, ctx)
        log(f"{pod_of(rack)}: {json.dumps(s, sort_keys=True)}")
        assert setting(s, "server_encryption_options.internode_encryption") == "all", s
        assert setting(s, "server_encryption_options.optional") == "false", s
        assert setting(s, "server_encryption_options.require_client_auth") in ("true",
                                                                               "required"), s
        assert setting(s, "client_encryption_options.enabled") == "true", s
        assert setting(s, "client_encryption_options.optional") == "false", s
        assert "PEMBasedSslContextFactory" in setting(
            s, "client_encryption_options.ssl_context_factory.class_name"), s
    figure("18 tls", "nodes' settings", "internode_encryption all, client certificates "
           "required between nodes, client encryption required (3 of 3)")

    # Clients: plain, TLS without the CA, TLS with another name expected: refused.
    refused("plain CQL", lambda: connect(client_ip, *creds))
    refused("TLS, the CA not trusted",
            lambda: connect(client_ip, *creds, ssl_context=tls_context(None)))
    refused("TLS, another name expected",
            lambda: connect(client_ip, *creds, ssl_context=tls_context(ca, check_hostname=True),
                            server_hostname="somebody-else.example"))
    c, session = connect(client_ip, *creds, ssl_context=tls_context(ca, check_hostname=True),
                         server_hostname=SERVER_NAME)
    try:
        n = session.execute(f"SELECT count(*) FROM {KEYSPACE}.kv").one()[0]
        log(f"TLS with the CA and the name {SERVER_NAME}: {n} rows in {KEYSPACE}.kv")
        assert n > 0
    finally:
        c.shutdown()
    figure("18 tls", "clients refused", "plain CQL, TLS not trusting the CA, TLS expecting "
           "another name")

    # Rotation under load.
    first = node_certificate()
    for rack in RACKS:
        assert served_certificate(service_ip(pod_of(rack), ns=NS_TLS), ctx) == first
    c, session = connect(client_ip, *creds, ssl_context=ctx)
    load = None
    try:
        load = Load(client_ip, creds, max_seconds=900, ssl_context=ctx, first_key=5_000_000)
        load.start()
        wait("the client's first confirmed writes", lambda: len(load.confirmed()) >= 20, 60,
             ns=NS_TLS)
        load.set_phase("rotation")
        uids = {name: p["metadata"]["uid"] for name, p in pods(N).items()}
        kubectl("patch", CRD, NAME, "--type=merge", "-p",
                json.dumps({"spec": {"tls": {"certificateValidity": "4380h"}}}), ns=NS_TLS)
        t0 = time.monotonic()

        def rotated():
            now = pods(N)
            down = [name for name, p in now.items() if not pod_ready(p)]
            assert len(down) <= 1, f"more than one pod down: {down}"
            return (node_certificate() != first and ready_with(N, 3)
                    and all(now[name]["metadata"]["uid"] != uid for name, uid in uids.items()))
        wait_strict("the new certificate issued and every pod rolled onto it", rotated, 900)
        timed("18 tls", "certificate rotated (issued, 3 pods rolled)", t0)
        expect_no_client_failures(load, "rotation", "18 tls", "during the rotation")
        p99 = load.latency_ms("rotation", 0.99)
        figure("18 tls", "client requests during the rotation (ok)",
               load.phases["rotation"]["writes ok"] + load.phases["rotation"]["reads ok"])
        figure("18 tls", "client p99 latency during the rotation (ms)",
               f"{p99:.0f}" if p99 is not None else "-")
        new = node_certificate()
        for rack in RACKS:
            assert served_certificate(service_ip(pod_of(rack), ns=NS_TLS), ctx) == new, rack
        renewed = event_messages(NS_TLS, "CertificatesRenewed")
        assert renewed, "no CertificatesRenewed event"
        figure("18 tls", "CertificatesRenewed", renewed[-1][:100])
        figure("18 tls", "every node serves the new certificate", "3 of 3 (CQL handshake)")
        load.set_phase("after the rotation")
        check_rows(session, load, "after the rotation")
    finally:
        if load:
            load.stop()
        c.shutdown()


def main():
    scenario_tls()
    release_namespace(NS_TLS)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_tls.__doc__))
