"""Policies every workload must meet: hardened pods, probes, resources, its own
ServiceAccount, a PodDisruptionBudget, autoscaling where the values ask for it."""

from typing import Any

import pytest

from tests.helm.conftest import (
    Object,
    Rendered,
    component_of,
    containers,
    env_of,
    pod_spec,
    production_values,
    render_production,
)

GRPC_SERVICES = {"usersvc": 50051, "songsvc": 50052, "billingsvc": 50053}


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def pod_labels(workload: Object) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"]["labels"]


def test_pods_run_as_non_root_with_runtime_default_seccomp(any_render: Rendered) -> None:
    for workload in any_render.workloads():
        context = pod_spec(workload)["securityContext"]
        name = workload["metadata"]["name"]
        assert context["runAsNonRoot"] is True, name
        assert context["runAsUser"] > 0, name
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod_spec(workload).get("hostNetwork") is not True, name
        assert pod_spec(workload).get("hostPID") is not True, name


def test_containers_are_read_only_unprivileged_and_drop_all_capabilities(
    any_render: Rendered,
) -> None:
    for workload in any_render.workloads():
        for container in containers(workload):
            where = f"{workload['metadata']['name']}/{container['name']}"
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["privileged"] is False, where
            assert context["runAsNonRoot"] is True, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where


def test_read_only_containers_get_a_writable_tmp(any_render: Rendered) -> None:
    for workload in any_render.workloads():
        volumes = {volume["name"]: volume for volume in pod_spec(workload)["volumes"]}
        for container in containers(workload):
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], workload["metadata"]["name"]


def test_every_container_has_requests_and_a_memory_limit(any_render: Rendered) -> None:
    for workload in any_render.workloads():
        for container in containers(workload):
            resources = container["resources"]
            where = f"{workload['metadata']['name']}/{container['name']}"
            assert {"cpu", "memory"} <= resources["requests"].keys(), where
            assert "memory" in resources["limits"], where


def test_every_component_has_its_own_service_account(any_render: Rendered) -> None:
    accounts = {sa["metadata"]["name"]: sa for sa in any_render.of_kind("ServiceAccount")}
    used = [pod_spec(workload)["serviceAccountName"] for workload in any_render.workloads()]
    assert len(used) == len(set(used)), "a ServiceAccount is shared"
    for workload in any_render.workloads():
        name = pod_spec(workload)["serviceAccountName"]
        assert name == workload["metadata"]["name"]
        assert name in accounts
        assert component_of(accounts[name]) == component_of(workload)
        # Nothing here talks to the Kubernetes API.
        assert pod_spec(workload)["automountServiceAccountToken"] is False
        assert accounts[name]["automountServiceAccountToken"] is False


def test_service_account_annotations_reach_the_right_account(production_render: Rendered) -> None:
    songsvc = production_render.get("ServiceAccount", "neutone-songsvc")
    assert songsvc["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/neutone-songsvc"
    }
    assert (
        "annotations" not in production_render.get("ServiceAccount", "neutone-usersvc")["metadata"]
    )


