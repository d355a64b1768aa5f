"""Real Cassandra 5.0 nodes on 127.0.0.x for the agent's integration tests.

Each node: `ringkeeper-agent init` renders its conf from images/cassandra/conf, then
hack/cassandra/cassandra-run.sh starts CassandraDaemon (+ Jolokia on 127.0.0.1:<8778+i>, JMX
7199+i), and `ringkeeper-agent serve` listens on <address>:8090. Every process is started in
its own session and killed (whole group) on close(), whatever happened. Every wait is bounded.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../.."))
TOKEN = "integration-token"
AGENT_PORT = 8090


def fetch_env():
    out = subprocess.run([f"{ROOT}/hack/cassandra/fetch.sh"], check=True, capture_output=True,
                         text=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


class Fatal(Exception):
    """Raised by a wait's predicate when waiting longer cannot help (a process exited)."""


def wait_until(what, predicate, timeout, interval=1.0):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Fatal:
            raise
        except Exception as e:  # noqa: BLE001 - keep polling until the deadline
            last = e
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout}s (last error: {last})")


def interleaved_tokens(n_nodes, per_node):
    total = n_nodes * per_node
    step = 2**64 // total
    return [[str(-2**63 + (j * n_nodes + i) * step) for j in range(per_node)]
            for i in range(n_nodes)]


