"""Least privilege in the pods: each one gets exactly the Secrets and ConfigMaps it uses, each
process its own private key in a read-only key volume, each service its own database role,
the gateway no database at all; the migrations Job the admin URL and the roles' URLs only."""

from collections import defaultdict
from typing import Any

import helm_python as helm
import pytest

from tests.helm.conftest import (
    CHART_DIR,
    Object,
    Rendered,
    component_of,
    containers,
    deep_merge,
    env_of,
    pod_spec,
    production_values,
    render,
    render_production,
)

KEYS_DIR = "/etc/neutone/keys"
# The processes that sign their own identity tokens: component -> principal.
PRINCIPALS = {
    "usersvc": "usersvc",
    "billingsvc": "billingsvc",
    "songsvc": "songsvc",
    "songsvc-worker": "songsvc-worker",
    "gateway": "gateway",
}

# (kind, object name, key); key None: the whole object.
Reference = tuple[str, str, str | None]


def secret(name: str, key: str | None = None) -> Reference:
    return ("Secret", name, key)


def config_map(name: str, key: str | None = None) -> Reference:
    return ("ConfigMap", name, key)


TRUSTED_KEYS = config_map("neutone-trusted-keys", "trusted-keys.json")
PAGE_TOKENS = secret("neutone-page-tokens", "page-token-key")
# The SMTP password: usersvc only, and only when it signs in to an SMTP server (the
# production values; values.yaml sets no server).
SMTP_PASSWORD = secret("neutone-mail", "smtp-password")


def database(role: str) -> Reference:
    return secret(f"neutone-database-{role}", "url")


def own_key(principal: str) -> Reference:
    return secret(f"neutone-key-{principal}", f"{principal}.pem")


def expected_references(tls_secret: str, *, smtp_auth: bool = True) -> dict[str, set[Reference]]:
    return {
        # usersvc pages through API keys (ListApiKeys).
        "usersvc": {database("usersvc"), own_key("usersvc"), TRUSTED_KEYS, PAGE_TOKENS}
        | ({SMTP_PASSWORD} if smtp_auth else set()),
        "billingsvc": {
            database("billingsvc"),
            own_key("billingsvc"),
            TRUSTED_KEYS,
            PAGE_TOKENS,
            secret("neutone-payment", "webhook-secret"),
            secret("neutone-payment", "polar-access-token"),
        },
        "songsvc": {database("songsvc"), own_key("songsvc"), TRUSTED_KEYS, PAGE_TOKENS},
        # The worker shares songsvc's database role, and lists nothing (no page-token key).
        "songsvc-worker": {database("songsvc"), own_key("songsvc-worker"), TRUSTED_KEYS},
        "gateway": {own_key("gateway"), TRUSTED_KEYS},
        "edge": {secret(tls_secret), config_map("neutone-edge")},
        "triton": set(),
        "migrations": {
            database(user) for user in ("migrations", "usersvc", "billingsvc", "songsvc")
        },
    }


def references(workload: Object) -> set[Reference]:
    """Every Secret and ConfigMap a pod reads: env, envFrom and volumes, of every container."""
    found: set[Reference] = set()
    for container in containers(workload):
        for entry in container.get("env", []):
            source = entry.get("valueFrom", {})
            if "secretKeyRef" in source:
                found.add(secret(source["secretKeyRef"]["name"], source["secretKeyRef"]["key"]))
            if "configMapKeyRef" in source:
                ref = source["configMapKeyRef"]
                found.add(config_map(ref["name"], ref["key"]))
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                found.add(secret(source["secretRef"]["name"]))
            if "configMapRef" in source:
                found.add(config_map(source["configMapRef"]["name"]))
    for volume in pod_spec(workload).get("volumes", []):
        sources = volume["projected"]["sources"] if "projected" in volume else [volume]
        for source in sources:
            if "secret" in source:
                name = source["secret"].get("secretName") or source["secret"]["name"]
                found |= _items(secret, name, source["secret"])
            if "configMap" in source:
                found |= _items(config_map, source["configMap"]["name"], source["configMap"])
    return found


def _items(kind: Any, name: str, source: dict[str, Any]) -> set[Reference]:
    if "items" not in source:
        return {kind(name)}
    return {kind(name, item["key"]) for item in source["items"]}


