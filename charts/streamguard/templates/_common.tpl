{{/* Names and labels shared by every object of the release. */}}

{{- define "streamguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release-scoped base name; also the name of both webhook configurations. */}}
{{- define "streamguard.fullname" -}}
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

{{- define "streamguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "streamguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "streamguard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "streamguard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: streamguard
{{- end }}

{{- define "streamguard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "streamguard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the serving certificate, whichever TLS mode fills it. */}}
{{- define "streamguard.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "streamguard.fullname" .)) .Values.tls.secretName }}
{{- end }}

{{- define "streamguard.policyConfigMapName" -}}
{{- printf "%s-policy" (include "streamguard.fullname" .) }}
{{- end }}

{{- define "streamguard.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The DNS names the API server uses to reach the Service. */}}
{{- define "streamguard.serviceDNSNames" -}}
{{- $svc := include "streamguard.fullname" . }}
{{- $ns := .Release.Namespace -}}
- {{ $svc }}
- {{ $svc }}.{{ $ns }}
- {{ $svc }}.{{ $ns }}.svc
- {{ $svc }}.{{ $ns }}.svc.cluster.local
{{- end }}

{{/*
Who puts the CA into the webhook configurations: exactly one owner per TLS mode. self-managed:
the server itself (no annotation; the chart ships no caBundle); cert-manager: its cainjector;
service-ca: OpenShift's service CA operator.
*/}}
{{- define "streamguard.caInjectionAnnotations" -}}
{{- if eq .Values.tls.mode "cert-manager" }}
cert-manager.io/inject-ca-from: {{ .Release.Namespace }}/{{ include "streamguard.fullname" . }}-serving
{{- else if eq .Values.tls.mode "service-ca" }}
service.beta.openshift.io/inject-cabundle: "true"
{{- end }}
{{- end }}

{{/*
Requests from the webhook's own namespace and kube-system never reach it: the webhook must not
be able to block its own recovery or the cluster's system components.
*/}}
{{- define "streamguard.namespaceSelector" -}}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values:
        {{- toYaml (concat (list .Release.Namespace "kube-system") .Values.webhook.excludeNamespaces | uniq) | nindent 8 }}
{{- end }}

{{- define "streamguard.clientConfig" -}}
clientConfig:
  service:
    name: {{ include "streamguard.fullname" .root }}
    namespace: {{ .root.Release.Namespace }}
    path: {{ .path }}
    port: {{ .root.Values.service.port }}
{{- end }}
