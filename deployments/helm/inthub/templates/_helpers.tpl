{{/* The release's base name, at most 63 characters. */}}
{{- define "inthub.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The name of one component's objects: <fullname>-<component>. */}}
{{- define "inthub.componentName" -}}
{{- printf "%s-%s" (include "inthub.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "inthub.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ default .Chart.Name .Values.nameOverride }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: inthub
{{- end -}}

{{/* Labels that select one component's pods (never change across upgrades). */}}
{{- define "inthub.selectorLabels" -}}
app.kubernetes.io/name: {{ default .root.Chart.Name .root.Values.nameOverride }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "inthub.componentLabels" -}}
{{ include "inthub.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "inthub.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "inthub.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The image of one component, tagged by the chart's appVersion unless image.tag is set; never "latest". */}}
{{- define "inthub.image" -}}
{{- $img := .root.Values.image -}}
{{- $tag := default .root.Chart.AppVersion $img.tag | toString -}}
{{- if or (eq $tag "latest") (eq $tag "") -}}
{{- fail "image.tag: name a release (the chart's appVersion by default), not \"latest\"" -}}
{{- end -}}
{{- $repo := printf "%s/%s" $img.repositoryPrefix .name -}}
{{- if $img.registry -}}{{- $repo = printf "%s/%s" $img.registry $repo -}}{{- end -}}
{{- if $img.digest -}}
{{- printf "%s:%s@%s" $repo $tag $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- end -}}

{{/* The components that call the integrations' systems resolve local secrets too. */}}
{{- define "inthub.resolvesSecrets" -}}
{{- if has . (list "manager" "health-scheduler" "discovery-worker" "notifier" "metrics-analyzer" "pipeline-runner") -}}true{{- end -}}
{{- end -}}

{{/* Where NATS credentials and TLS files are mounted. */}}
{{- define "inthub.natsAuthDir" -}}/etc/inthub/nats-auth{{- end -}}
{{- define "inthub.natsTLSDir" -}}/etc/inthub/nats-tls{{- end -}}

{{/* The Secret holding the components' NATS credentials. */}}
{{- define "inthub.natsSecret" -}}
{{- default (printf "%s-nats" (include "inthub.fullname" .)) .Values.nats.auth.existingSecret -}}
{{- end -}}

{{/* The key of one component's NATS credential in that Secret. */}}
{{- define "inthub.natsKey" -}}
{{- $type := .root.Values.nats.auth.type -}}
{{- if eq $type "password" -}}{{ .name }}.password
{{- else if eq $type "nkey" -}}{{ .name }}.nk
{{- else if eq $type "creds" -}}{{ .name }}.creds
{{- end -}}
{{- end -}}

{{- define "inthub.redisSecret" -}}
{{- default (printf "%s-redis" (include "inthub.fullname" .)) .Values.redis.existingSecret -}}
{{- end -}}

{{- define "inthub.tokensSecret" -}}
{{- default (printf "%s-tokens" (include "inthub.fullname" .)) .Values.tokens.existingSecret -}}
{{- end -}}

{{/* Whether the ingress reads a tokens file: unless only OIDC is configured.
Without tokens.list or tokens.existingSecret the pods wait for a Secret
<fullname>-tokens made by hand. */}}
{{- define "inthub.tokensFile" -}}
{{- if or .Values.tokens.list .Values.tokens.existingSecret (not .Values.oidc.issuer) -}}true{{- end -}}
{{- end -}}

{{/* A list that must not be empty, joined by commas: (list "what" $list). */}}
{{- define "inthub.requiredList" -}}
{{- $l := index . 1 -}}
{{- if not $l -}}{{- fail (printf "%s is required" (index . 0)) -}}{{- end -}}
{{- join "," $l -}}
{{- end -}}
