{{- define "higgs.name" -}}{{ .Release.Name }}-higgs{{- end -}}
{{- define "higgs.tokensSecret" -}}{{ default (printf "%s-tokens" (include "higgs.name" .)) .Values.tenant.existingSecret }}{{- end -}}
{{- define "higgs.tenantUrl" -}}{{ default (printf "http://%s-tenant:%v" (include "higgs.name" .) .Values.tenant.port) .Values.scanner.tenantUrl }}{{- end -}}
