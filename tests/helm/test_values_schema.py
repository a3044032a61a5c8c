"""values.schema.json rejects bad values before anything reaches a cluster; Helm applies it
on every render, install and upgrade."""

from typing import Any

import helm_python as helm
import pytest

from tests.helm.conftest import CHART_DIR, deep_merge, production_values, render

# (values on top of the production file, what the error must name)
BAD_VALUES: dict[str, tuple[dict[str, Any], str]] = {
    "latest tag": ({"image": {"tag": "latest"}}, "/image/tag"),
    "latest tag of one component": (
        {"songsvc": {"image": {"tag": "latest"}}},
        "/songsvc/image/tag",
    ),
    "a digest that is not sha256": (
        {"songsvc": {"image": {"digest": "md5:0123456789abcdef0123456789abcdef"}}},
        "/songsvc/image/digest",
    ),
    "a truncated digest": (
        {"edge": {"image": {"digest": "sha256:0123456789abcdef"}}},
        "/edge/image/digest",
    ),
    "KEDA without a Prometheus URL": (
        {"songsvcWorker": {"keda": {"enabled": True, "prometheusServerAddress": ""}}},
        "/songsvcWorker/keda/prometheusServerAddress",
    ),
    "a misspelt KEDA key": (
        {"triton": {"keda": {"pendingRequestPerReplica": 8}}},
        "pendingRequestPerReplica",
    ),
    "misspelt top-level key": ({"publicURL": "https://neutone.app"}, "publicURL"),
    "misspelt component key": ({"usersvc": {"replica": 3}}, "replica"),
    "zero replicas": ({"gateway": {"replicas": 0}}, "/gateway/replicas"),
    "every proxy trusted": ({"gateway": {"trustedProxies": "*"}}, "/gateway/trustedProxies"),
    "privileged metrics port": ({"metrics": {"port": 80}}, "/metrics/port"),
    "plain http public url": ({"publicUrl": "http://neutone.app"}, "/publicUrl"),
    "public url with a trailing slash": ({"publicUrl": "https://neutone.app/"}, "/publicUrl"),
    "product without its Polar id": (
        {
            "billing": {
                "products": [
                    {"id": "credits-5", "displayName": "5", "credits": 5, "priceMinorUnits": 250}
                ]
            }
        },
        "polarProductId",
    ),
    "no products": ({"billing": {"products": []}}, "/billing/products"),
    "local payment provider": ({"billing": {"polarServer": "local"}}, "/billing/polarServer"),
    "writable root filesystem": (
        {"containerSecurityContext": {"readOnlyRootFilesystem": False}},
        "/containerSecurityContext/readOnlyRootFilesystem",
    ),
    "root allowed": (
        {"podSecurityContext": {"runAsNonRoot": False}},
        "/podSecurityContext/runAsNonRoot",
    ),
    "capabilities kept": (
        {"containerSecurityContext": {"capabilities": {"drop": ["NET_RAW"]}}},
        "/containerSecurityContext/capabilities/drop",
    ),
    "database reachable from anywhere": (
        {"networkPolicy": {"database": {"to": []}}},
        "/networkPolicy/database/to",
    ),
    "init weights without a command": (
        {"triton": {"weights": {"source": "init", "init": {"image": "amazon/aws-cli:2.31.0"}}}},
        "/triton/weights/init/command",
    ),
    "init weights from a latest image": (
        {
            "triton": {
                "weights": {
                    "source": "init",
                    "init": {"image": "amazon/aws-cli:latest", "command": ["true"]},
                }
            }
        },
        "/triton/weights/init/image",
    ),
    "unknown weights source": ({"triton": {"weights": {"source": "s3"}}}, "/triton/weights/source"),
    "worker autoscaled on CPU": (
        {"songsvcWorker": {"autoscaling": {"enabled": True, "metrics": []}}},
        "/songsvcWorker/autoscaling/metrics",
    ),
    "no GPU for Triton": ({"triton": {"gpus": 0}}, "/triton/gpus"),
    "timeout Envoy cannot parse": (
        {"edge": {"timeouts": {"request": "1m"}}},
        "/edge/timeouts/request",
    ),
    "streams without an end at the edge": (
        {"edge": {"timeouts": {"stream": "0s"}}},
        "/edge/timeouts/stream",
    ),
    "no memory limit": (
        {"usersvc": {"resources": {"limits": {"cpu": "1", "memory": None}}}},
        "/usersvc/resources/limits",
    ),
    "bad bucket name": ({"objectStore": {"bucket": "Neutone_Media"}}, "/objectStore/bucket"),
    "bad secret name": (
        {"secrets": {"database": {"usersvc": {"name": "Neutone DB"}}}},
        "/secrets/database/usersvc/name",
    ),
    # The shared HMAC identity key of old values files is gone: refused, not ignored.
    "the old shared identity key": (
        {"secrets": {"identityKey": {"name": "neutone-identity", "key": "identity-key"}}},
        "identityKey",
    ),
    "one database URL for every service": (
        {"secrets": {"database": {"name": "neutone-database", "key": "url"}}},
        "/secrets/database",
    ),
    "a gateway database URL": (
        {"secrets": {"database": {"gateway": {"name": "neutone-database-gw", "key": "url"}}}},
        "gateway",
    ),
    "a service without its database Secret": (
        {"secrets": {"database": {"songsvc": None}}},
        "missing property 'songsvc'",
    ),
    "misspelt service key": (
        {"secrets": {"serviceKeys": {"songsvcworker": {"name": "k", "key": "k.pem"}}}},
        "songsvcworker",
    ),
    "service key without its key": (
        {"secrets": {"serviceKeys": {"gateway": {"key": None}}}},
        "at '/secrets/serviceKeys/gateway': missing property 'key'",
    ),
    "misspelt trusted keys": (
        {"trustedKeys": {"configmap": {"name": "neutone-trusted-keys", "key": "k.json"}}},
        "configmap",
    ),
    "bad trusted keys ConfigMap name": (
        {"trustedKeys": {"configMap": {"name": "Trusted Keys"}}},
        "/trustedKeys/configMap/name",
    ),
    "createRoles not a boolean": (
        {"migrations": {"createRoles": "yes"}},
        "/migrations/createRoles",
    ),
    "extra env with a bad name": ({"songsvc": {"env": {"neutone-x": "1"}}}, "neutone-x"),
    "unknown SMTP security": (
        {"usersvc": {"mail": {"smtpSecurity": "ssl"}}},
        "/usersvc/mail/smtpSecurity",
    ),
    # The SMTP password comes from secrets.mail, never from values.
    "an SMTP password in values": (
        {"usersvc": {"mail": {"smtpPassword": "hunter2"}}},
        "at '/usersvc/mail': additional properties 'smtpPassword'",
    ),
    "SMTP host with its port": (
        {"usersvc": {"mail": {"smtpHost": "smtp.example.com:587"}}},
        "/usersvc/mail/smtpHost",
    ),
    "SMTP port out of range": ({"usersvc": {"mail": {"smtpPort": 0}}}, "/usersvc/mail/smtpPort"),
    "sender without an address": (
        {"usersvc": {"mail": {"sender": "Neutone"}}},
        "/usersvc/mail/sender",
    ),
    "mail settings on another service": (
        {"songsvc": {"mail": {"smtpHost": "smtp.example.com"}}},
        "at '/songsvc': additional properties 'mail'",
    ),
    "SMTP password Secret without its key": (
        {"secrets": {"mail": {"smtpPasswordKey": None}}},
        "at '/secrets/mail': missing property 'smtpPasswordKey'",
    ),
    "SMTP reachable everywhere": (
        {"networkPolicy": {"smtp": {"to": []}}},
        "/networkPolicy/smtp/to",
    ),
    "SMTP egress with its own ports": (
        {"networkPolicy": {"smtp": {"ports": [25]}}},
        "at '/networkPolicy/smtp': additional properties 'ports'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_schema_rejects_bad_values(case: str) -> None:
    override, where = BAD_VALUES[case]
    values = deep_merge(production_values(), override)
    with helm.Chart.load(CHART_DIR) as chart:
        with pytest.raises(helm.HelmValuesError) as error:
            chart.validate_schema(values)
        assert where in str(error.value)
        # Rendering (what install and upgrade do) refuses them too.
        with pytest.raises(helm.HelmValuesError):
            chart.render(values=values, name="neutone", namespace="neutone")


@pytest.mark.parametrize("values", [{}, production_values()], ids=["default", "production"])
def test_schema_accepts_the_shipped_values(values: dict[str, Any]) -> None:
    with helm.Chart.load(CHART_DIR) as chart:
        chart.validate_schema(values)


def test_min_replicas_above_max_fails_the_render() -> None:
    values = deep_merge(
        production_values(), {"usersvc": {"autoscaling": {"minReplicas": 9, "maxReplicas": 3}}}
    )
    with pytest.raises(helm.HelmRenderError, match="minReplicas"):
        render(values)


def test_every_schema_object_with_properties_is_closed() -> None:
    """A misspelt key must fail, not be ignored: every object the schema describes key by key
    allows no other keys."""
    with helm.Chart.load(CHART_DIR) as chart:
        schema = chart.schema
    assert schema is not None
    open_objects = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if "properties" in node and node.get("additionalProperties") is not False:
                open_objects.append(path)
            for key, child in node.items():
                # Conditions constrain objects described elsewhere; they describe none.
                if key not in ("if", "then", "else", "not"):
                    walk(child, f"{path}/{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, f"{path}/{index}")

    walk(schema, "")
    assert open_objects == []
