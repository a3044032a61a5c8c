{{/*
The objects of one gRPC service (usersvc, billingsvc, songsvc): its ServiceAccount, Service,
Deployment (native gRPC probes against the standard health service), HPA, PDB and
NetworkPolicy. The component's own template supplies what differs:
  command      the container command
  env          extra env entries (a YAML list, as a string); never a secret
  secretFiles  the secret settings it reads besides its database URL, as files (a list for
               neutone.secretsVolume)
  ingressFrom  who may call it; egressTo: what it may reach (see neutone.networkPolicy)
Its database URL is secrets.database.<component> and its key secrets.serviceKeys.<component>.
The Service is headless: callers resolve every ready pod and balance each call over them
(runtime/clients.py), rather than a ClusterIP pinning each long-lived channel to one pod.
*/}}
{{- define "neutone.grpcService" -}}
{{- $root := .root -}}
{{- $values := .values -}}
{{ include "neutone.serviceAccount" . }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "neutone.componentName" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "neutone.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  clusterIP: None
  selector:
    {{- include "neutone.selectorLabels" . | nindent 4 }}
  ports:
    - name: grpc
      port: {{ $values.port }}
      targetPort: grpc
      appProtocol: grpc
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "neutone.componentName" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "neutone.labels" . | nindent 4 }}
spec:
  {{- include "neutone.replicas" . | nindent 2 }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "neutone.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      {{- include "neutone.podMetadata" . | nindent 6 }}
    spec:
      {{- include "neutone.podSpecCommon" . | nindent 6 }}
      terminationGracePeriodSeconds: {{ include "neutone.terminationGracePeriod" . }}
      containers:
        - name: {{ .component }}
          image: {{ include "neutone.image" . }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command:
            {{- toYaml .command | nindent 12 }}
          ports:
            - name: grpc
              containerPort: {{ $values.port }}
            - name: metrics
              containerPort: {{ $root.Values.metrics.port }}
          env:
            {{- include "neutone.serviceEnv" (merge (dict "listenPort" $values.port) .) | nindent 12 }}
            {{- include "neutone.secretsDirEnv" . | nindent 12 }}
            {{- with .env }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- include "neutone.extraEnv" . | nindent 12 }}
          {{- include "neutone.grpcProbes" . | nindent 10 }}
          resources:
            {{- toYaml $values.resources | nindent 12 }}
          securityContext:
            {{- include "neutone.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            {{- include "neutone.tmpVolumeMount" . | nindent 12 }}
            {{- include "neutone.keysVolumeMount" . | nindent 12 }}
            {{- include "neutone.secretsVolumeMount" . | nindent 12 }}
      volumes:
        {{- include "neutone.tmpVolume" . | nindent 8 }}
        {{- include "neutone.keysVolume" (dict "root" $root "principal" .component "valuesKey" .component) | nindent 8 }}
        {{- $database := include "neutone.databaseFile" (dict "root" $root "database" .component) | fromYaml }}
        {{- include "neutone.secretsVolume" (dict "files" (prepend (.secretFiles | default list) $database)) | nindent 8 }}
{{- include "neutone.hpa" . }}
{{- include "neutone.pdb" . }}
{{- include "neutone.networkPolicy" . }}
{{- end -}}
