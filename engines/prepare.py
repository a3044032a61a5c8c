"""Lays real checkpoints out the way the model tier loads them, and checks them.

    python -m engines.prepare --source DIR|hub --out DIR [--planner qwen2.5-7b|qwen2.5-3b|qwen2.5-1.5b]
        [--acestep REPO] [--cover REPO] [--only planner,acestep,cover] [--device auto|cpu|cuda]
        [--no-inference]

`--source hub` downloads from the Hugging Face Hub (only the files needed; the usual cache,
HF_TOKEN and HF_ENDPOINT apply). `--source DIR` reads each model from `DIR/<repo name>`, the
repositories as downloaded (`hf download Qwen/Qwen2.5-7B-Instruct --local-dir
DIR/Qwen2.5-7B-Instruct`; ACE-Step's own `checkpoints/` folder serves as `DIR/Ace-Step1.5`).

Writes `<out>/planner` (the Qwen2.5 Instruct checkpoint as it is), `<out>/cover` (SDXL-Turbo,
fp16 weights only), `<out>/acestep` (ACE-Step 1.5 turbo converted to diffusers' layout by
`engines.convert_acestep`, or an official `-diffusers` repository as it is) and
`<out>/prepared.json`. Files are hard-linked from the source where they can be, so a
Hub cache or a local copy is not duplicated on the same filesystem.

Each model is written beside its final place, checked (files, configs, every tensor's shape
against its config), loaded by its engine on `--device` for one small request, and only then
moved into place: a folder that fails keeps whatever was there before. An incomplete source
or result stops the command with exit status 1 and a message naming what is missing.
"""

import argparse
import fnmatch
import gc
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from huggingface_hub import list_repo_files, snapshot_download

from engines import checkpoints, convert_acestep, runtime
from engines.checkpoints import IncompleteCheckpointError

MANIFEST = "prepared.json"
MODELS = ("planner", "acestep", "cover")
HUB = "hub"
PLANNERS = {
    "qwen2.5-7b": "Qwen/Qwen2.5-7B-Instruct",
    "qwen2.5-3b": "Qwen/Qwen2.5-3B-Instruct",
    "qwen2.5-1.5b": "Qwen/Qwen2.5-1.5B-Instruct",
}
DEFAULT_REPOS = {
    "planner": PLANNERS["qwen2.5-7b"],
    "acestep": "ACE-Step/Ace-Step1.5",
    "cover": "stabilityai/sdxl-turbo",
}

# The files each layout needs: the Hub download asks for these only, and a local source
# contributes only these. (In these patterns `*` also matches `/`.)
PLANNER_FILES = ("*.json", "*.safetensors", "merges.txt", "*.jinja")
COVER_FILES = (
    "model_index.json",
    "scheduler/*",
    "tokenizer/*",
    "tokenizer_2/*",
    "*/config.json",
    # SDXL-Turbo's fp32 UNet alone is 10 GB; its fp16 files are all the tier reads.
    "*/*.fp16.safetensors",
    "*/*.safetensors.index.fp16.json",
)
ACESTEP_RELEASE_FILES = (
    f"{convert_acestep.DIT}/*",
    f"{convert_acestep.VAE}/*",
    f"{convert_acestep.TEXT_ENCODER}/*",
)
DIFFUSERS_FILES = ("model_index.json", "*/*.json", "*/*.safetensors", "*/*.txt", "*/*.jinja")


@dataclass(frozen=True)
class Prepared:
    model: str
    repo: str
    summary: str


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    out: Path = args.out.resolve()
    device = _device(args.device)
    repos = {
        "planner": PLANNERS.get(args.planner, args.planner),
        "acestep": args.acestep,
        "cover": args.cover,
    }
    out.mkdir(parents=True, exist_ok=True)
    try:
        for model in args.only:
            started = time.monotonic()
            source = locate(model, repos[model], args.source)
            prepared = prepare(
                model, repos[model], source, out, device=device if args.inference else None
            )
            _record(out, prepared, source)
            print(
                f"{model}: {prepared.summary} -> {out / model} ({time.monotonic() - started:.0f}s)",
                file=sys.stderr,
            )
    except IncompleteCheckpointError as error:
        print(f"prepare: {error}", file=sys.stderr)
        return 1
    return 0


def locate(model: str, repo: str, source: str) -> Path:
    """The folder holding `repo`'s files: downloaded from the Hub, or `<source>/<repo name>`."""
    if source == HUB:
        return Path(snapshot_download(repo, allow_patterns=list(_hub_patterns(model, repo))))
    folder = Path(source).expanduser().resolve() / repo.rpartition("/")[2]
    if not folder.is_dir():
        raise IncompleteCheckpointError(
            f"{model}: {folder} not found; put {repo} there "
            f"(hf download {repo} --local-dir {folder}) or use --source {HUB}"
        )
    return folder


def _hub_patterns(model: str, repo: str) -> Sequence[str]:
    if model == "planner":
        return PLANNER_FILES
    if model == "cover":
        return COVER_FILES
    return DIFFUSERS_FILES if "model_index.json" in list_repo_files(repo) else ACESTEP_RELEASE_FILES


