"""The chart renders, lints and yields valid Kubernetes objects, exactly the expected ones."""

from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest

from tests.helm.conftest import (
    CHART_DIR,
    COMPONENTS,
    VALUES_KEYS,
    Rendered,
    component_of,
    containers,
    production_values,
    render_production,
)

# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest schemas.
KUBERNETES_VERSIONS = ("1.27.0", kubernetes_validate.latest_version() + ".0")

PRODUCTION_INVENTORY = {
    *{
        (kind, f"neutone-{component}")
        for component in ("usersvc", "billingsvc", "songsvc", "gateway", "edge", "triton")
        for kind in (
            "ServiceAccount",
            "Service",
            "Deployment",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "NetworkPolicy",
        )
    },
    ("ServiceAccount", "neutone-songsvc-worker"),
    ("Deployment", "neutone-songsvc-worker"),
    ("PodDisruptionBudget", "neutone-songsvc-worker"),
    ("NetworkPolicy", "neutone-songsvc-worker"),
    ("ConfigMap", "neutone-edge"),
    ("ServiceAccount", "neutone-migrations"),
    ("Job", "neutone-migrations"),
    ("NetworkPolicy", "neutone-migrations"),
    ("NetworkPolicy", "neutone-default-deny"),
}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_matches_the_kubernetes_schemas(any_render: Rendered, version: str) -> None:
    failures = []
    for obj in any_render.objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            failures.append(f"{obj['kind']}/{obj['metadata']['name']}: {error.message}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("values", [{}, production_values()], ids=["default", "production"])
def test_chart_lints_clean(values: dict[str, Any]) -> None:
    report = helm.lint(CHART_DIR, values, strict=True, namespace="neutone", kube_version="v1.30.0")
    assert report["errors"] == []
    # Severity 1 is informational ("icon is recommended"); warnings and errors fail.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_production_renders_exactly_the_expected_objects(production_render: Rendered) -> None:
    assert production_render.inventory() == PRODUCTION_INVENTORY


def test_every_object_carries_the_standard_labels(any_render: Rendered) -> None:
    for obj in any_render.objects:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "neutone"
        assert labels["app.kubernetes.io/instance"] == "neutone"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/part-of"] == "neutone"
        assert labels["app.kubernetes.io/version"] == "0.1.0"
        assert labels["helm.sh/chart"] == "neutone-0.1.0"
        assert labels["app.kubernetes.io/component"]


def test_no_image_is_latest_or_untagged(any_render: Rendered) -> None:
    for workload in any_render.workloads():
        for container in containers(workload):
            image = container["image"]
            name, _, tag = image.rpartition(":")
            assert name and "/" not in tag, f"{image} has no tag"
            assert tag.lower() != "latest", image


def test_production_images_come_from_the_configured_registry(production_render: Rendered) -> None:
    registry = production_values()["image"]["registry"]
    for workload in production_render.workloads():
        if component_of(workload) == "edge":
            assert containers(workload)[0]["image"] == "docker.io/envoyproxy/envoy:v1.40.0"
            continue
        for container in containers(workload):
            assert container["image"].startswith(f"{registry}/neutone-"), container["image"]
            assert container["image"].endswith(":0.1.0"), container["image"]


@pytest.mark.parametrize("component", COMPONENTS)
def test_each_component_is_gated_by_its_enabled_value(component: str) -> None:
    rendered = render_production({VALUES_KEYS[component]: {"enabled": False}})
    remaining = {component_of(obj) for obj in rendered.objects}
    assert component not in remaining
    assert remaining == ({*COMPONENTS, "default-deny"} - {component})


def test_disabling_network_policies_removes_them() -> None:
    rendered = render_production({"networkPolicy": {"enabled": False}})
    assert rendered.of_kind("NetworkPolicy") == []
    assert rendered.of_kind("Deployment")


def test_notes_tell_the_operator_how_to_reach_the_app(production_render: Rendered) -> None:
    notes = production_render.notes
    assert "https://neutone.app" in notes
    assert "get service neutone-edge" in notes
    assert "neutone-app-tls" in notes
    assert "port-forward service/neutone-edge 8443:443" in notes


def test_a_release_name_with_neutone_is_not_repeated() -> None:
    with helm.Chart.load(CHART_DIR) as chart:
        manifests = chart.render(values={}, name="neutone-prod", namespace="music")
    assert "name: neutone-prod-usersvc" in manifests["neutone/templates/usersvc.yaml"]
