{{/* Chart name, overridable with nameOverride. */}}
{{- define "superfone-bff.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full resource name: release-chart, or just the release name when it already contains the chart name. */}}
{{- define "superfone-bff.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "superfone-bff.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "superfone-bff.labels" -}}
helm.sh/chart: {{ include "superfone-bff.chart" . }}
{{ include "superfone-bff.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels: immutable on a Deployment, so nothing here may change between releases (no chart version). */}}
{{- define "superfone-bff.selectorLabels" -}}
app.kubernetes.io/name: {{ include "superfone-bff.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Image reference. */}}
{{- define "superfone-bff.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* Secret holding the Superfone key and client keys: the operator's, or the one this chart creates. */}}
{{- define "superfone-bff.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "superfone-bff.fullname" .) }}
{{- end }}

{{/* Where the secret files are mounted. */}}
{{- define "superfone-bff.secretDir" -}}
/etc/superfone-bff/secrets
{{- end }}

{{/* Label a pod carries to be let through the NetworkPolicy when networkPolicy.ingressFrom is set. */}}
{{- define "superfone-bff.clientLabel" -}}
{{- printf "%s-client" (include "superfone-bff.fullname" . | trunc 56 | trimSuffix "-") }}
{{- end }}

{{/*
terminationGracePeriodSeconds = preStop sleep + SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT + margin.
The kubelet's grace countdown starts before the preStop hook runs, so the sleep must be inside it.
*/}}
{{- define "superfone-bff.terminationGracePeriodSeconds" -}}
{{- $s := .Values.shutdown }}
{{- add $s.preStopSleepSeconds $s.delaySeconds $s.timeoutSeconds $s.marginSeconds }}
{{- end }}

{{/* Settings checks that JSON Schema cannot express; fails the render with a message naming the value. */}}
{{- define "superfone-bff.validate" -}}
{{- $s := .Values.secrets }}
{{- if $s.existingSecret }}
{{- if or $s.superfoneApiKey $s.clientKeys $s.redisUrl }}
{{- fail "secrets.existingSecret is set: leave secrets.superfoneApiKey, secrets.clientKeys and secrets.redisUrl empty (put them in that Secret)" }}
{{- end }}
{{- else }}
{{- if not $s.superfoneApiKey }}
{{- fail "set secrets.existingSecret (recommended) or secrets.superfoneApiKey" }}
{{- end }}
{{- if not $s.clientKeys }}
{{- fail "set secrets.existingSecret (recommended) or secrets.clientKeys" }}
{{- end }}
{{- end }}
{{- $redisSources := 0 }}
{{- if .Values.redis.url }}{{ $redisSources = add1 $redisSources }}{{ end }}
{{- if .Values.redis.existingSecret }}{{ $redisSources = add1 $redisSources }}{{ end }}
{{- if $s.redisUrl }}{{ $redisSources = add1 $redisSources }}{{ end }}
{{- if gt $redisSources 1 }}
{{- fail "set only one of redis.url, redis.existingSecret and secrets.redisUrl" }}
{{- end }}
{{- if and (gt (int .Values.metrics.port) 0) (eq (int .Values.metrics.port) (int .Values.containerPort)) }}
{{- fail "metrics.port must differ from containerPort (or be 0 to share it)" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (not (dig "requests" "cpu" "" .Values.resources)) }}
{{- fail "autoscaling.enabled needs resources.requests.cpu (CPU utilisation is measured against it)" }}
{{- end }}
{{- end }}
