"""What `make up` tells the services about the local model tier's weights."""

import json
from pathlib import Path

import pytest

from runtime.launcher import LOCAL_MODEL_TIER, local_model_tier


def write_acestep(models_dir: Path, *, turbo: bool) -> None:
    config = models_dir / "acestep" / "transformer" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"_class_name": "AceStepTransformer1DModel", "is_turbo": turbo}))


def test_the_tiny_models_split_stems(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEUTONE_MODELS_DIR", raising=False)
    assert local_model_tier() == LOCAL_MODEL_TIER == {"NEUTONE_STEMS_SUPPORTED": "true"}


def test_prepared_turbo_weights_split_no_stems_and_take_eight_steps(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write_acestep(tmp_path, turbo=True)
    monkeypatch.setenv("NEUTONE_MODELS_DIR", str(tmp_path))
    assert local_model_tier() == {
        "NEUTONE_STEMS_SUPPORTED": "false",
        "NEUTONE_MAX_INFERENCE_STEPS": "8",
    }


def test_prepared_base_weights_split_stems(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write_acestep(tmp_path, turbo=False)
    monkeypatch.setenv("NEUTONE_MODELS_DIR", str(tmp_path))
    assert local_model_tier() == {"NEUTONE_STEMS_SUPPORTED": "true"}
