#!/usr/bin/env bash
# The Helm chart (charts/ringkeeper) in the integration tier: `helm lint --strict` with the
# defaults and with every optional object on; values the schema must refuse, refused naming the
# value; the rendered CRDs equal to the files the API tests use; no wildcard in the RBAC; the
# monitors rendered only where the cluster serves monitoring.coreos.com/v1 ("auto"); the
# dashboards as ConfigMaps with the Grafana sidecar's label (none when disabled); and the
# rendered chart applied to the integration API server (test/env/kube-env.sh, $KUBECONFIG) with a
# server-side dry run and strict field validation, so a field the API server does not know fails
# here rather than at a user's install. Install and upgrade on a real cluster are e2e 03a's.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
: "${KUBECONFIG:?set to the integration environment kubeconfig (make integration does)}"
tools=$(bash hack/tools.sh)
H=$tools/helm
K=$tools/kubectl
chart=charts/ringkeeper
# A namespace of its own per run: a previous run's is still terminating for a while.
ns=ringkeeper-chart-$$
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
pass() { echo "chart: ok   $*"; }
fail() { echo "chart: FAIL $*"; failures=$((failures + 1)); }

for values in "" "--set monitoring.monitors=true --set monitoring.rules=true"; do
  # shellcheck disable=SC2086  # the flags split on purpose
  if "$H" lint --strict "$chart" $values >"$work/lint" 2>&1; then
    pass "helm lint --strict ${values:-(defaults)}"
  else
    fail "helm lint --strict ${values:-(defaults)}:"; cat "$work/lint"
  fi
done

# Each refused by values.schema.json, the message naming what is wrong.
refused() {
  local value=$1 named=$2
  if "$H" template ringkeeper "$chart" --set "$value" >"$work/out" 2>&1; then
    fail "--set $value was accepted"
  elif grep -q -- "$named" "$work/out"; then
    pass "--set $value refused: $(grep -m1 -- "$named" "$work/out" | cut -c1-110)"
  else
    fail "--set $value refused without naming $named:"; cat "$work/out"
  fi
}
refused replicas=0 replicas
refused monitoring.monitors=maybe monitors
refused image.pullPolicy=Sometimes pullPolicy
refused replica=2 replica
refused monitoring.dashboards.namespace=Not_A_Namespace namespace

"$H" template ringkeeper "$chart" -n "$ns" >"$work/default.yaml"
"$H" template ringkeeper "$chart" -n "$ns" --api-versions monitoring.coreos.com/v1 \
  >"$work/with-monitoring.yaml"
"$H" template ringkeeper "$chart" -n "$ns" --set monitoring.dashboards.enabled=false \
  >"$work/no-dashboards.yaml"
python3 - "$work" "$chart/files/crds" <<'PY' || failures=$((failures + 1))
import glob, sys, yaml

work, crds = sys.argv[1], sys.argv[2]
def kinds(path):
    return [d for d in yaml.safe_load_all(open(path)) if d]
default, monitored = kinds(f"{work}/default.yaml"), kinds(f"{work}/with-monitoring.yaml")
bad = []

# The CRDs as the API tests know them, plus only the chart's labels and the keep policy.
rendered = {d["metadata"]["name"]: d for d in default if d["kind"] == "CustomResourceDefinition"}
for path in sorted(glob.glob(f"{crds}/*.yaml")):
    want = yaml.safe_load(open(path))
    got = rendered.get(want["metadata"]["name"])
    if not got or got["spec"] != want["spec"]:
        bad.append(f"CRD {want['metadata']['name']} rendered differently from {path}")
    elif got["metadata"]["annotations"].get("helm.sh/resource-policy") != "keep":
        bad.append(f"CRD {want['metadata']['name']} not kept on uninstall")
print(f"chart: {len(rendered)} CRDs rendered as in {crds}, kept on uninstall")

# Least privilege: every verb, resource and group named.
for d in default:
    for rule in d.get("rules") or []:
        for key in ("verbs", "resources", "apiGroups"):
            if "*" in (rule.get(key) or []):
                bad.append(f"{d['kind']} {d['metadata']['name']}: a wildcard in {key}: {rule}")
print(f"chart: no wildcard in {sum(len(d.get('rules') or []) for d in default)} RBAC rules")

# "auto": monitors only where the API is served.
def monitors(docs):
    return sorted(d["kind"] for d in docs if d["apiVersion"].startswith("monitoring.coreos.com/"))
if monitors(default):
    bad.append(f"monitors rendered without monitoring.coreos.com/v1: {monitors(default)}")
if "PodMonitor" not in monitors(monitored) or "ServiceMonitor" not in monitors(monitored):
    bad.append(f"monitors not rendered with monitoring.coreos.com/v1: {monitors(monitored)}")
print(f"chart: monitoring auto: {monitors(default)} without the API, {monitors(monitored)} with it")

# The dashboards: one ConfigMap each, with the Grafana sidecar's label, holding the file as it is.
files = {p.rsplit("/", 1)[1]: open(p).read() for p in glob.glob(f"{crds}/../dashboards/*.json")}
maps = {k: v for d in default if d["kind"] == "ConfigMap" for k, v in d["data"].items()
        if d["metadata"]["labels"].get("grafana_dashboard") == "1"}
want = {f"ringkeeper-{name}": text.rstrip("\n") for name, text in files.items()}
if not files or {k: v.rstrip("\n") for k, v in maps.items()} != want:
    bad.append(f"dashboards ConfigMaps {sorted(maps)} differ from the files {sorted(files)}")
if any(d["kind"] == "ConfigMap" for d in kinds(f"{work}/no-dashboards.yaml")):
    bad.append("dashboards rendered with monitoring.dashboards.enabled=false")
print(f"chart: {len(maps)} dashboards as ConfigMaps labelled grafana_dashboard=1, none when disabled")
for b in bad:
    print(f"chart: FAIL {b}")
sys.exit(1 if bad else 0)
PY

# The API server's verdict on every rendered object, changing nothing.
"$K" create namespace "$ns" --dry-run=client -o yaml | "$K" apply --server-side -f - >/dev/null
if "$K" apply --server-side --dry-run=server --validate=strict -f "$work/default.yaml" \
  >"$work/apply" 2>&1; then
  pass "rendered chart accepted by the API server (dry run, strict): $(wc -l <"$work/apply") objects"
else
  fail "rendered chart refused by the API server:"; cat "$work/apply"
fi
"$K" delete namespace "$ns" --wait=false >/dev/null

if [ "$failures" -gt 0 ]; then
  echo "chart: $failures failed"
  exit 1
fi
echo "chart: all checks passed"
