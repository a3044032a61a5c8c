"""Builds the tiny random-weight models that tests and the local Triton server load.

    python -m engines.build_tiny --out var/models [--seed 0] [--force]

Writes <out>/planner, <out>/acestep (ACE-Step's base checkpoint), <out>/acestep-turbo (its
turbo one) and <out>/cover with `save_pretrained` (the layout real checkpoints have, read
back by the same `from_pretrained` code) and <out>/build.json. Nothing
is rebuilt when build.json already matches this recipe and seed, so callers may run it
unconditionally; a lock file makes concurrent callers build once.
"""

import argparse
import fcntl
import hashlib
import importlib.metadata
import json
import shutil
import sys
from pathlib import Path

MANIFEST = "build.json"
# The sources that define what gets built: the model recipes, the tokenizer corpus (which
# includes the planner's instructions) and this file.
_RECIPE_SOURCES = ("random_models.py", "planner.py", "categories.py", "build_tiny.py")
_LIBRARIES = ("torch", "transformers", "diffusers", "tokenizers", "safetensors")


def fingerprint(seed: int) -> str:
    """Changes whenever the recipe, the seed or the libraries that serialize the models do.

    Computed from source text and package metadata, without importing the model stack, so
    checking an up-to-date build takes milliseconds.
    """
    digest = hashlib.sha256(f"seed={seed}".encode())
    package = Path(__file__).parent
    for name in _RECIPE_SOURCES:
        digest.update((package / name).read_bytes())
    for library in _LIBRARIES:
        digest.update(f"{library}={importlib.metadata.version(library)}".encode())
    return digest.hexdigest()


def is_built(out: Path, seed: int) -> bool:
    try:
        manifest = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return manifest.get("fingerprint") == fingerprint(seed)


def build(out: Path, *, seed: int = 0, force: bool = False) -> bool:
    """Builds the models into `out`; returns False when they were already there."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and is_built(out, seed):
            return False
        staging = out.parent / f".{out.name}.staging"
        shutil.rmtree(staging, ignore_errors=True)
        _write_models(staging, seed)
        (staging / MANIFEST).write_text(
            json.dumps({"size": "tiny", "seed": seed, "fingerprint": fingerprint(seed)})
        )
        # Swap only complete builds in, so a reader never sees half-written weights.
        shutil.rmtree(out, ignore_errors=True)
        staging.rename(out)
        return True


def _write_models(out: Path, seed: int) -> None:
    import diffusers
    import torch
    import transformers

    from engines import random_models
    from engines.random_models import ModelSize

    torch.set_num_threads(1)
    # Saving tiny files needs no progress bars.
    transformers.utils.logging.disable_progress_bar()
    diffusers.utils.logging.disable_progress_bar()
    model, tokenizer = random_models.build_planner(ModelSize.TINY, seed=seed)
    model.save_pretrained(out / "planner")
    tokenizer.save_pretrained(out / "planner")
    random_models.build_acestep(ModelSize.TINY, seed=seed).save_pretrained(out / "acestep")
    random_models.build_acestep(ModelSize.TINY, seed=seed, turbo=True).save_pretrained(
        out / "acestep-turbo"
    )
    random_models.build_cover(ModelSize.TINY, seed=seed).save_pretrained(out / "cover")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to write models to")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args(argv)
    built = build(args.out.resolve(), seed=args.seed, force=args.force)
    print(f"{'built' if built else 'up to date'}: tiny models in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
