"""Where and how engines run: device, precision and CPU threads."""

import json
from dataclasses import dataclass

import torch

from engines.serving import model_parameters

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """`auto` means bfloat16 on GPUs and float32 on CPUs (where half precision is slow)."""
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    try:
        return _DTYPES[name]
    except KeyError:
        choices = ", ".join(["auto", *_DTYPES])
        raise ValueError(f"dtype must be one of {choices} (got {name!r})") from None


def pick_device(kind: str, device_id: int = 0) -> torch.device:
    """Maps a Triton instance kind ("GPU", "CPU", ...) to the torch device to run on."""
    if kind.upper() == "GPU":
        return torch.device("cuda", device_id)
    return torch.device("cpu")


def limit_cpu_threads(threads: int) -> None:
    """Caps torch's intra-op threads: Triton runs several models side by side on one host."""
    if threads > 0:
        torch.set_num_threads(threads)


@dataclass(frozen=True)
class Instance:
    """Where one Triton model instance runs, and its config parameters."""

    parameters: dict[str, str]
    device: torch.device
    dtype: torch.dtype


def prepare_instance(args: dict[str, str]) -> Instance:
    """What every model's `initialize` starts with: parse the config's parameters,
    limit CPU threads, and pick the device and precision of this instance."""
    parameters = model_parameters(json.loads(args["model_config"]))
    limit_cpu_threads(int(parameters["cpu_threads"]))
    device = pick_device(args["model_instance_kind"], int(args["model_instance_device_id"]))
    return Instance(parameters, device, resolve_dtype(parameters["dtype"], device))