class Node:
    def __init__(self, cluster, index):
        self.cluster = cluster
        self.index = index
        self.address = f"127.0.0.{index + 1}"
        self.dir = os.path.join(cluster.dir, f"node{index + 1}")
        self.jolokia_port = 8778 + index
        self.jmx_port = 7199 + index
        self.cassandra = None
        self.agent = None
        os.makedirs(self.dir, exist_ok=True)

    # --- init -------------------------------------------------------------------------------
    def init(self, **extra):
        env = self.cluster.env
        settings = {
            "cluster_name": "rk-it", "dc": "dc1", "rack": f"r{self.index % 3 + 1}",
            "seeds": self.cluster.seeds, "listen_address": self.address,
            "broadcast_address": self.address, "rpc_address": self.address,
            "num_tokens": 8, "data_dir": f"{self.dir}/data", "jolokia_jar": env["JOLOKIA_JAR"],
            "jolokia_port": self.jolokia_port, "heap_bytes": 512 << 20,
            "extra_jvm_options": [f"-Dcassandra.jmx.local.port={self.jmx_port}",
                                  "-Xmn128m"],
        }
        settings.update(extra)
        with open(f"{self.dir}/settings.json", "w") as f:
            json.dump(settings, f)
        args = [self.cluster.agent_bin, "init", "--base-conf", f"{ROOT}/images/cassandra/conf",
                "--out-conf", f"{self.dir}/conf", "--settings", f"{self.dir}/settings.json",
                "--config-keys", env["CASSANDRA_CONFIG_KEYS"]]
        if "overrides" in self.cluster.__dict__ and self.cluster.overrides:
            args += ["--overrides", self.cluster.overrides]
        out = subprocess.run(args, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"agent init {self.address}: {out.stderr.strip()} {out.stdout.strip()}")
        return out.stdout

    # --- processes --------------------------------------------------------------------------
    def start(self, ring_delay_ms=3000):
        """Starts Cassandra (and the agent, once). The short ring delay keeps the test quick; a
        replacement gets a longer one: its shadow round waits that long for the seed's answer,
        which comes late while the seed's connection to the dead address backs off."""
        self.ring_delay_ms = ring_delay_ms
        env = dict(os.environ, CASSANDRA_LIB=self.cluster.env["CASSANDRA_LIB"],
                   CASSANDRA_CONF=f"{self.dir}/conf", CASSANDRA_LOG_DIR=f"{self.dir}/logs")
        log = open(f"{self.dir}/stdout.log", "ab")
        self.cassandra = subprocess.Popen(
            [f"{ROOT}/hack/cassandra/cassandra-run.sh",
             "-Dcassandra.skip_wait_for_gossip_to_settle=0",
             f"-Dcassandra.ring_delay_ms={ring_delay_ms}",
             "-Dcassandra.consistent.rangemovement=false",
             "-Dcassandra.superuser_setup_delay_ms=0"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if self.agent is None:
            self.start_agent()

    def start_agent(self):
        with open(self.cluster.token_file, "w") as f:
            f.write(TOKEN)
        self.agent = subprocess.Popen(
            [self.cluster.agent_bin, "serve", "--listen", self.address, "--port", str(AGENT_PORT),
             "--token-file", self.cluster.token_file, "--jolokia-port", str(self.jolokia_port),
             "--data-dir", f"{self.dir}/data", "--cluster", "rk-it", "--dc", "dc1",
             "--rack", f"r{self.index % 3 + 1}", "--pod", f"node{self.index + 1}",
             "--cql-host", self.address, "--cql-credentials-file", self.cluster.cql_credentials,
             "--conf-dir", f"{self.dir}/conf"],
            stdout=open(f"{self.dir}/agent.log", "ab"), stderr=subprocess.STDOUT,
            start_new_session=True)

    def stop_cassandra(self):
        if self.cassandra and self.cassandra.poll() is None:
            os.killpg(self.cassandra.pid, signal.SIGKILL)
            self.cassandra.wait(timeout=30)
        self.cassandra = None

    def stop(self):
        self.stop_cassandra()
        if self.agent and self.agent.poll() is None:
            os.killpg(self.agent.pid, signal.SIGKILL)
            self.agent.wait(timeout=30)
        self.agent = None

    def wipe(self):
        shutil.rmtree(f"{self.dir}/data", ignore_errors=True)

    # --- agent API --------------------------------------------------------------------------
    def api(self, method, path, body=None, token=TOKEN):
        data = None if body is None else (body if isinstance(body, (bytes, str))
                                          else json.dumps(body))
        if isinstance(data, str):
            data = data.encode()
        req = urllib.request.Request(f"http://{self.address}:{AGENT_PORT}{path}", data=data,
                                     method=method)
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read().decode()
                return r.status, (json.loads(raw) if raw.startswith(("{", "[")) else raw)
        except urllib.error.HTTPError as e:
            raw = e.read().decode()
            return e.code, (json.loads(raw) if raw.startswith("{") else raw)

    def operation(self, body, timeout=600):
        code, op = self.api("POST", "/v1/operations", body)
        if code != 202:
            raise RuntimeError(f"{body}: HTTP {code} {op}")
        def done():
            c, o = self.api("GET", f"/v1/operations/{op['id']}")
            return o if c == 200 and o["state"] != "running" else None
        return wait_until(f"operation {op['id']}", done, timeout)

    def ring(self):
        code, ring = self.api("GET", "/v1/ring")
        if code != 200:
            raise RuntimeError(f"ring: {code} {ring}")
        return {e["address"]: e for e in ring["endpoints"]}

    def wait_up(self, timeout=240, restart_on=()):
        """Until the node is UN as its peers see it. A Cassandra that exits with one of the
        `restart_on` messages in its log (any message when `restart_on` is "any") is started
        again, as the kubelet restarts the container in a pod, until the timeout (a
        replacement's shadow round can find the seed too busy to answer within the test's short
        ring delay: 'Unable to gossip with any peers')."""
        started = time.time()
        restarts = [0]

        def ready():
            if self.cassandra is not None and self.cassandra.poll() is not None:
                why = self.why_exited()
                if restart_on == "any" or any(m in why for m in restart_on):
                    restarts[0] += 1
                    print(f"cassandra {self.address} exited after "
                          f"{time.time() - started:.0f}s:\n{why}\n"
                          f"started again as the kubelet would (restart {restarts[0]})\n"
                          f"{self.peers_view()}", flush=True)
                    self.cassandra = None
                    self.start(self.ring_delay_ms)
                    return False
                raise Fatal(f"cassandra {self.address} exited: {why}\n{self.peers_view()}")
            code, _ = self.api("GET", "/readyz", token=None)
            return code == 200
        try:
            wait_until(f"{self.address} UN as its peers see it", ready, timeout)
        except TimeoutError as e:
            raise TimeoutError(f"{e}\n{self.peers_view()}") from None

    def peers_view(self):
        """What the other nodes think of this one, for a failure's message: their ring entry
        for it and the last lines their logs wrote about it."""
        out = []
        for n in self.cluster.nodes:
            if n is self:
                continue
            try:
                entry = n.ring().get(self.address)
            except Exception as e:  # noqa: BLE001 - a diagnostic, never the failure itself
                entry = f"(ring unreadable: {e})"
            out.append(f"{n.address} sees {self.address}: {entry}")
            try:
                with open(f"{n.dir}/logs/system.log", errors="replace") as f:
                    about = [l.rstrip() for l in f if self.address in l]
                out += [f"  {l[:300]}" for l in about[-8:]]
            except FileNotFoundError:
                pass
        return "\n".join(out)

    def why_exited(self):
        """The last errors Cassandra logged (the temporary directory is gone after the run)."""
        lines = []
        for name in ("logs/system.log", "stdout.log"):
            try:
                with open(f"{self.dir}/{name}", errors="replace") as f:
                    lines += [l.rstrip() for l in f
                              # "WARN " and not the JVM's own "WARNING:" notices on stdout,
                              # which would push the reason out of the last lines
                              if l.startswith(("ERROR ", "WARN ")) or "Exception" in l]
            except FileNotFoundError:
                pass
        return "\n".join(lines[-12:]) or f"nothing logged; see {self.dir}"

    def nodetool(self, *args):
        opens = [l.strip() for l in open(f"{ROOT}/images/cassandra/conf/jvm17-server.options")
                 if l.startswith("--add-")]
        cmd = ["java", *opens, "-cp", f"{self.cluster.env['CASSANDRA_LIB']}/*",
               "-Dlogback.configurationFile=" + f"{ROOT}/images/cassandra/conf/logback.xml",
               # its own log directory (not the node's files, which Cassandra writes) and no
               # logback status dump on stdout (it floods a failed run's output)
               "-Dcassandra.logdir=" + f"{self.dir}/nodetool-logs",
               "-Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener",
               "org.apache.cassandra.tools.NodeTool", "-h", "127.0.0.1", "-p",
               str(self.jmx_port), *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


class S3Server:
    """versitygw (hack/s3/versitygw.sh) on a free loopback port over a posix directory, with
    generated root credentials (in its environment and a credentials file for the agents, never
    on a command line). `client()` is botocore's S3 client: an independent reader."""

    def __init__(self, root_dir):
        import secrets
        import socket
        gw = subprocess.run(["bash", f"{ROOT}/hack/s3/versitygw.sh"], check=True,
                            capture_output=True, text=True).stdout.strip()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{port}"
        self.access_key, self.secret = "rk-it", secrets.token_hex(20)
        os.makedirs(f"{root_dir}/s3/data", exist_ok=True)
        self.credentials_file = f"{root_dir}/s3/credentials"
        with open(self.credentials_file, "w") as f:
            f.write(f"{self.access_key}\n{self.secret}\n")
        env = dict(os.environ, ROOT_ACCESS_KEY_ID=self.access_key,
                   ROOT_SECRET_ACCESS_KEY=self.secret)
        self.proc = subprocess.Popen(
            [gw, "--port", f"127.0.0.1:{port}", "--region", "us-east-1", "--quiet", "posix",
             f"{root_dir}/s3/data"], env=env, stdout=open(f"{root_dir}/s3/log", "ab"),
            stderr=subprocess.STDOUT, start_new_session=True)

        def answers():
            if self.proc.poll() is not None:
                raise Fatal(f"versitygw exited: {open(f'{root_dir}/s3/log').read()[-2000:]}")
            self.client().list_buckets()
            return True
        wait_until("versitygw answers", answers, 30, interval=0.2)

    def client(self):
        import botocore.session
        return botocore.session.get_session().create_client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret)

    def location(self, bucket, prefix="", credentials_file=None):
        return {"endpoint": self.endpoint, "bucket": bucket, "prefix": prefix,
                "credentials_file": credentials_file or self.credentials_file}

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


class Cluster:
    def __init__(self, agent_bin, n):
        self.agent_bin = os.path.abspath(agent_bin)
        self.env = fetch_env()
        self.dir = tempfile.mkdtemp(prefix="rk-cassandra-it.")
        self.token_file = os.path.join(self.dir, "token")
        self.cql_credentials = os.path.join(self.dir, "cql-credentials")
        self.set_cql_credentials("cassandra", "cassandra")
        # As the operator picks them (objects.cc Seeds): a DC's first three members. That the
        # replaced member is its peers' seed matters: they gossip to a seed whatever its state,
        # but never to a member in a dead state, and a same-address replacement announces
        # itself as one (hibernate) - a replacement of a member no peer lists as a seed learns
        # the ring only if a peer happened to gossip to it before that announcement
        # (CASSANDRA-19580), and once it has failed, never.
        self.seeds = [f"127.0.0.{i + 1}" for i in range(min(n, 3))]
        self.overrides = None
        self.nodes = [Node(self, i) for i in range(n)]
        self.s3 = None  # S3Server, started by the backup case

    def wait_converged(self, timeout=120):
        """Until every node's agent sees every node UN. A node's /readyz only speaks for the
        peers it already knows: right after start, one can be ready before gossip has told it
        of a third."""
        want = {n.address for n in self.nodes}

        def converged():
            for n in self.nodes:
                ring = n.ring()
                if set(ring) != want or any(e["status"] + e["state"] != "UN"
                                            for e in ring.values()):
                    return False
            return True
        wait_until(f"every node sees {sorted(want)} UN", converged, timeout)

    def set_cql_credentials(self, user, password):
        with open(self.cql_credentials, "w") as f:
            f.write(f"{user}\n{password}\n")

    def close(self):
        if self.s3:
            self.s3.stop()
        for n in self.nodes:
            try:
                n.stop()
            except Exception:  # noqa: BLE001 - keep killing the others
                pass
        if os.environ.get("RK_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)
