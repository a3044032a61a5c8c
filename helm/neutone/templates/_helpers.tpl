{{/*
Shared pieces of every component's templates. Components pass a context made with
  (dict "root" $ "component" "usersvc" "values" .Values.usersvc)
so that one helper serves them all.
*/}}

{{- define "neutone.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's name prefix: "<release>-neutone", or the release name when it already says neutone. */}}
{{- define "neutone.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* A component's object name: "<fullname>-<component>". */}}
{{- define "neutone.componentName" -}}
{{- printf "%s-%s" (include "neutone.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "neutone.selectorLabels" -}}
app.kubernetes.io/name: {{ include "neutone.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "neutone.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "neutone.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: neutone
{{- end -}}

{{/* Labels every pod of the release carries; the default-deny NetworkPolicy selects them. */}}
{{- define "neutone.releaseSelector" -}}
app.kubernetes.io/name: {{ include "neutone.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* "<registry>/<repository>:<tag>"; the tag defaults to the chart's appVersion. With the
component's image.digest, "<registry>/<repository>:<tag>@sha256:...": the digest is what is
pulled, the tag only tells people which release it is. */}}
{{- define "neutone.image" -}}
{{- $image := .values.image -}}
{{- $registry := $image.registry | default .root.Values.image.registry -}}
{{- $tag := $image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- $name := printf "%s:%s" $image.repository $tag -}}
{{- if $registry -}}
{{- $name = printf "%s/%s" $registry $name -}}
{{- end -}}
{{- with $image.digest -}}
{{- $name = printf "%s@%s" $name . -}}
{{- end -}}
{{- $name -}}
{{- end -}}

{{- define "neutone.serviceAccountName" -}}
{{- include "neutone.componentName" . -}}
{{- end -}}

{{/* A ServiceAccount per component: none shares an identity (IRSA / workload identity
annotations go on the component's serviceAccount.annotations). */}}
{{- define "neutone.serviceAccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "neutone.serviceAccountName" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "neutone.labels" . | nindent 4 }}
  {{- with .values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end -}}

{{- define "neutone.podSecurityContext" -}}
{{- $context := mergeOverwrite (deepCopy .root.Values.podSecurityContext) (.values.podSecurityContext | default dict) -}}
{{- toYaml $context -}}
{{- end -}}

{{- define "neutone.containerSecurityContext" -}}
{{- toYaml .root.Values.containerSecurityContext -}}
{{- end -}}

{{/* Pod-level settings shared by every workload. */}}
{{- define "neutone.podSpecCommon" -}}
serviceAccountName: {{ include "neutone.serviceAccountName" . }}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- include "neutone.podSecurityContext" . | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .values.topologySpread }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "neutone.selectorLabels" . | nindent 8 }}
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "neutone.selectorLabels" . | nindent 8 }}
{{- end }}
{{- end -}}

{{/* Pod template metadata: labels, scrape hints, and a checksum that rolls pods on config changes. */}}
{{- define "neutone.podMetadata" -}}
labels:
  {{- include "neutone.labels" . | nindent 2 }}
annotations:
  {{- if .metricsPort }}
  prometheus.io/scrape: "true"
  prometheus.io/port: {{ .metricsPort | quote }}
  prometheus.io/path: {{ .metricsPath | default "/metrics" }}
  {{- end }}
  {{- with .checksum }}
  checksum/config: {{ . }}
  {{- end }}
  {{- with .values.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* /tmp is the only writable path (root filesystems are read-only). */}}
{{- define "neutone.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .values.tmpSizeLimit | default "256Mi" }}
{{- end -}}

{{- define "neutone.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/*
A pod's secret settings, as files (runtime/settings.py): never environment variables, which
every child process inherits and `kubectl describe` shows. One read-only projected volume at
NEUTONE_SECRETS_DIR holds one file per setting, named as the setting's variable.
  files: a list of (dict "name" "NEUTONE_DATABASE_URL" "secret" <Secret name> "key" <key>)
*/}}
{{- define "neutone.secretsDir" -}}
/etc/neutone/secrets
{{- end -}}

{{- define "neutone.secretsVolume" -}}
- name: secrets
  projected:
    # 0440: readable by the pod's group (fsGroup) only.
    defaultMode: 288
    sources:
      {{- range .files }}
      - secret:
          name: {{ .secret }}
          items:
            - key: {{ .key }}
              path: {{ .name }}
      {{- end }}
{{- end -}}

{{- define "neutone.secretsVolumeMount" -}}
- name: secrets
  mountPath: {{ include "neutone.secretsDir" . }}
  readOnly: true
{{- end -}}

{{- define "neutone.secretsDirEnv" -}}
- name: NEUTONE_SECRETS_DIR
  value: {{ include "neutone.secretsDir" . }}
{{- end -}}

{{/* Settings every Python service reads (runtime/settings.py). No secret: each pod gets
the ones it uses as files from its own template (neutone.secretsVolume with
neutone.databaseFile, neutone.pageTokenFile, ...) and its own signing key (neutone.keysVolume). */}}
{{- define "neutone.serviceEnv" -}}
{{- $root := .root -}}
- name: NEUTONE_ENVIRONMENT
  value: production
- name: NEUTONE_LOG_LEVEL
  value: {{ $root.Values.logLevel | quote }}
- name: NEUTONE_LOG_FORMAT
  value: json
- name: NEUTONE_METRICS_PORT
  value: {{ $root.Values.metrics.port | quote }}
- name: NEUTONE_DATA_DIR
  value: /tmp/neutone
{{- if .listenPort }}
- name: NEUTONE_LISTEN_ADDRESS
  value: {{ printf "0.0.0.0:%v" .listenPort | quote }}
{{- end }}
{{- /* Headless Services: the name resolves to every ready pod, and clients balance each call. */}}
- name: NEUTONE_USERSVC_ADDRESS
  value: {{ include "neutone.grpcTarget" (dict "root" $root "component" "usersvc" "port" $root.Values.usersvc.port) | quote }}
- name: NEUTONE_BILLINGSVC_ADDRESS
  value: {{ include "neutone.grpcTarget" (dict "root" $root "component" "billingsvc" "port" $root.Values.billingsvc.port) | quote }}
- name: NEUTONE_SONGSVC_ADDRESS
  value: {{ include "neutone.grpcTarget" (dict "root" $root "component" "songsvc" "port" $root.Values.songsvc.port) | quote }}
{{- if .values.shutdownGraceSeconds }}
- name: NEUTONE_SHUTDOWN_GRACE_SECONDS
  value: {{ .values.shutdownGraceSeconds | quote }}
{{- end }}
- name: NEUTONE_KEYS_DIR
  value: {{ include "neutone.keysDir" . }}
{{- include "neutone.tracingEnv" $root }}
{{- end -}}

{{/* The OTEL_* variables of a process that traces (runtime/tracing.py; Triton through
triton/place_models.py): none while tracing.otlpEndpoint is empty. */}}
{{- define "neutone.tracingEnv" -}}
{{- with .Values.tracing.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
- name: OTEL_TRACES_SAMPLER
  value: parentbased_traceidratio
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $.Values.tracing.sampleRatio | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "service.namespace=%s,k8s.namespace.name=%s" $.Release.Name $.Release.Namespace | quote }}
{{- end }}
{{- end -}}

{{/* The components whose processes send spans (neutone.tracingEnv), and so may reach the
collector. */}}
{{- define "neutone.tracedComponents" -}}
usersvc billingsvc songsvc songsvc-worker gateway triton
{{- end -}}

{{/* A gRPC target naming a component's headless Service: "dns:///<name>.<namespace>:<port>". */}}
{{- define "neutone.grpcTarget" -}}
{{- printf "dns:///%s.%s:%v" (include "neutone.componentName" .) .root.Release.Namespace .port -}}
{{- end -}}

{{/* Where a pod finds its own private key and the trusted public keys (runtime/keys). */}}
{{- define "neutone.keysDir" -}}
/etc/neutone/keys
{{- end -}}

{{/*
A pod's identity keys: a projected volume holding exactly two files, "<principal>.pem" (the
pod's own PKCS#8 private key, from its own Secret, secrets.serviceKeys.<valuesKey>) and
"trusted-keys.json" (every principal's public keys, from the trustedKeys ConfigMap).
  principal  the name the process signs its tokens as (usersvc, ..., songsvc-worker, gateway)
  valuesKey  its entry in secrets.serviceKeys (songsvcWorker for the worker)
*/}}
{{- define "neutone.keysVolume" -}}
{{- $key := index .root.Values.secrets.serviceKeys .valuesKey -}}
{{- $trusted := .root.Values.trustedKeys.configMap -}}
- name: keys
  projected:
    # 0440: readable by the pod's group (fsGroup) only; the files are never written.
    defaultMode: 288
    sources:
      - secret:
          name: {{ $key.name }}
          items:
            - key: {{ $key.key }}
              path: {{ printf "%s.pem" .principal }}
      - configMap:
          name: {{ $trusted.name }}
          items:
            - key: {{ $trusted.key }}
              path: trusted-keys.json
{{- end -}}

{{- define "neutone.keysVolumeMount" -}}
- name: keys
  mountPath: {{ include "neutone.keysDir" . }}
  readOnly: true
{{- end -}}

{{/* A service's own PostgreSQL URL, as a secret file (neutone.secretsVolume): its own role
(secrets.database.<database>; the worker uses songsvc's). `name` overrides the file's name. */}}
{{- define "neutone.databaseFile" -}}
{{- $ref := index .root.Values.secrets.database .database -}}
{{- toYaml (dict "name" (.name | default "NEUTONE_DATABASE_URL") "secret" $ref.name "key" $ref.key) -}}
{{- end -}}

{{/* The page-token HMAC key, as a secret file: the services that page through lists. */}}
{{- define "neutone.pageTokenFile" -}}
{{- toYaml (dict "name" "NEUTONE_PAGE_TOKEN_KEY" "secret" .Values.secrets.pageTokenKey.name "key" .Values.secrets.pageTokenKey.key) -}}
{{- end -}}

{{/* The S3 object store of songsvc and its worker (runtime/objectstore.py). Without an
objectStore Secret, credentials come from the pod's identity (IRSA, workload identity); with
one, its keys are secret files (neutone.objectStoreFiles). */}}
{{- define "neutone.objectStoreEnv" -}}
{{- $store := .Values.objectStore -}}
- name: NEUTONE_OBJECT_STORE__KIND
  value: s3
- name: NEUTONE_OBJECT_STORE__S3_BUCKET
  value: {{ $store.bucket | quote }}
- name: NEUTONE_OBJECT_STORE__S3_REGION
  value: {{ $store.region | quote }}
{{- with $store.endpointUrl }}
- name: NEUTONE_OBJECT_STORE__S3_ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
- name: NEUTONE_OBJECT_STORE__URL_TTL_SECONDS
  value: {{ $store.urlTtlSeconds | quote }}
{{- end -}}

{{/* The static S3 keys as secret files (a YAML list; empty without an objectStore Secret). */}}
{{- define "neutone.objectStoreFiles" -}}
{{- $secret := .Values.secrets.objectStore -}}
{{- $files := list -}}
{{- with $secret.name -}}
{{- $files = list
  (dict "name" "NEUTONE_OBJECT_STORE__S3_ACCESS_KEY_ID" "secret" . "key" $secret.accessKeyIdKey)
  (dict "name" "NEUTONE_OBJECT_STORE__S3_SECRET_ACCESS_KEY" "secret" . "key" $secret.secretAccessKeyKey) -}}
{{- end -}}
{{- toYaml $files -}}
{{- end -}}

{{/* Extra settings from values: <component>.env (a map of NAME: value). */}}
{{- define "neutone.extraEnv" -}}
{{- range $name, $value := .values.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Native gRPC probes against the standard health service (runtime/server.py). */}}
{{- define "neutone.grpcProbes" -}}
startupProbe:
  grpc:
    port: {{ .values.port }}
  periodSeconds: 2
  failureThreshold: 30
readinessProbe:
  grpc:
    port: {{ .values.port }}
  periodSeconds: 5
  failureThreshold: 2
livenessProbe:
  grpc:
    port: {{ .values.port }}
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
{{- end -}}

{{/* Gives a pod's graceful shutdown (NEUTONE_SHUTDOWN_GRACE_SECONDS) room before SIGKILL. */}}
{{- define "neutone.terminationGracePeriod" -}}
{{- add (int (.values.shutdownGraceSeconds | default 10)) 15 -}}
{{- end -}}

{{- define "neutone.hpa" -}}
{{- if .values.autoscaling.enabled }}
{{- if gt (int .values.autoscaling.minReplicas) (int .values.autoscaling.maxReplicas) }}
{{- fail (printf "%s.autoscaling: minReplicas (%v) is above maxReplicas (%v)" .component .values.autoscaling.minReplicas .values.autoscaling.maxReplicas) }}
{{- end }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "neutone.componentName" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "neutone.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "neutone.componentName" . }}
  minReplicas: {{ .values.autoscaling.minReplicas }}
  maxReplicas: {{ .values.autoscaling.maxReplicas }}
  metrics:
    {{- if .values.autoscaling.metrics }}
    {{- toYaml .values.autoscaling.metrics | nindent 4 }}
    {{- else }}
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .values.autoscaling.targetCPUUtilizationPercentage }}
    {{- end }}
  {{- with .values.autoscaling.behavior }}
  behavior:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}

{{- define "neutone.pdb" -}}
{{- if .values.podDisruptionBudget.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "neutone.componentName" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "neutone.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "neutone.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}

{{/* The replica count, unless an HPA (or KEDA's) owns it. */}}
{{- define "neutone.replicas" -}}
{{- if not (or .values.autoscaling.enabled (.values.keda | default dict).enabled) }}
replicas: {{ .values.replicas }}
{{- end }}
{{- end -}}

{{/*
A KEDA ScaledObject (keda.sh/v1alpha1, off unless <component>.keda.enabled): scales the
component's Deployment on a Prometheus query between autoscaling.minReplicas and maxReplicas.
KEDA makes the HPA itself, so autoscaling.enabled must be false.
  query      the PromQL whose value, divided by `threshold`, is the replicas wanted
  threshold  the query's value one replica takes
*/}}
{{- define "neutone.scaledObject" -}}
{{- $keda := .values.keda -}}
{{- if $keda.enabled }}
{{- if .values.autoscaling.enabled }}
{{- fail (printf "%s: keda.enabled and autoscaling.enabled are both true; KEDA makes the HPA itself, turn autoscaling off" .component) }}
{{- end }}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: {{ include "neutone.componentName" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "neutone.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "neutone.componentName" . }}
  minReplicaCount: {{ .values.autoscaling.minReplicas }}
  maxReplicaCount: {{ .values.autoscaling.maxReplicas }}
  pollingInterval: {{ $keda.pollingIntervalSeconds }}
  cooldownPeriod: {{ $keda.cooldownSeconds }}
  triggers:
    - type: prometheus
      metadata:
        serverAddress: {{ $keda.prometheusServerAddress | quote }}
        query: {{ .query | quote }}
        threshold: {{ .threshold | toString | quote }}
{{- end }}
{{- end -}}

{{/*
A component's NetworkPolicy. Everything else is denied by the release's default-deny policy.
  ingressFrom: list of (dict "peers" [...] "ports" [...]) rules
  egressTo:    list of (dict "peers" [...] "ports" [...]) rules
Peers are NetworkPolicyPeer objects; ports are NetworkPolicyPort objects. DNS egress and
metrics ingress (networkPolicy.metricsFrom) are added here for every component.
*/}}
{{- define "neutone.networkPolicy" -}}
{{- if .root.Values.networkPolicy.enabled }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "neutone.componentName" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "neutone.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "neutone.selectorLabels" . | nindent 6 }}
  policyTypes: [Ingress, Egress]
  ingress:
    {{- range .ingressFrom }}
    {{- /* No peers: from anywhere (only the public edge is configured so). */}}
    - ports:
        {{- toYaml .ports | nindent 8 }}
      {{- with .peers }}
      from:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
    {{- if and .metricsPort .root.Values.networkPolicy.metricsFrom }}
    - from:
        {{- toYaml .root.Values.networkPolicy.metricsFrom | nindent 8 }}
      ports:
        - protocol: TCP
          port: {{ .metricsPort }}
    {{- end }}
  egress:
    - to:
        {{- toYaml .root.Values.networkPolicy.dns.to | nindent 8 }}
      ports:
        - protocol: UDP
          port: 53
        - protocol: TCP
          port: 53
    {{- range .egressTo }}
    - to:
        {{- toYaml .peers | nindent 8 }}
      ports:
        {{- toYaml .ports | nindent 8 }}
    {{- end }}
    {{- $tracing := .root.Values.networkPolicy.tracing }}
    {{- if and .root.Values.tracing.otlpEndpoint (has .component (splitList " " (include "neutone.tracedComponents" .))) }}
    - to:
        {{- toYaml $tracing.to | nindent 8 }}
      ports:
        {{- include "neutone.tcpPorts" $tracing.ports | nindent 8 }}
    {{- end }}
{{- end }}
{{- end -}}

{{/* A NetworkPolicy peer: the pods of another component of this release. */}}
{{- define "neutone.peer" -}}
podSelector:
  matchLabels:
    {{- include "neutone.selectorLabels" . | nindent 4 }}
{{- end -}}

{{/* NetworkPolicyPort objects for a list of TCP port numbers. */}}
{{- define "neutone.tcpPorts" -}}
{{- range . }}
- protocol: TCP
  port: {{ . }}
{{- end }}
{{- end -}}
