"""Every container's environment is one its process accepts: each NEUTONE_ variable the chart
sets is a field of that service's settings class, and the settings load from it (with
stand-ins for the Secrets) exactly as they would in the pod."""

import base64
import importlib
import math
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from tests.helm.conftest import (
    Rendered,
    containers,
    env_of,
    production_values,
    render,
    render_production,
)

SETTINGS = {
    "usersvc": "usersvc.settings:UserServiceSettings",
    "billingsvc": "billingsvc.settings:BillingServiceSettings",
    "songsvc": "songsvc.settings:SongServiceSettings",
    "songsvc-worker": "songsvc.settings:WorkerSettings",
    "gateway": "gateway.settings:GatewaySettings",
    "migrations": "runtime.settings:DatabaseSettings",
}
# What the existing Secrets hold, in a form each setting accepts.
SECRET_VALUES = {
    ("neutone-identity", "identity-key"): "k" * 48,
    ("neutone-page-tokens", "page-token-key"): "p" * 48,
    ("neutone-database", "url"): "postgresql://neutone:secret@db.internal:5432/neutone",
    ("neutone-payment", "webhook-secret"): "whsec_" + base64.b64encode(b"w" * 32).decode(),
    ("neutone-payment", "polar-access-token"): "polar_oat_test",
}
# Non-NEUTONE variables a Python service container may carry.
OTHER_VARIABLES = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def settings_class(component: str) -> type[BaseModel]:
    module, _, name = SETTINGS[component].partition(":")
    return getattr(importlib.import_module(module), name)


def variable_names(model: type[BaseModel], prefix: str = "NEUTONE_") -> set[str]:
    """The environment variables a settings class reads (nested models through `__`)."""
    names = set()
    for name, field in model.model_fields.items():
        names.add(f"{prefix}{name.upper()}")
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            names |= variable_names(field.annotation, f"{prefix}{name.upper()}__")
    return names


# Kubernetes quantity suffixes (the ones resources use), in bytes.
QUANTITY_UNITS = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "": 1,
}


def quantity(text: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", text).groups()
    return float(number) * QUANTITY_UNITS[unit]


def environment(container: dict[str, Any]) -> dict[str, str]:
    """The variables as the kubelet would set them."""
    values = {}
    for name, entry in env_of(container).items():
        if "value" in entry:
            values[name] = entry["value"]
        elif "secretKeyRef" in entry["valueFrom"]:
            ref = entry["valueFrom"]["secretKeyRef"]
            values[name] = SECRET_VALUES[(ref["name"], ref["key"])]
        else:
            # The Downward API: the container's resource over the divisor, rounded up.
            ref = entry["valueFrom"]["resourceFieldRef"]
            assert ref["containerName"] == container["name"]
            kind, _, resource = ref["resource"].partition(".")
            amount = quantity(container["resources"][kind][resource])
            values[name] = str(math.ceil(amount / quantity(ref.get("divisor", "1"))))
    return values


@pytest.fixture
def clean_environment() -> Iterator[None]:
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("NEUTONE_", "AWS_")):
            del os.environ[name]
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.mark.parametrize("component", sorted(SETTINGS))
def test_settings_load_from_the_rendered_environment(
    any_render: Rendered, component: str, clean_environment: None
) -> None:
    container = containers(any_render.workload(component), init=False)[0]
    env = environment(container)
    cls = settings_class(component)
    unknown = {
        name for name in env if name not in variable_names(cls) and name not in OTHER_VARIABLES
    }
    assert not unknown, f"{component} does not read {sorted(unknown)}"
    os.environ.update(env)
    settings = cls()
    assert getattr(settings, "is_production", False), component


