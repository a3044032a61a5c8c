"""Renders helm/neutone offline with Helm's own engine (helm-python-sdk, Helm v4 through a C
library): no cluster, no helm binary. Renders are cached per values, so the whole folder
renders each configuration once."""

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART_DIR = REPO / "helm" / "neutone"
PRODUCTION_VALUES_FILE = CHART_DIR / "values-production.yaml"
RELEASE = "neutone"
NAMESPACE = "neutone"

Values = dict[str, Any]
Object = dict[str, Any]

# Every component's `app.kubernetes.io/component` label.
COMPONENTS = (
    "usersvc",
    "billingsvc",
    "songsvc",
    "songsvc-worker",
    "gateway",
    "edge",
    "triton",
    "migrations",
)
# Component label -> key in values.yaml.
VALUES_KEYS = {component: component for component in COMPONENTS} | {
    "songsvc-worker": "songsvcWorker"
}


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> Values:
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def production_values() -> Values:
    return yaml.safe_load(PRODUCTION_VALUES_FILE.read_text())


@dataclass(frozen=True)
class Rendered:
    objects: list[Object]
    notes: str
    values: Values = field(repr=False)

    def of_kind(self, kind: str) -> list[Object]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def get(self, kind: str, name: str) -> Object:
        matches = [obj for obj in self.of_kind(kind) if obj["metadata"]["name"] == name]
        assert len(matches) == 1, f"{kind}/{name}: {len(matches)} rendered"
        return matches[0]

    def workloads(self) -> list[Object]:
        """Deployments and Jobs: everything that runs pods."""
        return self.of_kind("Deployment") + self.of_kind("Job")

    def workload(self, component: str) -> Object:
        matches = [obj for obj in self.workloads() if component_of(obj) == component]
        assert len(matches) == 1, f"{component}: {len(matches)} workloads"
        return matches[0]

    def inventory(self) -> set[tuple[str, str]]:
        return {(obj["kind"], obj["metadata"]["name"]) for obj in self.objects}


def component_of(obj: Object) -> str:
    return obj["metadata"]["labels"]["app.kubernetes.io/component"]


def pod_spec(workload: Object) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def containers(workload: Object, *, init: bool = True) -> list[dict[str, Any]]:
    spec = pod_spec(workload)
    return list(spec["containers"]) + (list(spec.get("initContainers", [])) if init else [])


def env_of(container: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


@cache
def _render(values_json: str) -> Rendered:
    values = json.loads(values_json)
    with helm.Chart.load(CHART_DIR) as chart:
        manifests = chart.render(values=values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects: list[Object] = []
    notes = ""
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return Rendered(objects=objects, notes=notes, values=values)


def render(values: Mapping[str, Any] | None = None) -> Rendered:
    return _render(json.dumps(values or {}, sort_keys=True))


def render_production(overrides: Mapping[str, Any] | None = None) -> Rendered:
    return render(deep_merge(production_values(), overrides or {}))


@pytest.fixture(scope="session")
def default_render() -> Rendered:
    return render()


@pytest.fixture(scope="session")
def production_render() -> Rendered:
    return render_production()


@pytest.fixture(scope="session", params=["default", "production"])
def any_render(request: pytest.FixtureRequest) -> Rendered:
    return render() if request.param == "default" else render_production()
