{{/* The labels every object of the release carries. */}}
{{- define "ringkeeper.labels" -}}
app.kubernetes.io/name: ringkeeper-operator
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: ringkeeper
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* What selects the operator's pods: never changes across upgrades (a selector is immutable). */}}
{{- define "ringkeeper.selector" -}}
app.kubernetes.io/name: ringkeeper-operator
{{- end -}}

{{/* Whether to create objects of an optional API: "auto" when the cluster serves it. */}}
{{- define "ringkeeper.wanted" -}}
{{- $choice := index . 0 -}}{{- $api := index . 1 -}}{{- $caps := index . 2 -}}
{{- if or (eq (toString $choice) "true") (and (eq (toString $choice) "auto") ($caps.APIVersions.Has $api)) -}}yes{{- end -}}
{{- end -}}
