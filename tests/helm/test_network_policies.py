"""NetworkPolicies allow exactly the connections of the design, and nothing else:

  internet -> edge -> gateway -> usersvc, songsvc, billingsvc
  usersvc -> songsvc, billingsvc;  songsvc -> billingsvc;  worker -> billingsvc, Triton
  usersvc, billingsvc, songsvc, worker, migrations -> database
  songsvc, worker -> object store;  billingsvc -> payment provider
  usersvc -> SMTP server (when usersvc.mail.smtpHost is set)
  every pod -> DNS;  monitoring -> metrics ports

The test evaluates the rendered policies the way Kubernetes does (a connection needs an
egress rule at its source and an ingress rule at its destination; policies add up) and
compares the resulting graph with that list."""

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from tests.helm.conftest import (
    NAMESPACE,
    Object,
    Rendered,
    component_of,
    containers,
    render,
    render_production,
)

# Distinct address ranges, so that each external rule says which endpoint it is for.
EXTERNAL = {
    "database": {"to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}], "ports": [5432]},
    "object-store": {"to": [{"ipBlock": {"cidr": "198.51.100.0/24"}}], "ports": [443]},
    "payment-provider": {"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}], "ports": [443]},
    # Its port is usersvc.mail.smtpPort (587 in the production values).
    "smtp": {"to": [{"ipBlock": {"cidr": "198.18.0.0/24"}}]},
}
SMTP_EDGE = ("usersvc", "smtp", 587)
MONITORING = "monitoring"

DESIGN_EDGES = {
    ("internet", "edge", 8443),
    ("internet", "edge", 8080),
    ("edge", "gateway", 8080),
    ("gateway", "usersvc", 50051),
    ("gateway", "songsvc", 50052),
    ("gateway", "billingsvc", 50053),
    # An account renamed or deleted: RenameOwner, DeleteOwnerData, DetachAccount.
    ("usersvc", "songsvc", 50052),
    ("usersvc", "billingsvc", 50053),
    ("songsvc", "billingsvc", 50053),
    ("songsvc-worker", "billingsvc", 50053),
    ("songsvc-worker", "triton", 8001),
    # SuggestLyrics: the planner alone.
    ("songsvc", "triton", 8001),
    *{
        (component, "database", 5432)
        for component in ("usersvc", "billingsvc", "songsvc", "songsvc-worker", "migrations")
    },
    ("songsvc", "object-store", 443),
    ("songsvc-worker", "object-store", 443),
    ("billingsvc", "payment-provider", 443),
    SMTP_EDGE,
    *{
        (MONITORING, component, 9090)
        for component in ("usersvc", "billingsvc", "songsvc", "songsvc-worker", "gateway", "edge")
    },
    (MONITORING, "triton", 8002),
}
ALL_PODS = ("usersvc", "billingsvc", "songsvc", "songsvc-worker", "gateway", "edge", "triton")
DNS_CLIENTS = {*ALL_PODS, "migrations"}


def _values() -> dict[str, Any]:
    return {
        "networkPolicy": {
            "database": EXTERNAL["database"],
            "objectStore": EXTERNAL["object-store"],
            "paymentProvider": EXTERNAL["payment-provider"],
            "smtp": EXTERNAL["smtp"],
        }
    }


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, "only matchLabels selectors are evaluated here"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _pods(rendered: Rendered) -> dict[str, tuple[dict[str, str], dict[int, str]]]:
    """component -> (pod labels, {container port: name})."""
    pods = {}
    for workload in rendered.workloads():
        ports = {
            port["containerPort"]: port["name"]
            for container in containers(workload, init=False)
            for port in container.get("ports", [])
        }
        pods[component_of(workload)] = (workload["spec"]["template"]["metadata"]["labels"], ports)
    return pods


def _port_allowed(rule: dict[str, Any], port: int, port_name: str | None) -> bool:
    if "ports" not in rule:
        return True
    return any(
        entry.get("protocol", "TCP") == "TCP" and entry.get("port") in (port, port_name)
        for entry in rule["ports"]
    )


def _peer_is_local_pod(peer: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether the peer names this release's pod (same namespace, podSelector only)."""
    if "ipBlock" in peer:
        return False
    if "namespaceSelector" in peer:
        namespace_labels = {"kubernetes.io/metadata.name": NAMESPACE}
        if not _selects(peer["namespaceSelector"], namespace_labels):
            return False
    return _selects(peer.get("podSelector", {}), labels)


def _policies_for(policies: Iterable[Object], labels: dict[str, str], kind: str) -> list[Object]:
    return [
        policy
        for policy in policies
        if kind in policy["spec"]["policyTypes"] and _selects(policy["spec"]["podSelector"], labels)
    ]


def _rules(policies: Iterable[Object], labels: dict[str, str], kind: str) -> list[dict[str, Any]]:
    key = "ingress" if kind == "Ingress" else "egress"
    return [
        rule
        for policy in _policies_for(policies, labels, kind)
        for rule in policy["spec"].get(key) or []
    ]


def allowed_edges(
    rendered: Rendered, external: Mapping[str, Mapping[str, Any]] = EXTERNAL
) -> set[tuple[str, str, int]]:
    """(source, destination, port) of every connection the policies allow; `external`
    names the endpoints outside the cluster by their peers."""
    policies = rendered.of_kind("NetworkPolicy")
    pods = _pods(rendered)
    edges: set[tuple[str, str, int]] = set()
    # Between the release's pods: an egress rule at the source and an ingress rule at the
    # destination must both allow it.
    for source, (source_labels, _) in pods.items():
        for destination, (labels, ports) in pods.items():
            for port, port_name in ports.items():
                out = any(
                    _port_allowed(rule, port, port_name)
                    and any(_peer_is_local_pod(peer, labels) for peer in rule.get("to", []))
                    for rule in _rules(policies, source_labels, "Egress")
                )
                into = any(
                    _port_allowed(rule, port, port_name)
                    and any(
                        _peer_is_local_pod(peer, source_labels) for peer in rule.get("from", [])
                    )
                    for rule in _rules(policies, labels, "Ingress")
                )
                if out and into:
                    edges.add((source, destination, port))
    # From outside the release.
    for destination, (labels, ports) in pods.items():
        for rule in _rules(policies, labels, "Ingress"):
            for port, port_name in ports.items():
                if not _port_allowed(rule, port, port_name):
                    continue
                if "from" not in rule:
                    edges.add(("internet", destination, port))
                for peer in rule.get("from", []):
                    if peer.get("namespaceSelector", {}).get("matchLabels") == {
                        "kubernetes.io/metadata.name": MONITORING
                    }:
                        edges.add((MONITORING, destination, port))
    # To outside the release (DNS is checked on its own).
    for source, (labels, _) in pods.items():
        for rule in _rules(policies, labels, "Egress"):
            assert rule.get("to"), f"{source}: an egress rule without peers allows everything"
            if _is_dns(rule):
                continue
            for name, endpoint in external.items():
                if rule["to"] == endpoint["to"]:
                    edges.update((source, name, entry["port"]) for entry in rule["ports"])
                    break
            else:
                # What is left must name the release's own pods (evaluated above).
                if not all(set(peer) == {"podSelector"} for peer in rule["to"]):
                    pytest.fail(f"{source}: egress to something outside the design: {rule}")
    return edges


def _is_dns(rule: dict[str, Any]) -> bool:
    return all(entry["port"] == 53 for entry in rule.get("ports", [{"port": None}]))


def test_policies_allow_exactly_the_design_edges() -> None:
    assert allowed_edges(render_production(_values())) == DESIGN_EDGES


def test_every_pod_is_under_the_default_deny_and_one_policy_of_its_own() -> None:
    rendered = render_production(_values())
    deny = rendered.get("NetworkPolicy", "neutone-default-deny")
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]
    for component, (labels, _) in _pods(rendered).items():
        assert _selects(deny["spec"]["podSelector"], labels), component
        own = [
            policy
            for policy in rendered.of_kind("NetworkPolicy")
            if policy is not deny and _selects(policy["spec"]["podSelector"], labels)
        ]
        assert [component_of(policy) for policy in own] == [component]
        assert own[0]["spec"]["policyTypes"] == ["Ingress", "Egress"]


def test_every_pod_may_resolve_names_and_nothing_else_in_kube_system() -> None:
    rendered = render_production(_values())
    policies = rendered.of_kind("NetworkPolicy")
    for component, (labels, _) in _pods(rendered).items():
        dns = [rule for rule in _rules(policies, labels, "Egress") if _is_dns(rule)]
        assert component in DNS_CLIENTS
        assert len(dns) == 1, component
        assert {(p["protocol"], p["port"]) for p in dns[0]["ports"]} == {("UDP", 53), ("TCP", 53)}
        assert dns[0]["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}


def test_external_ranges_cannot_reach_the_release_pods_ports(production_render: Rendered) -> None:
    # Some CNIs let ipBlock peers match pod addresses too: no external rule may open a port
    # that one of the release's pods listens on.
    pod_ports = {port for _, ports in _pods(production_render).values() for port in ports}
    for policy in production_render.of_kind("NetworkPolicy"):
        for rule in policy["spec"].get("egress") or []:
            if any("ipBlock" in peer for peer in rule["to"]):
                assert not {entry["port"] for entry in rule["ports"]} & pod_ports, policy


def test_weights_from_an_init_step_let_triton_reach_the_object_store() -> None:
    init = {"image": "amazon/aws-cli:2.31.0", "command": ["aws", "s3", "sync", "s3://w", "/models"]}
    values = _values() | {"triton": {"weights": {"source": "init", "init": init}}}
    edges = allowed_edges(render_production(values))
    assert edges - DESIGN_EDGES == {("triton", "object-store", 443)}


def test_an_open_edge_is_configurable() -> None:
    values = _values()
    values["networkPolicy"]["edgeFrom"] = [{"ipBlock": {"cidr": "203.0.113.0/24"}}]
    edges = allowed_edges(render_production(values))
    assert ("internet", "edge", 8443) not in edges


def test_internal_clients_reach_the_services_only_where_named() -> None:
    clients = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "jobs"}}}
    values = _values()
    values["networkPolicy"]["internalClientsFrom"] = [clients]
    rendered = render_production(values)
    reachable = set()
    for policy in rendered.of_kind("NetworkPolicy"):
        for rule in policy["spec"].get("ingress") or []:
            if clients in rule.get("from", []):
                reachable.add(
                    policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
                )
    assert reachable == {"usersvc", "songsvc", "billingsvc"}
    # By default nobody outside the release calls them.
    assert allowed_edges(render_production(_values())) == DESIGN_EDGES


def test_usersvc_reaches_the_smtp_server_only_when_one_is_set_on_its_port() -> None:
    values = _values() | {"usersvc": {"mail": {"smtpHost": ""}}}
    assert allowed_edges(render_production(values)) == DESIGN_EDGES - {SMTP_EDGE}
    values = _values() | {"usersvc": {"mail": {"smtpPort": 465, "smtpSecurity": "tls"}}}
    edges = allowed_edges(render_production(values))
    assert edges == DESIGN_EDGES - {SMTP_EDGE} | {("usersvc", "smtp", 465)}


def test_the_default_values_mail_nowhere() -> None:
    """values.yaml sets no SMTP server: usersvc opens no connection outside the release but
    to the database."""
    rendered = render()
    policy = rendered.get("NetworkPolicy", "neutone-usersvc")
    external = [
        rule for rule in policy["spec"]["egress"] if any("ipBlock" in peer for peer in rule["to"])
    ]
    assert [[entry["port"] for entry in rule["ports"]] for rule in external] == [[5432]]
