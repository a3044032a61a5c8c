"""Tiny random-weight models, built once per test session into a temporary directory."""

from pathlib import Path

import pytest
import torch

from engines import build_tiny


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One thread: on a small shared machine, tiny models run fastest without OpenMP handoffs.
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("engines") / "models"
    build_tiny.build(out, seed=0)
    return out