def prepare(
    model: str, repo: str, source: Path, out: Path, *, device: torch.device | None
) -> Prepared:
    """Writes, checks and (on `device`, unless None) tries one model, then moves it into
    `out/<model>`."""
    staging = out / f".{model}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        summary = WRITERS[model](source, staging)
        if device is not None:
            summary += f"; {SMOKE_TESTS[model](staging, device)}"
            # The next model's test gets the whole device (pipelines hold reference cycles).
            gc.collect()
            if device.type == "cuda":
                torch.cuda.empty_cache()
        final = out / model
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Prepared(model, repo, summary)


# Writers: each fills `staging` from `source`, checks the result, and summarizes it.


def write_planner(source: Path, staging: Path) -> str:
    what = "planner"
    checkpoints.require(source, ["config.json"], what=what)
    checkpoints.check_tokenizer(source, what=what)
    link_matching(source, staging, PLANNER_FILES, top_level_only=True)
    checkpoints.check_transformers_model(staging, what=what, causal_lm=True)
    from transformers import AutoConfig, AutoTokenizer

    if not AutoTokenizer.from_pretrained(staging).chat_template:
        raise IncompleteCheckpointError(
            f"{what}: {source} has no chat template; the planner needs an Instruct model"
        )
    config = AutoConfig.from_pretrained(staging)
    return (config.architectures or [config.model_type])[0]


def write_cover(source: Path, staging: Path) -> str:
    what = "cover"
    index = _pipeline_index(source, what=what, expected="StableDiffusionXLPipeline")
    link_matching(source, staging, [p for p in COVER_FILES if "safetensors" not in p])
    for name, library, component_class in checkpoints.pipeline_components(index):
        if not issubclass(component_class, torch.nn.Module):
            continue  # tokenizers and the scheduler came with the patterns above
        stem = "model" if library == "transformers" else "diffusion_pytorch_model"
        folder = source / name
        try:
            files = checkpoints.weight_files(
                folder, stem, variant=checkpoints.FP16_VARIANT, what=f"{what} {name}"
            )
        except IncompleteCheckpointError:
            # A checkpoint saved without the fp16 copy: make one.
            single = folder / f"{stem}.safetensors"
            if not single.is_file():
                raise IncompleteCheckpointError(
                    f"{what} {name}: {folder} lacks {stem}.fp16.safetensors "
                    f"(or {stem}.safetensors to make it from)"
                ) from None
            _save_fp16(single, staging / name / f"{stem}.{checkpoints.FP16_VARIANT}.safetensors")
            continue
        index_file = folder / f"{stem}.safetensors.index.{checkpoints.FP16_VARIANT}.json"
        for path in [*files, index_file] if index_file.is_file() else files:
            link(path, staging / name / path.name)
    checkpoints.check_pipeline(staging, what=what, variant=checkpoints.FP16_VARIANT)
    return "StableDiffusionXLPipeline, fp16"


def write_acestep(source: Path, staging: Path) -> str:
    what = "acestep"
    if (source / "model_index.json").is_file():
        _pipeline_index(source, what=what, expected="AceStepPipeline")
        link_matching(source, staging, DIFFUSERS_FILES)
        layout = "diffusers layout, as given"
    else:
        dropped = convert_acestep.convert(source, staging)
        layout = "converted from ACE-Step's release layout"
        if dropped:
            layout += f" ({len(dropped)} unused keys left out: {', '.join(dropped[:3])})"
    checkpoints.check_pipeline(staging, what=what)
    transformer = json.loads((staging / "transformer" / "config.json").read_text())
    return f"AceStepPipeline ({'turbo' if transformer.get('is_turbo') else 'base'}), {layout}"


WRITERS: dict[str, Callable[[Path, Path], str]] = {
    "planner": write_planner,
    "acestep": write_acestep,
    "cover": write_cover,
}


def _pipeline_index(source: Path, *, what: str, expected: str) -> dict:
    checkpoints.require(source, ["model_index.json"], what=what)
    index = json.loads((source / "model_index.json").read_text())
    if index.get("_class_name") != expected:
        raise IncompleteCheckpointError(
            f"{what}: {source} holds a {index.get('_class_name')}, not a {expected}"
        )
    return index


def _save_fp16(source: Path, target: Path) -> None:
    from safetensors.torch import load_file, save_file

    tensors = {
        name: tensor.to(torch.float16) if tensor.is_floating_point() else tensor
        for name, tensor in load_file(source).items()
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, target, metadata={"format": "pt"})


def link_matching(
    source: Path, target: Path, patterns: Sequence[str], *, top_level_only: bool = False
) -> None:
    """Links (or copies) every file under `source` whose relative path matches a pattern;
    hidden files and folders (download caches) are skipped."""
    files = source.iterdir() if top_level_only else source.rglob("*")
    for path in sorted(files):
        relative = path.relative_to(source)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if any(fnmatch.fnmatch(relative.as_posix(), pattern) for pattern in patterns):
            link(path, target / relative)