@pytest.mark.parametrize("values", ["default", "production"])
def test_each_pod_gets_exactly_the_secrets_and_config_it_uses(values: str) -> None:
    rendered = render() if values == "default" else render_production()
    tls = rendered.values.get("edge", {}).get("tls", {}).get("secretName", "neutone-tls")
    expected = expected_references(tls, smtp_auth=values == "production")
    seen = {component_of(workload): references(workload) for workload in rendered.workloads()}
    assert seen == expected


def test_static_object_store_credentials_go_to_songsvc_and_the_worker_only() -> None:
    rendered = render_production({"secrets": {"objectStore": {"name": "neutone-s3"}}})
    s3 = {secret("neutone-s3", "AWS_ACCESS_KEY_ID"), secret("neutone-s3", "AWS_SECRET_ACCESS_KEY")}
    expected = expected_references("neutone-app-tls")
    for workload in rendered.workloads():
        component = component_of(workload)
        extra = s3 if component in ("songsvc", "songsvc-worker") else set()
        assert references(workload) == expected[component] | extra, component
    for component in ("songsvc", "songsvc-worker"):
        files = secret_variables(rendered.workload(component))
        assert files["NEUTONE_OBJECT_STORE__S3_ACCESS_KEY_ID"] == (
            "neutone-s3",
            "AWS_ACCESS_KEY_ID",
        )
        assert files["NEUTONE_OBJECT_STORE__S3_SECRET_ACCESS_KEY"] == (
            "neutone-s3",
            "AWS_SECRET_ACCESS_KEY",
        )


@pytest.mark.parametrize(
    ("mail", "smtp_password"),
    [
        # No SMTP AUTH (a relay that trusts the pod's network): no password to read.
        ({"smtpUsername": ""}, None),
        # No SMTP server at all: no password either, whatever the user name.
        ({"smtpHost": ""}, None),
        ({}, ("neutone-mail", "smtp-password")),
    ],
)
def test_the_smtp_password_reaches_usersvc_only_when_it_signs_in_to_the_server(
    mail: dict[str, str], smtp_password: tuple[str, str] | None
) -> None:
    rendered = render_production({"usersvc": {"mail": mail}})
    expected = expected_references("neutone-app-tls", smtp_auth=smtp_password is not None)
    for workload in rendered.workloads():
        assert references(workload) == expected[component_of(workload)], component_of(workload)
    variables = secret_variables(rendered.workload("usersvc"))
    assert variables.get("NEUTONE_MAIL__SMTP_PASSWORD") == smtp_password
    assert ("neutone-mail" in rendered.notes) is (smtp_password is not None)


def test_an_smtp_password_is_never_sent_unencrypted() -> None:
    values = deep_merge(production_values(), {"usersvc": {"mail": {"smtpSecurity": "none"}}})
    with (
        helm.Chart.load(CHART_DIR) as chart,
        pytest.raises(helm.HelmRenderError, match="the SMTP password would cross the network"),
    ):
        chart.render(values=values, name="neutone", namespace="neutone")
    # A relay that asks for no password may be spoken to in the clear.
    relay = {"smtpHost": "postfix.mail.svc", "smtpPort": 25, "smtpSecurity": "none"}
    rendered = render_production({"usersvc": {"mail": relay | {"smtpUsername": ""}}})
    assert "NEUTONE_MAIL__SMTP_PASSWORD" not in secret_variables(rendered.workload("usersvc"))


def test_the_smtp_password_secret_follows_the_values() -> None:
    rendered = render_production(
        {"secrets": {"mail": {"name": "ses-smtp", "smtpPasswordKey": "password"}}}
    )
    variables = secret_variables(rendered.workload("usersvc"))
    assert variables["NEUTONE_MAIL__SMTP_PASSWORD"] == ("ses-smtp", "password")
    assert "Secret ses-smtp" in rendered.notes


SECRETS_DIR = "/etc/neutone/secrets"


