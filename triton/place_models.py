"""Starts tritonserver with each model's instances on the GPUs NEUTONE_MODEL_GPUS names, and
with OpenTelemetry tracing when the standard OTEL_* variables name a collector.

    place_models.py tritonserver --model-repository=/opt/neutone/model_repository [flags...]

The Triton image's command (triton/Dockerfile). NEUTONE_MODEL_GPUS, as the Helm chart sets it
from `triton.placement`, is "model=gpu,gpu;model=gpu" (say "planner=0;acestep=1;cover=1"):
each named model's KIND_GPU instance groups get `gpus: [ ... ]` in a copy of the repository
(under TMPDIR: the image's repository stays read-only) that tritonserver then serves. Unset or
empty, tritonserver runs on the repository as it is, with every model on every GPU of the pod.
A model the repository lacks, or one without a GPU instance group, is an error before Triton
starts. Standard library only: it runs in the image's Python before any model loads.

Tracing (`trace_flags`) follows the variables every Neutone process reads (README, Tracing):
with OTEL_EXPORTER_OTLP_ENDPOINT set, Triton sends its spans to the same collector and continues
the trace of each request that carries a `traceparent` (the worker's). Triton itself reads
OTEL_RESOURCE_ATTRIBUTES and OTEL_BSP_*.
"""

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

VARIABLE = "NEUTONE_MODEL_GPUS"
_REPOSITORY_FLAG = "--model-repository="
# At the start of a line (not in a comment); groups may hold lists of their own (`gpus: [0]`).
_INSTANCE_GROUP = re.compile(
    r"^instance_group\s*\[(?P<groups>(?:[^\[\]]|\[[^\[\]]*\])*)\]", re.MULTILINE
)
_GROUP = re.compile(r"\{(?P<body>[^{}]*)\}")
_GPUS = re.compile(r",?\s*gpus\s*:\s*\[[^\]]*\]")


def parse_placement(text: str) -> dict[str, list[int]]:
    """ "planner=0;acestep=1,2" -> {"planner": [0], "acestep": [1, 2]}; raises ValueError."""
    placement: dict[str, list[int]] = {}
    for entry in filter(None, (part.strip() for part in text.split(";"))):
        model, separator, gpus = entry.partition("=")
        model = model.strip()
        if not separator or not model:
            raise ValueError(f"{VARIABLE}: {entry!r} is not model=gpu[,gpu...]")
        if model in placement:
            raise ValueError(f"{VARIABLE}: {model} is named twice")
        try:
            indices = [int(gpu) for gpu in gpus.split(",")]
        except ValueError:
            raise ValueError(f"{VARIABLE}: {entry!r} has a GPU that is not a number") from None
        if any(index < 0 for index in indices) or len(set(indices)) != len(indices):
            raise ValueError(f"{VARIABLE}: {entry!r} needs distinct GPU indices of 0 or more")
        placement[model] = indices
    return placement


def place(config: str, gpus: list[int]) -> str:
    """The config with `gpus` on each of its KIND_GPU instance groups."""
    match = _INSTANCE_GROUP.search(config)
    if match is None or "KIND_GPU" not in match["groups"]:
        raise ValueError("has no KIND_GPU instance_group to place")
    listed = ", ".join(str(gpu) for gpu in gpus)

    def with_gpus(group: re.Match[str]) -> str:
        body = group["body"]
        if "KIND_GPU" not in body:
            return group[0]
        return "{ " + _GPUS.sub("", body).strip().rstrip(",") + f", gpus: [ {listed} ] }}"

    groups = _GROUP.sub(with_gpus, match["groups"])
    return config[: match.start("groups")] + groups + config[match.end("groups") :]


def placed_repository(source: Path, placement: dict[str, list[int]], out: Path) -> Path:
    """A copy of `source` with the placement written into the named models' configs."""
    unknown = sorted(name for name in placement if not (source / name / "config.pbtxt").is_file())
    if unknown:
        raise ValueError(f"{VARIABLE}: no such model in {source}: {', '.join(unknown)}")
    repository = out / "model_repository"
    shutil.copytree(source, repository, ignore=shutil.ignore_patterns("__pycache__"))
    for name, gpus in placement.items():
        config = repository / name / "config.pbtxt"
        try:
            config.write_text(place(config.read_text(), gpus))
        except ValueError as error:
            raise ValueError(f"{VARIABLE}: model {name} {error}") from None
    return repository


def trace_flags(env: Mapping[str, str]) -> list[str]:
    """tritonserver's OpenTelemetry mode from the OTEL_* variables; none when no collector
    is named or OTEL_TRACES_EXPORTER says otherwise."""
    if env.get("OTEL_TRACES_EXPORTER", "otlp") != "otlp":
        return []
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if not endpoint and env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        endpoint = env["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/") + "/v1/traces"
    if not endpoint:
        return []
    return [
        "--trace-config=mode=opentelemetry",
        f"--trace-config=opentelemetry,url={endpoint}",
        f"--trace-config=opentelemetry,resource=service.name={env.get('OTEL_SERVICE_NAME', 'triton')}",
        "--trace-config=level=TIMESTAMPS",
        # Only requests that carry a trace context, whatever their number: the caller
        # (the worker's sampler) decides which songs are traced.
        "--trace-config=rate=0",
        "--trace-config=count=-1",
    ]


def main(argv: list[str]) -> int:
    if not argv:
        sys.exit("usage: place_models.py tritonserver --model-repository=DIR [flags...]")
    try:
        placement = parse_placement(os.environ.get(VARIABLE, ""))
        command = list(argv)
        if placement:
            flags = [i for i, arg in enumerate(command) if arg.startswith(_REPOSITORY_FLAG)]
            if len(flags) != 1:
                raise ValueError(f"the command needs exactly one {_REPOSITORY_FLAG}DIR flag")
            source = Path(command[flags[0]].removeprefix(_REPOSITORY_FLAG))
            out = Path(tempfile.mkdtemp(prefix="neutone-placed-"))
            repository = placed_repository(source, placement, out)
            command[flags[0]] = f"{_REPOSITORY_FLAG}{repository}"
            print(f"{VARIABLE}: {placement}, serving {repository}", file=sys.stderr, flush=True)
    except ValueError as error:
        sys.exit(str(error))
    command += trace_flags(os.environ)
    # tritonserver replaces this process: it gets the pod's signals directly.
    os.execvp(command[0], command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
