import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engines.cover import CoverArtist, cover_prompt
from engines.schema import CoverRequest


@pytest.fixture(scope="module")
def artist(tiny_models: Path) -> CoverArtist:
    return CoverArtist.from_pretrained(tiny_models / "cover", inference_steps=2)


def test_paints_one_png_of_the_native_size_per_request(artist: CoverArtist) -> None:
    pngs = artist.paint(
        [CoverRequest(title="Rain", prompt="lo-fi", seed=1), CoverRequest(title="", prompt="x")]
    )
    assert len(pngs) == 2
    for png in pngs:
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG"
        assert image.size == (artist.image_size, artist.image_size) == (64, 64)


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)), dtype=np.int16)


def test_same_seed_same_cover(artist: CoverArtist) -> None:
    request = CoverRequest(title="Rain", prompt="lo-fi", seed=3)
    first, second = artist.paint([request, request])
    again = artist.paint([request])[0]
    assert np.abs(pixels(first) - pixels(again)).max() <= 1
    assert np.array_equal(pixels(first), pixels(second))
    other = artist.paint([CoverRequest(title="Rain", prompt="lo-fi", seed=4)])[0]
    assert np.abs(pixels(first) - pixels(other)).mean() > 1


def test_configured_size_and_step_limits(artist: CoverArtist) -> None:
    larger = CoverArtist(artist.pipeline, inference_steps=1, image_size=96)
    assert Image.open(io.BytesIO(larger.paint([CoverRequest(title="", prompt="x")])[0])).size == (
        96,
        96,
    )
    with pytest.raises(ValueError, match="inference_steps"):
        CoverArtist(artist.pipeline, inference_steps=5)


def test_cover_prompt_paints_the_mood_not_the_title() -> None:
    prompt = cover_prompt(CoverRequest(title="Neon Heartbreak", prompt="dreamy synthwave, 90 bpm"))
    # A title in the prompt gets lettered onto the image, garbled.
    assert "neon" not in prompt.lower() and '"' not in prompt
    assert prompt.endswith("dreamy synthwave, 90 bpm")
    assert prompt == cover_prompt(CoverRequest(title="", prompt="dreamy synthwave, 90 bpm"))