def secret_variables(workload: Object) -> dict[str, tuple[str, str]]:
    """The settings a pod reads from Secrets, as files in NEUTONE_SECRETS_DIR named as their
    variables (runtime/settings.py): name -> (Secret, key). No Secret is ever an environment
    variable, and the files are read-only to the pod's group alone."""
    volumes = {volume["name"]: volume for volume in pod_spec(workload)["volumes"]}
    variables = {}
    for container in containers(workload):
        env = env_of(container)
        assert not any("secretKeyRef" in entry.get("valueFrom", {}) for entry in env.values())
        assert not any("secretRef" in source for source in container.get("envFrom", []))
        mounts = {mount["mountPath"]: mount for mount in container.get("volumeMounts", [])}
        if SECRETS_DIR not in mounts:
            assert "NEUTONE_SECRETS_DIR" not in env
            continue
        assert env["NEUTONE_SECRETS_DIR"]["value"] == SECRETS_DIR
        assert mounts[SECRETS_DIR]["readOnly"] is True
        projected = volumes[mounts[SECRETS_DIR]["name"]]["projected"]
        assert projected["defaultMode"] == 0o440
        for source in projected["sources"]:
            for item in source["secret"]["items"]:
                assert item["path"] not in variables, f"{item['path']} comes from two Secrets"
                variables[item["path"]] = (source["secret"]["name"], item["key"])
    return variables


def test_each_secret_reaches_the_variable_its_process_reads(any_render: Rendered) -> None:
    page_tokens = {"NEUTONE_PAGE_TOKEN_KEY": ("neutone-page-tokens", "page-token-key")}
    smtp_auth = bool(any_render.values.get("usersvc", {}).get("mail", {}).get("smtpUsername"))
    smtp_password = {"NEUTONE_MAIL__SMTP_PASSWORD": ("neutone-mail", "smtp-password")}
    expected = {
        "usersvc": {
            "NEUTONE_DATABASE_URL": ("neutone-database-usersvc", "url"),
            **page_tokens,
            **(smtp_password if smtp_auth else {}),
        },
        "billingsvc": {
            "NEUTONE_DATABASE_URL": ("neutone-database-billingsvc", "url"),
            **page_tokens,
            "NEUTONE_PAYMENT_WEBHOOK_SECRET": ("neutone-payment", "webhook-secret"),
            "NEUTONE_POLAR_ACCESS_TOKEN": ("neutone-payment", "polar-access-token"),
        },
        "songsvc": {"NEUTONE_DATABASE_URL": ("neutone-database-songsvc", "url"), **page_tokens},
        "songsvc-worker": {"NEUTONE_DATABASE_URL": ("neutone-database-songsvc", "url")},
        "gateway": {},
        "edge": {},
        "triton": {},
        "migrations": {
            "NEUTONE_DATABASE_URL": ("neutone-database-migrations", "url"),
            "NEUTONE_USERSVC_DATABASE_URL": ("neutone-database-usersvc", "url"),
            "NEUTONE_BILLINGSVC_DATABASE_URL": ("neutone-database-billingsvc", "url"),
            "NEUTONE_SONGSVC_DATABASE_URL": ("neutone-database-songsvc", "url"),
        },
    }
    seen = {component_of(w): secret_variables(w) for w in any_render.workloads()}
    assert seen == expected
    # The shared HMAC identity key is gone from every pod; no Secret is made by the chart.
    for workload in any_render.workloads():
        for container in containers(workload):
            assert "NEUTONE_IDENTITY_KEY" not in env_of(container)
    assert any_render.of_kind("Secret") == []


@pytest.mark.parametrize("component", sorted(PRINCIPALS))
def test_each_process_mounts_its_own_key_and_the_trusted_keys_read_only(
    any_render: Rendered, component: str
) -> None:
    workload = any_render.workload(component)
    principal = PRINCIPALS[component]
    (container,) = containers(workload)
    assert env_of(container)["NEUTONE_KEYS_DIR"]["value"] == KEYS_DIR
    mounts = [mount for mount in container["volumeMounts"] if mount["name"] == "keys"]
    assert mounts == [{"name": "keys", "mountPath": KEYS_DIR, "readOnly": True}]
    (volume,) = [v for v in pod_spec(workload)["volumes"] if v["name"] == "keys"]
    projected = volume["projected"]
    # Readable by the pod's group (fsGroup), by nobody else, writable by none.
    assert projected["defaultMode"] == 0o440
    assert pod_spec(workload)["securityContext"]["fsGroup"] == 10001
    secret_source, config_source = projected["sources"]
    assert secret_source == {
        "secret": {
            "name": f"neutone-key-{principal}",
            "items": [{"key": f"{principal}.pem", "path": f"{principal}.pem"}],
        }
    }
    assert config_source == {
        "configMap": {
            "name": "neutone-trusted-keys",
            "items": [{"key": "trusted-keys.json", "path": "trusted-keys.json"}],
        }
    }


