{{/* Names and labels. */}}
{{- define "gatehouse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gatehouse.fullname" -}}
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

{{- define "gatehouse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gatehouse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gatehouse.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "gatehouse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "gatehouse.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gatehouse.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret the chart makes for the values given in plain text. */}}
{{- define "gatehouse.secretName" -}}
{{- include "gatehouse.fullname" . }}
{{- end }}

{{- define "gatehouse.redisName" -}}
{{- printf "%s-redis" (include "gatehouse.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gatehouse.postgresqlName" -}}
{{- printf "%s-postgresql" (include "gatehouse.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
gatehouse.sharedDatabase is "true" when every replica uses one database
server: the evaluation PostgreSQL, a DSN from an existing Secret (trusted to be
PostgreSQL or MySQL), or a PostgreSQL/MySQL DSN.
*/}}
{{- define "gatehouse.sharedDatabase" -}}
{{- if or .Values.postgresql.enabled .Values.database.existingSecret (regexMatch "^(postgres|postgresql|mysql)://|@tcp\\(|@unix\\(" .Values.database.dsn) -}}
true
{{- end }}
{{- end }}

{{/* gatehouse.redisAddr is the host:port of Redis, or empty. */}}
{{- define "gatehouse.redisAddr" -}}
{{- if .Values.redis.enabled -}}
{{ include "gatehouse.redisName" . }}:6379
{{- else -}}
{{ .Values.redis.addr }}
{{- end }}
{{- end }}

{{/*
gatehouse.shutdownSeconds is settings.shutdownTimeout in whole seconds
(the schema allows hours, minutes and seconds, such as 1m30s).
*/}}
{{- define "gatehouse.shutdownSeconds" -}}
{{- $total := 0 }}
{{- range $part := regexFindAll "[0-9]+[hms]" (toString (default "30s" .Values.settings.shutdownTimeout)) -1 }}
{{- $n := regexFind "[0-9]+" $part | atoi }}
{{- $unit := regexFind "[hms]$" $part }}
{{- if eq $unit "h" }}{{ $n = mul $n 3600 }}{{ else if eq $unit "m" }}{{ $n = mul $n 60 }}{{ end }}
{{- $total = add $total $n }}
{{- end }}
{{- $total }}
{{- end }}

{{/*
gatehouse.generatedPassword returns the value under key of the Secret name
that exists in the cluster (so an upgrade keeps it), or a new random one.
*/}}
{{- define "gatehouse.generatedPassword" -}}
{{- $existing := lookup "v1" "Secret" .namespace .name }}
{{- if and $existing (hasKey $existing "data") (hasKey $existing.data .key) }}
{{- index $existing.data .key | b64dec }}
{{- else }}
{{- randAlphaNum 32 }}
{{- end }}
{{- end }}

{{/*
gatehouse.validate stops the release with a message naming the value to set
when the values would give replicas that cannot work together.
*/}}
{{- define "gatehouse.validate" -}}
{{- $replicas := int .Values.replicaCount }}
{{- $what := printf "replicaCount=%d" $replicas }}
{{- if .Values.autoscaling.enabled }}
{{- $replicas = int .Values.autoscaling.maxReplicas }}
{{- $what = printf "autoscaling.enabled=true (up to %d replicas)" $replicas }}
{{- end }}
{{- if gt $replicas 1 }}
{{- if not (include "gatehouse.sharedDatabase" .) }}
{{- fail (printf "gatehouse: %s needs a database shared by every replica, but the database is SQLite (each pod would have its own): set database.dsn to a PostgreSQL or MySQL DSN, or database.existingSecret, or postgresql.enabled=true for evaluation" $what) }}
{{- end }}
{{- if not (or .Values.jwt.secret .Values.jwt.existingSecret) }}
{{- fail (printf "gatehouse: %s needs one JWT secret shared by every replica, or a login on one pod is refused by the others: set jwt.secret (32+ characters) or jwt.existingSecret" $what) }}
{{- end }}
{{- if not (include "gatehouse.redisAddr" .) }}
{{- fail (printf "gatehouse: %s needs Redis, so that MCP sessions and rate limits are shared by every replica: set redis.addr (and redis.password or redis.existingSecret), or redis.enabled=true for evaluation" $what) }}
{{- end }}
{{- end }}
{{- if and .Values.persistence.enabled (include "gatehouse.sharedDatabase" .) }}
{{- fail "gatehouse: persistence.enabled=true keeps SQLite on a volume of one pod, but a shared database is configured: leave persistence.enabled=false" }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.serviceMonitor.tokenSecret.name) }}
{{- fail "gatehouse: metrics.serviceMonitor.enabled=true needs metrics.serviceMonitor.tokenSecret.name: /metrics requires an API token; create a read-scoped token in the console (Account → API tokens) and store it in a Secret" }}
{{- end }}
{{- if and .Values.admin.password (not .Values.admin.username) }}
{{- fail "gatehouse: admin.password is set without admin.username: set both, or admin.existingSecret" }}
{{- end }}
{{- if and (or .Values.redis.password .Values.redis.existingSecret) (not (include "gatehouse.redisAddr" .)) }}
{{- fail "gatehouse: a Redis password is set without a Redis: set redis.addr too" }}
{{- end }}
{{- range $component, $route := .Values.httpRoute }}
{{- if and $route.enabled (not $route.parentRefs) }}
{{- fail (printf "gatehouse: httpRoute.%s.enabled=true needs httpRoute.%s.parentRefs: the Gateway(s) the route attaches to, such as [{name: public, namespace: infra}]" $component $component) }}
{{- end }}
{{- end }}
{{- if and .Values.redis.enabled .Values.redis.addr }}
{{- fail "gatehouse: set either redis.addr (an external Redis) or redis.enabled=true (the evaluation Redis), not both" }}
{{- end }}
{{- if and .Values.postgresql.enabled (or .Values.database.dsn .Values.database.existingSecret) }}
{{- fail "gatehouse: set either database.dsn/database.existingSecret (an external database) or postgresql.enabled=true (the evaluation PostgreSQL), not both" }}
{{- end }}
{{- end }}

{{/* gatehouse.secretEnv is an env entry read from a Secret. */}}
{{- define "gatehouse.secretEnv" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end }}
