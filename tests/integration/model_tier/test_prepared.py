"""Checkpoints in their publishers' layouts, through `python -m engines.prepare`, served by a
real tritonserver: what a deployment with real weights does, on tiny models."""

import subprocess
import sys
from collections.abc import Iterator

import pytest
import tritonclient.grpc as grpcclient

from engines import build_tiny, prepare
from tests.integration.model_tier.conftest import REPO, ModelTier, _serving
from tests.integration.model_tier.helpers import Song, song_inputs
from tests.unit.engines import upstream_layouts


@pytest.fixture(scope="module")
def prepared_tier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelTier]:
    source = upstream_layouts.write_all(tmp_path_factory.mktemp("upstream"))
    models_dir = tmp_path_factory.mktemp("prepared")
    # The documented command, as a user runs it; the server below is the inference check.
    command = ["engines.prepare", "--source", str(source), "--out", str(models_dir)]
    subprocess.run([sys.executable, "-m", *command, "--no-inference"], cwd=REPO, check=True)
    # Without --no-build: the launcher must recognize prepared weights and leave them be.
    with _serving(tmp_path_factory.mktemp("triton-prepared"), models_dir) as tier:
        yield tier


def test_prepared_checkpoints_make_a_song_end_to_end(prepared_tier: ModelTier) -> None:
    assert (prepared_tier.models_dir / prepare.MANIFEST).is_file()
    assert not (prepared_tier.models_dir / build_tiny.MANIFEST).exists()
    with grpcclient.InferenceServerClient(prepared_tier.grpc_url) as client:
        result = client.infer(
            "neutone_song",
            song_inputs(
                {
                    "MODE": "description",
                    "DESCRIPTION": "a dreamy lo-fi song about rain",
                    "DURATION_SECONDS": 10.0,
                    "SEED": 7,
                }
            ),
            client_timeout=300,
        )
    song = Song.of(result)
    assert song.duration == pytest.approx(10.0, abs=1 / song.sample_rate)
    assert song.reported_rate == song.sample_rate
    assert song.cover.size == (64, 64)
    assert song.title and song.categories and song.prompt and song.lyrics