def link(source: Path, target: Path) -> None:
    """A hard link to `source` (resolved: Hub snapshots are symlinks into the cache's
    blobs), or a copy where links cannot be made (another filesystem)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source.resolve(), target)
    except OSError:
        shutil.copyfile(source, target)


# Smoke tests: the engine loads the folder on the device and answers one small request.


def smoke_planner(folder: Path, device: torch.device) -> str:
    from engines.planner import Planner, PlannerSettings
    from engines.schema import PlanRequest, SongMode

    started = time.monotonic()
    planner = Planner.from_pretrained(
        folder,
        device=device,
        dtype=runtime.resolve_dtype("auto", device),
        settings=PlannerSettings(prompt_tokens=16, lyrics_tokens=16, title_tokens=8),
    )
    loaded = time.monotonic()
    planner.plan([PlanRequest(mode=SongMode.DESCRIPTION, description="a calm piano song")])
    return _timings(device, started, loaded, "a plan")


def smoke_acestep(folder: Path, device: torch.device) -> str:
    import numpy as np

    from engines import limits
    from engines.music import MusicGenerator
    from engines.schema import MusicRequest

    started = time.monotonic()
    generator = MusicGenerator.from_pretrained(
        folder, device=device, dtype=runtime.resolve_dtype("auto", device)
    )
    loaded = time.monotonic()
    seconds = limits.MIN_DURATION_SECONDS
    [song] = generator.generate(
        [MusicRequest(prompt="calm piano", duration_seconds=seconds, inference_steps=2)]
    )
    expected = (round(seconds * generator.sample_rate), generator.channels)
    if song.shape != expected or not np.isfinite(song).all():
        raise IncompleteCheckpointError(
            f"acestep: the test song came out {song.shape} (expected {expected}), "
            f"finite: {bool(np.isfinite(song).all())}"
        )
    return _timings(device, started, loaded, f"a {seconds:.0f} s song")


def smoke_cover(folder: Path, device: torch.device) -> str:
    import io

    from PIL import Image

    from engines.cover import CoverArtist
    from engines.schema import CoverRequest

    started = time.monotonic()
    artist = CoverArtist.from_pretrained(
        folder, device=device, dtype=runtime.resolve_dtype("auto", device)
    )
    loaded = time.monotonic()
    [png] = artist.paint([CoverRequest(title="Rain", prompt="calm piano")])
    size = Image.open(io.BytesIO(png)).size
    if size != (artist.image_size, artist.image_size):
        raise IncompleteCheckpointError(
            f"cover: the test image is {size}, not {artist.image_size} px square"
        )
    return _timings(device, started, loaded, f"a {size[0]} px cover")


SMOKE_TESTS: dict[str, Callable[[Path, torch.device], str]] = {
    "planner": smoke_planner,
    "acestep": smoke_acestep,
    "cover": smoke_cover,
}


def _timings(device: torch.device, started: float, loaded: float, made: str) -> str:
    return (
        f"loaded on {device} in {loaded - started:.1f}s, {made} in {time.monotonic() - loaded:.1f}s"
    )


def _record(out: Path, prepared: Prepared, source: Path) -> None:
    """Adds the model to `<out>/prepared.json` (which also tells the local launcher that
    this folder holds prepared weights, not tiny ones to rebuild)."""
    path = out / MANIFEST
    manifest = json.loads(path.read_text()) if path.is_file() else {"models": {}}
    manifest["models"][prepared.model] = {
        "repo": prepared.repo,
        "source": str(source),
        "summary": prepared.summary,
    }
    path.write_text(json.dumps(manifest, indent=2) + "\n")


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("prepare: --device cuda, but torch sees no CUDA device")
    return device


def _models(value: str) -> list[str]:
    models = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(models) - set(MODELS))
    if unknown or not models:
        raise argparse.ArgumentTypeError(
            f"must name some of {', '.join(MODELS)} (got {', '.join(unknown) or 'none'})"
        )
    return models


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--source", required=True, help=f"a folder of downloaded repositories, or '{HUB}'"
    )
    parser.add_argument("--out", type=Path, required=True, help="NEUTONE_MODELS_DIR to write")
    parser.add_argument(
        "--planner",
        default="qwen2.5-7b",
        help=f"{', '.join(PLANNERS)} or a Hub repository (default: qwen2.5-7b)",
    )
    parser.add_argument(
        "--acestep",
        default=DEFAULT_REPOS["acestep"],
        help="ACE-Step 1.5's release, or a '-diffusers' repository "
        f"(default: {DEFAULT_REPOS['acestep']})",
    )
    parser.add_argument(
        "--cover", default=DEFAULT_REPOS["cover"], help=f"default: {DEFAULT_REPOS['cover']}"
    )
    parser.add_argument(
        "--only", type=_models, default=list(MODELS), help="comma-separated; default: all"
    )
    parser.add_argument(
        "--device", default="auto", help="where to try each model: auto (default), cpu, cuda"
    )
    parser.add_argument(
        "--no-inference",
        dest="inference",
        action="store_false",
        help="check files and shapes only (a 7B planner in float32 needs ~30 GB on a CPU)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