def test_services_reach_each_other_through_their_services(
    production_render: Rendered, clean_environment: None
) -> None:
    services = {
        service["metadata"]["name"]: {
            port["name"]: port["port"] for port in service["spec"]["ports"]
        }
        for service in production_render.of_kind("Service")
    }
    for component in ("usersvc", "billingsvc", "songsvc", "songsvc-worker", "gateway"):
        env = env_of(containers(production_render.workload(component))[0])
        for setting, target in (
            ("NEUTONE_USERSVC_ADDRESS", "neutone-usersvc"),
            ("NEUTONE_BILLINGSVC_ADDRESS", "neutone-billingsvc"),
            ("NEUTONE_SONGSVC_ADDRESS", "neutone-songsvc"),
        ):
            host, _, port = env[setting]["value"].partition(":")
            assert host == target and int(port) == services[target]["grpc"], (component, setting)
    worker = env_of(containers(production_render.workload("songsvc-worker"))[0])
    host, _, port = worker["NEUTONE_TRITON_URL"]["value"].partition(":")
    assert host == "neutone-triton" and int(port) == services["neutone-triton"]["grpc"]


def test_billing_runs_polar_with_the_configured_products(
    production_render: Rendered, clean_environment: None
) -> None:
    container = containers(production_render.workload("billingsvc"))[0]
    os.environ.update(environment(container))
    settings = settings_class("billingsvc")()
    assert settings.payment_provider == "polar"
    assert settings.polar_server == "production"
    expected = production_values()["billing"]["products"]
    assert [
        (p.id, p.credits, p.price_minor_units, p.polar_product_id) for p in settings.products
    ] == [(p["id"], p["credits"], p["priceMinorUnits"], p["polarProductId"]) for p in expected]
    assert settings.default_success_url == "https://neutone.app/credits?checkout=success"


def test_songs_are_stored_in_the_configured_bucket(
    production_render: Rendered, clean_environment: None
) -> None:
    for component in ("songsvc", "songsvc-worker"):
        os.environ.update(environment(containers(production_render.workload(component))[0]))
        store = settings_class(component)().object_store
        assert (store.kind, store.s3_bucket, store.s3_region) == (
            "s3",
            "neutone-media-prod",
            "eu-west-1",
        )
        assert store.s3_endpoint_url is None


def test_gateway_accepts_cookie_calls_from_the_public_origin_only(
    production_render: Rendered, clean_environment: None
) -> None:
    os.environ.update(environment(containers(production_render.workload("gateway"))[0]))
    settings = settings_class("gateway")()
    assert settings.origins == ("https://neutone.app",)
    assert settings.secure_cookies is True
    assert settings.listen_address == "0.0.0.0:8080"


async def test_gateway_takes_the_client_address_the_edge_appended(
    production_render: Rendered, clean_environment: None
) -> None:
    """A client may send its own X-Forwarded-For; the edge appends the address it
    really came from. The gateway must believe only the latter."""
    os.environ.update(environment(containers(production_render.workload("gateway"))[0]))
    settings = settings_class("gateway")()
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen["client"] = scope["client"]

    proxied = ProxyHeadersMiddleware(app, trusted_hosts=settings.trusted_proxies)
    scope = {
        "type": "http",
        "scheme": "http",
        "client": ("10.42.0.7", 51000),  # an edge pod
        "headers": [(b"x-forwarded-for", b"6.6.6.6, 203.0.113.9")],  # forged, then real
    }
    await proxied(scope, None, None)
    assert seen["client"][0] == "203.0.113.9"


@pytest.mark.parametrize(
    ("memory_limit", "hashes_at_once"), [(None, 8), ("1Gi", 12), ("2Gi", 28), ("320Mi", 1)]
)
def test_usersvc_hashes_as_many_passwords_at_once_as_fit_in_its_memory(
    memory_limit: str | None, hashes_at_once: int, clean_environment: None
) -> None:
    """768Mi (the default) less the 256 MiB reserve is room for 8 hashes of 64 MiB."""
    overrides = {"usersvc": {"resources": {"limits": {"memory": memory_limit}}}}
    for rendered in (
        (render(), render_production())
        if memory_limit is None
        else (render(overrides), render_production(overrides))
    ):
        container = containers(rendered.workload("usersvc"), init=False)[0]
        env = environment(container)
        assert env_of(container)["NEUTONE_MEMORY_LIMIT_MIB"]["valueFrom"]["resourceFieldRef"] == {
            "containerName": "usersvc",
            "resource": "limits.memory",
            "divisor": "1Mi",
        }
        os.environ.update(env)
        assert settings_class("usersvc")().hashes_at_once == hashes_at_once
