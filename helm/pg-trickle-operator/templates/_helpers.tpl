{{- define "pg-trickle-operator.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pg-trickle-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "pg-trickle-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "pg-trickle-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "pg-trickle-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pg-trickle-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "pg-trickle-operator.labels" -}}
{{ include "pg-trickle-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "pg-trickle-operator.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The rules the operator needs on its own resources, Secrets and Events. */}}
{{- define "pg-trickle-operator.rules" -}}
- apiGroups: ["pgtrickle.io"]
  resources: ["citusclusters", "streamtables"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["pgtrickle.io"]
  resources: ["citusclusters/status", "streamtables/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["pgtrickle.io"]
  resources: ["citusclusters/finalizers", "streamtables/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}