@pytest.mark.parametrize("component", sorted(GRPC_SERVICES))
def test_grpc_services_use_native_grpc_probes_on_their_port(
    any_render: Rendered, component: str
) -> None:
    container = containers(any_render.workload(component))[0]
    port = GRPC_SERVICES[component]
    assert {"name": "grpc", "containerPort": port} in container["ports"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"] == {"port": port}, probe
    env = env_of(container)
    assert env["NEUTONE_LISTEN_ADDRESS"]["value"] == f"0.0.0.0:{port}"
    assert env["NEUTONE_METRICS_PORT"]["value"] == "9090"


def test_gateway_uses_http_probes_on_healthz(any_render: Rendered) -> None:
    container = containers(any_render.workload("gateway"))[0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, probe


def test_edge_probes_envoy_readiness(any_render: Rendered) -> None:
    container = containers(any_render.workload("edge"))[0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/ready", "port": "metrics"}, probe


def test_triton_is_ready_on_its_health_endpoint(any_render: Rendered) -> None:
    container = containers(any_render.workload("triton"))[0]
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": "http"}
    # Loading the models may take the configured startup time, not more.
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] == 900


def test_the_worker_is_probed_on_its_heartbeats(any_render: Rendered) -> None:
    """/livez fails when the claim loop stops coming round (runtime/probes.py), /readyz
    when the database stops answering; both on the metrics port, the worker's only one."""
    container = containers(any_render.workload("songsvc-worker"))[0]
    assert {"name": "metrics", "containerPort": 9090} in container["ports"]
    for probe, path in (
        ("startupProbe", "/livez"),
        ("livenessProbe", "/livez"),
        ("readinessProbe", "/readyz"),
    ):
        assert container[probe]["httpGet"] == {"path": path, "port": "metrics"}, probe
    env = env_of(container)
    assert env["NEUTONE_METRICS_PORT"]["value"] == "9090"
    assert env["NEUTONE_WORKER_LIVENESS_SECONDS"]["value"] == "60"
    # The kubelet restarts a hung worker within the bound plus three missed probes.
    liveness = container["livenessProbe"]
    assert liveness["periodSeconds"] * liveness["failureThreshold"] <= 60


def test_worker_probe_timing_comes_from_values() -> None:
    rendered = render_production(
        {"songsvcWorker": {"livenessSeconds": 120, "livenessProbe": {"periodSeconds": 30}}}
    )
    container = containers(rendered.workload("songsvc-worker"))[0]
    assert container["livenessProbe"]["periodSeconds"] == 30
    assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "metrics"}
    assert env_of(container)["NEUTONE_WORKER_LIVENESS_SECONDS"]["value"] == "120"


def test_every_deployment_has_a_pod_disruption_budget(any_render: Rendered) -> None:
    budgets = any_render.of_kind("PodDisruptionBudget")
    for deployment in any_render.of_kind("Deployment"):
        covering = [
            pdb
            for pdb in budgets
            if matches(pdb["spec"]["selector"]["matchLabels"], pod_labels(deployment))
        ]
        assert len(covering) == 1, deployment["metadata"]["name"]
        assert covering[0]["spec"]["maxUnavailable"] == 1


def test_production_autoscales_every_deployment_but_the_worker(production_render: Rendered) -> None:
    targets = {
        hpa["spec"]["scaleTargetRef"]["name"]: hpa
        for hpa in production_render.of_kind("HorizontalPodAutoscaler")
    }
    deployments = {d["metadata"]["name"]: d for d in production_render.of_kind("Deployment")}
    assert set(targets) == set(deployments) - {"neutone-songsvc-worker"}
    for name, hpa in targets.items():
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert hpa["spec"]["minReplicas"] >= 2, name
        assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"], name
        # The HPA owns the replica count; a fixed one would fight it on every upgrade.
        assert "replicas" not in deployments[name]["spec"], name
    # Triton scales on its queue, not on CPU.
    assert targets["neutone-triton"]["spec"]["metrics"][0]["pods"]["metric"]["name"] == (
        "nv_inference_pending_request_count"
    )
    worker = deployments["neutone-songsvc-worker"]
    assert worker["spec"]["replicas"] == 4


def test_without_autoscaling_the_replica_count_is_set() -> None:
    rendered = render_production({"usersvc": {"autoscaling": {"enabled": False}, "replicas": 3}})
    assert rendered.get("Deployment", "neutone-usersvc")["spec"]["replicas"] == 3
    names = {hpa["metadata"]["name"] for hpa in rendered.of_kind("HorizontalPodAutoscaler")}
    assert "neutone-usersvc" not in names


def test_services_select_their_pods_and_name_container_ports(any_render: Rendered) -> None:
    for service in any_render.of_kind("Service"):
        workload = any_render.workload(component_of(service))
        assert matches(service["spec"]["selector"], pod_labels(workload))
        port_names = {port["name"] for c in containers(workload) for port in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names, service["metadata"]["name"]


def test_graceful_shutdown_fits_in_the_termination_grace_period(any_render: Rendered) -> None:
    for workload in any_render.of_kind("Deployment"):
        env = env_of(containers(workload)[0])
        if "NEUTONE_SHUTDOWN_GRACE_SECONDS" in env:
            grace = float(env["NEUTONE_SHUTDOWN_GRACE_SECONDS"]["value"])
            assert pod_spec(workload)["terminationGracePeriodSeconds"] >= grace + 10


def test_triton_runs_on_gpu_nodes(production_render: Rendered) -> None:
    values = production_values()["triton"]
    triton = production_render.workload("triton")
    spec = pod_spec(triton)
    container = containers(triton)[0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert spec["nodeSelector"] == values["nodeSelector"]
    assert spec["tolerations"] == values["tolerations"]
    # A new pod waits for the old one's GPU instead of surging.
    assert triton["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 0
    # NVIDIA's image names its user; the pod states the numeric id so runAsNonRoot can be checked.
    assert spec["securityContext"]["runAsUser"] == 1000


def test_triton_serves_metrics_and_grpc(production_render: Rendered) -> None:
    service = production_render.get("Service", "neutone-triton")
    ports = {port["name"]: port["port"] for port in service["spec"]["ports"]}
    assert ports == {"http": 8000, "grpc": 8001, "metrics": 8002}
    annotations = production_render.workload("triton")["spec"]["template"]["metadata"][
        "annotations"
    ]
    assert annotations["prometheus.io/port"] == "8002"


def _volumes(workload: Object) -> dict[str, dict[str, Any]]:
    return {volume["name"]: volume for volume in pod_spec(workload)["volumes"]}


def test_triton_weights_from_an_existing_claim_read_only(production_render: Rendered) -> None:
    triton = production_render.workload("triton")
    weights = _volumes(triton)["weights"]["persistentVolumeClaim"]
    assert weights == {"claimName": "neutone-model-weights", "readOnly": True}
    mounts = {m["name"]: m for m in containers(triton)[0]["volumeMounts"]}
    assert mounts["weights"] == {"name": "weights", "mountPath": "/models", "readOnly": True}
    assert env_of(containers(triton)[0])["NEUTONE_MODELS_DIR"]["value"] == "/models"
    assert _volumes(triton)["shm"]["emptyDir"]["medium"] == "Memory"
    # An existing claim is used, not created.
    assert production_render.of_kind("PersistentVolumeClaim") == []


def test_triton_weights_claim_created_when_none_exists(default_render: Rendered) -> None:
    claim = default_render.get("PersistentVolumeClaim", "neutone-triton-weights")
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert claim["spec"]["accessModes"] == ["ReadOnlyMany"]
    weights = _volumes(default_render.workload("triton"))["weights"]
    assert weights["persistentVolumeClaim"]["claimName"] == "neutone-triton-weights"


def test_triton_weights_from_an_init_step() -> None:
    init = {
        "image": "public.ecr.aws/aws-cli/aws-cli:2.31.0",
        "command": ["aws", "s3", "sync", "s3://neutone-weights/v1", "/models"],
    }
    rendered = render_production({"triton": {"weights": {"source": "init", "init": init}}})
    triton = rendered.workload("triton")
    (fetch,) = pod_spec(triton)["initContainers"]
    assert fetch["image"] == init["image"]
    assert fetch["command"] == init["command"]
    assert {"name": "weights", "mountPath": "/models"} in fetch["volumeMounts"]
    assert "emptyDir" in _volumes(triton)["weights"]
    assert rendered.of_kind("PersistentVolumeClaim") == []


def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook(any_render: Rendered) -> None:
    job = any_render.workload("migrations")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    container = containers(job)[0]
    assert container["command"] == ["python", "-m", "runtime.database", "upgrade", "--roles"]
    assert pod_spec(job)["restartPolicy"] == "Never"
    # Its ServiceAccount must exist before it on a first install: a hook with a lower weight.
    account = any_render.get("ServiceAccount", pod_spec(job)["serviceAccountName"])
    account_annotations = account["metadata"]["annotations"]
    assert account_annotations["helm.sh/hook"] == annotations["helm.sh/hook"]
    assert int(account_annotations["helm.sh/hook-weight"]) < int(annotations["helm.sh/hook-weight"])
