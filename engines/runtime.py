"""Where and how engines run: device, precision and CPU threads."""

import torch

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
