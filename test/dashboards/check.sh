#!/usr/bin/env bash
# The chart's Grafana dashboards, checked without a Grafana (none can run here, and its code is
# not to be used): each strictly against Grafana's schema by the Apache-licensed
# grafana-foundation-sdk (main.go: unknown or missing fields, every panel's options and query
# against its plugin's schema, then our own rules), and every query parsed as PromQL by promtool,
# its variables filled in as Grafana would. That each query returns data is e2e 10u's part.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dashboards=("$root"/charts/ringkeeper/files/dashboards/*.json)
(cd "$root/test/dashboards" && go run . "${dashboards[@]}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "${dashboards[@]}" >"$work/queries.yaml" <<'PY'
import json, re, sys, yaml
rules = []
for path in sys.argv[1:]:
    d = json.load(open(path))
    for p in d["panels"]:
        for t in p.get("targets", []):
            expr = t["expr"].replace("$__rate_interval", "1m").replace("$__interval", "15s")
            expr = re.sub(r"\$\{?(\w+)\}?", "x", expr)
            rules.append({"record": f"dashboard:{d['uid'].replace('-', '_')}:{p['id']}{t['refId']}",
                          "expr": expr})
yaml.safe_dump({"groups": [{"name": "dashboard-queries", "rules": rules}]}, sys.stdout)
PY
promtool check rules "$work/queries.yaml"
