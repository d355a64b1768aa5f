"""A real Prometheus (built by hack/prometheus.sh from the Go module proxy with Kubernetes service
discovery, which Debian's package is built without) scraping the e2e cluster as the chart's
monitors ask: the ServiceMonitor and PodMonitor rendered from
charts/ringkeeper (monitoring.monitors=true) are translated into scrape jobs with Kubernetes
service discovery, as the Prometheus Operator would generate them (the selector, the port by
name, the relabelings, honorLabels). What the translation does not know fails loudly. It runs on
127.0.0.1 only, its data under the e2e state directory; `Prometheus` is a context manager that
stops it (SIGTERM, then SIGKILL) whatever happens."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import urllib.parse

import yaml

from e2elib import HTTP, OPERATOR_NS, ROOT, STATE_DIR, log, wait

HELM = os.environ.get("HELM", "helm")


def prometheus_binary():
    """hack/prometheus.sh's binary (built once into the cache; run.sh builds it before the run)."""
    return subprocess.run(["bash", os.path.join(ROOT, "hack", "prometheus.sh")], check=True,
                          capture_output=True, text=True, timeout=1800).stdout.strip()


def rendered_monitors():
    """The chart's ServiceMonitors and PodMonitors, rendered with the monitors forced on."""
    out = subprocess.run([HELM, "template", "ringkeeper", os.path.join(ROOT, "charts", "ringkeeper"),
                          "--namespace", OPERATOR_NS, "--set", "monitoring.monitors=true"],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return [d for d in yaml.safe_load_all(out)
            if d and d.get("kind") in ("ServiceMonitor", "PodMonitor")]


def _label_name(key):
    return re.sub(r"[^a-zA-Z0-9_]", "_", key)


def _selector(selector, role):
    """keep rules for a label selector (matchLabels, matchExpressions Exists / In)."""
    rules = []
    for key, value in (selector.get("matchLabels") or {}).items():
        rules.append({"source_labels": [f"__meta_kubernetes_{role}_label_{_label_name(key)}"],
                      "regex": re.escape(value), "action": "keep"})
    for e in selector.get("matchExpressions") or []:
        if e["operator"] == "Exists":
            rules.append({"source_labels": [f"__meta_kubernetes_{role}_labelpresent_"
                                            f"{_label_name(e['key'])}"],
                          "regex": "true", "action": "keep"})
        elif e["operator"] == "In":
            rules.append({"source_labels": [f"__meta_kubernetes_{role}_label_{_label_name(e['key'])}"],
                          "regex": "|".join(map(re.escape, e["values"])), "action": "keep"})
        else:
            raise AssertionError(f"selector operator {e['operator']} not translated")
    return rules


_RELABEL_KEYS = {"sourceLabels": "source_labels", "targetLabel": "target_label", "regex": "regex",
                 "replacement": "replacement", "separator": "separator", "action": "action",
                 "modulus": "modulus"}


def _relabelings(relabelings):
    out = []
    for r in relabelings or []:
        unknown = set(r) - set(_RELABEL_KEYS)
        assert not unknown, f"relabeling fields not translated: {unknown}"
        out.append({_RELABEL_KEYS[k]: (v.lower() if k == "action" else v) for k, v in r.items()})
    return out


def scrape_configs(monitors, kubeconfig, interval):
    """Scrape jobs for the monitors. `interval` replaces the monitors' own (a test waits less)."""
    jobs = []
    for mon in monitors:
        kind, meta, spec = mon["kind"], mon["metadata"], mon["spec"]
        ns_sel = spec.get("namespaceSelector") or {}
        role = "pod" if kind == "PodMonitor" else "endpoints"
        sd = {"role": role, "kubeconfig_file": kubeconfig}
        if not ns_sel.get("any"):
            sd["namespaces"] = {"names": ns_sel.get("matchNames") or [meta["namespace"]]}
        endpoints = spec["podMetricsEndpoints"] if kind == "PodMonitor" else spec["endpoints"]
        for i, ep in enumerate(endpoints):
            unknown = set(ep) - {"port", "path", "interval", "relabelings", "honorLabels"}
            assert not unknown, f"{kind} {meta['name']}: endpoint fields not translated: {unknown}"
            port_label = ("__meta_kubernetes_pod_container_port_name" if kind == "PodMonitor"
                          else "__meta_kubernetes_endpoint_port_name")
            relabel = _selector(spec["selector"], "pod" if kind == "PodMonitor" else "service")
            relabel.append({"source_labels": [port_label], "regex": re.escape(ep["port"]),
                            "action": "keep"})
            if kind == "ServiceMonitor":  # as the Prometheus Operator adds them
                relabel += [{"source_labels": ["__meta_kubernetes_namespace"],
                             "target_label": "namespace"},
                            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
                            {"source_labels": ["__meta_kubernetes_service_name"],
                             "target_label": "service"}]
            relabel += _relabelings(ep.get("relabelings"))
            jobs.append({"job_name": f"{kind.lower()}/{meta['namespace']}/{meta['name']}/{i}",
                         "kubernetes_sd_configs": [sd], "scrape_interval": interval,
                         "metrics_path": ep.get("path", "/metrics"),
                         "honor_labels": bool(ep.get("honorLabels", False)),
                         "relabel_configs": relabel})
    return jobs


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    def __init__(self, kubeconfig, interval="5s", rules=None):
        self.dir = os.path.join(STATE_DIR, "prometheus")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.jobs = scrape_configs(rendered_monitors(), kubeconfig, interval)
        config = {"global": {"scrape_interval": interval, "evaluation_interval": interval},
                  "scrape_configs": self.jobs}
        if rules:
            config["rule_files"] = rules
        with open(os.path.join(self.dir, "prometheus.yml"), "w") as f:
            yaml.safe_dump(config, f)
        self.proc = None

    def __enter__(self):
        log_file = open(os.path.join(self.dir, "prometheus.log"), "ab")
        self.proc = subprocess.Popen(
            [prometheus_binary(), f"--config.file={self.dir}/prometheus.yml",
             f"--storage.tsdb.path={self.dir}/data", f"--web.listen-address=127.0.0.1:{self.port}",
             "--storage.tsdb.retention.time=2h", "--web.enable-lifecycle"],
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        log_file.close()
        wait("Prometheus ready", lambda: self.proc.poll() is None and self._ready(), 60)
        log(f"Prometheus {self.url} ({len(self.jobs)} jobs: {', '.join(j['job_name'] for j in self.jobs)})")
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        return False

    def _ready(self):
        try:
            return HTTP.open(f"{self.url}/-/ready", timeout=2).status == 200
        except OSError:
            return False

    def api(self, path, **params):
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        body = json.loads(HTTP.open(url, timeout=30).read())
        assert body.get("status") == "success", body
        return body["data"]

    def query(self, expr, time=None):
        params = {"query": expr}
        if time is not None:
            params["time"] = time
        return self.api("query", **params)["result"]

    def query_range(self, expr, start, end, step):
        return self.api("query_range", query=expr, start=start, end=end, step=step)["result"]

    def targets(self):
        """Active targets: [(job, labels, health, lastError)]."""
        return [(t["scrapePool"], t["labels"], t["health"], t.get("lastError", ""))
                for t in self.api("targets", state="active")["activeTargets"]]