def test_no_two_pods_share_a_private_key_and_only_signers_hold_one(any_render: Rendered) -> None:
    holders: dict[Reference, list[str]] = defaultdict(list)
    for workload in any_render.workloads():
        for reference in references(workload):
            if reference[2] and reference[2].endswith(".pem"):
                holders[reference].append(component_of(workload))
    assert {reference: sorted(components) for reference, components in holders.items()} == {
        own_key(principal): [component] for component, principal in PRINCIPALS.items()
    }


def test_key_secrets_and_file_names_follow_the_values() -> None:
    rendered = render_production(
        {
            "secrets": {"serviceKeys": {"songsvcWorker": {"name": "worker-key-2", "key": "k"}}},
            "trustedKeys": {"configMap": {"name": "jwks", "key": "keys.json"}},
        }
    )
    worker = rendered.workload("songsvc-worker")
    (volume,) = [v for v in pod_spec(worker)["volumes"] if v["name"] == "keys"]
    secret_source, config_source = volume["projected"]["sources"]
    # The Secret's key may be named anything; the file is always "<principal>.pem".
    assert secret_source["secret"] == {
        "name": "worker-key-2",
        "items": [{"key": "k", "path": "songsvc-worker.pem"}],
    }
    assert config_source["configMap"] == {
        "name": "jwks",
        "items": [{"key": "keys.json", "path": "trusted-keys.json"}],
    }


def test_the_gateway_has_no_database(any_render: Rendered) -> None:
    gateway = any_render.workload("gateway")
    for container in containers(gateway):
        assert not any("DATABASE" in name for name in env_of(container))
    assert not any(name.startswith("neutone-database") for _, name, _ in references(gateway))
    policy = any_render.get("NetworkPolicy", "neutone-gateway")
    database_peers = any_render.values.get("networkPolicy", {}).get("database", {}).get("to")
    for rule in policy["spec"]["egress"]:
        assert all(port["port"] != 5432 for port in rule["ports"])
        assert rule["to"] != database_peers


def test_the_migrations_job_creates_the_roles_unless_told_not_to() -> None:
    job = render_production().workload("migrations")
    env = env_of(containers(job)[0])
    assert env["NEUTONE_CREATE_ROLES"]["value"] == "true"
    assert containers(job)[0]["command"][-2:] == ["upgrade", "--roles"]
    managed = render_production({"migrations": {"createRoles": False}}).workload("migrations")
    assert env_of(containers(managed)[0])["NEUTONE_CREATE_ROLES"]["value"] == "false"
    # It still reads the services' URLs: their users are the roles it grants to.
    assert references(managed) == expected_references("")["migrations"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            {"secrets": {"database": {"billingsvc": {"name": "neutone-database-usersvc"}}}},
            "secrets.database.usersvc and secrets.database.billingsvc are the same Secret key",
        ),
        (
            {"secrets": {"database": {"migrations": {"name": "neutone-database-songsvc"}}}},
            "secrets.database.migrations and secrets.database.songsvc are the same Secret key",
        ),
        (
            {
                "secrets": {
                    "serviceKeys": {
                        "gateway": {"name": "neutone-key-usersvc", "key": "usersvc.pem"}
                    }
                }
            },
            "secrets.serviceKeys.usersvc and secrets.serviceKeys.gateway are the same Secret key",
        ),
    ],
)
def test_two_processes_sharing_an_identity_fail_the_render(
    override: dict[str, Any], message: str
) -> None:
    values = deep_merge(production_values(), override)
    with (
        helm.Chart.load(CHART_DIR) as chart,
        pytest.raises(helm.HelmRenderError, match=message),
    ):
        chart.render(values=values, name="neutone", namespace="neutone")


def test_notes_name_every_secret_and_config_map_to_create(production_render: Rendered) -> None:
    notes = production_render.notes
    for _, name, _ in set().union(*expected_references("neutone-app-tls").values()):
        if name != "neutone-edge":  # the chart's own ConfigMap
            assert name in notes, name
