import hashlib
import json
from pathlib import Path

from engines import build_tiny


def digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_builds_are_deterministic_by_seed(tiny_models: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert build_tiny.build(again, seed=0)
    assert digests(again) == digests(tiny_models)


def test_up_to_date_builds_are_skipped_and_forced_ones_redone(tiny_models: Path) -> None:
    manifest = json.loads((tiny_models / build_tiny.MANIFEST).read_text())
    assert manifest["fingerprint"] == build_tiny.fingerprint(0)
    assert not build_tiny.build(tiny_models, seed=0)
    assert build_tiny.fingerprint(1) != build_tiny.fingerprint(0)


def test_layout_is_what_real_checkpoints_look_like(tiny_models: Path) -> None:
    assert (tiny_models / "planner" / "config.json").is_file()
    assert (tiny_models / "planner" / "tokenizer.json").is_file()
    for pipeline in ("acestep", "acestep-turbo", "cover"):
        assert (tiny_models / pipeline / "model_index.json").is_file()
    assert {p.name for p in tiny_models.iterdir()} >= {
        "planner",
        "acestep",
        "acestep-turbo",
        "cover",
    }
    # Marked turbo as ACE-Step 1.5's turbo checkpoints are, in the DiT's config.
    for name, turbo in (("acestep", False), ("acestep-turbo", True)):
        config = json.loads((tiny_models / name / "transformer" / "config.json").read_text())
        assert config["is_turbo"] is turbo
