"""Models on separate GPUs: `triton.placement` in the chart becomes NEUTONE_MODEL_GPUS, which
the Triton image's command (triton/place_models.py) writes into the models' instance groups.
The rewritten configs are parsed with Triton's own ModelConfig message."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import helm_python as helm
import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from tests.helm.conftest import (
    REPO,
    Rendered,
    containers,
    deep_merge,
    env_of,
    production_values,
    render_production,
)

MODEL_REPOSITORY = REPO / "model_repository"
SCRIPT = REPO / "triton" / "place_models.py"
# The layout model_repository/README.md gives for two 24 or 40 GB GPUs.
TWO_GPUS = {"gpus": 2, "placement": {"planner": [0], "acestep": [1], "cover": [1]}}


def place_models() -> ModuleType:
    # triton/ is not a package (see triton/__init__.py): load the script from its file.
    spec = importlib.util.spec_from_file_location("place_models", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def triton_env(rendered: Rendered) -> dict[str, dict]:
    (container,) = [c for c in containers(rendered.workload("triton")) if c["name"] == "triton"]
    return env_of(container)


def model_config(path: Path) -> model_config_pb2.ModelConfig:
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def test_by_default_no_placement_is_set(any_render: Rendered) -> None:
    assert "NEUTONE_MODEL_GPUS" not in triton_env(any_render)


def test_placement_renders_the_models_with_gpus() -> None:
    rendered = render_production({"triton": TWO_GPUS})
    env = triton_env(rendered)
    assert env["NEUTONE_MODEL_GPUS"]["value"] == "acestep=1;cover=1;planner=0"
    (container,) = [c for c in containers(rendered.workload("triton")) if c["name"] == "triton"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 2


def test_a_gpu_the_pod_does_not_have_fails_the_render() -> None:
    with pytest.raises(helm.HelmRenderError, match=r"triton.placement.cover: GPU 2 does not exist"):
        render_production({"triton": {"gpus": 2, "placement": {"cover": [2]}}})


@pytest.mark.parametrize(
    ("placement", "where"),
    [
        ({"cover": [-1]}, "/triton/placement/cover/0"),
        ({"cover": [1, 1]}, "/triton/placement/cover"),
        ({"vocoder": [0]}, "vocoder"),
    ],
    ids=["negative", "twice", "unknown model"],
)
def test_schema_rejects_bad_placement(placement: dict, where: str) -> None:
    values = deep_merge(production_values(), {"triton": {"gpus": 2, "placement": placement}})
    with (
        helm.Chart.load(REPO / "helm" / "neutone") as chart,
        pytest.raises(helm.HelmValuesError) as error,
    ):
        chart.validate_schema(values)
    assert where in str(error.value)


def test_the_rendered_placement_lands_in_the_repository_triton_serves(tmp_path: Path) -> None:
    """What the image's command does with the chart's variable: exec tritonserver (here,
    `echo`) on a copy of the repository whose instance groups name the GPUs."""
    value = triton_env(render_production({"triton": TWO_GPUS}))["NEUTONE_MODEL_GPUS"]["value"]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "echo", f"--model-repository={MODEL_REPOSITORY}", "--x"],
        env={**os.environ, "NEUTONE_MODEL_GPUS": value, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    flag, rest = result.stdout.split()
    assert rest == "--x"
    served = Path(flag.removeprefix("--model-repository="))
    assert served.parent.parent == tmp_path
    expected = {"planner": [0], "acestep": [1], "cover": [1]}
    for model, gpus in expected.items():
        (group,) = model_config(served / model / "config.pbtxt").instance_group
        assert group.kind == model_config_pb2.ModelInstanceGroup.KIND_GPU
        assert list(group.gpus) == gpus, model
        assert group.count == 1
    # Models without a placement, and everything else in the configs, are untouched.
    for config in MODEL_REPOSITORY.glob("*/config.pbtxt"):
        if config.parent.name not in expected:
            assert (served / config.parent.name / "config.pbtxt").read_text() == config.read_text()
    original = model_config(MODEL_REPOSITORY / "acestep" / "config.pbtxt")
    placed = model_config(served / "acestep" / "config.pbtxt")
    placed.instance_group[0].ClearField("gpus")
    assert placed == original


def test_without_placement_tritonserver_gets_the_command_unchanged() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "echo", "--model-repository=/opt/repository"],
        env={key: value for key, value in os.environ.items() if key != "NEUTONE_MODEL_GPUS"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["--model-repository=/opt/repository"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("planner", "is not model=gpu"),
        ("planner=zero", "not a number"),
        ("planner=0;planner=1", "named twice"),
        ("planner=0,0", "distinct GPU indices"),
        ("vocoder=0", "no such model in"),
        ("song_request=0", "model song_request has no KIND_GPU instance_group"),
    ],
)
def test_bad_placement_stops_before_triton_starts(value: str, message: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "echo", f"--model-repository={MODEL_REPOSITORY}"],
        env={**os.environ, "NEUTONE_MODEL_GPUS": value, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert message in result.stderr
    assert result.stdout == ""


def test_place_keeps_other_fields_and_replaces_earlier_gpus() -> None:
    place = place_models().place
    config = 'name: "m"\n# instance_group [ { kind: KIND_CPU } ] in a comment\n'
    config += "instance_group [ { count: 2, kind: KIND_GPU, gpus: [ 0 ] }, { kind: KIND_CPU } ]\n"
    placed = place(config, [1, 3])
    parsed = text_format.Parse(placed, model_config_pb2.ModelConfig())
    gpu, cpu = parsed.instance_group
    assert (gpu.count, list(gpu.gpus)) == (2, [1, 3])
    assert list(cpu.gpus) == []
    assert "# instance_group [ { kind: KIND_CPU } ] in a comment" in placed
