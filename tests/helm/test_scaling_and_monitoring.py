"""What the chart gives autoscalers and monitoring: headless Services for per-call balancing,
KEDA ScaledObjects for the worker (queue depth) and Triton (requests waiting), PodMonitors, a
Grafana dashboard whose queries read metrics that exist, image digests and namespaces.
kubernetes-validate knows no CRD, so the ScaledObject and PodMonitor shapes are checked here
against the fields their operators require."""

import importlib
import json
import re
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml
from prometheus_client import REGISTRY

from tests.helm.conftest import (
    CHART_DIR,
    COMPONENTS,
    NAMESPACE,
    VALUES_KEYS,
    Rendered,
    component_of,
    containers,
    deep_merge,
    production_values,
    render_production,
)
from tests.helm.dashboard import dashboard_metric_names

# Every module that defines Prometheus metrics.
METRIC_MODULES = (
    "runtime.interceptors",
    "runtime.probes",
    "gateway.metrics",
    "songsvc.streams",
    "songsvc.worker",
)
DIGEST = "sha256:" + "0123456789abcdef" * 4
EVERYTHING_ON = {
    "metrics": {"podMonitor": {"enabled": True}, "grafanaDashboard": {"enabled": True}},
    "songsvcWorker": {"keda": {"enabled": True}},
    "triton": {"keda": {"enabled": True}, "autoscaling": {"enabled": False}},
}
# The fields KEDA (keda.sh/v1alpha1) and the Prometheus Operator (monitoring.coreos.com/v1)
# require or the chart relies on, with their types.
SCALED_OBJECT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": {"type": "object", "required": ["name", "namespace"]},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["scaleTargetRef", "minReplicaCount", "maxReplicaCount", "triggers"],
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "name": {"type": "string"},
                    },
                },
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["type", "metadata"],
                        "properties": {
                            "type": {"const": "prometheus"},
                            # KEDA's trigger metadata is a map of strings.
                            "metadata": {
                                "type": "object",
                                "required": ["serverAddress", "query", "threshold"],
                                "additionalProperties": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    },
}
POD_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PodMonitor"},
        "metadata": {"type": "object", "required": ["name", "namespace"]},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "podMetricsEndpoints"],
            "properties": {
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "matchLabels": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                        },
                        "matchExpressions": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["key", "operator"],
                                "properties": {
                                    "key": {"type": "string"},
                                    "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                                    "values": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                        },
                    },
                },
                "podMetricsEndpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["port"],
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                        },
                    },
                },
            },
        },
    },
}


@pytest.fixture(scope="module")
def everything_on() -> Rendered:
    return render_production(EVERYTHING_ON)


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        present = labels.get(expression["key"]) in expression["values"]
        if present != (expression["operator"] == "In"):
            return False
    return True


def test_monitoring_and_keda_objects_are_off_by_default(any_render: Rendered) -> None:
    kinds = {obj["kind"] for obj in any_render.objects}
    assert not kinds & {"ScaledObject", "PodMonitor"}
    assert not any(
        obj["kind"] == "ConfigMap" and "-dashboard" in obj["metadata"]["name"]
        for obj in any_render.objects
    )


def test_every_namespaced_object_carries_the_release_namespace() -> None:
    with helm.Chart.load(CHART_DIR) as chart:
        manifests = chart.render(
            values=deep_merge(production_values(), EVERYTHING_ON), name="neutone", namespace="music"
        )
    objects = [
        obj
        for path, text in manifests.items()
        if not path.endswith("NOTES.txt")
        for obj in yaml.safe_load_all(text)
        if obj
    ]
    assert {obj["kind"] for obj in objects} >= {
        "ServiceAccount", "Service", "Deployment", "Job", "ConfigMap", "HorizontalPodAutoscaler",
        "PodDisruptionBudget", "NetworkPolicy", "ScaledObject", "PodMonitor",
    }  # fmt: skip
    for obj in objects:
        assert obj["metadata"]["namespace"] == "music", f"{obj['kind']}/{obj['metadata']['name']}"


def test_grpc_backends_are_headless(production_render: Rendered) -> None:
    for component in ("usersvc", "billingsvc", "songsvc", "triton", "gateway"):
        service = production_render.get("Service", f"neutone-{component}")
        assert service["spec"]["clusterIP"] == "None", component


@pytest.mark.parametrize("component", COMPONENTS)
def test_a_digest_pins_the_image(component: str) -> None:
    rendered = render_production({VALUES_KEYS[component]: {"image": {"digest": DIGEST}}})
    for workload in rendered.workloads():
        for container in containers(workload, init=False):
            pinned = container["image"].endswith(f"@{DIGEST}")
            assert pinned is (component_of(workload) == component), container["image"]
    image = containers(rendered.workload(component), init=False)[0]["image"]
    # The tag stays beside the digest, for people; the digest is what is pulled.
    assert re.fullmatch(rf"[^@]+:[A-Za-z0-9_.-]+@{DIGEST}", image), image


