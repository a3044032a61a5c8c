"""Every container's environment is one its process accepts: each NEUTONE_ variable the chart
sets, and each secret file it mounts, is a field of that service's settings class, and the
settings load from them (with stand-ins for the Secrets laid out as the pod's secrets volume
lays them out, and the key files as its key volume does) exactly as they would in the pod."""

import base64
import importlib
import importlib.util
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from runtime.roles import RoleSettings, service_roles
from tests.helm.conftest import (
    REPO,
    Object,
    Rendered,
    containers,
    env_of,
    pod_spec,
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
    "migrations": "runtime.roles:RoleSettings",
}
# What the existing Secrets hold, in a form each setting accepts.
SECRET_VALUES = {
    ("neutone-page-tokens", "page-token-key"): "p" * 48,
    **{
        (f"neutone-database-{user}", "url"): (
            f"postgresql://neutone_{user}:{user}-password-0123456789@db.internal:5432/neutone"
        )
        for user in ("migrations", "usersvc", "billingsvc", "songsvc")
    },
    ("neutone-payment", "webhook-secret"): "whsec_" + base64.b64encode(b"w" * 32).decode(),
    ("neutone-payment", "polar-access-token"): "polar_oat_test",
    ("neutone-mail", "smtp-password"): "smtp-password-0123456789",
    ("neutone-s3", "AWS_ACCESS_KEY_ID"): "AKIAIOSFODNN7EXAMPLE",
    ("neutone-s3", "AWS_SECRET_ACCESS_KEY"): "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}


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
        else:
            # The Downward API: the container's resource over the divisor, rounded up.
            ref = entry["valueFrom"]["resourceFieldRef"]
            assert ref["containerName"] == container["name"]
            kind, _, resource = ref["resource"].partition(".")
            amount = quantity(container["resources"][kind][resource])
            values[name] = str(math.ceil(amount / quantity(ref.get("divisor", "1"))))
    return values


@pytest.fixture(scope="session")
def generated_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every principal's key and the trusted keys, as the README's install steps make them."""
    out = tmp_path_factory.mktemp("keys")
    subprocess.run(
        [sys.executable, "-m", "runtime.keys", "generate", "--out", str(out)],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return out


def lay_out_key_volume(workload: Object, generated: Path, pod_dir: Path) -> Path:
    """The files the pod's projected `keys` volume holds, copied from the generated ones."""
    (volume,) = [v for v in pod_spec(workload)["volumes"] if v["name"] == "keys"]
    pod_dir.mkdir(parents=True, exist_ok=True)
    for source in volume["projected"]["sources"]:
        for item in next(iter(source.values()))["items"]:
            shutil.copy(generated / item["path"], pod_dir / item["path"])
    return pod_dir


def secret_files(workload: Object) -> dict[str, str]:
    """The files of the pod's projected `secrets` volume: name -> the stand-in content."""
    volumes = [v for v in pod_spec(workload)["volumes"] if v["name"] == "secrets"]
    return {
        item["path"]: SECRET_VALUES[(source["secret"]["name"], item["key"])]
        for volume in volumes
        for source in volume["projected"]["sources"]
        for item in source["secret"]["items"]
    }


@pytest.fixture
def pod_environment(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A container's environment as in its pod, with NEUTONE_KEYS_DIR at a copy of its keys
    and NEUTONE_SECRETS_DIR at its secret files."""

    def environment_of(workload: Object) -> dict[str, str]:
        env = environment(containers(workload, init=False)[0])
        pod_dir = tmp_path / workload["metadata"]["name"]
        if "NEUTONE_KEYS_DIR" in env:
            generated = request.getfixturevalue("generated_keys")
            env["NEUTONE_KEYS_DIR"] = str(lay_out_key_volume(workload, generated, pod_dir / "keys"))
        if "NEUTONE_SECRETS_DIR" in env:
            secrets_dir = pod_dir / "secrets"
            secrets_dir.mkdir(parents=True, exist_ok=True)
            for name, content in secret_files(workload).items():
                (secrets_dir / name).write_text(content)
            env["NEUTONE_SECRETS_DIR"] = str(secrets_dir)
        return env

    return environment_of


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
    any_render: Rendered, component: str, pod_environment: Any, clean_environment: None
) -> None:
    workload = any_render.workload(component)
    env = pod_environment(workload)
    cls = settings_class(component)
    # NEUTONE_SECRETS_DIR is read before the settings (runtime/settings.py).
    read = variable_names(cls) | {"NEUTONE_SECRETS_DIR"}
    unknown = {name for name in [*env, *secret_files(workload)] if name not in read}
    assert not unknown, f"{component} does not read {sorted(unknown)}"
    os.environ.update(env)
    settings = cls()
    assert getattr(settings, "is_production", False), component


def test_the_migrations_job_sets_up_each_services_own_role(
    any_render: Rendered, pod_environment: Any, clean_environment: None
) -> None:
    """The Job's settings name one role per service (from the URLs the services get)."""
    os.environ.update(pod_environment(any_render.workload("migrations")))
    settings = RoleSettings()
    assert settings.create_roles is True
    roles = service_roles(settings.service_urls(), need_passwords=True)
    assert [(role.service, role.name) for role in roles] == [
        ("usersvc", "neutone_usersvc"),
        ("billingsvc", "neutone_billingsvc"),
        ("songsvc", "neutone_songsvc"),
    ]
    assert settings.database_url == SECRET_VALUES[("neutone-database-migrations", "url")]


def test_services_reach_each_other_through_their_services(
    production_render: Rendered, clean_environment: None
) -> None:
    services = {
        service["metadata"]["name"]: {
            port["name"]: port["port"] for port in service["spec"]["ports"]
        }
        for service in production_render.of_kind("Service")
    }
    # Each target is a DNS name of a headless Service, which resolves to every ready pod, so
    # that clients balance each call over the pods (runtime/clients.py).
    for component in ("usersvc", "billingsvc", "songsvc", "songsvc-worker", "gateway"):
        env = env_of(containers(production_render.workload(component))[0])
        for setting, target in (
            ("NEUTONE_USERSVC_ADDRESS", "neutone-usersvc"),
            ("NEUTONE_BILLINGSVC_ADDRESS", "neutone-billingsvc"),
            ("NEUTONE_SONGSVC_ADDRESS", "neutone-songsvc"),
        ):
            port = services[target]["grpc"]
            assert env[setting]["value"] == f"dns:///{target}.neutone:{port}", (component, setting)
    worker = env_of(containers(production_render.workload("songsvc-worker"))[0])
    port = services["neutone-triton"]["grpc"]
    assert worker["NEUTONE_TRITON_URL"]["value"] == f"dns:///neutone-triton.neutone:{port}"
    for name in ("neutone-usersvc", "neutone-billingsvc", "neutone-songsvc", "neutone-triton"):
        assert production_render.get("Service", name)["spec"]["clusterIP"] == "None", name


def test_billing_runs_polar_with_the_configured_products(
    production_render: Rendered, pod_environment: Any, clean_environment: None
) -> None:
    os.environ.update(pod_environment(production_render.workload("billingsvc")))
    settings = settings_class("billingsvc")()
    assert settings.payment_provider == "polar"
    assert settings.polar_server == "production"
    expected = production_values()["billing"]["products"]
    assert [
        (p.id, p.credits, p.price_minor_units, p.polar_product_id) for p in settings.products
    ] == [(p["id"], p["credits"], p["priceMinorUnits"], p["polarProductId"]) for p in expected]
    assert settings.default_success_url == "https://neutone.app/credits?checkout=success"


def test_songs_are_stored_in_the_configured_bucket(
    production_render: Rendered, pod_environment: Any, clean_environment: None
) -> None:
    for component in ("songsvc", "songsvc-worker"):
        os.environ.update(pod_environment(production_render.workload(component)))
        store = settings_class(component)().object_store
        assert (store.kind, store.s3_bucket, store.s3_region) == (
            "s3",
            "neutone-media-prod",
            "eu-west-1",
        )
        assert store.s3_endpoint_url is None


def test_gateway_accepts_cookie_calls_from_the_public_origin_only(
    production_render: Rendered, pod_environment: Any, clean_environment: None
) -> None:
    os.environ.update(pod_environment(production_render.workload("gateway")))
    settings = settings_class("gateway")()
    assert settings.origins == ("https://neutone.app",)
    assert settings.secure_cookies is True
    assert settings.listen_address == "0.0.0.0:8080"


async def test_gateway_takes_the_client_address_the_edge_appended(
    production_render: Rendered, pod_environment: Any, clean_environment: None
) -> None:
    """A client may send its own X-Forwarded-For; the edge appends the address it
    really came from. The gateway must believe only the latter."""
    os.environ.update(pod_environment(production_render.workload("gateway")))
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
    memory_limit: str | None, hashes_at_once: int, pod_environment: Any, clean_environment: None
) -> None:
    """768Mi (the default) less the 256 MiB reserve is room for 8 hashes of 64 MiB."""
    overrides = {"usersvc": {"resources": {"limits": {"memory": memory_limit}}}}
    for rendered in (
        (render(), render_production())
        if memory_limit is None
        else (render(overrides), render_production(overrides))
    ):
        container = containers(rendered.workload("usersvc"), init=False)[0]
        env = pod_environment(rendered.workload("usersvc"))
        assert env_of(container)["NEUTONE_MEMORY_LIMIT_MIB"]["valueFrom"]["resourceFieldRef"] == {
            "containerName": "usersvc",
            "resource": "limits.memory",
            "divisor": "1Mi",
        }
        os.environ.update(env)
        assert settings_class("usersvc")().hashes_at_once == hashes_at_once


def test_usersvc_mails_links_to_the_app_through_the_configured_server(
    production_render: Rendered, pod_environment: Any, clean_environment: None
) -> None:
    os.environ.update(pod_environment(production_render.workload("usersvc")))
    settings = settings_class("usersvc")()
    assert settings.app_url == "https://neutone.app"
    mail = settings.mail
    assert mail.sender == "Neutone <no-reply@neutone.app>"
    assert (mail.smtp_host, mail.smtp_port, mail.smtp_security) == (
        "email-smtp.eu-west-1.amazonaws.com",
        587,
        "starttls",
    )
    assert mail.smtp_username == "AKIAIOSFODNN7EXAMPLE"
    assert mail.smtp_password.get_secret_value() == SECRET_VALUES[("neutone-mail", "smtp-password")]


def test_usersvc_mail_follows_the_values(pod_environment: Any, clean_environment: None) -> None:
    mail = {
        "sender": "Ops <ops@example.org>",
        "smtpHost": "mail.example.org",
        "smtpPort": 465,
        "smtpSecurity": "tls",
        "smtpUsername": "",
    }
    rendered = render_production(
        {"publicUrl": "https://music.example.org", "usersvc": {"mail": mail}}
    )
    os.environ.update(pod_environment(rendered.workload("usersvc")))
    settings = settings_class("usersvc")()
    assert settings.app_url == "https://music.example.org"
    assert (
        settings.mail.sender,
        settings.mail.smtp_host,
        settings.mail.smtp_port,
        settings.mail.smtp_security,
    ) == ("Ops <ops@example.org>", "mail.example.org", 465, "tls")
    # No user name: no SMTP AUTH, and no password.
    assert settings.mail.smtp_username == ""
    assert settings.mail.smtp_password.get_secret_value() == ""


def test_without_an_smtp_server_usersvc_writes_mail_into_its_data_folder(
    default_render: Rendered, pod_environment: Any, clean_environment: None
) -> None:
    env = pod_environment(default_render.workload("usersvc"))
    assert not {name for name in env if name.startswith("NEUTONE_MAIL__SMTP_")}
    os.environ.update(env)
    settings = settings_class("usersvc")()
    assert settings.app_url == "https://neutone.example.com"
    assert settings.mail.smtp_host == ""
    # The pod's writable /tmp (the root filesystem is read-only).
    assert settings.outbox_dir == Path("/tmp/neutone/outbox")
    assert "usersvc.mail.smtpHost is empty" in default_render.notes
