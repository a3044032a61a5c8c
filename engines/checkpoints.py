"""Weights folders: loading them straight onto the device, and checking one is complete.

The engines load through `load_pipeline` and `placement`: on a GPU every weight goes from
the safetensors file to the GPU as it is read, cast to the instance's dtype (accelerate's
`device_map`), never through a whole copy of the model in host memory, which a Triton pod
holding three models has no room for. On the CPU loading is what `from_pretrained` always did.

`check_pipeline` and `check_transformers_model` are what `engines.prepare` runs on everything
it writes: every file a loader will look for is there, and every tensor in the safetensors
files has the shape the component's config implies (read from the file headers and a model
built on the meta device, so nothing is loaded).
"""

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

# Diffusers names half-precision copies `<name>.fp16.safetensors` (SDXL-Turbo ships them).
FP16_VARIANT = "fp16"
_TOKENIZER_FILES = ("tokenizer.json", "vocab.json")


class IncompleteCheckpointError(Exception):
    """A weights folder lacks something a loader needs; the message names it."""


def weights_variant(weights_dir: str | Path) -> str | None:
    """`fp16` when the folder holds fp16 variant files (they are then the ones to read)."""
    return FP16_VARIANT if any(Path(weights_dir).glob(f"*/*.{FP16_VARIANT}.safetensors")) else None


def placement(device: torch.device) -> dict[str, Any]:
    """`from_pretrained` options that put a transformers model's weights on `device` as they
    are read; none on the CPU, where they are read anyway."""
    return {} if device.type == "cpu" else {"device_map": device}


def load_pipeline(
    pipeline_class: Any,
    weights_dir: str | Path,
    *,
    device: str | torch.device,
    dtype: torch.dtype,
    **options: Any,
) -> Any:
    """A diffusers pipeline in `dtype` on `device`, from the fp16 variant when there is one."""
    device = torch.device(device)
    options |= {"dtype": dtype, "variant": weights_variant(weights_dir)}
    if device.type == "cpu":
        return pipeline_class.from_pretrained(weights_dir, **options)
    # Pipelines take a device type for device_map ("cuda"), which means the current device.
    with torch.cuda.device(device):
        pipeline = pipeline_class.from_pretrained(weights_dir, device_map=device.type, **options)
    # Every component now lives on `device` without hooks; forgetting the map keeps the
    # pipeline an ordinary one (`.to()` refuses to move device-mapped pipelines).
    pipeline.hf_device_map = None
    return pipeline


def require(folder: Path, names: Iterable[str], *, what: str) -> None:
    """IncompleteCheckpointError naming every one of `names` missing from `folder`."""
    missing = [name for name in names if not (folder / name).exists()]
    if missing:
        raise IncompleteCheckpointError(f"{what}: {folder} lacks {', '.join(missing)}")


def weight_files(folder: Path, stem: str, *, variant: str | None = None, what: str) -> list[Path]:
    """The safetensors files of one model: `<stem>.safetensors`, or the shards its index lists.

    `stem` is `model` (transformers) or `diffusion_pytorch_model` (diffusers).
    """
    infix = f".{variant}" if variant else ""
    single = folder / f"{stem}{infix}.safetensors"
    if single.is_file():
        return [single]
    # transformers and diffusers both name a variant's index `<stem>.safetensors.index.<v>.json`.
    index = folder / f"{stem}.safetensors.index{infix}.json"
    if not index.is_file():
        raise IncompleteCheckpointError(f"{what}: {folder} lacks {single.name} (or {index.name})")
    shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    require(folder, shards, what=f"{what} (shards listed in {index.name})")
    return [folder / shard for shard in shards]


def tensor_shapes(files: Iterable[Path]) -> dict[str, tuple[int, ...]]:
    """Every tensor's shape, from the safetensors headers only."""
    shapes: dict[str, tuple[int, ...]] = {}
    for path in files:
        with safe_open(path, framework="pt") as reader:
            for name in reader.keys():  # noqa: SIM118 - safe_open is not a mapping
                shapes[name] = tuple(reader.get_slice(name).get_shape())
    return shapes


