"""The neutone_song ensemble end to end, through tritonclient's gRPC client."""

import json

import pytest
import tritonclient.grpc as grpcclient

from engines import limits
from engines.categories import CATEGORIES
from tests.integration.model_tier.conftest import ModelTier
from tests.integration.model_tier.helpers import Song, Value, song_inputs

MODES: dict[str, dict[str, Value]] = {
    "description": {"MODE": "description", "DESCRIPTION": "a dreamy lo-fi song about rain"},
    "description instrumental": {
        "MODE": "description",
        "DESCRIPTION": "an epic orchestral theme",
        "INSTRUMENTAL": True,
    },
    "described lyrics": {
        "MODE": "described_lyrics",
        "PROMPT": "upbeat pop, synth, 120 bpm",
        "LYRICS": "a road trip with friends",
    },
    "lyrics": {
        "MODE": "lyrics",
        "PROMPT": "acoustic folk, warm",
        "LYRICS": "[verse]\nThe road is long\n[chorus]\nI'm coming home",
    },
    "lyrics instrumental": {"MODE": "lyrics", "PROMPT": "ambient pads", "INSTRUMENTAL": True},
}


def cover_size(tier: ModelTier) -> int:
    """The tiny checkpoint's native size, which the cover config serves by default."""
    unet = json.loads((tier.models_dir / "cover" / "unet" / "config.json").read_text())
    vae = json.loads((tier.models_dir / "cover" / "vae" / "config.json").read_text())
    return unet["sample_size"] * 2 ** (len(vae["block_out_channels"]) - 1)


@pytest.mark.parametrize("case", list(MODES))
def test_every_mode_makes_a_song(
    case: str, model_tier: ModelTier, client: grpcclient.InferenceServerClient
) -> None:
    request = {**MODES[case], "DURATION_SECONDS": 12.0, "SEED": 11}
    song = Song.of(client.infer("neutone_song", song_inputs(request), request_id=f"test {case}"))

    assert song.sample_rate == song.reported_rate
    assert song.samples.ndim == 2 and song.samples.shape[1] == 2
    assert song.duration == pytest.approx(12.0, rel=0.05)
    assert song.cover.format == "PNG"
    assert song.cover.size == (cover_size(model_tier),) * 2
    assert 1 <= len(song.categories) <= 3
    assert set(song.categories) <= set(CATEGORIES)
    assert song.title and song.prompt
    if request["MODE"] != "description":
        assert song.prompt == request["PROMPT"]
    if request.get("INSTRUMENTAL"):
        assert song.lyrics == limits.INSTRUMENTAL_LYRICS
    elif request["MODE"] == "lyrics":
        assert song.lyrics == request["LYRICS"]
    else:
        assert "[verse]" in song.lyrics or "[chorus]" in song.lyrics


def test_defaults_fill_in_optional_inputs(client: grpcclient.InferenceServerClient) -> None:
    song = Song.of(
        client.infer(
            "neutone_song", song_inputs({"MODE": "lyrics", "PROMPT": "jazz", "LYRICS": "la"})
        )
    )
    assert song.duration == pytest.approx(limits.DEFAULT_DURATION_SECONDS, rel=0.05)


def test_same_seed_same_song(client: grpcclient.InferenceServerClient) -> None:
    request = {**MODES["described lyrics"], "DURATION_SECONDS": 10.0}
    first = Song.of(client.infer("neutone_song", song_inputs({**request, "SEED": 5})))
    again = Song.of(client.infer("neutone_song", song_inputs({**request, "SEED": 5})))
    other = Song.of(client.infer("neutone_song", song_inputs({**request, "SEED": 6})))
    assert again.audio == first.audio
    assert (again.title, again.lyrics, again.categories) == (
        first.title,
        first.lyrics,
        first.categories,
    )
    assert other.audio != first.audio


def test_metrics_are_served(model_tier: ModelTier) -> None:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{model_tier.metrics_port}/metrics") as reply:
        metrics = reply.read().decode()
    assert 'nv_inference_request_success{model="neutone_song"' in metrics