def test_the_worker_scales_on_the_queue_with_keda(everything_on: Rendered) -> None:
    scaled = everything_on.get("ScaledObject", "neutone-songsvc-worker")
    jsonschema.validate(scaled, SCALED_OBJECT)
    spec = scaled["spec"]
    deployment = everything_on.get("Deployment", "neutone-songsvc-worker")
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    # KEDA owns the replica count (its own HPA), between autoscaling's bounds.
    assert "replicas" not in deployment["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 8)
    (trigger,) = spec["triggers"]
    query = trigger["metadata"]["query"]
    assert "neutone_queue_jobs" in query and f'namespace="{NAMESPACE}"' in query
    # One replica per `concurrency` jobs queued or running.
    assert trigger["metadata"]["threshold"] == "24"
    assert not everything_on.of_kind("HorizontalPodAutoscaler") or all(
        hpa["spec"]["scaleTargetRef"]["name"] != "neutone-songsvc-worker"
        for hpa in everything_on.of_kind("HorizontalPodAutoscaler")
    )


def test_triton_scales_on_requests_waiting_with_keda(everything_on: Rendered) -> None:
    scaled = everything_on.get("ScaledObject", "neutone-triton")
    jsonschema.validate(scaled, SCALED_OBJECT)
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["metadata"]["query"] == (
        f'sum(nv_inference_pending_request_count{{namespace="{NAMESPACE}",pod=~"neutone-triton-.*"}})'
    )
    assert trigger["metadata"]["threshold"] == "16"
    assert "replicas" not in everything_on.get("Deployment", "neutone-triton")["spec"]


def test_keda_and_an_hpa_on_one_component_fail_the_render() -> None:
    values = deep_merge(production_values(), {"triton": {"keda": {"enabled": True}}})
    with (
        helm.Chart.load(CHART_DIR) as chart,
        pytest.raises(helm.HelmRenderError, match=r"keda\.enabled and autoscaling\.enabled"),
    ):
        chart.render(values=values, name="neutone", namespace="neutone")


def test_pod_monitors_scrape_every_component_once_on_its_metrics_port(
    everything_on: Rendered,
) -> None:
    monitors = everything_on.of_kind("PodMonitor")
    for monitor in monitors:
        jsonschema.validate(monitor, POD_MONITOR)
    for deployment in everything_on.of_kind("Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        (monitor,) = [m for m in monitors if selects(m["spec"]["selector"], labels)]
        (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        # The same path the pod's own scrape annotations name (Envoy's differs).
        assert endpoint["path"] == annotations["prometheus.io/path"]
        ports = {port["name"]: port["containerPort"] for port in containers(deployment)[0]["ports"]}
        assert str(ports[endpoint["port"]]) == annotations["prometheus.io/port"]


def test_the_dashboard_is_a_config_map_for_grafanas_sidecar(everything_on: Rendered) -> None:
    config_map = everything_on.get("ConfigMap", "neutone-dashboard")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    board = json.loads(config_map["data"]["neutone.json"])
    assert board["uid"] == "neutone-overview"
    titles = {panel["title"] for panel in board["panels"] if panel["type"] == "row"}
    assert titles == {
        "Services (gRPC): golden signals",
        "Gateway (grpc-web)",
        "Song pipeline: queue and workers",
        "Model tier (Triton)",
    }


def exported_metric_names() -> set[str]:
    """Every sample name the Neutone processes export, from their metric definitions: each
    module that defines metrics is imported, and each family's samples named as
    prometheus_client names them (counters `_total`, histograms `_bucket`/`_sum`/`_count`),
    with the process collector's (process_*) that every Python process serves."""
    for module in METRIC_MODULES:
        importlib.import_module(module)
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""]}
    names = set()
    for family in REGISTRY.collect():
        names |= {f"{family.name}{suffix}" for suffix in suffixes.get(family.type, [""])}
        names |= {sample.name for sample in family.samples}
    return names


def test_every_dashboard_query_reads_a_metric_some_process_exports() -> None:
    used = dashboard_metric_names()
    # Triton's (nv_*) are checked against a running tritonserver:
    # tests/integration/model_tier/test_dashboard_metrics.py.
    ours = {name for name in used if not name.startswith("nv_")}
    assert ours, "the dashboard reads no Neutone metric"
    assert ours - exported_metric_names() == set()
    # The queue and the worker's health, which this dashboard exists to show.
    assert {"neutone_queue_jobs", "neutone_queue_oldest_queued_seconds"} <= ours
    assert {"neutone_worker_jobs_in_flight", "neutone_heartbeat_age_seconds"} <= ours


def test_the_worker_is_scraped_where_the_network_policy_lets_the_scraper_in(
    production_render: Rendered,
) -> None:
    policy = production_render.get("NetworkPolicy", "neutone-songsvc-worker")
    metrics_from = production_values()["networkPolicy"]["metricsFrom"]
    rules = [rule for rule in policy["spec"]["ingress"] if rule.get("from") == metrics_from]
    assert [rule["ports"] for rule in rules] == [[{"protocol": "TCP", "port": 9090}]]


def test_the_built_in_objects_beside_them_match_the_kubernetes_schemas(
    everything_on: Rendered,
) -> None:
    version = kubernetes_validate.latest_version() + ".0"
    for obj in everything_on.objects:
        if obj["kind"] not in ("ScaledObject", "PodMonitor"):
            kubernetes_validate.validate(obj, version, strict=True)
