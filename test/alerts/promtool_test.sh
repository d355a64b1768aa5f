#!/usr/bin/env bash
# The chart's alert rules as a user's Prometheus gets them: rendered from
# charts/ringkeeper/templates/prometheusrules.yaml (default thresholds), checked by
# `promtool check rules`, then `promtool test rules` on test/alerts/ringkeeper_test.yaml. Fails
# when an alert has no test case (each must fire in one and stay silent in another).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$(bash "$root/hack/tools.sh")/helm" template ringkeeper "$root/charts/ringkeeper" \
  --set monitoring.rules=true --show-only templates/prometheusrules.yaml |
  python3 -c 'import sys, yaml; yaml.safe_dump(yaml.safe_load(sys.stdin)["spec"], sys.stdout)' \
    >"$work/rules.yaml"
cp "$root/test/alerts/ringkeeper_test.yaml" "$work/"
promtool check rules "$work/rules.yaml"
alerts=$(python3 -c 'import sys, yaml
print(" ".join(r["alert"] for g in yaml.safe_load(open(sys.argv[1]))["groups"]
               for r in g["rules"] if "alert" in r))' "$work/rules.yaml")
for a in $alerts; do
  fires=$(grep -c "alertname: $a\$" "$work/ringkeeper_test.yaml" || true)
  silent=$(grep -c "alertname: $a, exp_alerts: \[\]" "$work/ringkeeper_test.yaml" || true)
  if [ "$fires" -lt 1 ] || [ "$silent" -lt 1 ]; then
    echo "alerts: $a needs a case that fires and one that does not (test/alerts/ringkeeper_test.yaml)"
    exit 1
  fi
done
promtool test rules "$work/ringkeeper_test.yaml"
echo "alerts: $(wc -w <<<"$alerts") alert rules, each tested firing and silent"
