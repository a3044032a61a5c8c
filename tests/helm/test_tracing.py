"""Tracing in the chart and the Triton image: with tracing.otlpEndpoint set, every process that traces (the
services, the worker, the gateway and Triton) gets the standard OTEL_* variables, and its
NetworkPolicy lets it reach the collector; without it, no process has them and none may."""

from tests.helm.conftest import (
    COMPONENTS,
    component_of,
    containers,
    env_of,
    render,
    render_production,
)
from tests.helm.test_gpu_placement import place_models
from tests.helm.test_network_policies import DESIGN_EDGES, EXTERNAL, _values, allowed_edges

ENDPOINT = "http://otel-collector.observability:4318"
COLLECTOR = {"to": [{"ipBlock": {"cidr": "100.64.0.0/24"}}], "ports": [4318]}
TRACED = ("usersvc", "billingsvc", "songsvc", "songsvc-worker", "gateway", "triton")
TRACING = {"tracing": {"otlpEndpoint": ENDPOINT, "sampleRatio": 0.25}}


def _otel_env(rendered) -> dict[str, dict[str, str]]:
    """component -> the OTEL_* variables of its main container."""
    return {
        component_of(workload): {
            name: entry["value"]
            for name, entry in env_of(containers(workload, init=False)[0]).items()
            if name.startswith("OTEL_")
        }
        for workload in rendered.workloads()
    }


def test_traced_processes_get_the_collector_and_the_sampler() -> None:
    rendered = render(TRACING)
    env = _otel_env(rendered)
    assert set(env) == set(COMPONENTS)
    for component in TRACED:
        assert env[component] == {
            "OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT,
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.25",
            "OTEL_RESOURCE_ATTRIBUTES": "service.namespace=neutone,k8s.namespace.name=neutone",
        }, component
    assert env["edge"] == env["migrations"] == {}


def test_without_an_endpoint_nothing_traces() -> None:
    assert all(not variables for variables in _otel_env(render()).values())


def test_only_traced_processes_may_reach_the_collector() -> None:
    values = _values()
    values["networkPolicy"]["tracing"] = COLLECTOR
    external = EXTERNAL | {"collector": COLLECTOR}
    assert allowed_edges(render_production(values), external) == DESIGN_EDGES
    edges = allowed_edges(render_production(values | TRACING), external)
    assert edges == DESIGN_EDGES | {(component, "collector", 4318) for component in TRACED}


def test_the_triton_image_traces_from_the_same_variables() -> None:
    trace_flags = place_models().trace_flags
    assert trace_flags({}) == []
    assert (
        trace_flags({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_TRACES_EXPORTER": "none"}) == []
    )
    flags = trace_flags({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT + "/"})
    assert "--trace-config=mode=opentelemetry" in flags
    assert f"--trace-config=opentelemetry,url={ENDPOINT}/v1/traces" in flags
    assert "--trace-config=opentelemetry,resource=service.name=triton" in flags
    # Only the requests a caller traces: Triton's own sampling is off.
    assert "--trace-config=rate=0" in flags
    traces_only = "http://traces.example:4318/custom"
    assert f"--trace-config=opentelemetry,url={traces_only}" in trace_flags(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": traces_only}
    )
