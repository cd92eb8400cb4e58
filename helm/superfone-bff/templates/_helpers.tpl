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

{{/* Where the Redis password, sentinel password and CA certificate are mounted (a read-only projected volume). */}}
{{- define "superfone-bff.redisSecretDir" -}}
/var/run/secrets/superfone-bff/redis
{{- end }}

{{/*
The Redis topology the values choose: url, sentinel, cluster or none. With more than one set,
superfone-bff.validate fails the render before this matters.
*/}}
{{- define "superfone-bff.redisTopology" -}}
{{- $r := .Values.redis }}
{{- if $r.sentinel.nodes }}sentinel
{{- else if $r.cluster.nodes }}cluster
{{- else if or $r.url $r.existingSecret .Values.secrets.redisUrl }}url
{{- else }}none
{{- end }}
{{- end }}

{{/*
The files of the Redis volume, as a YAML list of {env, secret, key, path}: one per *_FILE setting
whose Secret is set. Empty when there are none (then there is no volume either).
*/}}
{{- define "superfone-bff.redisFiles" -}}
{{- $r := .Values.redis }}
{{- $files := list }}
{{- if $r.password.existingSecret }}
{{- $files = append $files (dict "env" "REDIS_PASSWORD_FILE" "secret" $r.password.existingSecret "key" $r.password.key "path" "password") }}
{{- end }}
{{- if $r.sentinel.password.existingSecret }}
{{- $files = append $files (dict "env" "REDIS_SENTINEL_PASSWORD_FILE" "secret" $r.sentinel.password.existingSecret "key" $r.sentinel.password.key "path" "sentinel-password") }}
{{- end }}
{{- if $r.tls.ca.existingSecret }}
{{- $files = append $files (dict "env" "REDIS_TLS_CA_FILE" "secret" $r.tls.ca.existingSecret "key" $r.tls.ca.key "path" "ca.crt") }}
{{- end }}
{{- with $files }}{{ toYaml . }}{{ end }}
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
{{- /* One Redis topology at a time, as the app requires (the schema says the same; this also holds with --skip-schema-validation). */}}
{{- $r := .Values.redis }}
{{- $chosen := list }}
{{- if $r.url }}{{ $chosen = append $chosen "redis.url" }}{{ end }}
{{- if $r.existingSecret }}{{ $chosen = append $chosen "redis.existingSecret" }}{{ end }}
{{- if $s.redisUrl }}{{ $chosen = append $chosen "secrets.redisUrl" }}{{ end }}
{{- if $r.sentinel.nodes }}{{ $chosen = append $chosen "redis.sentinel.nodes" }}{{ end }}
{{- if $r.cluster.nodes }}{{ $chosen = append $chosen "redis.cluster.nodes" }}{{ end }}
{{- if gt (len $chosen) 1 }}
{{- fail (printf "%s are set: choose one Redis topology (a URL: redis.url, redis.existingSecret or secrets.redisUrl; redis.sentinel.nodes; or redis.cluster.nodes)" (join " and " $chosen)) }}
{{- end }}
{{- $topology := include "superfone-bff.redisTopology" . }}
{{- if eq $topology "none" }}
{{- range $name, $set := dict "redis.username" $r.username "redis.password.existingSecret" $r.password.existingSecret "redis.tls.enabled" $r.tls.enabled "redis.tls.ca.existingSecret" $r.tls.ca.existingSecret }}
{{- if $set }}
{{- fail (printf "%s is set but no Redis is configured: set redis.url, redis.existingSecret, redis.sentinel.nodes or redis.cluster.nodes" $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and $r.sentinel.password.existingSecret (ne $topology "sentinel") }}
{{- fail "redis.sentinel.password.existingSecret is set but redis.sentinel.nodes is empty: the sentinel password is for the sentinel topology only" }}
{{- end }}
{{- if and $r.tls.ca.existingSecret (not $r.tls.enabled) (or (eq $topology "sentinel" "cluster") (hasPrefix "redis://" $r.url)) }}
{{- fail "redis.tls.ca.existingSecret is set but TLS is off: set redis.tls.enabled=true (or use a rediss:// URL)" }}
{{- end }}
{{- if and (gt (int .Values.metrics.port) 0) (eq (int .Values.metrics.port) (int .Values.containerPort)) }}
{{- fail "metrics.port must differ from containerPort (or be 0 to share it)" }}
{{- end }}
{{- if lt (int .Values.config.httpRequestTimeoutMs) (int .Values.config.httpHeadersTimeoutMs) }}
{{- fail "config.httpRequestTimeoutMs must be at least config.httpHeadersTimeoutMs (the request deadline includes the headers)" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (not (dig "requests" "cpu" "" .Values.resources)) }}
{{- fail "autoscaling.enabled needs resources.requests.cpu (CPU utilisation is measured against it)" }}
{{- end }}
{{- end }}