def check_shapes(model: torch.nn.Module, shapes: dict[str, tuple[int, ...]], *, what: str) -> None:
    """IncompleteCheckpointError unless `shapes` has every weight of `model`, as shaped.

    `model` may live on the meta device. Tied weights (one tensor under several names) need
    only one of their names in the files.
    """
    problems = []
    for names, expected in _weights(model):
        present = [name for name in names if name in shapes]
        if not present:
            problems.append(f"missing {names[0]}")
        elif (found := shapes[present[0]]) != expected:
            problems.append(f"{present[0]} is {list(found)}, the config says {list(expected)}")
    if problems:
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise IncompleteCheckpointError(f"{what}: {shown}{more}")


def _weights(model: torch.nn.Module) -> Iterator[tuple[list[str], tuple[int, ...]]]:
    """(names, shape) per distinct tensor of the state dict."""
    names: dict[int, list[str]] = {}
    tensors: dict[int, torch.Tensor] = {}
    for name, tensor in model.state_dict(keep_vars=True).items():
        names.setdefault(id(tensor), []).append(name)
        tensors[id(tensor)] = tensor
    for key, aliases in names.items():
        yield aliases, tuple(tensors[key].shape)


def check_transformers_model(folder: Path, *, what: str, causal_lm: bool = False) -> None:
    """A transformers model folder: config, weights, and every weight's shape."""
    import transformers

    require(folder, ["config.json"], what=what)
    config = transformers.AutoConfig.from_pretrained(folder)
    auto = transformers.AutoModelForCausalLM if causal_lm else transformers.AutoModel
    with torch.device("meta"):
        model = auto.from_config(config)
    model.tie_weights()
    check_shapes(model, tensor_shapes(weight_files(folder, "model", what=what)), what=what)


def check_tokenizer(folder: Path, *, what: str) -> None:
    require(folder, ["tokenizer_config.json"], what=what)
    if not any((folder / name).is_file() for name in _TOKENIZER_FILES):
        raise IncompleteCheckpointError(f"{what}: {folder} lacks tokenizer.json (or vocab.json)")


def check_pipeline(folder: Path, *, what: str, variant: str | None = None) -> dict[str, Any]:
    """A diffusers pipeline folder: model_index.json, and for every component its config,
    weights (the `variant` ones when given) and their shapes. Returns the model index."""
    require(folder, ["model_index.json"], what=what)
    index = json.loads((folder / "model_index.json").read_text())
    for name, library, component_class in pipeline_components(index):
        part = f"{what} {name}"
        require(folder, [name], what=what)
        component = folder / name
        if not issubclass(component_class, torch.nn.Module):
            if hasattr(component_class, "load_config"):  # a scheduler
                require(component, ["scheduler_config.json"], what=part)
            else:
                check_tokenizer(component, what=part)
            continue
        require(component, ["config.json"], what=part)
        if library == "transformers":
            import transformers

            config = transformers.AutoConfig.from_pretrained(component)
            with torch.device("meta"):
                model = component_class._from_config(config)
            model.tie_weights()
            stem = "model"
        else:
            with torch.device("meta"):
                model = component_class.from_config(component_class.load_config(component))
            stem = "diffusion_pytorch_model"
        files = weight_files(component, stem, variant=variant, what=part)
        check_shapes(model, tensor_shapes(files), what=part)
    return index


def pipeline_components(index: dict[str, Any]) -> list[tuple[str, str, type]]:
    """(name, library, class) of every component a pipeline's model_index.json names."""
    return [
        (name, entry[0], _component_class(entry[0], entry[1]))
        for name, entry in index.items()
        if not name.startswith("_") and isinstance(entry, list) and entry[0] is not None
    ]


def _component_class(library: str, class_name: str) -> Any:
    import importlib

    import diffusers

    if library in ("diffusers", "transformers"):
        module = importlib.import_module(library)
    else:  # a pipeline's own module, e.g. "ace_step"
        module = getattr(diffusers.pipelines, library)
    return getattr(module, class_name)
